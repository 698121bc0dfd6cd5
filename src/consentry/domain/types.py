"""Value types shared by the rules, the store and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class ConsentSource(StrEnum):
    SETTINGS = "settings"
    API = "api"
    GPC = "gpc"
    DEFAULT = "default"
    IMPORT = "import"
    ADMIN = "admin"


class DefaultRule(StrEnum):
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"
    NEVER = "never"


class Visibility(StrEnum):
    PUBLIC = "public"
    PROTECTED = "protected"
    DIRECT = "direct"


class PostKind(StrEnum):
    POST = "post"
    REPLY = "reply"
    REPOST = "repost"
    """A retweet or boost: the reposter's share of someone else's post, no words of their own."""
    QUOTE = "quote"
    """The quoter's words plus a quoted post (``original_id``)."""


LICENSABLE_KINDS = frozenset({PostKind.POST, PostKind.REPLY, PostKind.QUOTE})
"""Rule 8: a repost carries no words of the reposter, so no license can take it."""


class ExclusionReason(StrEnum):
    """Why a post was not delivered; declaration order is the order of precedence."""

    DIRECT_MESSAGE = "direct_message"
    DELETED = "deleted"
    MINOR = "minor"
    PROTECTED = "protected"
    OUT_OF_SCOPE = "out_of_scope"
    DENIED = "denied"
    NO_CONSENT = "no_consent"
    NO_POLICY = "no_policy"
    BEFORE_POLICY = "before_policy"


REASON_ORDER: tuple[ExclusionReason, ...] = tuple(ExclusionReason)

ALL_COLLABORATORS = None
"""A consent event whose collaborator is None applies to every collaborator (the master switch)."""

ADULT_AGE = 18


@dataclass(frozen=True)
class AccountFacts:
    id: str
    jurisdiction: str
    protected: bool = False
    birth_date: date | None = None
    is_minor: bool | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class PostFacts:
    id: str
    account_id: str
    created_at: datetime
    visibility: Visibility = Visibility.PUBLIC
    lang: str | None = None
    reply_to: str | None = None
    deleted_at: datetime | None = None
    kind: PostKind = PostKind.POST
    original_id: str | None = None
    """The reposted or quoted post, for kinds ``repost`` and ``quote``."""


@dataclass(frozen=True)
class ConsentEventFacts:
    id: int
    account_id: str
    purpose: str
    collaborator_id: str | None
    decision: Decision
    effective_at: datetime
    recorded_at: datetime
    source: ConsentSource = ConsentSource.API


@dataclass(frozen=True)
class PolicyFacts:
    version: str
    published_at: datetime
    effective_at: datetime
    purposes: frozenset[str]
    defaults: dict[str, DefaultRule]
    """Jurisdiction key (``US-CA``, ``US``, group such as ``EU``, or ``*``) to default."""
    notice_days: int = 0
    """Rule 6: an opt-out default covers a newly listed collaborator only this many days after
    its listing, so users are told before a new recipient gets their posts."""


@dataclass(frozen=True)
class CollaboratorFacts:
    id: str
    listed_at: datetime | None
    """When users were first shown this collaborator (rule 6); None: always known."""
    status: str = "active"


@dataclass(frozen=True)
class LicenseScope:
    kinds: frozenset[PostKind] = LICENSABLE_KINDS
    created_from: datetime | None = None
    created_until: datetime | None = None
    languages: frozenset[str] | None = None
    public_only: bool = True
    include_pre_policy_posts: bool = False
    """Rule 4: deliver posts created before the opt-out policy took effect (explicit in L)."""


@dataclass(frozen=True)
class LicenseFacts:
    id: str
    collaborator_id: str
    purpose: str
    scope: LicenseScope = field(default_factory=LicenseScope)
    term_start: datetime | None = None
    term_end: datetime | None = None
    """The term is half-open, ``[term_start, term_end)``; None: unbounded on that side."""
    status: str = "active"
    deletion_sla_days: int = 30
    """Days a collaborator has to apply a deletion notice."""


@dataclass(frozen=True)
class ConsentBasis:
    """What allowed (or denied) a record: a ledger event, or a policy default."""

    event_id: int | None = None
    policy_version: str | None = None
    default: DefaultRule | None = None

    def describe(self) -> str:
        if self.event_id is not None:
            return f"event:{self.event_id}"
        if self.policy_version is not None:
            return f"policy:{self.policy_version}:{self.default}"
        return "none"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: ExclusionReason | None
    basis: ConsentBasis
