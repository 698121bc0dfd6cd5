"""Mastodon account exports: ``actor.json`` (an ActivityPub Person) and ``outbox.json``.

The outbox is an OrderedCollection of activities; each ``Create`` of a ``Note`` is a post, a
quote when it names a quoted post (``quoteUri``, ``quoteUrl``, ``_misskey_quote``, ``quote``, or
an FEP-e232 ``Link`` tag whose ``mediaType`` is ActivityStreams JSON-LD or whose ``rel`` is a
quote). A boost (``Announce``) is a ``repost`` of the announced object, with no text of its own;
its id is the boost's status URL (the activity id without ``/activity``). Visibility follows
the addressing: the Public collection in ``to`` or ``cc`` means public (Mastodon's "unlisted"
too), the author's followers collection alone means protected, anything else is a direct
message. Ids are the ActivityPub id URLs; one longer than the 64 characters an id column holds
is replaced by a stable digest of it, the same each time.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine

from consentry.errors import InvalidInput
from consentry.ingest.archive import Archive, checked_jurisdiction
from consentry.ingest.importer import ArchiveReport, import_sources
from consentry.ingest.readers import Source

_QUOTE_KEYS = ("quoteUri", "quoteUrl", "_misskey_quote", "quote")
_AS_MEDIA = (
    "application/activity+json",
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
)
PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
ID_LIMIT = 64


def fit_id(url: Any) -> str | None:
    """The id URL itself, or ``sha256:`` and a digest of it when it is too long to store."""
    if url is None:
        return None
    url = str(url)
    if len(url) <= ID_LIMIT:
        return url
    return "sha256:" + hashlib.sha256(url.encode()).hexdigest()[: ID_LIMIT - 7]


def html_to_text(content: str) -> str:
    """Mastodon's post HTML as plain text: paragraphs and line breaks kept, tags dropped."""
    text = re.sub(r"<br\s*/?>", "\n", content, flags=re.IGNORECASE)
    text = re.sub(r"</p>\s*<p[^>]*>", "\n\n", text, flags=re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _json(archive: Archive, name: str) -> tuple[str, dict[str, Any]]:
    member = archive.find(name)
    try:
        document = json.loads(archive.text(member))
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"not valid JSON ({exc.msg}, line {exc.lineno})", where=archive.label(member)
        ) from None
    if not isinstance(document, dict):
        raise InvalidInput("expected a JSON object", where=archive.label(member))
    return member, document


def _addressed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def visibility(note: dict[str, Any], followers: str | None) -> str:
    audience = set(_addressed(note.get("to"))) | set(_addressed(note.get("cc")))
    if audience & PUBLIC:
        return "public"
    if followers is not None and followers in audience:
        return "protected"
    return "direct"


def _actor(archive: Archive, jurisdiction: str) -> tuple[Source, dict[str, Any]]:
    member, actor = _json(archive, "actor.json")
    table = pa.table(
        {
            "id": pa.array([fit_id(actor.get("id"))], pa.string()),
            "handle": pa.array([actor.get("preferredUsername")], pa.string()),
            "display_name": pa.array([actor.get("name") or None], pa.string()),
            "jurisdiction": pa.array([jurisdiction], pa.string()),
            "created_at": pa.array([actor.get("published")], pa.string()),
        }
    )
    return Source(archive.label(member), "item", table, np.arange(1)), actor


def _language_and_html(note: dict[str, Any]) -> tuple[str | None, str]:
    content_map = note.get("contentMap") or {}
    lang = next(iter(content_map), None)
    content = note.get("content")
    if content is None and lang is not None:
        content = content_map[lang]
    return lang, content or ""


def quoted(note: dict[str, Any]) -> str | None:
    """The URL of the post a note quotes, if it quotes one."""
    for key in _QUOTE_KEYS:
        value = note.get(key)
        if isinstance(value, str) and value:
            return value
    for tag in note.get("tag") or []:
        if not isinstance(tag, dict) or tag.get("type") != "Link" or not tag.get("href"):
            continue
        rel = tag.get("rel")
        rels = [rel] if isinstance(rel, str) else list(rel or [])
        if tag.get("mediaType") in _AS_MEDIA or any("quote" in str(r).lower() for r in rels):
            return str(tag["href"])
    return None


def _announced(activity: dict[str, Any]) -> Any:
    target = activity.get("object")
    return target.get("id") if isinstance(target, dict) else target


def _notes(archive: Archive, actor: dict[str, Any]) -> Source:
    member, outbox = _json(archive, "outbox.json")
    items = outbox.get("orderedItems")
    if not isinstance(items, list):
        raise InvalidInput(
            "expected an OrderedCollection with orderedItems", where=archive.label(member)
        )
    followers = actor.get("followers") or (f"{actor['id']}/followers" if actor.get("id") else None)
    names = ("id", "account_id", "created_at", "text", "lang", "visibility", "reply_to")
    rows: dict[str, list[Any]] = {name: [] for name in (*names, "kind", "original_id")}
    positions = []
    for position, activity in enumerate(items):
        if not isinstance(activity, dict):
            continue
        if activity.get("type") == "Announce":
            boost = str(activity.get("id") or "").removesuffix("/activity") or None
            row = {
                "id": fit_id(boost),
                "created_at": activity.get("published"),
                "text": "",
                "lang": None,
                "visibility": visibility(activity, followers),
                "reply_to": None,
                "kind": "repost",
                "original_id": fit_id(_announced(activity)),
            }
        elif activity.get("type") == "Create":
            note = activity.get("object")
            if not isinstance(note, dict) or note.get("type") != "Note":
                continue
            lang, content = _language_and_html(note)
            quote = quoted(note)
            row = {
                "id": fit_id(note.get("id")),
                "created_at": note.get("published") or activity.get("published"),
                "text": html_to_text(content),
                "lang": lang,
                "visibility": visibility(note, followers),
                "reply_to": fit_id(note.get("inReplyTo")),
                "kind": "quote" if quote else None,
                "original_id": fit_id(quote),
            }
        else:
            continue
        row["account_id"] = fit_id(actor.get("id"))
        for name, values in rows.items():
            values.append(row[name])
        positions.append(position)
    table = pa.table({name: pa.array(values, pa.string()) for name, values in rows.items()})
    return Source(archive.label(member), "item", table, np.array(positions, dtype=np.int64))


def read_mastodon(archive: Archive, jurisdiction: str) -> list[tuple[str, Source]]:
    """(kind, source) pairs: the account, then its notes."""
    accounts, actor = _actor(archive, jurisdiction)
    return [("accounts", accounts), ("posts", _notes(archive, actor))]


def import_mastodon(
    engine: Engine, path: str | Path, *, jurisdiction: str, actor: str
) -> ArchiveReport:
    """Import a Mastodon account export (a directory or .zip): the account and its posts."""
    code = checked_jurisdiction(jurisdiction)
    with Archive(Path(path)) as archive:
        sources = read_mastodon(archive, code)
    return import_sources(engine, sources, actor=actor)
