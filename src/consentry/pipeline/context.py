"""Everything a batch transform needs, decided once per export and shipped to every worker.

All fields are plain values or Arrow tables, so the same context can be pickled to a Spark
executor as easily as shared with a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from consentry.domain.consent_bulk import TS
from consentry.domain.types import LicenseFacts
from consentry.pipeline.redact import NO_LISTS, Mentions, RedactionLists

# Output column -> (license field name, Arrow type, description)
RECORD_COLUMNS: dict[str, tuple[str, pa.DataType, str]] = {
    "record_id": (
        "post_id",
        pa.string(),
        "Pseudonym of the post (HMAC under this collaborator's key).",
    ),
    "author_id": ("account_id", pa.string(), "Pseudonym of the author's account."),
    "created_at": ("created_at", TS, "When the post was created (UTC, coarsened per license)."),
    "lang": ("lang", pa.string(), "Language of the post (BCP 47 tag)."),
    "kind": ("kind", pa.string(), "post, reply or quote (reposts are never delivered)."),
    "reply_to_id": ("reply_to", pa.string(), "Pseudonym of the post replied to, if any."),
    "quoted_id": (
        "quoted",
        pa.string(),
        "For a quote: pseudonym of the quoted post, when that post is itself delivered under "
        "this license.",
    ),
    "quoted_text": (
        "quoted",
        pa.string(),
        "For a quote: the quoted post's text (redacted) when that post is itself delivered "
        "under this license, else [QUOTED].",
    ),
    "text": ("text", pa.string(), "Post text with personal data replaced by typed placeholders."),
    "like_count": ("like_count", pa.int64(), "Likes at export time."),
    "repost_count": ("repost_count", pa.int64(), "Reposts at export time."),
    "reply_count": ("reply_count", pa.int64(), "Replies at export time."),
}

COARSENING_UNITS = {"hour": "hour", "day": "day", "month": "month"}


def record_schema(fields: list[str]) -> pa.Schema:
    """The delivered schema: the license's fields, in the canonical column order."""
    wanted = set(fields)
    return pa.schema(
        [
            pa.field(name, dtype, metadata={"description": description})
            for name, (source, dtype, description) in RECORD_COLUMNS.items()
            if source in wanted
        ]
    )


@dataclass(frozen=True)
class ExportContext:
    license: LicenseFacts
    cutoff: datetime
    as_of: datetime
    fields: list[str]
    redact: bool
    pseudonymize: bool
    coarsen: str
    pseudonym_key: bytes
    snapshot: pa.Table
    """consent_snapshot.account_snapshot at the cut-off."""
    mentions: Mentions
    """Lower-cased handles of accounts whose consent allows sharing, and the pseudonyms their
    @mentions become."""
    quoted: pa.Table
    """quoted_post_id and quoted_post_text of every quoted post that is itself delivered under
    this license (rule 8)."""
    withdrawn: pa.Table
    """post_id of every record a deletion notice took back from this collaborator."""
    already_delivered: pa.Table | None = None
    """For a delta: post ids delivered before under this license."""
    redaction_lists: RedactionLists = NO_LISTS
    """The license's allow and deny lists (transforms ``redact_allow``, ``redact_deny``)."""
    schema: pa.Schema = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schema", record_schema(self.fields))
