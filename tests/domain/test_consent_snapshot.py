"""The snapshot's shape for its callers, and the cases the property test does not draw.

The property test (``test_consent_bulk``) holds every value to the one-at-a-time rule on random
ledgers; these pin what the callers rely on besides: one row per account in the accounts'
order, with ``SNAPSHOT_SCHEMA``, whatever the order of the ledger and whatever it names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from bulk_form import account_table, event_table

from consentry.domain.consent import is_minor_at
from consentry.domain.consent_snapshot import SNAPSHOT_SCHEMA, account_snapshot
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.domain.types import (
    AccountFacts,
    ConsentEventFacts,
    Decision,
    DefaultRule,
    PolicyFacts,
)

U = TRAIN_AI_SYSTEM
C = "collab-a"
T = datetime(2026, 3, 1, tzinfo=UTC)
POLICY = PolicyFacts(
    version="v1",
    published_at=T - timedelta(days=60),
    effective_at=T - timedelta(days=30),
    purposes=frozenset({U}),
    defaults={"US": DefaultRule.OPT_OUT, "EU": DefaultRule.OPT_IN},
)
ACCOUNTS = [AccountFacts("zed", "US"), AccountFacts("amy", "DE"), AccountFacts("kim", "US-CA")]


def event(id: int, account_id: str, decision: Decision, days_before: int) -> ConsentEventFacts:
    moment = T - timedelta(days=days_before)
    return ConsentEventFacts(id, account_id, U, None, decision, moment, moment)


def snapshot(
    accounts: list[AccountFacts], events: list[ConsentEventFacts], moment: datetime = T
) -> pa.Table:
    return account_snapshot(
        account_table(accounts),
        event_table(events),
        [POLICY],
        purpose=U,
        collaborator_id=C,
        listed_at=None,
        cutoff=moment,
        as_of=moment,
    )


def test_one_row_per_account_in_the_accounts_order_with_the_snapshot_schema() -> None:
    for events in ([], [event(1, "amy", Decision.ALLOW, 3)]):
        table = snapshot(ACCOUNTS, events)
        assert table.schema == SNAPSHOT_SCHEMA
        assert table.column("account_id").to_pylist() == ["zed", "amy", "kim"]


def test_the_ledger_order_is_read_from_ids_not_from_the_rows() -> None:
    # Two events at the same instant: the later in ledger order (greater id) wins either way.
    events = [event(7, "zed", Decision.DENY, 2), event(9, "zed", Decision.ALLOW, 2)]
    for given in (events, events[::-1]):
        row = snapshot(ACCOUNTS, given).to_pylist()[0]
        assert (row["reason_t"], row["event_t"]) == (None, 9)


def test_events_of_accounts_not_in_the_snapshot_count_for_no_one() -> None:
    table = snapshot(ACCOUNTS, [event(1, "ghost", Decision.ALLOW, 1)])
    assert table.column("event_t").to_pylist() == [None, None, None]
    assert table.column("reason_t").to_pylist() == [None, "no_consent", None]


def test_a_ledger_id_too_large_for_the_packed_choice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"ledger ids from 2\*\*61"):
        snapshot(ACCOUNTS, [event(2**61, "zed", Decision.ALLOW, 1)])


@pytest.mark.parametrize(
    "moment",
    [datetime(2024, 2, 29, 12, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC), T],
    ids=["leap-day", "eve-of-march", "march"],
)
def test_minor_on_leap_days_is_the_one_at_a_time_age(moment: datetime) -> None:
    """A moment on 29 February whose year 18 years back has none: the bulk threshold moves
    to 28 February; births around both days on both sides of 18."""
    births = [
        date(year, month, day)
        for year in (moment.year - 19, moment.year - 18, moment.year - 17)
        for month, day in ((2, 27), (2, 28), (3, 1), (3, 2))
    ] + [date(2008, 2, 29), date(2004, 2, 29)]
    accounts = [AccountFacts(f"a{i}", "US", birth_date=b) for i, b in enumerate(births)]
    table = snapshot(accounts, [], moment)
    assert table.column("minor").to_pylist() == [is_minor_at(a, moment) for a in accounts]
