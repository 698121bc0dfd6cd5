"""Turn the columns as read into the canonical typed columns, finding every bad value.

Each check is one vectorized pass over a column (Arrow compute); Python only formats the
messages of the rows that fail, and checks the few distinct jurisdictions and purposes. A
column that cannot hold the field at all (unknown, missing while required, of the wrong type)
stops the import at once: no row of it could be right.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from consentry.domain.purposes import validate_purpose
from consentry.errors import InvalidInput
from consentry.ingest.fields import Field, Kind
from consentry.ingest.readers import MAX_COUNT, Source
from consentry.store.content import CLOCK_SKEW, ORIGINAL_KINDS, TS, valid_jurisdiction

_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)"
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


@dataclass
class Problems:
    """Row index -> [(field, message)] for every bad value found."""

    rows: dict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, mask: pa.Array, name: str, template: str, values: pa.Array | None = None) -> None:
        """``template`` may use ``{value!r}``: the offending value of each row."""
        flags = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(flags):
            value = _shown(values[int(i)].as_py()) if values is not None else None
            self.rows[int(i)].append((name, template.format(value=value)))

    def bad_rows(self, n: int) -> pa.Array:
        mask = np.zeros(n, dtype=bool)
        mask[list(self.rows)] = True
        return pa.array(mask)


SHOWN_CHARACTERS = 80
"""How much of a bad value an error repeats."""


def _shown(value: object) -> object:
    """``value``, or the start of it when it is long text (an error must stay readable)."""
    if isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        return f"{value[:SHOWN_CHARACTERS]}... ({len(value):,} characters)"
    return value


@dataclass
class Checked:
    table: pa.Table
    """Canonical schema, one row per source row; bad values and values not given are null."""
    problems: Problems


Coercer = Callable[[pa.Array, Field, str, Problems], tuple[pa.Array, pa.Array]]
"""(raw column, field, source name, problems) -> (typed values, blank mask)."""


def _column_error(raw: pa.Array, f: Field, where: str, expected: str) -> InvalidInput:
    return InvalidInput(
        f"the column has type {raw.type}; expected {expected}", where=where, field=f.name
    )


def _strings(raw: pa.Array, f: Field, where: str) -> tuple[pa.Array, pa.Array]:
    """Text values (integers accepted) with blanks as null, and the blank mask."""
    if pa.types.is_dictionary(raw.type):
        raw = raw.dictionary_decode()
    if pa.types.is_null(raw.type):
        return pa.nulls(len(raw), pa.string()), pa.array(np.ones(len(raw), dtype=bool))
    textual = pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)
    if not (textual or pa.types.is_integer(raw.type)):
        raise _column_error(raw, f, where, "text")
    text = raw.cast(pa.string())
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
    return pc.if_else(blank, None, text), blank


def _cast(strings: pa.Array, to: pa.DataType) -> tuple[pa.Array, pa.Array]:
    """Cast, and the mask of values that do not cast (found one by one only if any fails)."""
    try:
        return strings.cast(to), pa.array(np.zeros(len(strings), dtype=bool))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values, failed = [], []
        for value in strings.to_pylist():
            try:
                values.append(pa.array([value], pa.string()).cast(to)[0].as_py())
                failed.append(False)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                values.append(None)
                failed.append(True)
        return pa.array(values, to), pa.array(failed)


def _text(raw: pa.Array, f: Field, where: str, problems: Problems) -> tuple[pa.Array, pa.Array]:
    if pa.types.is_null(raw.type):
        return _strings(raw, f, where)
    if not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
        raise _column_error(raw, f, where, "text")
    return raw.cast(pa.string()), raw.is_null()


def _plain(raw: pa.Array, f: Field, where: str, problems: Problems) -> tuple[pa.Array, pa.Array]:
    return _strings(raw, f, where)


def _enum(raw: pa.Array, f: Field, where: str, problems: Problems) -> tuple[pa.Array, pa.Array]:
    text, blank = _strings(raw, f, where)
    value = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    bad = pc.and_(pc.invert(blank), pc.invert(pc.is_in(value, pa.array(f.choices))))
    problems.add(bad, f.name, f"{{value!r}} is not one of {', '.join(f.choices)}", text)
    return pc.if_else(bad, None, value), blank


def _by_distinct_value(
    values: pa.Array, f: Field, problems: Problems, problem_of: Callable[[str], str | None]
) -> pa.Array:
    """Check each distinct value once; null out and report the rows of the bad ones."""
    bad_values = []
    for value in pc.unique(values.drop_null()).to_pylist():
        problem = problem_of(value)
        if problem is not None:
            problems.add(pc.equal(values, value), f.name, problem)
            bad_values.append(value)
    if not bad_values:
        return values
    return pc.if_else(pc.is_in(values, pa.array(bad_values, pa.string())), None, values)


def _jurisdiction(
    raw: pa.Array, f: Field, where: str, problems: Problems
) -> tuple[pa.Array, pa.Array]:
    text, blank = _strings(raw, f, where)
    codes = pc.utf8_upper(pc.utf8_trim_whitespace(text))

    def problem(code: str) -> str | None:
        if valid_jurisdiction(code):
            return None
        shown = _shown(code)
        return f"{shown!r} is not an ISO 3166 country or subdivision code (e.g. 'DE', 'US-CA')"

    return _by_distinct_value(codes, f, problems, problem), blank


def _purpose(raw: pa.Array, f: Field, where: str, problems: Problems) -> tuple[pa.Array, pa.Array]:
    text, blank = _strings(raw, f, where)

    def problem(key: str) -> str | None:
        if len(key) > SHOWN_CHARACTERS:
            return f"{_shown(key)!r} is not a purpose (fideslang data uses are short keys)"
        try:
            validate_purpose(key)
        except ValueError as exc:
            return str(exc)
        return None

    return _by_distinct_value(pc.utf8_trim_whitespace(text), f, problems, problem), blank


def _timestamp(
    raw: pa.Array, f: Field, where: str, problems: Problems
) -> tuple[pa.Array, pa.Array]:
    if pa.types.is_timestamp(raw.type):
        if raw.type.tz is None:
            raise InvalidInput(
                f"the column's timestamps ({raw.type}) have no time zone; "
                "write them as UTC (timestamp with tz='UTC')",
                where=where,
                field=f.name,
            )
        values = raw.cast(TS, safe=False)
        return _in_years(values, f, problems, None), raw.is_null()
    text, blank = _strings(raw, f, where)
    text = pc.utf8_trim_whitespace(text)
    shaped = pc.match_substring_regex(text, f"^{_ISO}{_ZONE}?$")
    zoned = pc.match_substring_regex(text, f"^{_ISO}{_ZONE}$")
    problems.add(
        pc.invert(shaped),
        f.name,
        "{value!r} is not an ISO 8601 time like '2024-11-15T09:30:00Z'",
        text,
    )
    problems.add(
        pc.and_(shaped, pc.invert(zoned)),
        f.name,
        "{value!r} has no time zone; add 'Z' or '+00:00'",
        text,
    )
    micros = pc.replace_substring_regex(text, r"(\.\d{6})\d+", r"\1")
    values, failed = _cast(pc.if_else(zoned, micros, None), TS)
    problems.add(failed, f.name, "{value!r} is not a valid time", text)
    return _in_years(values, f, problems, text), blank


_FIRST_TIME = pa.scalar(datetime(1, 1, 1, tzinfo=UTC), TS)
_LAST_TIME = pa.scalar(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), TS)


def _in_years(values: pa.Array, f: Field, problems: Problems, text: pa.Array | None) -> pa.Array:
    """``values`` with those outside the years 1 to 9999 (which no reader of the store can
    represent) reported and nulled."""
    outside = pc.or_(pc.less(values, _FIRST_TIME), pc.greater(values, _LAST_TIME))
    if not pc.any(outside).as_py():
        return values
    shown = "{value!r} " if text is not None else ""
    problems.add(outside, f.name, shown + "is outside the years 1 to 9999", text)
    return pc.if_else(outside, None, values)


def _date(raw: pa.Array, f: Field, where: str, problems: Problems) -> tuple[pa.Array, pa.Array]:
    if pa.types.is_date(raw.type):
        return raw.cast(pa.date32()), raw.is_null()
    text, blank = _strings(raw, f, where)
    text = pc.utf8_trim_whitespace(text)
    shaped = pc.match_substring_regex(text, r"^\d{4}-\d{2}-\d{2}$")
    values, failed = _cast(pc.if_else(shaped, text, None), pa.date32())
    problems.add(
        pc.or_(pc.invert(shaped), failed), f.name, "{value!r} is not a date YYYY-MM-DD", text
    )
    return values, blank


def _bool(raw: pa.Array, f: Field, where: str, problems: Problems) -> tuple[pa.Array, pa.Array]:
    if pa.types.is_boolean(raw.type):
        return raw, raw.is_null()
    if pa.types.is_integer(raw.type):
        raw = raw.cast(pa.string())
    text, blank = _strings(raw, f, where)
    word = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    yes, no = pc.is_in(word, pa.array(_TRUE)), pc.is_in(word, pa.array(_FALSE))
    problems.add(
        pc.and_(pc.invert(blank), pc.invert(pc.or_(yes, no))),
        f.name,
        "{value!r} is not true or false",
        text,
    )
    return pc.if_else(yes, True, pc.if_else(no, False, None)), blank


def _int(raw: pa.Array, f: Field, where: str, problems: Problems) -> tuple[pa.Array, pa.Array]:
    if pa.types.is_integer(raw.type):
        too_large = pc.greater_equal(raw, MAX_COUNT)
        problems.add(too_large, f.name, f"is larger than {MAX_COUNT - 1:,}")
        values, blank = pc.if_else(too_large, None, raw).cast(pa.int64()), raw.is_null()
    elif pa.types.is_floating(raw.type):
        raise _column_error(raw, f, where, "whole numbers")
    else:
        text, blank = _strings(raw, f, where)
        text = pc.utf8_trim_whitespace(text)
        shaped = pc.match_substring_regex(text, r"^[+-]?\d{1,18}$")
        problems.add(pc.invert(shaped), f.name, "{value!r} is not a whole number", text)
        values = pc.if_else(shaped, text, None).cast(pa.int64())
    negative = pc.less(values, 0)
    problems.add(negative, f.name, "{value!r} must not be negative", values)
    return pc.if_else(negative, None, values), blank


COERCERS: dict[str, Coercer] = {
    "id": _plain,
    "str": _plain,
    "text": _text,
    "enum": _enum,
    "jurisdiction": _jurisdiction,
    "purpose": _purpose,
    "ts": _timestamp,
    "date": _date,
    "bool": _bool,
    "int": _int,
}


def _duplicates(key: pa.Array, kind: Kind, source: Source, problems: Problems) -> None:
    rows = pa.table({"k": key, "i": pa.array(np.arange(len(key)))})
    groups = rows.group_by("k").aggregate([("i", "min"), ("i", "count")])
    groups = groups.filter(pc.and_(pc.greater(groups["i_count"], 1), groups["k"].is_valid()))
    if groups.num_rows == 0:
        return
    first = dict(zip(groups["k"].to_pylist(), groups["i_min"].to_pylist(), strict=True))
    for i in np.flatnonzero(pc.is_in(key, groups["k"]).to_numpy(zero_copy_only=False)):
        value = key[int(i)].as_py()
        if first[value] != i:
            where = source.place(int(source.positions[first[value]]))
            problems.rows[int(i)].append(
                (kind.key, f"duplicate {kind.key} {value!r}; first on {where}")
            )


def _post_kinds(columns: dict[str, pa.Array], problems: Problems) -> None:
    """An original for reposts and quotes, and only for them (a blank kind names none)."""
    kind, original = columns["kind"], columns["original_id"]
    needs = pc.is_in(kind, pa.array(sorted(ORIGINAL_KINDS)))
    problems.add(
        pc.and_(needs, original.is_null()),
        "original_id",
        "is required for kind {value}: the reposted or quoted post's id",
        kind,
    )
    given = pc.and_(pc.invert(pc.fill_null(needs, False)), original.is_valid())
    problems.add(
        given,
        "original_id",
        "is only for kind repost or quote, not {value}",
        pc.fill_null(kind, "blank"),
    )


def check(kind: Kind, source: Source, now: datetime) -> Checked:
    """Every column of ``kind`` typed and checked; the file's bad rows in ``problems``."""
    table = source.table
    expected = [f.name for f in kind.fields]
    twice = sorted({n for n in table.column_names if table.column_names.count(n) > 1})
    if twice:
        raise InvalidInput(
            "the column appears twice; keep one of them", where=source.name, field=twice[0]
        )
    unknown = sorted(set(table.column_names) - set(expected))
    if unknown:
        raise InvalidInput(
            f"unknown column; the columns are {', '.join(expected)}",
            where=source.name,
            field=unknown[0],
        )
    problems = Problems()
    n = table.num_rows
    columns = {}
    for f in kind.fields:
        if f.name in table.column_names:
            raw = table[f.name].combine_chunks()
        elif f.required and n:
            raise InvalidInput("the required column is missing", where=source.name, field=f.name)
        else:
            raw = pa.nulls(n)
        values, blank = COERCERS[f.kind](raw, f, source.name, problems)
        if f.required:
            problems.add(blank, f.name, "is required")
        if f.never_blank and f.name in table.column_names:
            sent_blank = pc.and_(blank, pa.array(~source.unset_rows(f.name)))
            choices = f" ({', '.join(f.choices)})" if f.choices else ""
            problems.add(
                sent_blank,
                f.name,
                f"is blank; give a value{choices}, or leave the column out to keep the stored one",
            )
        if f.max_len is not None:
            long = pc.greater(pc.utf8_length(values), f.max_len)
            problems.add(long, f.name, f"is longer than {f.max_len} characters")
            values = pc.if_else(long, None, values)
        if f.name == "deleted_at":
            future = pc.greater(values, pa.scalar(now + CLOCK_SKEW, TS))
            problems.add(future, f.name, "is in the future; send a deletion once it has happened")
        if f.default is not None and kind.name == "consent":
            values = pc.fill_null(values, f.default)  # events are never updated: all are new
        columns[f.name] = values
    if kind.name == "posts":
        _post_kinds(columns, problems)
    if kind.name == "consent":
        problems.add(
            pc.greater(columns["recorded_at"], pa.scalar(now, TS)),
            "recorded_at",
            "is in the future",
        )
        sequence = columns["sequence"]
        if pc.any(sequence.is_valid()).as_py():
            problems.add(
                sequence.is_null(),
                "sequence",
                "is blank here but given on other rows; give it on every row or on none",
            )
    _duplicates(columns[kind.key], kind, source, problems)
    return Checked(pa.table(columns, schema=kind.schema), problems)
