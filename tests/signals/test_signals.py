"""The rights signals, each read back by a parser made for its format: ``http-sfv`` (RFC 9651)
for Content-Usage, Content-Signal and the headers, lxml for the RSL document, a JSON schema for
TDMRep, the standard library's robots.txt parser for the crawlers' group. In the world of
``service.world``, nia said no (an explicit deny); ada (EU, opt-in, no choice), kid (a minor)
and pia (protected) are reserved too; bob and cy allow by the US opt-out default."""

from __future__ import annotations

import json
import urllib.robotparser
from datetime import UTC, datetime
from pathlib import Path

import http_sfv
import jsonschema
import pytest
from lxml import etree
from sqlalchemy import Engine
from typer.testing import CliRunner

from consentry.cli import app
from consentry.settings import Settings
from consentry.signals import documents
from consentry.signals.files import LICENSE, ROBOTS, TDM_POLICY, TDMREP, SiteSignals
from consentry.signals.judge import reserved_posts
from consentry.signals.urls import PostUrls
from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from service.world import seed_world

RESERVED = ["ada-1", "ada-2", "kid-1", "kid-2", "nia-1", "nia-2", "pia-1", "pia-2"]
LICENSABLE = ["bob-1", "bob-2", "cy-1", "cy-2"]
RSL = "{https://rslstandard.org/rsl}"
SETTINGS = Settings(
    site_url="https://social.example",
    licensing_contact="rights@social.example",
    platform_name="Social Example",
)

TDMREP_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["location", "tdm-reservation"],
        "additionalProperties": False,
        "properties": {
            "location": {"type": "string", "pattern": "^/"},
            "tdm-reservation": {"enum": [0, 1]},
            "tdm-policy": {"type": "string", "format": "uri", "pattern": "^https?://"},
        },
    },
}
"""TDMRep's /.well-known/tdmrep.json as the W3C CG report defines it (2024-05-10, section 3.3)."""


def say_no(engine: Engine) -> None:
    with session_scope(engine) as session:
        record_consent(
            session,
            account_id="nia",
            purpose="train_ai_system",
            decision="deny",
            source="settings",
            actor="nia",
        )


@pytest.fixture
def said_no(engine: Engine) -> Engine:
    seed_world(engine)
    say_no(engine)
    return engine


def sf_dictionary(value: str) -> dict[str, object]:
    parsed = http_sfv.Dictionary()
    parsed.parse(value.encode("ascii"))
    return {key: member.value for key, member in parsed.items()}


def test_reserved_posts_follow_the_consent_rule(engine: Engine) -> None:
    seed_world(engine)
    before = reserved_posts(engine, now=datetime.now(UTC))
    assert "nia-1" not in before and "bob-1" not in before  # the US opt-out default
    say_no(engine)
    assert reserved_posts(engine, now=datetime.now(UTC)) == RESERVED  # bob-dm is no page


def test_content_usage_and_content_signal_parse_as_rfc_9651_dictionaries() -> None:
    usage = sf_dictionary(documents.CONTENT_USAGE)
    assert {k: str(v) for k, v in usage.items()} == {"train-ai": "n", "search": "y"}
    signal = sf_dictionary(documents.CONTENT_SIGNAL)
    assert {k: str(v) for k, v in signal.items()} == {"search": "yes", "ai-train": "no"}


def test_robots_txt_keeps_ai_crawlers_off_posts_of_users_who_said_no(said_no: Engine) -> None:
    text = SiteSignals.now(said_no, SETTINGS, now=datetime.now(UTC)).file(ROBOTS).decode()
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    for agent in ("GPTBot", "ClaudeBot", "CCBot", "Google-Extended"):
        assert not parser.can_fetch(agent, "https://social.example/posts/nia-1"), agent
        assert parser.can_fetch(agent, "https://social.example/posts/bob-1"), agent
    assert parser.can_fetch("SomeSearchEngine", "https://social.example/posts/nia-1")
    lines = text.splitlines()
    assert "License: https://social.example/license.xml" in lines
    values = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Content-")]
    assert len(values) == 4  # Content-Usage and Content-Signal in both groups
    assert {frozenset(sf_dictionary(value)) for value in values} == {
        frozenset({"train-ai", "search"}),
        frozenset({"ai-train", "search"}),
    }


