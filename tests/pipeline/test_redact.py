"""The redactor replaces personal data with typed placeholders and leaves look-alikes alone."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from consentry.demo.pii import labelled_corpus
from consentry.pipeline.redact import (
    PII_TYPES,
    PLACEHOLDERS,
    Mentions,
    redact,
    redact_with_spans,
    replace_mentions,
)

EXAMPLES = {
    "EMAIL": [
        "anna.mueller@web.de",
        "j.doe+news@mail.co.uk",
        "Kenji_Tanaka99@uni-heidelberg.de",
        "CAMILLE.DUBOIS@ORANGE.FR",
    ],
    "PHONE": [
        "+44 20 7946 0958",
        "+1 (415) 555-0132",
        "+49 151 23456789",
        "+33 6 12 34 56 78",
        "+44 (0)20 7946 0958",
        "030 12345678",
        "089/1234567",
        "06 12 34 56 78",
        "01.23.45.67.89",
        "07700 900123",
        "020 7946 0958",
        "(415) 555-0132",
        "415-555-0132",
        "415.555.0132",
    ],
    "IP": [
        "192.168.1.20",
        "8.8.8.8",
        "255.255.255.0",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "2001:db8::8a2e:370:7334",
        "fe80::1ff:fe23:4567:890a",
        "::1",
    ],
    "CARD": [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4012888888881881",
        "5500 0000 0000 0004",
        "2221 0000 0000 0009",
        "378282246310005",
        "3782 822463 10005",
    ],
    "ADDRESS": [
        "221B Baker Street",
        "1600 Pennsylvania Avenue NW",
        "350 Fifth Avenue",
        "10 Downing St",
        "Hauptstraße 5",
        "Müllerstr. 12a",
        "Berliner Straße 12",
        "12 rue de la Paix",
        "8 boulevard Saint-Michel",
        "3 avenue des Champs-Élysées",
    ],
    "URL": [
        "https://x.com/jack",
        "twitter.com/jack",
        "https://mastodon.social/@Gargron",
        "https://www.youtube.com/@veritasium",
        "https://www.linkedin.com/in/jane-doe-123",
        "https://facebook.com/zuck",
        "https://www.instagram.com/natgeo/",
        "https://docs.google.com/document/d/1AbC_dEf-123XyZ/edit",
        "https://drive.google.com/file/d/1xYz-AbC/view?usp=sharing",
        "https://www.dropbox.com/s/abc123xyz/cv.pdf?dl=0",
    ],
}

LOOK_ALIKES = [
    "ISBN 978-3-16-148410-0",
    "ISBN 9783161484100",
    "ISBN 0-306-40615-2",
    "order #48213377",
    "order 112-4827731-2284711",
    "ref 4111 1111 1111 1112",
    "ref 4111111111111112",
    "ref 1234567890123456",
    "on 2024-03-15",
    "on 15.03.2024",
    "on 03/15/2024",
    "at 9:30 or 10:45:00",
    "for $1,299.99",
    "for €45,00",
    "version v2.3.1",
    "Python 3.11.4",
    "read https://example.com/news",
    "read https://en.wikipedia.org/wiki/Luhn_algorithm",
    "watch https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "std::vector<int>",
    "cc @anna_m",
    "Top 10 tips",
]


def _one(text: str) -> tuple[str, list[tuple[str, str]]]:
    texts, spans = redact_with_spans(pa.array([text]))
    return texts[0].as_py(), [(text[s["start"] : s["end"]], s["type"]) for s in spans[0].as_py()]


@pytest.mark.parametrize(
    ("kind", "value"), [(kind, value) for kind, values in EXAMPLES.items() for value in values]
)
def test_each_kind_of_personal_data_becomes_its_placeholder(kind: str, value: str) -> None:
    text, spans = _one(f"Here: {value}. Thanks!")
    assert text == f"Here: {PLACEHOLDERS[kind]}. Thanks!"
    assert spans == [(value, kind)]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert _one(text) == (text, [])


def test_spans_are_code_points_of_the_input_after_emoji_and_accents() -> None:
    text = "Café 🎉 naïve — 👩‍👩‍👧 mail anna@web.de, call 030 12345678 at Hauptstraße 5"
    redacted, spans = _one(text)
    assert redacted == "Café 🎉 naïve — 👩‍👩‍👧 mail [EMAIL], call [PHONE] at [ADDRESS]"
    assert spans == [
        ("anna@web.de", "EMAIL"),
        ("030 12345678", "PHONE"),
        ("Hauptstraße 5", "ADDRESS"),
    ]


def test_personal_data_at_the_very_start_and_end_of_a_text() -> None:
    assert _one("anna@web.de") == ("[EMAIL]", [("anna@web.de", "EMAIL")])
    assert _one("+44 20 7946 0958 or 8.8.8.8")[0] == "[PHONE] or [IP]"


def test_adjacent_and_repeated_values_are_each_replaced() -> None:
    text = "a@b.de,c@d.de; 4111 1111 1111 1111 / 4111 1111 1111 1111"
    assert _one(text)[0] == "[EMAIL],[EMAIL]; [CARD] / [CARD]"


def test_a_value_inside_another_is_replaced_once_by_the_earlier_rule() -> None:
    # The card-shaped id inside a document link is part of the URL, not a card of its own.
    text = "see https://drive.google.com/open?id=4111111111111111 now"
    assert _one(text) == ("see [URL] now", [(text[4:-4], "URL")])


def test_spans_replaced_by_placeholders_give_the_redacted_text() -> None:
    corpus = labelled_corpus(3000, seed=11)
    texts = pa.array([text for text, _ in corpus])
    redacted, spans = redact_with_spans(texts)
    for text, out, found in zip(
        texts.to_pylist(), redacted.to_pylist(), spans.to_pylist(), strict=True
    ):
        rebuilt, at = [], 0
        for span in found:
            rebuilt += [text[at : span["start"]], PLACEHOLDERS[span["type"]]]
            at = span["end"]
        assert "".join([*rebuilt, text[at:]]) == out


def test_redact_gives_the_same_texts_as_redact_with_spans() -> None:
    texts = pa.array([text for text, _ in labelled_corpus(5000, seed=3)])
    assert redact(texts).equals(redact_with_spans(texts)[0])


def test_precision_and_recall_on_labelled_posts_are_at_least_95_percent() -> None:
    corpus = labelled_corpus(5000, seed=5)
    _, spans = redact_with_spans(pa.array([text for text, _ in corpus]))
    hits, labelled, found = Counter(), Counter(), Counter()
    for (_, gold), predicted in zip(corpus, spans.to_pylist(), strict=True):
        got = {(s["start"], s["end"], s["type"]) for s in predicted}
        labelled.update(kind for *_, kind in gold)
        found.update(kind for *_, kind in got)
        hits.update(kind for *_, kind in got & set(gold))
    for kind in PII_TYPES:
        assert labelled[kind] > 300
        assert hits[kind] / found[kind] >= 0.95, kind
        assert hits[kind] / labelled[kind] >= 0.95, kind


def test_nulls_empty_texts_chunks_and_large_strings_keep_their_shape() -> None:
    chunked = pa.chunked_array([["mail a@b.de", None], [], ["", "8.8.8.8"]])
    assert redact(chunked).to_pylist() == ["mail [EMAIL]", None, "", "[IP]"]
    _, spans = redact_with_spans(chunked)
    assert spans.to_pylist() == [
        [{"start": 5, "end": 11, "type": "EMAIL"}],
        None,
        [],
        [{"start": 0, "end": 7, "type": "IP"}],
    ]
    large = redact(pa.array(["call 030 12345678"], pa.large_string()))
    assert large.type == pa.large_string() and large.to_pylist() == ["call [PHONE]"]
    assert redact(pa.array([], pa.string())).to_pylist() == []
    assert redact(pa.array([None, "no digits here"])).to_pylist() == [None, "no digits here"]


def test_a_nul_character_becomes_a_replacement_character_and_offsets_still_hold() -> None:
    text, spans = _one("a\x00b mail a@b.de")
    assert text == "a\ufffdb mail [EMAIL]"
    assert spans == [("a@b.de", "EMAIL")]


def test_batches_redacted_concurrently_match_one_at_a_time() -> None:
    batches = [pa.array([text for text, _ in labelled_corpus(2000, seed)]) for seed in range(8)]
    expected = [redact(batch) for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        assert all(a.equals(b) for a, b in zip(pool.map(redact, batches), expected, strict=True))


HANDLES = pa.array(["anna_m", "Bob"])
PSEUDONYMS = pa.array(["u_7f3a", "u_19c2"])
MENTIONS = Mentions(HANDLES, PSEUDONYMS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cc @anna_m", "cc u_7f3a"),
        ("@ANNA_M and @bob!", "u_7f3a and u_19c2!"),
        ("thanks @carol, @dave's idea", "thanks [USER], [USER]'s idea"),
        ("(@bob)\n@anna_m", "(u_19c2)\nu_7f3a"),
        ("mail anna@example.org or a.b@c.de", "mail anna@example.org or a.b@c.de"),
        ("@ alone, @@, and trailing @", "@ alone, @@, and trailing @"),
        ("@" + "x" * 31, "@" + "x" * 31),
        ("@" + "x" * 30 + ".", "[USER]."),
        ("no mentions", "no mentions"),
    ],
)
def test_mentions_become_pseudonyms_or_user(text: str, expected: str) -> None:
    assert replace_mentions(pa.array([text]), MENTIONS).to_pylist() == [expected]


def test_mentions_after_redaction_leave_placeholders_and_nulls_alone() -> None:
    texts = redact(pa.array(["@bob mail bob@x.com", None, "@zed"]))
    out = replace_mentions(texts, MENTIONS, unknown="[ANON]")
    assert out.to_pylist() == ["u_19c2 mail [EMAIL]", None, "[ANON]"]
