"""X/Twitter account archives: ``data/account.js`` and ``data/tweets.js`` (or its parts).

Each file is JavaScript of the form ``window.YTD.<name>.part0 = [...]``. Tweets carry
``created_at`` like ``Wed Oct 10 20:19:24 +0000 2018`` and HTML-escaped ``full_text``. The
archive does not say where the account holder lives, so the jurisdiction is given.

Retweets (``full_text`` starting ``RT @``, or a ``retweeted_status``) become kind ``repost``
with no text of their own (the words are the original's) and ``original_id`` the retweeted
tweet: ``retweeted_status.id_str``, else the first status link in ``entities.urls``. Archives
usually carry neither, and a repost without its original says nothing a license could use
(DESIGN rule 8 judges the original on its own), so such a retweet is skipped, logged and
counted in the report rather than stored with a guessed id. A quote tweet
(``quoted_status_id_str``, ``quoted_status_permalink``, or a link in ``entities.urls`` to
``twitter.com|x.com/<user>/status/<id>``) becomes kind ``quote`` with ``original_id`` that id;
its text is the quoter's.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine

from consentry.errors import InvalidInput
from consentry.ingest.archive import Archive, checked_jurisdiction
from consentry.ingest.importer import ArchiveReport, import_sources
from consentry.ingest.readers import Source

_YTD = re.compile(r"^\s*window\.YTD\.\w+\.part\d+\s*=\s*")
_TWEET_FILES = re.compile(r"(?:.*/)?data/tweets?(?:-part(\d+))?\.js")
_TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
_STATUS_URL = re.compile(r"https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/\w+/status(?:es)?/(\d+)")
NO_ORIGINAL = "retweet without the retweeted tweet's id"
log = logging.getLogger(__name__)


def ytd_items(archive: Archive, member: str) -> list[Any]:
    """The array assigned in a ``window.YTD.<name>.partN = [...]`` file."""
    data = archive.text(member)
    prefix = _YTD.match(data)
    if prefix is None:
        raise InvalidInput(
            "expected 'window.YTD.<name>.part0 = [...]'", where=archive.label(member)
        )
    try:
        items = json.loads(data[prefix.end() :].strip().rstrip(";"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"not valid JSON after 'window.YTD...=' ({exc.msg}, line {exc.lineno})",
            where=archive.label(member),
        ) from None
    if not isinstance(items, list):
        raise InvalidInput("expected an array [...]", where=archive.label(member))
    return items


def _iso_time(value: Any) -> Any:
    """X's time format as ISO 8601; anything else unchanged, for validation to report."""
    try:
        return datetime.strptime(value, _TWITTER_TIME).isoformat()
    except (TypeError, ValueError):
        return value


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _account(archive: Archive, jurisdiction: str) -> tuple[Source, str]:
    member = archive.find("data/account.js")
    items = ytd_items(archive, member)
    if len(items) != 1 or not isinstance(items[0], dict) or "account" not in items[0]:
        raise InvalidInput('expected one {"account": {...}} item', where=archive.label(member))
    account = items[0]["account"]
    table = pa.table(
        {
            "id": pa.array([_str(account.get("accountId"))], pa.string()),
            "handle": pa.array([account.get("username")], pa.string()),
            "display_name": pa.array([account.get("accountDisplayName")], pa.string()),
            "jurisdiction": pa.array([jurisdiction], pa.string()),
            "created_at": pa.array([account.get("createdAt")], pa.string()),
        }
    )
    account_id = _str(account.get("accountId"))
    if account_id is None:
        raise InvalidInput("the account has no accountId", where=archive.label(member))
    return Source(archive.label(member), "item", table, np.arange(1)), account_id


def _linked_status(tweet: dict[str, Any]) -> str | None:
    """The id of the first tweet that ``entities.urls`` links to."""
    urls = (tweet.get("entities") or {}).get("urls") or []
    for url in urls:
        found = _STATUS_URL.match(str((url or {}).get("expanded_url") or ""))
        if found:
            return found[1]
    return None


