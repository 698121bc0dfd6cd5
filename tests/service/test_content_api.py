"""Accounts and posts through the platform API: created, updated field by field, deleted; a
deletion counts for the very next "may share?" question."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine, select

from consentry.store.db import session_scope
from consentry.store.models import AuditEvent

pytestmark = pytest.mark.usefixtures("world")


def test_an_account_and_its_post_are_created_then_updated(platform: httpx.Client) -> None:
    created = platform.put(
        "/api/platform/accounts/zoe", json={"handle": "zoe", "jurisdiction": "us-ca"}
    )
    assert created.status_code == 201
    assert created.json()["jurisdiction"] == "US-CA"
    post = platform.put(
        "/api/platform/posts/zoe-1",
        json={"account_id": "zoe", "created_at": "2024-12-05T10:00:00Z", "text": "hello"},
    )
    assert post.status_code == 201 and post.json()["visibility"] == "public"
    answer = platform.post(
        "/api/platform/may-share", json={"post_id": "zoe-1", "collaborator_id": "acme"}
    ).json()
    assert answer["allowed"] is True

    updated = platform.put("/api/platform/accounts/zoe", json={"protected": True})
    assert updated.status_code == 200
    assert (updated.json()["handle"], updated.json()["protected"]) == ("zoe", True)
    answer = platform.post(
        "/api/platform/may-share", json={"post_id": "zoe-1", "collaborator_id": "acme"}
    ).json()
    assert (answer["allowed"], answer["reason"]) == (False, "protected")


def test_a_new_account_without_its_required_fields_is_refused_naming_one(
    platform: httpx.Client,
) -> None:
    response = platform.put("/api/platform/accounts/zed", json={"handle": "zed"})
    assert response.status_code == 422
    assert response.json()["field"] == "jurisdiction"


def test_a_bad_jurisdiction_and_a_bad_visibility_name_their_field(
    platform: httpx.Client,
) -> None:
    account = platform.put(
        "/api/platform/accounts/zed", json={"handle": "zed", "jurisdiction": "XX-YY"}
    )
    post = platform.put("/api/platform/posts/bob-1", json={"visibility": "friends"})
    assert (account.status_code, account.json()["field"]) == (422, "jurisdiction")
    assert (post.status_code, post.json()["field"]) == (422, "visibility")


def test_a_post_of_an_unknown_account_is_404(platform: httpx.Client) -> None:
    response = platform.put(
        "/api/platform/posts/x-1",
        json={"account_id": "nobody", "created_at": "2024-12-05T10:00:00Z"},
    )
    assert response.status_code == 404 and "nobody" in response.json()["detail"]


def test_a_deleted_post_is_not_shared_from_the_next_question_on(
    platform: httpx.Client, engine: Engine
) -> None:
    deleted = platform.post("/api/platform/posts/bob-1/deletion", json={})
    assert deleted.status_code == 200 and deleted.json()["deleted_at"]
    answer = platform.post(
        "/api/platform/may-share", json={"post_id": "bob-1", "collaborator_id": "acme"}
    ).json()
    assert (answer["allowed"], answer["reason"]) == (False, "deleted")
    with session_scope(engine) as session:
        actions = session.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "post.delete")
        ).all()
    assert actions == ["platform:backend"]


def test_a_deleted_account_takes_all_its_posts_out(platform: httpx.Client) -> None:
    response = platform.post(
        "/api/platform/accounts/cy/deletion", json={"deleted_at": "2025-01-02T00:00:00Z"}
    )
    assert response.json()["deleted_at"].startswith("2025-01-02T00:00:00")
    answer = platform.post(
        "/api/platform/may-share/bulk",
        json={"collaborator_id": "acme", "post_ids": ["cy-1", "cy-2", "bob-1"]},
    ).json()
    assert answer["decisions"]["reason"] == ["deleted", "deleted", None]


def test_a_deletion_time_without_zone_is_refused(platform: httpx.Client) -> None:
    response = platform.post(
        "/api/platform/posts/bob-1/deletion", json={"deleted_at": "2025-01-02T00:00:00"}
    )
    assert response.status_code == 422 and response.json()["field"] == "deleted_at"


def test_an_update_keeps_what_it_leaves_null_and_refuses_a_null_visibility(
    platform: httpx.Client,
) -> None:
    platform.put("/api/platform/accounts/zoe", json={"handle": "zoe", "jurisdiction": "DE"})
    dm = {"account_id": "zoe", "created_at": "2024-12-05T10:00:00Z", "visibility": "direct"}
    assert platform.put("/api/platform/posts/zoe-dm", json=dm).status_code == 201
    kept = platform.put("/api/platform/posts/zoe-dm", json={"text": None, "lang": None})
    assert (kept.status_code, kept.json()["visibility"]) == (200, "direct")
    refused = platform.put("/api/platform/posts/zoe-dm", json={"visibility": None})
    assert (refused.status_code, refused.json()["field"]) == (422, "visibility")
    platform.put("/api/platform/accounts/zoe", json={"protected": True, "is_minor": True})
    kept = platform.put("/api/platform/accounts/zoe", json={"is_minor": None, "birth_date": None})
    assert (kept.json()["protected"], kept.json()["is_minor"]) == (True, True)
    refused = platform.put("/api/platform/accounts/zoe", json={"protected": None})
    assert (refused.status_code, refused.json()["field"]) == (422, "protected")


def test_a_quote_needs_its_original_and_a_new_post_without_kind_is_a_post_or_reply(
    platform: httpx.Client,
) -> None:
    base = {"account_id": "bob", "created_at": "2024-12-05T10:00:00Z"}
    quote = platform.put(
        "/api/platform/posts/bob-q", json={**base, "kind": "quote", "original_id": "bob-1"}
    )
    assert (quote.status_code, quote.json()["kind"], quote.json()["original_id"]) == (
        201,
        "quote",
        "bob-1",
    )
    reply = platform.put("/api/platform/posts/bob-r", json={**base, "reply_to": "bob-1"})
    assert reply.json()["kind"] == "reply"
    missing = platform.put("/api/platform/posts/bob-x", json={**base, "kind": "repost"})
    stray = platform.put("/api/platform/posts/bob-y", json={**base, "original_id": "bob-1"})
    assert (missing.status_code, missing.json()["field"]) == (422, "original_id")
    assert (stray.status_code, stray.json()["field"]) == (422, "original_id")


def test_a_deletion_is_brought_forward_and_a_future_one_refused(platform: httpx.Client) -> None:
    first = platform.post(
        "/api/platform/posts/bob-1/deletion", json={"deleted_at": "2025-01-02T00:00:00Z"}
    )
    earlier = platform.post(
        "/api/platform/posts/bob-1/deletion", json={"deleted_at": "2024-12-30T00:00:00Z"}
    )
    later = platform.post(
        "/api/platform/posts/bob-1/deletion", json={"deleted_at": "2025-02-01T00:00:00Z"}
    )
    assert first.json()["deleted_at"].startswith("2025-01-02")
    assert earlier.json()["deleted_at"].startswith("2024-12-30")
    assert later.json()["deleted_at"].startswith("2024-12-30")
    future = platform.post(
        "/api/platform/accounts/cy/deletion", json={"deleted_at": "2999-01-01T00:00:00Z"}
    )
    assert (future.status_code, future.json()["field"]) == (422, "deleted_at")
    assert "in the future" in future.json()["detail"]
