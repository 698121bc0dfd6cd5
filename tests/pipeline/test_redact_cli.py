"""``consentry redact`` turns JSONL posts into redacted JSONL with spans, or names the bad line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentry.cli import app
from consentry.cli.app import err_console

runner = CliRunner()

POSTS = [
    {"id": 1, "text": "Café ☕ 🎉 mail anna@web.de or +44 20 7946 0958"},
    {"id": "p-2", "text": "ISBN 978-3-16-148410-0, order #48213377, cc @bob"},
    {"id": 3, "text": "moved to 12 rue de la Paix; card 4111 1111 1111 1111"},
]


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # _width, not width: monkeypatch restores it to None, so the width follows COLUMNS again.
    monkeypatch.setattr(err_console, "_width", 1000)


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _check(lines: list[dict]) -> None:
    assert [line["id"] for line in lines] == [1, "p-2", 3]
    assert lines[0]["text"] == "Café ☕ 🎉 mail [EMAIL] or [PHONE]"
    assert lines[1]["text"] == POSTS[1]["text"] and lines[1]["spans"] == []
    assert lines[2]["text"] == "moved to [ADDRESS]; card [CARD]"
    for post, line in zip(POSTS, lines, strict=True):
        found = [(post["text"][s["start"] : s["end"]], s["type"]) for s in line["spans"]]
        assert all(value and kind for value, kind in found)
    assert [(s["start"], s["end"], s["type"]) for s in lines[0]["spans"]] == [
        (14, 25, "EMAIL"),
        (29, 45, "PHONE"),
    ]


def test_files_in_and_out(tmp_path: Path) -> None:
    source, target = tmp_path / "posts.jsonl", tmp_path / "out" / "redacted.jsonl"
    source.write_text(_jsonl(POSTS) + "\n", encoding="utf-8")  # a blank line is skipped
    target.parent.mkdir()
    result = runner.invoke(
        app, ["redact", "--input", str(source), "--output", str(target), "--chunk-size", "2"]
    )
    assert result.exit_code == 0, result.output
    _check([json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()])
    assert sorted(p.name for p in target.parent.iterdir()) == ["redacted.jsonl"]


def test_stdin_to_stdout_in_a_real_process() -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("consentry")),
            "redact",
            "--input",
            "-",
            "--output",
            "-",
        ],
        input=_jsonl(POSTS).encode(),
        capture_output=True,
        check=True,
    )
    _check([json.loads(line) for line in done.stdout.decode().splitlines()])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 3: not JSON: Expecting property name"),
        ('["a list"]', "line 3: expected an object"),
        ('{"id": 9}', "line 3, field 'text': missing"),
        ('{"text": "hi"}', "line 3, field 'id': missing"),
        ('{"id": 9, "text": 42}', "line 3, field 'text': must be a string, not int"),
        ('{"id": 9, "text": null}', "line 3, field 'text': must be a string, not NoneType"),
    ],
)
def test_a_bad_line_is_named_and_leaves_no_output(tmp_path: Path, line: str, message: str) -> None:
    source, target = tmp_path / "posts.jsonl", tmp_path / "redacted.jsonl"
    source.write_text(_jsonl(POSTS[:2]) + line + "\n" + _jsonl(POSTS[2:]), encoding="utf-8")
    result = runner.invoke(
        app, ["redact", "--input", str(source), "--output", str(target), "--chunk-size", "1"]
    )
    assert result.exit_code == 1
    assert f"{source} {message}" in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == [source]


def test_a_failed_run_keeps_the_previous_output(tmp_path: Path) -> None:
    source, target = tmp_path / "posts.jsonl", tmp_path / "redacted.jsonl"
    target.write_text("previous\n")
    source.write_bytes(_jsonl(POSTS).encode() + b'{"id": 4, "text": "\xff"}\n')
    result = runner.invoke(app, ["redact", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 1
    assert "line 4: not UTF-8" in result.output
    assert target.read_text() == "previous\n"


def test_a_missing_input_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = runner.invoke(app, ["redact", "--input", str(missing), "--output", "-"])
    assert result.exit_code == 1
    assert f"{missing}: cannot read" in " ".join(result.output.split())


def test_allow_and_deny_files(tmp_path: Path) -> None:
    source, target = tmp_path / "posts.jsonl", tmp_path / "redacted.jsonl"
    allow, deny = tmp_path / "allow.txt", tmp_path / "deny.txt"
    source.write_text(_jsonl([{"id": 1, "text": "help@acme.example, a@b.de, db7.corp"}]))
    allow.write_text("# the platform's own address\nhelp@acme.example\n\n")
    deny.write_text("db7.corp\n")
    args = ["redact", "--input", str(source), "--output", str(target)]
    result = runner.invoke(app, [*args, "--allow", str(allow), "--deny", str(deny)])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["text"] == "help@acme.example, [EMAIL], [REDACTED]"
    deny.write_text("db7.corp\nab\n")
    result = runner.invoke(app, [*args, "--deny", str(deny)])
    assert result.exit_code == 1
    assert f"{deny}, field 'deny[1]': 'ab'" in " ".join(result.output.split())
