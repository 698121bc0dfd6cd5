"""An X/Twitter account archive, unpacked or zipped, imports its account and its tweets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from exports import TWEETS, tweet, x_archive
from platform_files import snapshot
from sqlalchemy import Engine

from consentry.errors import InvalidInput
from consentry.ingest import import_x_archive
from consentry.store.db import session_scope
from consentry.store.models import Account, Post


@pytest.mark.parametrize("zipped", [False, True], ids=["directory", "zip"])
def test_the_account_and_its_own_tweets_are_imported(
    engine: Engine, tmp_path: Path, zipped: bool
) -> None:
    archive = x_archive(tmp_path / "archive", zipped=zipped)
    result = import_x_archive(engine, archive, jurisdiction="us-ny", actor="test")
    assert [(r.kind, r.inserted) for r in result.reports] == [("accounts", 1), ("posts", 5)]
    assert result.skipped == {"retweet without the retweeted tweet's id": 1}
    assert "skipped 1: retweet without the retweeted tweet's id" in result.summary()
    with session_scope(engine) as session:
        ada = session.get(Account, "322603863")
        assert (ada.handle, ada.display_name, ada.jurisdiction) == ("ada_l", "Ada L.", "US-NY")
        assert ada.created_at == datetime(2011, 6, 23, 13, 4, 14, tzinfo=UTC)
        first = session.get(Post, "1626916612560281601")
        assert first.text == "Tea & cake at 5 <3"
        assert first.created_at == datetime(2023, 2, 18, 12, 10, tzinfo=UTC)
        assert (first.lang, first.like_count, first.repost_count) == ("en", 4, 1)
        reply = session.get(Post, "1626922779105759235")
        assert reply.reply_to == "1626916612560281601"
        assert reply.text.startswith("@grace ") and reply.lang is None
        assert reply.kind == "reply" and first.kind == "post"
        assert session.get(Post, "1626930000000000000") is None  # a retweet of an unknown tweet
        retweet = session.get(Post, "1626940000000000000")
        assert (retweet.kind, retweet.original_id, retweet.text) == (
            "repost",
            "1626900000000000000",
            "",
        )
        quotes = [session.get(Post, f"16269{n}0000000000000") for n in (5, 6)]
        assert [(q.kind, q.original_id) for q in quotes] == [
            ("quote", "1626900000000000001"),
            ("quote", "1626900000000000002"),
        ]
        assert quotes[0].text == "so true https://t.co/abc"


def test_importing_the_archive_again_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    archive = x_archive(tmp_path / "archive", zipped=True)
    import_x_archive(engine, archive, jurisdiction="DE", actor="test")
    before = snapshot(engine)
    again = import_x_archive(engine, archive, jurisdiction="DE", actor="test")
    assert [(r.inserted, r.updated) for r in again.reports] == [(0, 0), (0, 0)]
    assert snapshot(engine) == before


def test_a_bad_tweet_names_the_file_and_item_and_imports_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    tweets = [TWEETS[0], tweet("2", "18 Feb 2023", "when?")]
    archive = x_archive(tmp_path / "archive", zipped=True, tweets=tweets)
    with pytest.raises(InvalidInput) as caught:
        import_x_archive(engine, archive, jurisdiction="DE", actor="test")
    assert caught.value.where == f"{archive}:twitter-2024-01-01/data/tweets.js, item 1"
    assert caught.value.field == "created_at"
    assert snapshot(engine)["accounts"] == []


def test_tweets_split_over_several_files_import_together_and_errors_name_the_part(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    more = [tweet("1700000000000000000", "Tue Nov 14 22:13:20 +0000 2023", "part one")]
    archive = x_archive(tmp_path / "archive", zipped=False, more=more)
    result = import_x_archive(sqlite_engine, archive, jurisdiction="DE", actor="test")
    assert [r.inserted for r in result.reports] == [1, 6]
    again = [*more, TWEETS[0]]
    broken = x_archive(tmp_path / "broken", zipped=False, more=again)
    with pytest.raises(InvalidInput) as caught:
        import_x_archive(sqlite_engine, broken, jurisdiction="DE", actor="test")
    assert caught.value.where == str(broken / "data" / "tweets-part1.js") + ", item 1"
    assert "duplicate id '1626916612560281601'; first on " in str(caught.value)
    assert str(broken / "data" / "tweets.js") + ", item 0" in str(caught.value)


def test_the_jurisdiction_must_be_an_iso_3166_code(sqlite_engine: Engine, tmp_path: Path) -> None:
    archive = x_archive(tmp_path / "archive", zipped=False)
    with pytest.raises(InvalidInput, match="'XY' is not an ISO 3166") as caught:
        import_x_archive(sqlite_engine, archive, jurisdiction="XY", actor="test")
    assert caught.value.field == "jurisdiction"


def test_a_file_that_is_not_window_ytd_is_named(sqlite_engine: Engine, tmp_path: Path) -> None:
    archive = x_archive(tmp_path / "archive", zipped=False)
    (archive / "data" / "tweets.js").write_text('[{"tweet": {}}]')
    with pytest.raises(InvalidInput, match=r"window\.YTD") as caught:
        import_x_archive(sqlite_engine, archive, jurisdiction="DE", actor="test")
    assert caught.value.where == str(archive / "data" / "tweets.js")
