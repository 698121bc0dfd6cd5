"""``consentry import ...`` end to end: reports, idempotence, clean errors, quarantine, exports."""

from __future__ import annotations

from pathlib import Path

from exports import mastodon_export, x_archive
from platform_files import POSTS, write, write_jsonl
from typer.testing import CliRunner

from consentry.cli import app

WIDE = {"COLUMNS": "200"}
runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=WIDE)
    return result.exit_code, result.output


def test_files_import_and_a_second_run_reports_everything_unchanged(
    consentry_home: Path, tmp_path: Path
) -> None:
    assert _run("init")[0] == 0
    files = {
        kind: write(tmp_path, kind, fmt)
        for kind, fmt in [("accounts", "csv"), ("posts", "parquet"), ("consent", "jsonl")]
    }
    for kind, path in files.items():
        code, output = _run("import", kind, str(path))
        assert code == 0, output
        assert f"{kind} from {path}: 3 read, 3 inserted, 0 updated, 0 unchanged" in output
    code, output = _run("import", "posts", str(files["posts"]))
    assert "3 read, 0 inserted, 0 updated, 3 unchanged, 0 quarantined" in output
    code, output = _run("audit", "verify")
    assert code == 0 and "ok consent chain: 3 events" in output


def test_a_bad_row_exits_1_naming_file_line_and_field(consentry_home: Path, tmp_path: Path) -> None:
    _run("init")
    _run("import", "accounts", str(write(tmp_path, "accounts", "jsonl")))
    posts = write_jsonl(
        tmp_path / "posts.jsonl", [POSTS[0], dict(POSTS[1], lang=None, created_at="2024-11-21")]
    )
    code, output = _run("import", "posts", str(posts))
    assert code == 1
    assert f"{posts}, line 2, field 'created_at': '2024-11-21' has no time zone" in " ".join(
        output.split()
    )
    quarantine = tmp_path / "bad.jsonl"
    code, output = _run("import", "posts", str(posts), "--quarantine", str(quarantine))
    assert code == 0, output
    assert "1 inserted" in output and "1 bad rows written to" in output
    assert '"line": 2' in quarantine.read_text()


def test_account_exports_import_with_the_given_jurisdiction(
    consentry_home: Path, tmp_path: Path
) -> None:
    _run("init")
    archive = x_archive(tmp_path / "x", zipped=True)
    code, output = _run("import", "x-archive", str(archive), "--jurisdiction", "US-CA")
    assert code == 0, output
    assert "posts from" in output and "5 inserted" in output
    assert "skipped 1: retweet without the retweeted tweet's id" in output
    export = mastodon_export(tmp_path / "m", zipped=False)
    code, output = _run("import", "mastodon", str(export), "--jurisdiction", "DE")
    assert code == 0, output
    assert "7 inserted" in output
    code, output = _run("import", "mastodon", str(export), "--jurisdiction", "Mars")
    assert code == 1 and "'MARS' is not an ISO 3166" in output
