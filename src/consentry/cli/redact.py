"""``consentry redact``: the export's redactor on JSONL posts, with where each redaction was."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import typer

from consentry.cli.app import app, fails_cleanly
from consentry.errors import InvalidInput
from consentry.pipeline.redact import NO_LISTS, RedactionLists, redact_with_spans

Post = tuple[Any, str]


def _posts(lines: IO[bytes], name: str) -> Iterator[Post]:
    """``(id, text)`` of each non-blank line, or an error naming the line."""
    for number, raw in enumerate(lines, start=1):
        where = f"{name} line {number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"not UTF-8 ({exc.reason})", where=where) from exc
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"not JSON: {exc.msg} at column {exc.colno}", where=where) from exc
        if not isinstance(record, dict):
            raise InvalidInput('expected an object like {"id": 1, "text": "..."}', where=where)
        for field in ("id", "text"):
            if field not in record:
                raise InvalidInput("missing", where=where, field=field)
        if not isinstance(record["text"], str):
            kind = type(record["text"]).__name__
            raise InvalidInput(f"must be a string, not {kind}", where=where, field="text")
        yield record["id"], record["text"]


def _chunks(posts: Iterator[Post], size: int) -> Iterator[list[Post]]:
    chunk: list[Post] = []
    for post in posts:
        chunk.append(post)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _list_file(path: Path | None) -> tuple[str, ...]:
    """The values of an allow or deny file: one per line; blank lines and ``#`` comments skipped."""
    if path is None:
        return ()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read: {exc.strerror}", where=str(path)) from exc
    values = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            value = line.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"not UTF-8 ({exc.reason})", where=f"{path} line {number}") from exc
        if value and not value.startswith("#"):
            values.append(value)
    return tuple(values)


def _lists(allow: Path | None, deny: Path | None) -> RedactionLists:
    if allow is None and deny is None:
        return NO_LISTS
    where = " and ".join(str(p) for p in (allow, deny) if p is not None)
    return RedactionLists(allow=_list_file(allow), deny=_list_file(deny), where=where)


def _redacted_lines(chunk: list[Post], lists: RedactionLists) -> Iterator[str]:
    texts, spans = redact_with_spans(pa.array([text for _, text in chunk], pa.string()), lists)
    for (post_id, _), text, where in zip(chunk, texts.to_pylist(), spans.to_pylist(), strict=True):
        yield json.dumps({"id": post_id, "text": text, "spans": where}, ensure_ascii=False) + "\n"


@contextmanager
def _reader(source: str) -> Iterator[IO[bytes]]:
    if source == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(source, "rb")  # noqa: SIM115  (closed below)
    except OSError as exc:
        raise InvalidInput(f"cannot read: {exc.strerror}", where=source) from exc
    with handle:
        yield handle


@contextmanager
def _writer(target: str) -> Iterator[IO[str]]:
    """Stdout, or a temporary file beside ``target`` that replaces it only when all went well."""
    if target == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    final = Path(target)
    partial = final.with_name(f".{final.name}.{os.getpid()}.partial")
    try:
        handle = partial.open("w", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write: {exc.strerror}", where=target) from exc
    try:
        with handle:
            yield handle
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)


@app.command("redact")
@fails_cleanly
def redact(
    source: str = typer.Option(
        ..., "--input", help='JSONL of {"id": ..., "text": ...} per line; - for stdin.'
    ),
    target: str = typer.Option(..., "--output", help="JSONL to write; - for stdout."),
    chunk_size: int = typer.Option(
        10_000, "--chunk-size", min=1, help="Posts redacted together (bounds memory)."
    ),
    allow: Path | None = typer.Option(
        None, "--allow", help="Values never to redact, one per line (# comments)."
    ),
    deny: Path | None = typer.Option(
        None, "--deny", help="Values always to redact as [REDACTED], one per line (# comments)."
    ),
) -> None:
    """Redact personal data in JSONL posts and give the input offsets and type of each redaction."""
    name = "stdin" if source == "-" else source
    lists = _lists(allow, deny)
    with _reader(source) as lines, _writer(target) as out:
        for chunk in _chunks(_posts(lines, name), chunk_size):
            out.writelines(_redacted_lines(chunk, lists))
