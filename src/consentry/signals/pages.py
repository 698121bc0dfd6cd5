"""The headers a platform's edge attaches to one page, for many pages at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from consentry.signals import documents
from consentry.signals.documents import Terms
from consentry.signals.judge import post_statuses
from consentry.store.snapshot import Reference

Status = Literal["licensable", "reserved", "not_a_post"]


@dataclass(frozen=True)
class PageSignals:
    url: str | None
    post_id: str | None
    known: bool
    """Consentry holds the post (an unknown post is reserved: nothing is offered unasked)."""
    status: Status
    headers: dict[str, str]


def page_signals(
    conn: Connection,
    reference: Reference,
    terms: Terms,
    *,
    urls: Sequence[str] = (),
    post_ids: Sequence[str] = (),
    now: datetime,
) -> list[PageSignals]:
    """One answer per URL, then per post id, in the order asked; all judged in one pass."""
    asked: list[tuple[str | None, str | None]] = [(url, terms.posts.post_id(url)) for url in urls]
    asked += [(None, post_id) for post_id in post_ids]
    ids = [post_id for _url, post_id in asked if post_id is not None]
    statuses = post_statuses(conn, reference, post_ids=ids, now=now).to_pydict()
    known = iter(statuses["known"])
    licensable = iter(statuses["licensable"])
    answers = []
    for url, post_id in asked:
        if post_id is None:
            answers.append(
                PageSignals(
                    url, None, False, "not_a_post", {"Content-Usage": documents.CONTENT_USAGE}
                )
            )
            continue
        held, offered = next(known), next(licensable)
        answers.append(
            PageSignals(
                url,
                post_id,
                held,
                "licensable" if offered else "reserved",
                documents.headers(terms, licensable=offered),
            )
        )
    return answers
