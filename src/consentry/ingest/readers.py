"""Read JSONL, CSV and Parquet files into Arrow tables, remembering where each row came from.

The fast paths parse a whole file in Arrow's C++ readers. Line numbers come from a vectorized
scan of the bytes (numpy), so a row's error can name its line. Only a JSONL file that Arrow
refuses is read again line by line, to name every bad line and field.
"""

from __future__ import annotations

import io
import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pj
import pyarrow.parquet as pq

from consentry.errors import InvalidInput
from consentry.ingest.fields import Kind, json_schema

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_JSON_BLOCK = 16 << 20
"""Bytes per JSON parse block; a line must fit in one."""


@dataclass(frozen=True)
class Problem:
    position: int
    field: str | None
    message: str


@dataclass
class Source:
    """Rows read from one file or table, and the rows that could not even be parsed."""

    name: str
    unit: str
    """How ``positions`` count: "line" (1-based), "row index" (0-based) or "item" (0-based)."""
    table: pa.Table
    positions: np.ndarray
    rejected: list[tuple[Problem, Any]] = field(default_factory=list)
    """Unparsable rows: the problem and the original text or object."""
    parts: list[tuple[int, str]] = field(default_factory=list)
    """Rows gathered from several files: (first position, file name) of each, in order."""
    unset: dict[str, np.ndarray] = field(default_factory=dict)
    """Per column, the rows that do not give it at all (a JSONL line without the key); every
    other null of a column the source has was sent blank (an empty cell, a JSON null)."""

    def unset_rows(self, name: str) -> np.ndarray:
        return self.unset.get(name, np.zeros(self.table.num_rows, dtype=bool))

    def _locate(self, position: int) -> tuple[str, int]:
        if not self.parts:
            return self.name, position
        start, name = self.parts[bisect_right([s for s, _ in self.parts], position) - 1]
        return name, position - start

    def where(self, position: int) -> str:
        name, number = self._locate(position)
        return f"{name}, {self.unit} {number}"

    def place(self, position: int) -> str:
        """``where`` without the file name, when there is only the one."""
        return self.where(position) if self.parts else f"{self.unit} {position}"


def from_table(table: pa.Table, name: str, unit: str = "row index") -> Source:
    return Source(name, unit, table, np.arange(table.num_rows))


def read(path: Path, kind: Kind, format: str | None = None) -> Source:
    """The rows of ``path``; the format comes from ``format`` or the file's extension."""
    fmt = (format or FORMATS.get(path.suffix.lower(), "")).lower()
    if not fmt:
        raise InvalidInput(
            f"cannot tell the format from the extension {path.suffix!r}; "
            "pass --format jsonl, csv or parquet",
            where=str(path),
        )
    if fmt not in READERS:
        raise InvalidInput(f"unknown format {fmt!r}; expected jsonl, csv or parquet")
    if not path.is_file():
        raise InvalidInput("no such file", where=str(path))
    return READERS[fmt](path, kind)


def record_lines(data: bytes, *, quoted: bool) -> np.ndarray:
    """The 1-based line on which each non-empty record starts. With ``quoted``, a newline
    inside double quotes (RFC 4180) does not end a record."""
    arr = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(arr == 10)
    ends = newlines
    if quoted:
        quotes = np.flatnonzero(arr == 34)
        ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    starts = np.concatenate(([0], ends + 1))
    length = np.concatenate((ends, [arr.size])) - starts
    first = arr[np.minimum(starts, arr.size - 1)] if arr.size else np.zeros(1, np.uint8)
    empty = (length == 0) | ((length == 1) & (first == 13))
    return 1 + np.searchsorted(newlines, starts[~empty])


def read_jsonl(path: Path, kind: Kind) -> Source:
    data = path.read_bytes()
    if not_utf8(data) is not None:  # Arrow's reader would store the bad bytes; name each bad line
        return _jsonl_line_by_line(data, str(path), kind)
    options = pj.ParseOptions(explicit_schema=json_schema(kind), unexpected_field_behavior="infer")
    try:
        table = pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(block_size=_JSON_BLOCK),
            parse_options=options,
        )
    except pa.ArrowInvalid:
        return _jsonl_line_by_line(data, str(path), kind)
    lines = record_lines(data, quoted=False)
    if lines.size != table.num_rows:  # lines of blanks only, which Arrow skips as well
        return _jsonl_line_by_line(data, str(path), kind)
    return Source(str(path), "line", table, lines, unset=_unset_keys(data, table, lines, kind))


