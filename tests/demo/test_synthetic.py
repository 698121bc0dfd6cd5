"""The synthetic platform: reproducible files with the mix of people, posts and choices we need."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from consentry.demo.scenario import PERIOD_END, PERIOD_START, V2_EFFECTIVE, V2_PUBLISHED
from consentry.demo.synthetic import DemoFiles, generate
from consentry.domain.jurisdiction import EU_COUNTRIES
from consentry.errors import InvalidInput
from consentry.store.content import ACCOUNTS_SCHEMA, CONSENT_SCHEMA, POSTS_SCHEMA

ACCOUNTS, POSTS, SEED = 4_000, 40_000, 7


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate(tmp_path_factory.mktemp("demo"), accounts=ACCOUNTS, posts=POSTS, seed=SEED)


@pytest.fixture(scope="module")
def accounts(files: DemoFiles) -> pa.Table:
    return pq.read_table(files.accounts)


@pytest.fixture(scope="module")
def posts(files: DemoFiles) -> pa.Table:
    return pq.read_table(files.posts)


@pytest.fixture(scope="module")
def consent(files: DemoFiles) -> pa.Table:
    return pq.read_table(files.consent)


def share(mask: pa.Array | pa.ChunkedArray) -> float:
    return pc.mean(pc.cast(pc.fill_null(mask, False), pa.int8())).as_py()


def test_the_files_have_the_canonical_columns(files, accounts, posts, consent) -> None:
    assert accounts.schema == ACCOUNTS_SCHEMA
    assert posts.schema == POSTS_SCHEMA
    assert consent.schema == CONSENT_SCHEMA
    assert files.counts == {
        "accounts": ACCOUNTS,
        "posts": POSTS,
        "consent": consent.num_rows,
    }
    assert accounts.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert not list(files.accounts.parent.glob(".*partial"))


def test_the_same_seed_gives_the_same_bytes(files: DemoFiles, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", accounts=ACCOUNTS, posts=POSTS, seed=SEED)
    for name in ("accounts", "posts", "consent"):
        assert getattr(again, name).read_bytes() == getattr(files, name).read_bytes(), name


def test_another_seed_gives_another_platform(files: DemoFiles, tmp_path: Path) -> None:
    other = generate(tmp_path / "other", accounts=ACCOUNTS, posts=POSTS, seed=SEED + 1)
    for name in ("accounts", "posts", "consent"):
        assert getattr(other, name).read_bytes() != getattr(files, name).read_bytes(), name


def test_too_small_a_platform_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="accounts"):
        generate(tmp_path, accounts=1, posts=10, seed=1)


def test_accounts_live_in_the_eu_the_uk_us_states_and_elsewhere(accounts: pa.Table) -> None:
    places = Counter(accounts.column("jurisdiction").to_pylist())
    assert {"DE", "FR", "IT", "ES", "NL", "PL", "IE", "SE"} <= set(places)
    assert places["GB"] > 0.05 * ACCOUNTS
    us_states = {j for j in places if j.startswith("US-")}
    assert {"US-CA", "US-NY", "US-TX", "US-WA", "US-IL", "US-CO", "US-VA"} <= us_states
    assert {"CA", "BR", "JP", "IN", "AU"} <= set(places)
    eu = sum(n for j, n in places.items() if j in EU_COUNTRIES)
    us = sum(places[j] for j in us_states)
    assert 0.25 < eu / ACCOUNTS < 0.45 and 0.25 < us / ACCOUNTS < 0.4


def test_accounts_have_unique_ids_and_handles(accounts: pa.Table) -> None:
    for column in ("id", "handle"):
        assert pc.count_distinct(accounts.column(column)).as_py() == ACCOUNTS
    assert all(re.fullmatch(r"[a-z0-9_]+", h) for h in accounts.column("handle").to_pylist())


def test_some_accounts_are_minors_and_some_turn_18_during_the_period(accounts: pa.Table) -> None:
    rows = accounts.select(["birth_date", "is_minor"]).to_pylist()
    assert all((r["birth_date"] is None) != (r["is_minor"] is None) for r in rows)

    def age_on(born: date, day: date) -> int:
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    november = date(2024, 11, 15)
    minor = [
        r["is_minor"] if r["birth_date"] is None else age_on(r["birth_date"], november) < 18
        for r in rows
    ]
    assert 0.03 <= sum(minor) / ACCOUNTS <= 0.05
    born = [r["birth_date"] for r in rows if r["birth_date"] is not None]
    turning_18_by_new_year = [
        b for b in born if age_on(b, november) < 18 <= age_on(b, date(2024, 12, 31))
    ]
    adult_in_november_minor_in_june = [
        b for b in born if age_on(b, date(2024, 6, 1)) < 18 <= age_on(b, november)
    ]
    assert turning_18_by_new_year and adult_in_november_minor_in_june


def test_some_accounts_are_protected_or_deleted(accounts: pa.Table) -> None:
    assert 0.035 < share(accounts.column("protected")) < 0.065
    deleted = pc.is_valid(accounts.column("deleted_at"))
    assert 0.004 < share(deleted) < 0.02
    gone = accounts.filter(deleted)
    assert pc.all(pc.greater(gone.column("deleted_at"), gone.column("created_at"))).as_py()
    assert pc.min(accounts.column("created_at")).as_py() >= datetime(2011, 1, 1, tzinfo=UTC)


def test_posts_span_the_period_in_many_languages(posts: pa.Table, accounts: pa.Table) -> None:
    created = posts.column("created_at")
    assert pc.min(created).as_py() >= PERIOD_START and pc.max(created).as_py() < PERIOD_END
    months = set(pc.month(created).to_pylist())
    assert months == {6, 7, 8, 9, 10, 11, 12}
    langs = Counter(posts.column("lang").to_pylist())
    assert {"en", "de", "fr", "es", "it", "nl", "pl", "pt", "ja"} <= set(langs)
    assert langs["en"] == max(langs.values())
    assert pc.count_distinct(posts.column("id")).as_py() == POSTS
    assert set(posts.column("account_id").to_pylist()) <= set(accounts.column("id").to_pylist())


def test_posts_are_made_while_their_author_exists(posts: pa.Table, accounts: pa.Table) -> None:
    joined = posts.join(
        accounts.select(["id", "created_at", "deleted_at"]).rename_columns(
            ["account_id", "joined", "left"]
        ),
        "account_id",
    )
    assert pc.all(pc.greater_equal(joined.column("created_at"), joined.column("joined"))).as_py()
    left = joined.filter(pc.is_valid(joined.column("left")))
    assert pc.all(pc.less(left.column("created_at"), left.column("left"))).as_py()
    # Everything of a deleted account is deleted with it.
    assert pc.all(pc.equal(left.column("deleted_at"), left.column("left"))).as_py()


def test_posts_have_direct_messages_protected_and_deleted_ones(posts: pa.Table) -> None:
    visibility = Counter(posts.column("visibility").to_pylist())
    assert set(visibility) == {"public", "protected", "direct"}
    assert 0.04 < visibility["direct"] / POSTS < 0.06
    assert 0.02 < visibility["protected"] / POSTS < 0.09
    assert 0.012 < share(pc.is_valid(posts.column("deleted_at"))) < 0.035
    dms = posts.filter(pc.equal(posts.column("visibility"), "direct"))
    assert pc.sum(dms.column("like_count")).as_py() == 0


def test_replies_answer_earlier_posts_that_exist(posts: pa.Table) -> None:
    replies = posts.filter(pc.is_valid(posts.column("reply_to")))
    assert 0.2 < replies.num_rows / POSTS < 0.3
    created = dict(
        zip(posts.column("id").to_pylist(), posts.column("created_at").to_pylist(), strict=True)
    )
    for reply_to, at in zip(
        replies.column("reply_to").to_pylist(),
        replies.column("created_at").to_pylist(),
        strict=True,
    ):
        assert created[reply_to] <= at
    counts = Counter(replies.column("reply_to").to_pylist())
    assert {
        i: c
        for i, c in zip(
            posts.column("id").to_pylist(), posts.column("reply_count").to_pylist(), strict=True
        )
        if c
    } == dict(counts)


def test_mentions_name_existing_handles(posts: pa.Table, accounts: pa.Table) -> None:
    mentioned = pc.extract_regex(posts.column("text"), r"^@(?P<handle>[a-z0-9_]+) ")
    handles = [m["handle"] for m in mentioned.to_pylist() if m]
    assert len(handles) > 0.15 * POSTS
    assert set(handles) <= set(accounts.column("handle").to_pylist())
    # Most replies mention the author they answer.
    replies = posts.filter(pc.is_valid(posts.column("reply_to")))
    assert share(pc.starts_with(replies.column("text"), "@")) > 0.7


PII_PATTERNS = {
    "EMAIL": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "PHONE": r"555[-. ]01\d\d|7700 900\d|7946 0\d|01632 960|\+49 \d|\+33 \d|"
    r"\b0[1-7](?: \d\d){4}\b|\b0[1-7](?:\.\d\d){4}\b|\b0(?:30|151|89)[ /]\d{7,8}",
    "IP": r"\b\d{1,3}(?:\.\d{1,3}){3}\b|2001:(?:0db8|db8):",
    "CARD": r"\b(?:\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}|\d{4}[ -]?\d{6}[ -]?\d{5})\b",
    "ADDRESS": r"\d+[AB]? [A-Z][\w ]* (?:Street|St|Avenue|Ave|Road|Rd|Lane|Boulevard|Drive|Way|"
    r"Place|Court|Close|Crescent)\b|(?:straße|strasse|str\.|weg|allee|platz|gasse|Straße|Weg|"
    r"Allee|Platz) \d+|\d+(?: bis)? (?:[Rr]ue|avenue|boulevard|place|chemin|impasse|quai) ",
    "URL": r"(?:x|twitter|instagram|tiktok|youtube|medium|linkedin|facebook|mastodon\.social|"
    r"fosstodon|google|dropbox)\.(?:com|org|social)/",
}


def test_a_quarter_of_posts_carry_pii_of_every_kind(posts: pa.Table) -> None:
    text = posts.column("text")
    found = {kind: pc.match_substring_regex(text, p) for kind, p in PII_PATTERNS.items()}
    for kind, mask in found.items():
        assert share(mask) > 0.02, kind
    has_pii = found["EMAIL"]
    for mask in found.values():
        has_pii = pc.or_(has_pii, mask)
    assert 0.2 <= share(has_pii) <= 0.33


def test_some_card_numbers_pass_the_luhn_check(posts: pa.Table) -> None:
    def luhn_ok(number: str) -> bool:
        digits = [int(d) for d in reversed(number)]
        odd = sum(digits[0::2])
        even = sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
        return (odd + even) % 10 == 0

    matches = pc.extract_regex(posts.column("text"), f"(?P<card>{PII_PATTERNS['CARD']})")
    numbers = [re.sub(r"\D", "", m["card"]) for m in matches.to_pylist() if m]
    assert sum(map(luhn_ok, numbers)) > 0.01 * POSTS


def test_hard_negatives_look_like_pii_but_are_not(posts: pa.Table) -> None:
    text = posts.column("text")
    assert share(pc.match_substring_regex(text, r"\b978-?\d")) > 0.002  # ISBNs
    assert share(pc.match_substring_regex(text, r"ORD-2024-\d{6}|#\d{6,8}\b")) > 0.002


def _events(consent: pa.Table, **where: str | None) -> pa.Table:
    mask = pc.is_valid(consent.column("account_id"))
    for column, value in where.items():
        values = consent.column(column)
        mask = pc.and_(mask, pc.is_null(values) if value is None else pc.equal(values, value))
    return consent.filter(mask)


def test_switch_offs_burst_after_the_announcement_and_decay(consent: pa.Table) -> None:
    offs = _events(
        consent, purpose="train_ai_system", collaborator_id=None, decision="deny", source="settings"
    )
    first = pc.min(offs.column("effective_at")).as_py()
    assert first >= V2_PUBLISHED
    weeks = Counter((at - V2_PUBLISHED).days // 7 for at in offs.column("effective_at").to_pylist())
    assert weeks[0] > weeks[1] > weeks[2]
    assert weeks[0] > 0.3 * offs.num_rows
    # a second, smaller wave when v2 takes effect
    effective_week = (V2_EFFECTIVE - V2_PUBLISHED).days // 7
    assert weeks[effective_week] > weeks[effective_week - 1]


def test_some_switch_back_on_after_switching_off(consent: pa.Table) -> None:
    master = _events(consent, purpose="train_ai_system", collaborator_id=None)
    first_deny: dict[str, datetime] = {}
    back = set()
    for row in master.to_pylist():
        if row["decision"] == "deny":
            first_deny.setdefault(row["account_id"], row["effective_at"])
        elif (
            row["account_id"] in first_deny and row["effective_at"] > first_deny[row["account_id"]]
        ):
            back.add(row["account_id"])
    assert len(back) > 0.05 * len(first_deny)


def test_explicit_allows_in_the_eu_and_per_collaborator_choices(
    consent: pa.Table, accounts: pa.Table
) -> None:
    place = dict(
        zip(
            accounts.column("id").to_pylist(),
            accounts.column("jurisdiction").to_pylist(),
            strict=True,
        )
    )
    allows = _events(consent, purpose="train_ai_system", collaborator_id=None, decision="allow")
    assert sum(place[a] in EU_COUNTRIES for a in allows.column("account_id").to_pylist()) > 50
    per_collaborator = consent.filter(pc.is_valid(consent.column("collaborator_id")))
    pairs = set(
        zip(
            per_collaborator.column("collaborator_id").to_pylist(),
            per_collaborator.column("decision").to_pylist(),
            strict=True,
        )
    )
    assert pairs == {(c, d) for c in ("northwind-ai", "lumen-labs") for d in ("allow", "deny")}


def test_gpc_signals_are_master_switch_denials(consent: pa.Table, accounts: pa.Table) -> None:
    gpc = _events(consent, source="gpc")
    assert gpc.num_rows > 0.01 * ACCOUNTS
    assert set(gpc.column("decision").to_pylist()) == {"deny"}
    assert gpc.column("collaborator_id").null_count == gpc.num_rows
    place = dict(
        zip(
            accounts.column("id").to_pylist(),
            accounts.column("jurisdiction").to_pylist(),
            strict=True,
        )
    )
    states = Counter(place[a] for a in gpc.column("account_id").to_pylist())
    assert states.most_common(1)[0][0] in {"US-CA", "US-CO"}


def test_personalisation_choices_go_back_to_policy_v1(consent: pa.Table) -> None:
    personal = _events(consent, purpose="personalize")
    versions = Counter(personal.column("policy_version").to_pylist())
    assert versions["v1"] > versions["v2"] > 0
    assert pc.min(personal.column("effective_at")).as_py() < datetime(2024, 1, 1, tzinfo=UTC)


def test_events_are_recorded_in_order_while_their_account_exists(
    consent: pa.Table, accounts: pa.Table
) -> None:
    recorded = consent.column("recorded_at").to_pylist()
    assert recorded == sorted(recorded)
    assert pc.all(
        pc.greater_equal(consent.column("recorded_at"), consent.column("effective_at"))
    ).as_py()
    assert pc.max(consent.column("recorded_at")).as_py() < PERIOD_END
    assert pc.count_distinct(consent.column("external_id")).as_py() == consent.num_rows
    lifetime = {
        r["id"]: (r["created_at"], r["deleted_at"])
        for r in accounts.select(["id", "created_at", "deleted_at"]).to_pylist()
    }
    for account, at in zip(
        consent.column("account_id").to_pylist(),
        consent.column("effective_at").to_pylist(),
        strict=True,
    ):
        joined, left = lifetime[account]
        assert at >= joined and (left is None or at < left)
    v2 = pc.equal(consent.column("policy_version"), "v2")
    after = pc.greater_equal(consent.column("recorded_at"), pa.scalar(V2_PUBLISHED))
    assert pc.all(pc.equal(v2, after)).as_py()
