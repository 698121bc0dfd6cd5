"""A Mastodon export: the actor and its notes, with visibility from their addressing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from exports import ACTOR_ID, NOTES, PUBLIC, mastodon_export, note
from platform_files import snapshot
from sqlalchemy import Engine

from consentry.errors import InvalidInput
from consentry.ingest import import_mastodon
from consentry.ingest.mastodon import fit_id
from consentry.store.db import session_scope
from consentry.store.models import Account, Post


def _status(number: int) -> str:
    return f"{ACTOR_ID}/statuses/{number}"


@pytest.mark.parametrize("zipped", [False, True], ids=["directory", "zip"])
def test_notes_become_posts_with_visibility_from_their_audience(
    engine: Engine, tmp_path: Path, zipped: bool
) -> None:
    export = mastodon_export(tmp_path / "export", zipped=zipped)
    result = import_mastodon(engine, export, jurisdiction="FR", actor="test")
    assert [(r.kind, r.inserted) for r in result.reports] == [("accounts", 1), ("posts", 7)]
    with session_scope(engine) as session:
        ada = session.get(Account, ACTOR_ID)
        assert (ada.handle, ada.display_name, ada.jurisdiction) == ("ada", "Ada Lovelace", "FR")
        assert ada.created_at == datetime(2022, 11, 5, tzinfo=UTC)
        posts = {p.id: p for p in session.query(Post)}
    assert set(posts) == {_status(n) for n in range(1, 8)}
    assert posts[_status(1)].text == "Hallo & willkommen\n\nzweiter\nAbsatz"
    assert posts[_status(1)].lang == "de"
    assert posts[_status(1)].created_at == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert [posts[_status(n)].visibility for n in (1, 2, 3, 4)] == [
        "public",
        "public",
        "protected",
        "direct",
    ]
    assert posts[_status(3)].reply_to == _status(1)
    kinds = [(posts[_status(n)].kind, posts[_status(n)].original_id) for n in range(1, 8)]
    assert kinds == [
        ("post", None),
        ("post", None),
        ("reply", None),
        ("post", None),
        ("repost", "https://other.example/users/bob/statuses/9"),  # a boost: no words of ada's
        ("quote", "https://other.example/notes/q1"),
        ("quote", "https://other.example/users/bob/statuses/10"),
    ]
    assert (posts[_status(5)].text, posts[_status(5)].visibility) == ("", "public")


def test_importing_the_export_again_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    export = mastodon_export(tmp_path / "export", zipped=True)
    import_mastodon(engine, export, jurisdiction="FR", actor="test")
    before = snapshot(engine)
    again = import_mastodon(engine, export, jurisdiction="FR", actor="test")
    assert [(r.inserted, r.updated, r.unchanged) for r in again.reports] == [(0, 0, 1), (0, 0, 7)]
    assert snapshot(engine) == before


def test_an_id_too_long_to_store_gets_a_stable_digest(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    long_id = "https://a-rather-long-instance-name.example/users/ada/statuses/113456789012345678"
    notes = [dict(NOTES[0], object=dict(NOTES[0]["object"], id=long_id))]
    export = mastodon_export(tmp_path / "export", zipped=False, notes=notes)
    import_mastodon(sqlite_engine, export, jurisdiction="FR", actor="test")
    stored = fit_id(long_id)
    assert stored.startswith("sha256:") and len(stored) == 64 and fit_id(long_id) == stored
    assert [p[0] for p in snapshot(sqlite_engine)["posts"]] == [stored]


def test_a_note_without_a_time_names_its_item(sqlite_engine: Engine, tmp_path: Path) -> None:
    broken = note(7, [PUBLIC], [], "<p>x</p>", published=None)
    broken["published"] = None
    export = mastodon_export(tmp_path / "export", zipped=False, notes=[NOTES[0], broken])
    with pytest.raises(InvalidInput) as caught:
        import_mastodon(sqlite_engine, export, jurisdiction="FR", actor="test")
    assert caught.value.where == f"{export / 'outbox.json'}, item 1"
    assert caught.value.field == "created_at"
    assert caught.value.detail == "is required. Nothing was imported: fix the export"
