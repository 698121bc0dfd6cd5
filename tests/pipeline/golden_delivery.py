"""One delivery of a fixed small platform under fixed keys, and how to compare it with the one
kept in tests/data/golden-delivery/.

The clock is the only input that is not fixed: ``as_of`` (when the export ran) and the
manifest's ``created_at`` come from it. ``normalize`` replaces those two timestamps, wherever
they appear (manifest, croissant.json, DATASHEET.md), by placeholders, and the manifest's
``documents`` hashes (of files that contain them) by the hashes of the normalized files.
Everything else is compared byte for byte. Regenerate (only when the output is meant to change):

    PYTHONPATH=src python tests/pipeline/golden_delivery.py
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

sys.path.insert(0, str(Path(__file__).parent))

from export_platform import CUTOFF, UTC0, U, build_platform

from consentry.pipeline.export import run_export
from consentry.pipeline.keys import SIGNING_KEY_ENV, pseudonym_key_env
from consentry.settings import Settings
from consentry.store.db import session_scope
from consentry.store.models import Post
from consentry.store.parties import add_license

GOLDEN = Path(__file__).parents[1] / "data" / "golden-delivery"
LICENSE = "nw-golden"
COLLABORATOR = "northwind-ai"
KEYS = {
    SIGNING_KEY_ENV: base64.b64encode(bytes(range(32))).decode(),
    pseudonym_key_env(COLLABORATOR): base64.b64encode(bytes(range(32, 64))).decode(),
}
TEXT_FILES = ("manifest.json", "croissant.json", "DATASHEET.md")
AS_OF, CREATED_AT = "<AS_OF>", "<CREATED_AT>"


def build_golden_platform(engine: Engine) -> None:
    """The pipeline tests' platform with 40 bulk posts, quotes and a repost, and a license
    that takes quotes and coarsens to the day."""
    build_platform(engine, extra_posts=40)
    d = datetime(2024, 11, 21, tzinfo=UTC)
    base = {"lang": "en", "visibility": "public", "like_count": 2, "repost_count": 1}
    posts = [
        # quotes a delivered post: inlined; quotes a denied one: masked; a repost: dropped
        {"id": "q01", "account_id": "de_yes", "created_at": d, "kind": "quote",
         "original_id": "p01", "text": "so true, ring 415-555-0199", "reply_count": 0, **base},
        {"id": "q02", "account_id": "us_default", "created_at": d, "kind": "quote",
         "original_id": "p06", "text": "disagree", "reply_count": 3, **base},
        {"id": "r01", "account_id": "de_yes", "created_at": d, "kind": "repost",
         "original_id": "p08", "text": "", "reply_count": 0, **base},
    ]  # fmt: skip
    with session_scope(engine) as session:
        session.execute(insert(Post), posts)
        add_license(
            session,
            id=LICENSE,
            collaborator_id=COLLABORATOR,
            purpose=U,
            scope={"kinds": ["post", "reply", "quote"], "public_only": True},
            transforms={"coarsen_timestamps": "day"},
            description="Golden delivery of the export tests.",
            term_start=UTC0,
            actor="test",
        )


def export_golden(engine: Engine, home: Path, out: Path) -> None:
    """The export under test: small batches and shards, so several of each."""
    run_export(
        engine,
        Settings(home=home),
        license_id=LICENSE,
        cutoff=CUTOFF - timedelta(days=1),
        out_dir=out,
        batch_rows=7,
        shard_rows=16,
        threads=2,
    )


def delivery_files(out: Path) -> dict[str, bytes]:
    """Every file of the delivery, with the timing fields normalized (see the module doc)."""
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}
    manifest = json.loads(files["manifest.json"])
    stamps = {manifest["as_of"]: AS_OF, manifest["created_at"]: CREATED_AT}
    files.pop("manifest.sig")  # signs the timing fields; checked by verify_delivery instead
    for name in TEXT_FILES:
        text = files[name].decode("utf-8")
        for stamp, placeholder in stamps.items():
            text = text.replace(stamp, placeholder)
        files[name] = text.encode("utf-8")
    normalized = json.loads(files["manifest.json"])
    for document in normalized.get("documents", []):
        document["sha256"] = hashlib.sha256(files[document["name"]]).hexdigest()
        document["bytes"] = len(files[document["name"]])
    files["manifest.json"] = (
        json.dumps(normalized, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode()
    return files


def main() -> None:
    from consentry.store.db import make_engine
    from consentry.store.policies import ensure_builtin_purposes
    from consentry.store.schema import upgrade

    os.environ.update(KEYS)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'golden.db'}")
        upgrade(engine)
        with session_scope(engine) as session:
            ensure_builtin_purposes(session)
        build_golden_platform(engine)
        out = Path(tmp) / "delivery"
        export_golden(engine, Path(tmp) / "home", out)
        engine.dispose()
        shutil.rmtree(GOLDEN, ignore_errors=True)
        GOLDEN.mkdir(parents=True)
        for name, data in delivery_files(out).items():
            (GOLDEN / name).write_bytes(data)
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
