"""What a delivery says about itself to people and tools: Croissant JSON-LD and a datasheet.

Both are derived from the manifest alone, before the manifest is signed; the signed manifest
then lists their hashes, so neither can be edited unnoticed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from consentry.domain.purposes import BUILTIN_PURPOSES
from consentry.domain.types import ExclusionReason
from consentry.errors import InvalidInput
from consentry.pipeline.manifest import Manifest, write_atomic

CROISSANT_FILE = "croissant.json"
DATASHEET_FILE = "DATASHEET.md"
CROISSANT_1_0 = "http://mlcommons.org/croissant/1.0"
PARQUET = "application/x-parquet"
RECORD_SET = "records"

# The standard Croissant 1.0 @context (as in mlcommons/croissant datasets/1.0), with RAI.
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

EXCLUSION_REASON_TEXT: dict[str, str] = {
    ExclusionReason.DIRECT_MESSAGE: "a direct message, which is never licensable",
    ExclusionReason.DELETED: "the post or its account was deleted",
    ExclusionReason.MINOR: "the author was a minor at the cut-off",
    ExclusionReason.PROTECTED: "the author's account is protected (private)",
    ExclusionReason.OUT_OF_SCOPE: "outside the license's scope (time window, language or kind)",
    ExclusionReason.DENIED: "the author said no (including a Global Privacy Control signal)",
    ExclusionReason.NO_CONSENT: "the author never chose, and the policy default is opt-in or never",
    ExclusionReason.NO_POLICY: "no policy version covering the purpose was in force",
    ExclusionReason.BEFORE_POLICY: "created before the opt-out policy took effect, which only "
    "an explicit yes covers",
}
"""Each exclusion reason of the consent rule in plain words, for datasheets and summaries."""

_INTEGER = re.compile(r"u?int(8|16|32|64)")


def croissant_data_type(arrow_type: str, *, column: str) -> str:
    """The schema.org data type Croissant uses for an Arrow type string such as ``int64``."""
    kind = arrow_type.strip()
    if kind in ("string", "large_string", "utf8", "large_utf8", "string_view"):
        return "sc:Text"
    if _INTEGER.fullmatch(kind):
        return "sc:Integer"
    if kind in ("halffloat", "float", "double") or kind.startswith("decimal"):
        return "sc:Float"
    if kind in ("bool", "boolean"):
        return "sc:Boolean"
    if kind.startswith("timestamp"):
        return "sc:DateTime"
    if kind.startswith(("date32", "date64")):
        return "sc:Date"
    raise InvalidInput(
        f"Arrow type {kind!r} has no Croissant data type; deliver it as string, integer, "
        "float, bool, date or timestamp",
        where="manifest schema",
        field=column,
    )


def croissant_document(manifest: Manifest) -> dict[str, Any]:
    """The Croissant 1.0 JSON-LD for a delivery, with the Responsible AI fields that apply."""
    license_, collaborator, counts = manifest.license, manifest.collaborator, manifest.counts
    purpose = _purpose_label(license_.purpose)
    cutoff, created_at = manifest.cutoff.isoformat(), manifest.created_at.isoformat()
    file_objects = [
        {
            "@type": "cr:FileObject",
            "@id": shard.name,
            "name": shard.name,
            "description": f"Parquet shard with {shard.rows} records.",
            "contentUrl": shard.name,
            "contentSize": f"{shard.bytes} B",
            "encodingFormat": PARQUET,
            "sha256": shard.sha256,
        }
        for shard in manifest.shards
    ]
    # The record set reads the shards through one FileSet: a field can have a single source.
    file_set = {
        "@type": "cr:FileSet",
        "@id": "shards",
        "name": "shards",
        "description": "All Parquet shards of this delivery, each also listed as a FileObject.",
        "encodingFormat": PARQUET,
        "includes": [shard.name for shard in manifest.shards] or ["*.parquet"],
    }
    record_set: dict[str, Any] = {
        "@type": "cr:RecordSet",
        "@id": RECORD_SET,
        "name": RECORD_SET,
        "description": "One record per delivered post.",
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{RECORD_SET}/{column.name}",
                "name": column.name,
                "description": column.description or column.name,
                "dataType": croissant_data_type(column.type, column=column.name),
                "source": {"fileSet": {"@id": "shards"}, "extract": {"column": column.name}},
            }
            for column in manifest.columns
        ],
    }
    if any(column.name == "record_id" for column in manifest.columns):
        record_set["key"] = {"@id": f"{RECORD_SET}/record_id"}
    publisher = manifest.publisher_name
    document: dict[str, Any] = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_1_0,
        "name": f"consentry-delivery-{manifest.delivery_id}",
        "description": (
            f"{manifest.kind.capitalize()} delivery {manifest.delivery_id} of license "
            f"{license_.id} to {collaborator.name}: {counts.delivered} consented, "
            f"redacted posts for the purpose {purpose}, cut-off {cutoff}."
        ),
        "identifier": manifest.delivery_id,
        "version": _calendar_version(manifest),
        "datePublished": created_at,
        "license": {
            "@type": "sc:CreativeWork",
            "name": f"License {license_.id} ({collaborator.name}, {purpose})",
            "description": _license_text(manifest),
        },
        "creator": {"@type": "sc:Organization", "name": publisher},
        "citeAs": (
            f"{publisher}. Delivery {manifest.delivery_id} of license "
            f"{license_.id}, cut-off {cutoff}. Consentry, {created_at}."
        ),
        "keywords": ["consented user content", "social media posts", license_.purpose],
        "distribution": [*file_objects, file_set],
        "recordSet": [record_set],
        **_responsible_ai(manifest),
    }
    languages = license_.scope.get("languages")
    if languages:
        document["inLanguage"] = sorted(languages)
    return document


def write_croissant(out_dir: Path, manifest: Manifest) -> Path:
    """Write ``croissant.json`` beside the shards (atomically) and return its path."""
    path = out_dir / CROISSANT_FILE
    text = json.dumps(croissant_document(manifest), indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))
    return path


def write_datasheet(out_dir: Path, manifest: Manifest) -> Path:
    """Write ``DATASHEET.md`` (Gebru et al.'s sections) beside the shards and return its path.
    The template renders the manifest as it is written (times as ISO strings)."""
    license_ = manifest.license
    excluded = manifest.counts.excluded
    text = (
        _templates()
        .get_template("datasheet.md.j2")
        .render(
            m=manifest.to_json(),
            license=license_,
            scope=license_.scope,
            applied=_applied(manifest),
            purpose_label=_purpose_label(license_.purpose),
            publisher=manifest.publisher_name,
            reasons=[
                (reason.value, excluded.get(reason.value, 0), EXCLUSION_REASON_TEXT[reason])
                for reason in ExclusionReason
            ],
            excluded_total=manifest.counts.excluded_total,
            shard_rows=sum(shard.rows for shard in manifest.shards),
        )
    )
    path = out_dir / DATASHEET_FILE
    write_atomic(path, text.encode("utf-8"))
    return path


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("consentry.pipeline", "templates"),
        autoescape=False,  # Markdown, not HTML; table cells are escaped by the `cell` filter
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ")
    return env


def _purpose_label(purpose: str) -> str:
    label = BUILTIN_PURPOSES.get(purpose, (purpose, ""))[0]
    return f"{label} ({purpose})" if label != purpose else purpose


def _applied(manifest: Manifest) -> dict[str, Any]:
    """What the export did, from its list of transforms (the license only says what it asked)."""
    names = {transform.name for transform in manifest.transforms}
    unit = manifest.license.transforms.get("coarsen_timestamps")
    return {
        "redact": "redact" in names,
        "pseudonymize": "pseudonymize" in names,
        "coarsen": unit
        if "coarsen_timestamps" in names and unit not in (None, "", "none")
        else None,
    }


def _calendar_version(manifest: Manifest) -> str:
    """Semantic-version-shaped: the cut-off date, plus the delivery id as build metadata."""
    cutoff = manifest.cutoff
    build = re.sub(r"[^0-9A-Za-z-]+", "-", manifest.delivery_id).strip("-") or "0"
    return f"{cutoff.year}.{cutoff.month}.{cutoff.day}+{build}"


def _license_text(manifest: Manifest) -> str:
    license_, collaborator = manifest.license, manifest.collaborator
    description = f" {license_.description.rstrip('.')}." if license_.description else ""
    return (
        f"Proprietary data license {license_.id}, granted to {collaborator.name} "
        f"({collaborator.country}) for the purpose {_purpose_label(license_.purpose)} "
        f"only.{description} No redistribution, no re-identification, no linking with other "
        f"data to identify people. Records named in a deletion notice must be deleted within "
        f"{license_.deletion_sla_days} days. Price model: {license_.price_model}."
    )


def _responsible_ai(manifest: Manifest) -> dict[str, Any]:
    """The RAI extension fields this kind of dataset can honestly fill in."""
    license_, collaborator, counts = manifest.license, manifest.collaborator, manifest.counts
    cutoff, as_of = manifest.cutoff.isoformat(), manifest.as_of.isoformat()
    applied = _applied(manifest)
    purpose = _purpose_label(license_.purpose)
    excluded = counts.excluded_total
    jurisdictions = sorted(row.jurisdiction for row in manifest.consent_summary)
    sensitive = ["Free text written by people can contain personal data about them and others."]
    sensitive.append(
        "Emails, phone numbers, IP addresses, payment card numbers, street addresses, personal "
        "URLs and @mentions of non-consenting accounts were replaced by typed placeholders such "
        "as [EMAIL]; pattern-based redaction can miss some."
        if applied["redact"]
        else "This license delivers the text without redaction: it may contain personal data."
    )
    if applied["pseudonymize"]:
        sensitive.append(
            "Account and post ids are HMAC-SHA256 pseudonyms under a key unique to this "
            "collaborator, so deliveries to different collaborators cannot be joined."
        )
    if applied["coarsen"]:
        sensitive.append(f"Timestamps are coarsened to the {applied['coarsen']}.")
    return {
        "rai:dataCollection": (
            f"Posts written by users of the platform in the normal course of using it, selected "
            f"at cut-off {cutoff} by Consentry's consent rule: a post is included "
            f"only if its author's consent allowed sharing with {collaborator.name} for "
            f"{purpose} both at the cut-off and when the export ran ({as_of}). "
            f"{counts.scanned} posts scanned, {excluded} excluded, {counts.delivered} "
            "delivered."
        ),
        "rai:dataCollectionType": ["User-generated content data"],
        "rai:dataPreprocessingProtocol": [f"{t.name}: {t.description}" for t in manifest.transforms]
        or ["No transforms were applied."],
        "rai:personalSensitiveInformation": sensitive,
        "rai:dataUseCases": [
            f"{purpose} by {collaborator.name} under license {license_.id}"
            + (f": {license_.description}" if license_.description else "."),
        ],
        "rai:dataBiases": [
            "Only authors who allowed this use (explicitly, or by an opt-out default where the "
            "law permits one) are included, so the data over-represents jurisdictions with "
            "opt-out defaults and users willing to share"
            + (f"; jurisdictions delivered: {', '.join(jurisdictions)}." if jurisdictions else ".")
        ],
        "rai:dataLimitations": [
            "Not a random sample: protected accounts, minors, direct messages, deleted content "
            "and posts of authors who did not consent are excluded.",
            "Records can be withdrawn after delivery; deletion notices name them.",
        ],
        "rai:dataSocialImpact": (
            "The posts belong to real people who agreed to this use and may withdraw at any "
            "time; honouring deletion notices keeps the dataset consistent with their choices."
        ),
        "rai:dataReleaseMaintenancePlan": (
            f"Delivered as {manifest.kind} delivery {manifest.delivery_id}; later "
            "deliveries are deltas against the previous one. When consent is withdrawn, a post "
            "or account is deleted, or the license ends, the platform issues a deletion notice "
            "and the collaborator must delete the named records within "
            f"{license_.deletion_sla_days} days and acknowledge it."
        ),
    }
