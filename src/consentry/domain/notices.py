"""Why a delivered record must be deleted by the collaborator that holds it (DESIGN "After
delivery"): the consent rule's exclusion reason, judged again now, in the collaborator's terms."""

from __future__ import annotations

from enum import StrEnum

from consentry.domain.types import ExclusionReason


class NoticeReason(StrEnum):
    CONSENT_WITHDRAWN = "consent_withdrawn"
    POST_DELETED = "post_deleted"
    ACCOUNT_DELETED = "account_deleted"
    ACCOUNT_RESTRICTED = "account_restricted"
    """The account turned protected (private), or was corrected to a minor."""
    POST_RESTRICTED = "post_restricted"
    """The post turned protected or direct, or left the license's scope."""
    LICENSE_ENDED = "license_ended"
    COLLABORATOR_TERMINATED = "collaborator_terminated"


_BY_EXCLUSION = {
    ExclusionReason.DIRECT_MESSAGE: NoticeReason.POST_RESTRICTED,
    ExclusionReason.DELETED: NoticeReason.POST_DELETED,
    ExclusionReason.MINOR: NoticeReason.ACCOUNT_RESTRICTED,
    ExclusionReason.PROTECTED: NoticeReason.ACCOUNT_RESTRICTED,
    ExclusionReason.OUT_OF_SCOPE: NoticeReason.POST_RESTRICTED,
    ExclusionReason.DENIED: NoticeReason.CONSENT_WITHDRAWN,
    ExclusionReason.NO_CONSENT: NoticeReason.CONSENT_WITHDRAWN,
    ExclusionReason.NO_POLICY: NoticeReason.CONSENT_WITHDRAWN,
    ExclusionReason.BEFORE_POLICY: NoticeReason.CONSENT_WITHDRAWN,
}


def notice_reason(exclusion: ExclusionReason, *, account_deleted: bool) -> NoticeReason:
    """The notice's reason for a record the rule now excludes for ``exclusion``."""
    if exclusion == ExclusionReason.DELETED and account_deleted:
        return NoticeReason.ACCOUNT_DELETED
    return _BY_EXCLUSION[exclusion]
