"""The redactor on labelled posts it was not written from, at its boundaries, with allow and
deny lists, and on values that occur more than once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from consentry.demo.pii import labelled_corpus, score_spans
from consentry.errors import InvalidInput
from consentry.pipeline import pii_rules as rules
from consentry.pipeline.redact import (
    PII_TYPES,
    RedactionLists,
    public_transforms,
    redact,
    redact_with_spans,
)

EVAL = Path(__file__).parents[1] / "data" / "pii_eval" / "posts.jsonl"


def _one(text: str, lists: RedactionLists | None = None) -> str:
    texts = pa.array([text])
    return (redact(texts, lists) if lists else redact(texts))[0].as_py()


def test_recall_and_precision_per_type_on_the_independent_set_are_at_least_95_percent() -> None:
    posts = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    _, spans = redact_with_spans(pa.array([p["text"] for p in posts]))
    found = [[(s["start"], s["end"], s["type"]) for s in row] for row in spans.to_pylist()]
    scores = score_spans([[tuple(s) for s in p["spans"]] for p in posts], found)
    for kind in PII_TYPES:
        assert scores[kind]["labelled"] > 400, kind
        assert scores[kind]["recall"] >= 0.95, (kind, scores[kind])
        assert scores[kind]["precision"] >= 0.95, (kind, scores[kind])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ip 10.0.0.255 ok", "ip [IP] ok"),
        ("ip 10.0.0.256 ok", "ip 10.0.0.256 ok"),
        ("ip 259.1.1.1 ok", "ip 259.1.1.1 ok"),
        ("ip 250.1.1.1 ok", "ip [IP] ok"),
        # Mastercard is 51-55 and 2221-2720; a Luhn-valid 50xx number is not one.
        ("card 5105 1051 0510 5100 ok", "card [CARD] ok"),
        ("card 5018 0000 0000 0009 ok", "card 5018 0000 0000 0009 ok"),
        # 13-digit Visa and 14-digit Diners, and one digit off each (Luhn fails).
        ("card 4222222222222 ok", "card [CARD] ok"),
        ("card 4222222222223 ok", "card 4222222222223 ok"),
        ("card 3056 930902 5904 ok", "card [CARD] ok"),
        ("card 3056 930902 5905 ok", "card 3056 930902 5905 ok"),
        ("mail a.@web.de ok", "mail [EMAIL] ok"),
        ("mail a_@web.de ok", "mail [EMAIL] ok"),
        ("mail a%@web.de ok", "mail [EMAIL] ok"),
        ("mail a+@web.de ok", "mail [EMAIL] ok"),
        ("mail a-@web.de ok", "mail [EMAIL] ok"),
        ("mail a-@web ok", "mail a-@web ok"),
        ("version 2.10.3.1 ok", "version 2.10.3.1 ok"),
        ("server 2.10.3.1 ok", "server [IP] ok"),
    ],
)
def test_boundaries(text: str, expected: str) -> None:
    assert _one(text) == expected


def test_every_occurrence_of_a_found_value_is_redacted() -> None:
    # The second number follows "Tel." (a dot ends no number a rule may start after).
    text = "call 030 12345678 or Tel.030 12345678, not 030 123456789"
    assert _one(text) == "call [PHONE] or Tel.[PHONE], not [PHONE]"
    assert _one("Tel.030 12345678") == "Tel.030 12345678"
    # Inside a word it is not the same value.
    assert _one("ip 10.0.0.1 and v10.0.0.1") == "ip [IP] and v10.0.0.1"


def test_every_occurrence_is_found_in_a_batch_where_most_texts_have_none() -> None:
    texts = [f"mail a{i}@web.de, write b{i}@web.de" for i in range(300)]
    texts[7] = "mail a7@web.de, or again:a7@web.de"  # ":" ends no e-mail a rule may start after
    texts[299] = "call 030 12345678 (Tel.030 12345678)"
    redacted = redact(pa.array(texts)).to_pylist()
    assert redacted[7] == "mail [EMAIL], or again:[EMAIL]"
    assert redacted[299] == "call [PHONE] (Tel.[PHONE])"
    assert set(redacted[:7] + redacted[8:299]) == {"mail [EMAIL], write [EMAIL]"}


def test_no_match_is_taken_from_inside_an_earlier_one() -> None:
    # The card rule takes the whole number first; Luhn then refuses it, and the phone-shaped
    # digits inside it are not a phone of their own.
    text = "Tracking number 5597 8407 8912 4656 still not moving."
    assert _one(text) == text
    assert _one(f"{text} Call 030 12345678") == f"{text} Call [PHONE]"


def test_the_address_prefilter_matches_wherever_the_address_rule_does() -> None:
    posts = [json.loads(line)["text"] for line in EVAL.read_text(encoding="utf-8").splitlines()]
    texts = pa.array([" " + t for t in posts + [t for t, _ in labelled_corpus(4000, 11)]])
    rule = f"{rules.BOUNDARY}(?:{rules.RULES['ADDRESS']})|{rules.CJK_LED['ADDRESS']}"
    by_rule = pc.match_substring_regex(texts, rule).to_numpy(zero_copy_only=False)
    by_prefilter = pc.match_substring_regex(texts, rules.PREFILTERS["ADDRESS"])
    assert by_rule.sum() > 500
    assert not (by_rule & ~by_prefilter.to_numpy(zero_copy_only=False)).any()


def test_allowed_values_are_kept_and_denied_values_redacted() -> None:
    lists = RedactionLists(
        allow=("support@acme.example", "https://x.com/acme"),
        deny=("db7.corp.internal", "Kundennummer 48213"),
    )
    text = (
        "Write support@acme.example or anna@web.de; see x.com/acme/status/1 and x.com/anna. "
        "Host db7.corp.internal (DB7.CORP.INTERNAL), kundennummer 48213."
    )
    assert _one(text, lists) == (
        "Write support@acme.example or [EMAIL]; see x.com/acme/status/1 and [URL]. "
        "Host [REDACTED] ([REDACTED]), [REDACTED]."
    )
    # Without the lists the same text is redacted by the rules alone.
    assert _one(text).startswith("Write [EMAIL] or [EMAIL]; see [URL] and [URL]. Host db7")
    _, spans = redact_with_spans(pa.array(["at db7.corp.internal"]), lists)
    assert spans.to_pylist() == [[{"start": 3, "end": 20, "type": "REDACTED"}]]


@pytest.mark.parametrize(
    ("lists", "message"),
    [
        ({"allow": ["ab"]}, "field 'allow[0]': 'ab': expected a value of at least 3 characters"),
        ({"deny": [" x.y "]}, "field 'deny[0]'"),
        ({"deny": [7]}, "field 'deny[0]': must be a string, not int"),
        ({"allow": ["a@b.de"], "deny": ["A@B.DE"]}, "'a@b.de' is both allowed and denied"),
    ],
)
def test_bad_lists_are_named(lists: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)) as raised:
        RedactionLists(**{k: tuple(v) for k, v in lists.items()}, where="license L1")
    assert str(raised.value).startswith("license L1")


def test_license_transforms_give_the_lists_and_the_manifest_only_counts_denied_values() -> None:
    transforms = {"redact": True, "redact_allow": ["help@acme.example"], "redact_deny": ["a.b.c"]}
    lists = RedactionLists.from_transforms(transforms, where="license L1")
    assert lists == RedactionLists(allow=("help@acme.example",), deny=("a.b.c",))
    assert public_transforms(transforms)["redact_deny"] == {"values": 1}
    with pytest.raises(InvalidInput, match=re.escape("field 'transforms.redact_deny'")):
        RedactionLists.from_transforms({"redact_deny": "a.b.c"}, where="license L1")
