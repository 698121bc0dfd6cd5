"""Rights signals: the site-wide files crawlers read (public, no credentials) and the headers
the platform's edge asks for, per page (service token), one or thousands at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from consentry.errors import InvalidInput
from consentry.service.api.schemas import NO_NUL, Id, Strict
from consentry.service.config import ServiceSettings
from consentry.service.deps import EngineDep, PlatformDep, SettingsDep
from consentry.service.errors import ERROR_RESPONSES
from consentry.signals.documents import Terms
from consentry.signals.files import MEDIA_TYPES, SiteSignals
from consentry.signals.pages import PageSignals, Status, page_signals
from consentry.store.consent import now

MAX_PAGES = 10_000
Url = Annotated[str, Field(min_length=1, max_length=2048, pattern=NO_NUL)]

router = APIRouter(tags=["signals"], responses=ERROR_RESPONSES)


class PageAnswer(BaseModel):
    url: str | None = Field(description="The URL asked, when asked by URL.")
    post_id: str | None = Field(description="The post it shows (None: not a post's page).")
    known: bool = Field(description="Consentry holds the post; an unknown post is reserved.")
    status: Status = Field(
        description="licensable: offered for AI training under the platform's license; "
        "reserved: never to be used for AI training (its author said no, or it may not be "
        "licensed); not_a_post: the URL shows no post."
    )
    headers: dict[str, str] = Field(description="The response headers to attach to the page.")


class PagesQuestion(Strict):
    """Pages by URL (mapped to posts by CONSENTRY_POST_URL_TEMPLATE) or by post id, or both."""

    urls: list[Url] = Field(default_factory=list, max_length=MAX_PAGES)
    post_ids: list[Id] = Field(default_factory=list, max_length=MAX_PAGES)

    @model_validator(mode="after")
    def _asks_something(self) -> PagesQuestion:
        if not self.urls and not self.post_ids:
            raise ValueError("send urls, post_ids or both (at least one page)")
        if len(self.urls) + len(self.post_ids) > MAX_PAGES:
            raise ValueError(f"at most {MAX_PAGES} pages in one request")
        return self


class PagesAnswer(BaseModel):
    count: int
    answers: list[PageAnswer]


def _answers(
    request: Request, settings: SettingsDep, urls: list[str], ids: list[str]
) -> list[PageSignals]:
    with request.app.state.reader.connect() as conn:
        reference = request.app.state.reference.get(conn)
        return page_signals(conn, reference, Terms.of(settings), urls=urls, post_ids=ids, now=now())


@router.get("/api/signals", response_model=PageAnswer)
def signals_of_page(
    request: Request,
    settings: SettingsDep,
    _caller: PlatformDep,
    url: Annotated[str | None, Query(max_length=2048, pattern=NO_NUL)] = None,
    post_id: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
) -> PageAnswer:
    """The headers for one page, by ``url`` or by ``post_id``, following the consent rule now."""
    if (url is None) == (post_id is None):
        raise InvalidInput("give either url or post_id", field="url")
    (answer,) = _answers(request, settings, [url] if url else [], [post_id] if post_id else [])
    return PageAnswer(**answer.__dict__)


@router.post("/api/signals", response_model=PagesAnswer)
def signals_of_pages(
    question: PagesQuestion, request: Request, settings: SettingsDep, _caller: PlatformDep
) -> PagesAnswer:
    """Up to 10,000 pages in one request, answered in the order asked (URLs first, then post
    ids), judged together: a few indexed queries and one relational plan, not one per page."""
    answers = _answers(request, settings, question.urls, question.post_ids)
    return PagesAnswer(count=len(answers), answers=[PageAnswer(**a.__dict__) for a in answers])


def _site_file(name: str) -> Callable[[Engine, ServiceSettings], Awaitable[Response]]:
    async def serve(engine: EngineDep, settings: SettingsDep) -> Response:
        signals = await run_in_threadpool(SiteSignals.now, engine, settings, now=now())
        return Response(signals.file(name), media_type=MEDIA_TYPES[name])

    serve.__doc__ = f"/{name}: generated now from the licenses and the consent rule."
    return serve


for _name in MEDIA_TYPES:
    router.add_api_route(
        f"/{_name}",
        _site_file(_name),
        methods=["GET"],
        name=f"site_file_{_name}",
        summary=f"/{_name}",
        response_class=Response,
        responses={200: {"content": {MEDIA_TYPES[_name].split(";")[0]: {}}}},
    )