def test_rsl_document_prohibits_training_on_reserved_posts(said_no: Engine) -> None:
    data = SiteSignals.now(said_no, SETTINGS, now=datetime.now(UTC)).file(LICENSE)
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    assert root.tag == f"{RSL}rsl"
    contents = {c.get("url"): c for c in root.iter(f"{RSL}content")}
    assert list(contents) == [f"/posts/{p}" for p in RESERVED] + ["/posts/*"]
    for post_id in RESERVED:
        (license_,) = contents[f"/posts/{post_id}"].findall(f"{RSL}license")
        prohibited = license_.find(f"{RSL}prohibits[@type='usage']").text.split()
        assert "ai-train" in prohibited
        assert license_.find(f"{RSL}payment") is None  # nothing offered
    everything = contents["/posts/*"].findall(f"{RSL}license")
    training = next(lic for lic in everything if lic.find(f"{RSL}permits").text == "ai-train")
    payment = training.find(f"{RSL}payment")
    assert payment.get("type") == "training"
    assert payment.find(f"{RSL}custom").text == SETTINGS.terms_url
    assert training.find(f"{RSL}legal[@type='contact']").text == "mailto:rights@social.example"
    for element in root.iter(f"{RSL}permits", f"{RSL}prohibits"):
        assert set(element.text.split()) <= {
            "all",
            "ai-all",
            "ai-train",
            "ai-input",
            "ai-index",
            "search",
        }


def test_tdmrep_reserves_without_an_offer_the_posts_of_users_who_said_no(said_no: Engine) -> None:
    signals = SiteSignals.now(said_no, SETTINGS, now=datetime.now(UTC))
    rules = json.loads(signals.file(TDMREP))
    jsonschema.validate(rules, TDMREP_SCHEMA, format_checker=jsonschema.FormatChecker())
    first = {}
    for rule in rules:  # the first rule that matches a path applies
        first.setdefault(rule["location"], rule)
    assert first["/posts/nia-1"] == {"location": "/posts/nia-1", "tdm-reservation": 1}
    assert "/posts/bob-1" not in first
    assert rules[-1] == {
        "location": "/posts/*",
        "tdm-reservation": 1,
        "tdm-policy": "https://social.example/.well-known/tdm-policy.json",
    }
    policy = json.loads(signals.file(TDM_POLICY))
    assert policy["@type"] == "Offer" and policy["profile"] == "http://www.w3.org/ns/tdmrep"
    assert policy["assigner"]["vcard:hasEmail"] == "rights@social.example"
    assert policy["permission"][0]["action"] == "tdm:mine"


def test_post_urls_map_both_ways() -> None:
    urls = PostUrls("/posts/{post_id}")
    assert urls.post_id("https://social.example/posts/a%2Fb?ref=x#top") == "a/b"
    assert urls.post_id("/posts/") is None and urls.post_id("/about") is None
    assert urls.post_id("/posts/x/replies") is None
    assert urls.path_of("a/b") == "/posts/a%2Fb" and urls.pattern == "/posts/*"
    absolute = PostUrls("https://social.example/@u/{post_id}/view")
    assert absolute.post_id("https://social.example/@u/42/view") == "42"
    assert absolute.post_id("https://elsewhere.example/@u/42/view") is None
    assert absolute.pattern == "/@u/*/view$"


def test_site_url_with_a_path_is_refused() -> None:
    with pytest.raises(ValueError, match="without a path"):
        Settings(site_url="https://social.example/app")


def test_signals_write_replaces_each_file_whole(
    said_no: Engine, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CONSENTRY_DATABASE_URL", said_no.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CONSENTRY_HOME", str(tmp_path / "home"))
    from consentry.settings import get_settings

    get_settings.cache_clear()
    site = tmp_path / "site"
    (site / ".well-known").mkdir(parents=True)
    (site / "robots.txt").write_text("old")
    result = CliRunner().invoke(app, ["signals", "write", str(site)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) == [
        ".well-known/tdm-policy.json",
        ".well-known/tdmrep.json",
        "license.xml",
        "robots.txt",
    ]
    assert "Disallow: /posts/nia-1" in (site / "robots.txt").read_text()
    assert "8 public posts reserved" in result.output
