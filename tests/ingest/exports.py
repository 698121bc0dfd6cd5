"""Small account exports in the documented formats of X/Twitter and Mastodon."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

X_ACCOUNT = {
    "email": "ada@example.org",
    "createdVia": "web",
    "username": "ada_l",
    "accountId": "322603863",
    "createdAt": "2011-06-23T13:04:14.000Z",
    "accountDisplayName": "Ada L.",
}


def tweet(id_str: str, created_at: str, text: str, **extra: Any) -> dict[str, Any]:
    body = {
        "retweeted": False,
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
        "favorite_count": "0",
        "id_str": id_str,
        "id": id_str,
        "truncated": False,
        "retweet_count": "0",
        "created_at": created_at,
        "favorited": False,
        "full_text": text,
        "lang": "en",
    }
    body.update(extra)
    return {"tweet": body}


TWEETS = [
    tweet(
        "1626916612560281601",
        "Sat Feb 18 12:10:00 +0000 2023",
        "Tea &amp; cake at 5 &lt;3",
        favorite_count="4",
        retweet_count="1",
    ),
    tweet(
        "1626922779105759235",
        "Sat Feb 18 12:33:11 +0000 2023",
        "@grace did NOT know but now I'm listening",
        in_reply_to_status_id_str="1626916612560281601",
        in_reply_to_user_id_str="732980797985148928",
        entities={
            "hashtags": [],
            "symbols": [],
            "urls": [],
            "user_mentions": [
                {
                    "name": "Grace",
                    "screen_name": "grace",
                    "indices": ["0", "6"],
                    "id_str": "732980797985148928",
                    "id": "732980797985148928",
                }
            ],
        },
        lang="und",
    ),
    tweet("1626930000000000000", "Sat Feb 18 13:00:00 +0000 2023", "RT @grace: not my words"),
    tweet(
        "1626940000000000000",
        "Sat Feb 18 14:00:00 +0000 2023",
        "RT @grace: words of grace",
        retweeted_status={"id_str": "1626900000000000000"},
    ),
    tweet(
        "1626950000000000000",
        "Sat Feb 18 15:00:00 +0000 2023",
        "so true https://t.co/abc",
        quoted_status_id_str="1626900000000000001",
    ),
    tweet(
        "1626960000000000000",
        "Sat Feb 18 16:00:00 +0000 2023",
        "look at this https://t.co/def",
        entities={
            "hashtags": [],
            "symbols": [],
            "user_mentions": [],
            "urls": [
                {
                    "url": "https://t.co/def",
                    "expanded_url": "https://x.com/grace/status/1626900000000000002",
                }
            ],
        },
    ),
]


def ytd(name: str, items: list[Any]) -> str:
    return f"window.YTD.{name}.part0 = {json.dumps(items, indent=2)}"


def _materialise(files: dict[str, str], root: Path, zipped: bool, top: str = "") -> Path:
    if zipped:
        path = root.with_suffix(".zip")
        with zipfile.ZipFile(path, "w") as archive:
            for name, text in files.items():
                archive.writestr(f"{top}{name}", text)
        return path
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def x_archive(
    root: Path, *, zipped: bool, tweets: list[Any] | None = None, more: list[Any] | None = None
) -> Path:
    """An archive; ``more`` tweets go to data/tweets-part1.js, as large archives split them."""
    files = {
        "data/account.js": ytd("account", [{"account": X_ACCOUNT}]),
        "data/tweets.js": ytd("tweets", TWEETS if tweets is None else tweets),
        "data/like.js": ytd("like", [{"like": {"tweetId": "1", "fullText": "someone else"}}]),
    }
    if more is not None:
        files["data/tweets-part1.js"] = ytd("tweets", more).replace("part0", "part1")
    return _materialise(files, root, zipped, top="twitter-2024-01-01/" if zipped else "")


ACTOR_ID = "https://social.example/users/ada"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
FOLLOWERS = f"{ACTOR_ID}/followers"
ACTOR = {
    "@context": ["https://www.w3.org/ns/activitystreams"],
    "id": ACTOR_ID,
    "type": "Person",
    "followers": FOLLOWERS,
    "preferredUsername": "ada",
    "name": "Ada Lovelace",
    "published": "2022-11-05T00:00:00Z",
    "outbox": "outbox.json",
}


def note(number: int, to: list[str], cc: list[str], content: str, **extra: Any) -> dict[str, Any]:
    note_id = f"{ACTOR_ID}/statuses/{number}"
    body = {
        "id": note_id,
        "type": "Note",
        "published": f"2024-0{number}-01T10:00:00Z",
        "attributedTo": ACTOR_ID,
        "to": to,
        "cc": cc,
        "content": content,
        "contentMap": {"de": content},
        "inReplyTo": None,
    }
    body.update(extra)
    return {
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": ACTOR_ID,
        "published": body["published"],
        "to": to,
        "cc": cc,
        "object": body,
    }


NOTES = [
    note(1, [PUBLIC], [FOLLOWERS], "<p>Hallo &amp; willkommen</p><p>zweiter<br>Absatz</p>"),
    note(2, [FOLLOWERS], [PUBLIC], "<p>unlisted</p>"),
    note(3, [FOLLOWERS], [], "<p>followers only</p>", inReplyTo=f"{ACTOR_ID}/statuses/1"),
    note(4, ["https://other.example/users/bob"], [], "<p>@bob secret</p>"),
    {
        "id": f"{ACTOR_ID}/statuses/5/activity",
        "type": "Announce",
        "actor": ACTOR_ID,
        "published": "2024-05-01T10:00:00Z",
        "to": [PUBLIC],
        "cc": [],
        "object": "https://other.example/users/bob/statuses/9",
    },
    note(6, [PUBLIC], [], "<p>quoting bob</p>", quoteUri="https://other.example/notes/q1"),
    note(
        7,
        [PUBLIC],
        [],
        "<p>RE: bob</p>",
        tag=[
            {
                "type": "Link",
                "mediaType": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
                "href": "https://other.example/users/bob/statuses/10",
                "name": "RE: https://other.example/@bob/10",
            }
        ],
    ),
]


def mastodon_export(root: Path, *, zipped: bool, notes: list[Any] | None = None) -> Path:
    outbox = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "outbox.json",
        "type": "OrderedCollection",
        "totalItems": len(NOTES if notes is None else notes),
        "orderedItems": NOTES if notes is None else notes,
    }
    files = {"actor.json": json.dumps(ACTOR), "outbox.json": json.dumps(outbox)}
    return _materialise(files, root, zipped)
