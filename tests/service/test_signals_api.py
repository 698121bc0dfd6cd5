"""The rights signals as served: the site-wide files without credentials, the per-page headers
with the platform's token, and a thousand URLs answered in one request (the bulk rule once)."""

from __future__ import annotations

from datetime import UTC, datetime

import http_sfv
import httpx
from lxml import etree
from sqlalchemy import Engine, insert

from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.models import Post
from service.world import Service


def said_no(engine: Engine) -> None:
    with session_scope(engine) as session:
        record_consent(
            session,
            account_id="nia",
            purpose="train_ai_system",
            decision="deny",
            source="settings",
            actor="nia",
        )


def content_usage(headers: dict[str, str]) -> dict[str, str]:
    parsed = http_sfv.Dictionary()
    parsed.parse(headers["Content-Usage"].encode("ascii"))
    return {key: str(member.value) for key, member in parsed.items()}


def test_site_files_need_no_credentials(world: Engine, service: Service) -> None:
    said_no(world)
    with service.client() as client:
        robots = client.get("/robots.txt")
        assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
        assert "Disallow: /posts/nia-1" in robots.text
        rsl = client.get("/license.xml")
        assert rsl.headers["content-type"] == "application/rsl+xml"
        urls = [c.get("url") for c in etree.fromstring(rsl.content).iter("{*}content")]
        assert "/posts/nia-1" in urls
        tdmrep = client.get("/.well-known/tdmrep.json").json()
        assert {"location": "/posts/nia-1", "tdm-reservation": 1} in tdmrep
        assert client.get("/.well-known/tdm-policy.json").json()["@type"] == "Offer"


def test_one_page_by_url_or_post_id(world: Engine, platform: httpx.Client) -> None:
    yes = platform.get("/api/signals", params={"url": "https://social.example/posts/bob-1"})
    assert yes.status_code == 200, yes.text
    body = yes.json()
    assert (body["post_id"], body["known"], body["status"]) == ("bob-1", True, "licensable")
    assert content_usage(body["headers"]) == {"train-ai": "n", "search": "y"}
    assert body["headers"]["tdm-policy"].endswith("/.well-known/tdm-policy.json")
    assert body["headers"]["Link"].endswith('rel="license"; type="application/rsl+xml"')
    assert "X-Robots-Tag" not in body["headers"]
    before = platform.get("/api/signals", params={"post_id": "nia-1"}).json()
    assert before["status"] == "licensable"
    said_no(world)  # the answer follows the consent rule now
    after = platform.get("/api/signals", params={"post_id": "nia-1"}).json()
    assert after["status"] == "reserved"
    assert after["headers"]["X-Robots-Tag"] == "noai, noimageai"
    assert after["headers"]["tdm-reservation"] == "1" and "tdm-policy" not in after["headers"]
    assert content_usage(after["headers"])["train-ai"] == "n"
    unknown = platform.get("/api/signals", params={"post_id": "nobody-1"}).json()
    assert (unknown["known"], unknown["status"]) == (False, "reserved")
    page = platform.get("/api/signals", params={"url": "/about"}).json()
    assert page["status"] == "not_a_post" and page["post_id"] is None


def test_bad_questions_are_refused_by_name(
    world: Engine, service: Service, platform: httpx.Client
) -> None:
    with service.client() as anonymous:
        assert anonymous.get("/api/signals", params={"post_id": "bob-1"}).status_code == 401
    neither = platform.get("/api/signals")
    assert neither.status_code == 422 and "url or post_id" in neither.text
    empty = platform.post("/api/signals", json={})
    assert empty.status_code == 422 and "urls, post_ids" in empty.text
    many = platform.post("/api/signals", json={"post_ids": ["x"] * 10_001})
    assert many.status_code == 422


def test_a_thousand_urls_in_one_request(world: Engine, platform: httpx.Client) -> None:
    created = datetime(2024, 12, 5, tzinfo=UTC)
    rows = [
        {
            "id": f"{author}-bulk-{n:04d}",
            "account_id": author,
            "created_at": created,
            "text": "bulk",
            "visibility": "public",
        }
        for n in range(500)
        for author in ("bob", "nia")
    ]
    with session_scope(world) as session:
        session.execute(insert(Post), rows)
    said_no(world)
    urls = [f"https://social.example/posts/{row['id']}" for row in rows]
    response = platform.post("/api/signals", json={"urls": urls})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 1000
    assert [a["url"] for a in body["answers"]] == urls  # in the order asked
    for answer in body["answers"]:
        reserved = answer["post_id"].startswith("nia-")
        assert answer["status"] == ("reserved" if reserved else "licensable"), answer
        assert ("X-Robots-Tag" in answer["headers"]) is reserved
        assert content_usage(answer["headers"]) == {"train-ai": "n", "search": "y"}
