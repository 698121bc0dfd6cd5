"""Hostile files to every importer: hypothesis mutates valid files (truncated, a value of the
wrong type, bytes that are not UTF-8) in each format of each kind, and each archive importer
meets a member path that climbs out of the archive and a highly compressed zip. An import either
succeeds or fails with the project's error naming the file, and then has changed nothing; a zip
bomb is refused in a child process whose memory stays bounded.

The single cases found when the importers were first tried this way (issue 10, item 8) have
tests of their own in ``tests/ingest/test_hostile_cases.py``.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from consentry.errors import ConsentryError
from consentry.ingest import import_file
from consentry.ingest.mastodon import import_mastodon
from consentry.ingest.x_archive import import_x_archive
from reliability.harness import current_scale

sys.path.insert(0, str(Path(__file__).parents[1] / "ingest"))  # the ingest tests' own files
from exports import mastodon_export, x_archive
from platform_files import fresh_sqlite, snapshot, write

KINDS = ("accounts", "posts", "consent")
FORMATS = ("jsonl", "csv", "parquet")
MEMORY_LIMIT = 1 << 30
"""The address space a child import may use (1 GiB): a zip bomb must be refused within it."""


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with bytes that are not UTF-8, or with a value turned into another
    type (a number where text was, text where a number or a boolean was)."""
    how = draw(st.sampled_from(["truncate", "not utf-8", "retype", "splice"]))
    at = draw(st.integers(0, max(len(data) - 1, 0)))
    if how == "truncate":
        return data[:at]
    if how == "not utf-8":
        return (
            data[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80"])) + data[at:]
        )
    if how == "retype":
        old = draw(st.sampled_from([b'"', b"true", b"false", b"0", b"Z", b","]))
        new = draw(st.sampled_from([b"123456789012345678901234567890", b'"x"', b"[]", b"{}", b""]))
        return data.replace(old, new, 1)
    return data[:at] + draw(st.binary(max_size=40)) + data[at:]


def _check(engine: Engine, path: Path, run: Any) -> str:
    """Run an import; it succeeds or fails cleanly naming the file, changing nothing."""
    before = snapshot(engine)
    try:
        run()
    except ConsentryError as exc:
        assert path.name in str(exc), f"the error does not name the file: {exc}"
        assert snapshot(engine) == before, f"a refused import changed the database: {exc}"
        return "refused"
    return "imported"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_mutated_file_is_imported_or_refused_naming_it_and_changing_nothing(
    kind: str, fmt: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    engine = fresh_sqlite(tmp_path / "consentry.db")
    if kind != "accounts":
        import_file(engine, "accounts", write(tmp_path, "accounts", "jsonl"), actor="test")
    valid = write(tmp_path, kind, fmt).read_bytes()
    outcomes: list[str] = []

    @settings(
        max_examples=current_scale().file_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(mutated(valid))
    def imports_cleanly(data: bytes) -> None:
        path = tmp_path / f"hostile-{kind}.{fmt}"
        path.write_bytes(data)
        outcomes.append(_check(engine, path, lambda: import_file(engine, kind, path, actor="t")))

    try:
        imports_cleanly()
    finally:
        figures.update(
            files=len(outcomes),
            refused=outcomes.count("refused"),
            imported=outcomes.count("imported"),
        )
        engine.dispose()


ARCHIVES = {
    "x-archive": (x_archive, import_x_archive),
    "mastodon": (mastodon_export, import_mastodon),
}


@pytest.mark.parametrize("archive", sorted(ARCHIVES))
def test_a_member_path_out_of_the_archive_is_refused_or_ignored(
    archive: str, tmp_path: Path
) -> None:
    engine = fresh_sqlite(tmp_path / "consentry.db")
    make, run = ARCHIVES[archive]
    path = make(tmp_path / "export", zipped=True)
    with zipfile.ZipFile(path, "a") as zipped:
        zipped.writestr("../../../../tmp/escaped.js", "window.YTD.tweets.part0 = []")
    _check(engine, path, lambda: run(engine, path, jurisdiction="US-CA", actor="t"))
    assert not Path("/tmp/escaped.js").exists()
    assert not (tmp_path / "escaped.js").exists()


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.slow
@pytest.mark.parametrize("archive", sorted(ARCHIVES))
def test_a_zip_bomb_is_refused_with_bounded_memory(
    archive: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    make, _ = ARCHIVES[archive]
    path = make(tmp_path / "export", zipped=True)
    with zipfile.ZipFile(path) as zipped:
        member = next(n for n in zipped.namelist() if "tweets" in n or "outbox" in n)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            if name != member:
                out.writestr(name, src.read(name))
        with out.open(member, "w", force_zip64=True) as huge:  # 2 GiB of spaces, about 2 MB
            block = b" " * (1 << 20)
            for _ in range(2048):
                huge.write(block)
    database = tmp_path / "consentry.db"
    fresh_sqlite(database).dispose()
    done = subprocess.run(
        [sys.executable, "-m", "consentry", "import", archive, str(bomb), "--jurisdiction",
         "US-CA"],
        env={"CONSENTRY_DATABASE_URL": f"sqlite:///{database}", "CONSENTRY_HOME": str(tmp_path),
             "PATH": "/usr/bin:/bin", "COLUMNS": "200",
             "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        capture_output=True, text=True, preexec_fn=_limited,
    )  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    figures.update(bomb_bytes=bomb.stat().st_size, exit=done.returncode, peak_rss_mib=peak)
    assert done.returncode == 1, done.stdout[-1500:] + done.stderr[-1500:]
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr[-2000:]
    assert bomb.name in done.stderr