def not_utf8(data: bytes) -> str | None:
    """Where ``data`` first stops being UTF-8 ("byte 0xff on line 3, column 7"), or None."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return f"byte {data[exc.start]:#04x} on line {line}, column {column}"
    return None


def _unset_keys(
    data: bytes, table: pa.Table, lines: np.ndarray, kind: Kind
) -> dict[str, np.ndarray]:
    """For never-blank columns, the null rows whose line lacks the key (Arrow reads a missing key
    and a null alike). Only the lines of null values are looked at, and only if some line
    writes the key as null at all."""
    unset = {}
    for f in kind.fields:
        if not f.never_blank or f.name not in table.column_names:
            continue
        nulls = table[f.name].is_null().to_numpy(zero_copy_only=False)
        explicit = re.compile(rb'"' + f.name.encode() + rb'"\s*:\s*null\b')
        if not nulls.any() or explicit.search(data) is None:
            unset[f.name] = nulls
            continue
        text = data.split(b"\n")
        written = np.zeros(len(nulls), dtype=bool)
        for i in np.flatnonzero(nulls):
            written[i] = explicit.search(text[int(lines[i]) - 1]) is not None
        unset[f.name] = nulls & ~written
    return unset


MAX_COUNT = 10**18
"""Counts have at most 18 digits (they are stored as 64-bit integers)."""
_JSON_KIND = {"bool": (bool,), "int": (int,)}
_JSON_NAME = {"bool": "true or false", "int": "a whole number"}


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return names.get(type(value), "an object" if isinstance(value, dict) else "a list")


def _type_problems(obj: dict[str, Any], kind: Kind, line: int) -> list[Problem]:
    problems = []
    for f in kind.fields:
        value = obj.get(f.name)
        if value is None:
            continue
        expected = _JSON_KIND.get(f.kind, (str,))
        ok = isinstance(value, expected) and not (f.kind == "int" and isinstance(value, bool))
        if ok and f.kind == "int" and abs(value) >= MAX_COUNT:
            problems.append(Problem(line, f.name, f"is larger than {MAX_COUNT - 1:,}"))
        elif not ok:
            wanted = _JSON_NAME.get(f.kind, "a string")
            problems.append(Problem(line, f.name, f"expected {wanted}, got {_json_type(value)}"))
    return problems


def _jsonl_line_by_line(data: bytes, name: str, kind: Kind) -> Source:
    """The slow, exact path: every bad line named, the good ones parsed."""
    good: list[dict[str, Any]] = []
    positions: list[int] = []
    rejected: list[tuple[Problem, Any]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        text = raw.decode("utf-8", errors="replace")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = Problem(number, None, f"not UTF-8 text (byte {exc.start + 1} of the line)")
            rejected.append((problem, text))
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problem = Problem(number, None, f"not valid JSON ({exc.msg}, column {exc.colno})")
            rejected.append((problem, text))
            continue
        if not isinstance(obj, dict):
            rejected.append((Problem(number, None, "expected a JSON object {...}"), obj))
            continue
        problems = _type_problems(obj, kind, number)
        if problems:
            rejected.extend((p, obj) for p in problems)
            continue
        good.append(obj)
        positions.append(number)
    schema = json_schema(kind)
    unknown = sorted({key for obj in good for key in obj} - set(schema.names))
    columns = {f.name: pa.array([o.get(f.name) for o in good], f.type) for f in schema}
    for key in unknown:  # kept so that validation names the unknown column
        columns[key] = pa.array([json.dumps(o.get(key)) for o in good], pa.string())
    present = {key for obj in good for key in obj}
    table = pa.table({n: c for n, c in columns.items() if n in present})
    unset = {
        f.name: np.array([f.name not in obj for obj in good], dtype=bool)
        for f in kind.fields
        if f.never_blank
    }
    return Source(name, "line", table, np.array(positions, dtype=np.int64), rejected, unset=unset)


def _csv_block(data: bytes) -> int:
    return min(max(len(data) + 1, 1 << 20), (1 << 31) - 1)


def read_csv(path: Path, kind: Kind) -> Source:
    data = path.read_bytes()
    bad = not_utf8(data)
    if bad is not None:
        raise InvalidInput(f"not UTF-8 text ({bad}); save the file as UTF-8", where=str(path))
    invalid: list[Any] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row)
        return "skip"

    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            # One block for the whole file (it is in memory already): a long quoted value
            # cannot straddle two blocks.
            read_options=pcsv.ReadOptions(use_threads=False, block_size=_csv_block(data)),
            parse_options=pcsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={f.name: pa.string() for f in kind.fields},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise InvalidInput(f"not a readable CSV file ({exc})", where=str(path)) from None
    records = record_lines(data, quoted=True)
    numbers = np.array([row.number for row in invalid], dtype=np.int64)
    unit = "line"
    if records.size != table.num_rows + 1 + len(invalid):
        # Stray quotes inside unquoted values: count records instead of lines.
        unit, records = "record", np.arange(1, table.num_rows + len(invalid) + 2)
    keep = np.ones(records.size, dtype=bool)
    keep[0] = False  # the header
    keep[numbers - 1] = False
    rejected = [
        (
            Problem(
                int(records[number - 1]),
                None,
                f"expected {row.expected_columns} columns, found {row.actual_columns}",
            ),
            row.text,
        )
        for number, row in zip(numbers, invalid, strict=True)
    ]
    return Source(str(path), unit, table, records[keep], rejected)


def read_parquet(path: Path, kind: Kind) -> Source:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"not a readable Parquet file ({exc})", where=str(path)) from None
    return from_table(table, str(path))


READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}
