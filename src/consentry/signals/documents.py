"""The rights signals as crawlers read them, built from the platform's terms and the list of
reserved posts (``judge``). Pure functions: no I/O.

- IETF AI Preferences (draft-ietf-aipref-vocab, -attach): ``Content-Usage`` in robots.txt and as
  an HTTP header, an RFC 9651 dictionary of the ``train-ai`` and ``search`` categories, ``y``/``n``.
  Training is ``n`` for every post: a preference binds use *without* a license, and the platform's
  posts may be trained on only under its license (RSL, TDMRep), and never those reserved.
- Content Signals (contentsignals.org): ``Content-Signal: search=yes, ai-train=no`` in robots.txt.
- RSL 1.0 (rslstandard.org/rsl): the license document, named by robots.txt's ``License:`` line and
  by the ``Link`` header of a licensable post; reserved posts each get a ``<content>`` whose
  license prohibits ``ai-train``.
- TDMRep (W3C CG report, 2024): ``/.well-known/tdmrep.json`` and the ``tdm-reservation`` and
  ``tdm-policy`` headers; the policy is an ODRL offer naming the licensing contact.
- robots.txt: a group for the known AI crawlers that disallows every reserved post, and
  ``X-Robots-Tag: noai, noimageai`` on each reserved post.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from consentry.settings import Settings
from consentry.signals.urls import PostUrls

AI_CRAWLERS = (
    "GPTBot",
    "ChatGPT-User",
    "OAI-SearchBot",
    "ClaudeBot",
    "anthropic-ai",
    "Claude-Web",
    "CCBot",
    "Google-Extended",
    "Applebot-Extended",
    "Bytespider",
    "meta-externalagent",
    "FacebookBot",
    "cohere-ai",
    "PerplexityBot",
    "Amazonbot",
    "Diffbot",
    "ImagesiftBot",
    "Timpibot",
    "omgili",
    "YouBot",
)
"""User-agent tokens of crawlers that gather training data (their operators' published names)."""

CONTENT_USAGE = "train-ai=n, search=y"
CONTENT_SIGNAL = "search=yes, ai-train=no"
NOAI = "noai, noimageai"
RSL_NS = "https://rslstandard.org/rsl"
RSL_TYPE = "application/rsl+xml"
LICENSE_PATH = "/license.xml"
TDMREP_PATH = "/.well-known/tdmrep.json"
TDM_POLICY_PATH = "/.well-known/tdm-policy.json"


@dataclass(frozen=True)
class Terms:
    """What every signal names: where, whose, and whom to ask for a license."""

    platform: str
    site_url: str
    contact: str
    terms_url: str
    posts: PostUrls

    @classmethod
    def of(cls, settings: Settings) -> Terms:
        return cls(
            platform=settings.platform_name,
            site_url=settings.site_url,
            contact=settings.licensing_contact,
            terms_url=settings.terms_url,
            posts=PostUrls(settings.post_url_template),
        )

    @property
    def license_url(self) -> str:
        return self.site_url + LICENSE_PATH

    @property
    def tdm_policy_url(self) -> str:
        return self.site_url + TDM_POLICY_PATH

    @property
    def contact_uri(self) -> str:
        return self.contact if ":" in self.contact else f"mailto:{self.contact}"


def headers(terms: Terms, *, licensable: bool) -> dict[str, str]:
    """The response headers of one post's page."""
    found = {"Content-Usage": CONTENT_USAGE, "tdm-reservation": "1"}
    if licensable:
        found["tdm-policy"] = terms.tdm_policy_url
        found["Link"] = f'<{terms.license_url}>; rel="license"; type="{RSL_TYPE}"'
    else:
        found["X-Robots-Tag"] = NOAI
    return found


def robots_txt(terms: Terms, reserved: Sequence[str], *, generated_at: datetime) -> str:
    """robots.txt: the RSL license, the AI preferences for all, and the AI crawlers' group,
    which may not fetch a reserved post (``reserved``: post ids)."""
    preferences = [f"Content-Usage: {CONTENT_USAGE}", f"Content-Signal: {CONTENT_SIGNAL}"]
    lines = [
        f"# {terms.platform}: posts may be used for AI training only under a license,",
        f"# and never those reserved by their authors. Terms: {terms.terms_url}",
        f"# Licensing contact: {terms.contact}. Generated {generated_at:%Y-%m-%dT%H:%M:%SZ}.",
        f"License: {terms.license_url}",
        "",
        *(f"User-agent: {agent}" for agent in AI_CRAWLERS),
        *preferences,
        *(f"Disallow: {terms.posts.path_of(post_id)}" for post_id in reserved),
        "Allow: /",
        "",
        "User-agent: *",
        *preferences,
        "Allow: /",
        "",
    ]
    return "\n".join(lines)


def rsl_document(terms: Terms, reserved: Sequence[str]) -> bytes:
    """The RSL 1.0 license document: each reserved post first (the most specific scope), then
    every post, licensable for training under the platform's terms."""
    ET.register_namespace("", RSL_NS)
    root = ET.Element(_rsl("rsl"))
    for post_id in reserved:
        content = ET.SubElement(root, _rsl("content"), url=terms.posts.path_of(post_id))
        license_ = ET.SubElement(content, _rsl("license"))
        _usage(license_, "permits", "search")
        _usage(license_, "prohibits", "ai-train")
        _legal(license_, terms)
    content = ET.SubElement(root, _rsl("content"), url=terms.posts.pattern)
    training = ET.SubElement(content, _rsl("license"))
    _usage(training, "permits", "ai-train")
    payment = ET.SubElement(training, _rsl("payment"), type="training")
    ET.SubElement(payment, _rsl("custom")).text = terms.terms_url
    _legal(training, terms)
    search = ET.SubElement(content, _rsl("license"))
    _usage(search, "permits", "search")
    ET.SubElement(search, _rsl("payment"), type="free")
    ET.SubElement(content, _rsl("copyright"), type="organization").text = terms.platform
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _rsl(tag: str) -> str:
    return f"{{{RSL_NS}}}{tag}"


def _usage(license_: ET.Element, kind: str, usage: str) -> None:
    ET.SubElement(license_, _rsl(kind), type="usage").text = usage


def _legal(license_: ET.Element, terms: Terms) -> None:
    ET.SubElement(license_, _rsl("legal"), type="contact").text = terms.contact_uri
    ET.SubElement(license_, _rsl("terms")).text = terms.terms_url


def tdmrep(terms: Terms, reserved: Sequence[str]) -> list[dict[str, object]]:
    """``/.well-known/tdmrep.json``: rules in order, the first that matches applies, so each
    reserved post (no policy: not offered) comes before the rule for every post."""
    rules: list[dict[str, object]] = [
        {"location": terms.posts.path_of(post_id), "tdm-reservation": 1} for post_id in reserved
    ]
    rules.append(
        {"location": terms.posts.pattern, "tdm-reservation": 1, "tdm-policy": terms.tdm_policy_url}
    )
    return rules


def tdm_policy(terms: Terms) -> dict[str, object]:
    """The TDM policy: an ODRL offer (TDMRep profile) to mine the posts for a fee, after
    contacting the platform's licensing desk (its terms are in the RSL document)."""
    assigner: dict[str, str] = {"uid": terms.site_url, "vcard:fn": terms.platform}
    if terms.contact_uri.startswith("mailto:"):
        assigner["vcard:hasEmail"] = terms.contact_uri.removeprefix("mailto:")
    else:
        assigner["vcard:hasURL"] = terms.contact
    return {
        "@context": ["http://www.w3.org/ns/odrl.jsonld", {"tdm": "http://www.w3.org/ns/tdmrep#"}],
        "@type": "Offer",
        "profile": "http://www.w3.org/ns/tdmrep",
        "uid": terms.tdm_policy_url,
        "assigner": assigner,
        "permission": [
            {
                "target": terms.site_url + terms.posts.pattern.rstrip("*$"),
                "action": "tdm:mine",
                "duty": [{"action": "obtainConsent"}, {"action": "compensate"}],
            }
        ],
    }