def _kind(tweet: dict[str, Any], text: str) -> tuple[str | None, str | None]:
    """(kind, original_id); kind None for a post or reply (the importer tells them apart), and
    (repost, None) for a retweet whose original is unknown."""
    retweeted = tweet.get("retweeted_status")
    if text.startswith("RT @") or isinstance(retweeted, dict):
        original = (retweeted or {}).get("id_str") if isinstance(retweeted, dict) else None
        return "repost", _str(original) or _linked_status(tweet)
    permalink = (tweet.get("quoted_status_permalink") or {}).get("expanded") or ""
    quoted = tweet.get("quoted_status_id_str") or (
        found[1] if (found := _STATUS_URL.match(str(permalink))) else None
    )
    quoted = _str(quoted) or _linked_status(tweet)
    return ("quote", quoted) if quoted else (None, None)


def _tweets(archive: Archive, members: list[str], account_id: str) -> tuple[Source, Counter[str]]:
    """The account's tweets from every tweets file, as one source (one staging table), and the
    retweets skipped, by reason."""
    names = ("id", "account_id", "created_at", "text", "lang", "visibility", "reply_to")
    columns = (*names, "kind", "original_id", "like_count", "repost_count")
    rows: dict[str, list[Any]] = {name: [] for name in columns}
    positions, parts, offset = [], [], 0
    skipped: Counter[str] = Counter()
    for member in members:
        parts.append((offset, archive.label(member)))
        items = ytd_items(archive, member)
        for index, item in enumerate(items):
            tweet = item.get("tweet", item) if isinstance(item, dict) else {}
            text = html.unescape(tweet.get("full_text") or tweet.get("text") or "")
            kind, original = _kind(tweet, text)
            if kind == "repost" and original is None:
                log.info("%s, item %d: skipped, %s", archive.label(member), index, NO_ORIGINAL)
                skipped[NO_ORIGINAL] += 1
                continue
            rows["id"].append(_str(tweet.get("id_str") or tweet.get("id")))
            rows["account_id"].append(account_id)
            rows["created_at"].append(_iso_time(tweet.get("created_at")))
            rows["text"].append("" if kind == "repost" else text)
            rows["kind"].append(kind)
            rows["original_id"].append(original)
            rows["lang"].append(None if tweet.get("lang") in (None, "und") else tweet["lang"])
            rows["visibility"].append("public")
            rows["reply_to"].append(_str(tweet.get("in_reply_to_status_id_str")))
            rows["like_count"].append(_str(tweet.get("favorite_count")))
            rows["repost_count"].append(_str(tweet.get("retweet_count")))
            positions.append(offset + index)
        offset += len(items)
    table = pa.table({name: pa.array(values, pa.string()) for name, values in rows.items()})
    name = parts[0][1] if len(parts) == 1 else f"{archive.path} tweets"
    source = Source(name, "item", table, np.array(positions, dtype=np.int64), parts=parts)
    return source, skipped


def read_x_archive(
    archive: Archive, jurisdiction: str
) -> tuple[list[tuple[str, Source]], Counter[str]]:
    """(kind, source) pairs: the account, then its tweets from every tweets file; and the
    tweets skipped, by reason."""
    accounts, account_id = _account(archive, jurisdiction)
    numbered = []
    for member in archive.members():
        found = _TWEET_FILES.fullmatch(member)
        if found:
            numbered.append((int(found[1] or 0), member))  # tweets.js, then -part1, -part2...
    tweet_files = [member for _, member in sorted(numbered)]
    if not tweet_files:
        raise InvalidInput("the export has no data/tweets.js", where=str(archive.path))
    tweets, skipped = _tweets(archive, tweet_files, account_id)
    return [("accounts", accounts), ("posts", tweets)], skipped


def import_x_archive(
    engine: Engine, path: str | Path, *, jurisdiction: str, actor: str
) -> ArchiveReport:
    """Import an X/Twitter account archive (a directory or .zip): the account and its tweets."""
    code = checked_jurisdiction(jurisdiction)
    with Archive(Path(path)) as archive:
        sources, skipped = read_x_archive(archive, code)
    return import_sources(engine, sources, actor=actor, skipped=dict(skipped))
