"""The one redactor: personal data in post texts becomes typed placeholders, over Arrow arrays.

RE2 (``pyarrow.compute``) runs each rule on its own: one alternation of all rules makes RE2's DFA
blow up, and capture groups force its slow submatch engine. Byte counts (numpy), a cheaper
pattern where a rule has one (``pii_rules.PREFILTERS``) and one match per rule pick the rows to
work on; on those, each rule in priority order wraps every match in NUL markers after a type
code. RE2 has no look-behind, so a match includes the one character before it (a text gets a
leading space so that there always is one). A text's first rule marks it whole; a later rule
must not match inside an earlier match, so where one did (the text no longer alternates plain
pieces and marks) that text is marked again in its plain pieces only. One split then gives
alternating plain and candidate pieces, validated as flat arrays (Luhn for cards, digit count
for phones). A value found once is then marked wherever else it occurs in the same text (only
texts that hold every byte pair of a found value are searched). ``redact`` and
``redact_with_spans`` share that scan, so their texts are equal by construction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from consentry.errors import InvalidInput
from consentry.pipeline import pii_rules as rules

PII_TYPES = ("EMAIL", "URL", "IP", "CARD", "PHONE", "ADDRESS")
DENIED = "REDACTED"
"""The type of a value redacted because a deny list names it."""
PLACEHOLDERS = {kind: f"[{kind}]" for kind in (*PII_TYPES, DENIED)}
SPAN_TYPE = pa.list_(pa.struct([("start", pa.int32()), ("end", pa.int32()), ("type", pa.string())]))

assert tuple(rules.RULES) == PII_TYPES
# Type codes: the PII types, then deny-listed values, then protected look-alikes (never redacted).
_KINDS = (*PII_TYPES, DENIED, "KEEP")
_DENY, _KEEP = _KINDS.index(DENIED), _KINDS.index("KEEP")
_IP = PII_TYPES.index("IP")
_MARK = "\x00"
_PLACEHOLDER_ARRAY = pa.array([PLACEHOLDERS.get(k, "") for k in _KINDS])
_TYPE_ARRAY = pa.array(_KINDS)
_CODES = pa.array([chr(1 + code) for code in range(len(_KINDS))])
_MIN_LISTED = 3
# Plain pieces and marks alternating (type code, then at least the character before the match):
# what a text is after passes none of whose matches began inside another.
_WELL_MARKED = r"^[^\x00-\x07]*(?:\x00[\x01-\x07][^\x00-\x07]+\x00[^\x00-\x07]*)*$"
_BITS = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
_PREFILTERS = {kind: [p for p in [rules.PREFILTERS.get(kind)] if p] for kind in PII_TYPES}


def _pass(code: int, pattern: str, led: str | None = None) -> tuple[str, str]:
    """(marking pattern, replacement) of one rule."""
    marking = f"{rules.BOUNDARY}(?:{pattern})"
    if led is not None:
        marking = f"{marking}|{led}"
    return marking, f"{_MARK}{chr(1 + code)}\\0{_MARK}"


_RULE_PASSES = [_pass(_KEEP, rules.KEEP)] + [
    _pass(code, pattern, rules.CJK_LED.get(kind))
    for code, (kind, pattern) in enumerate(rules.RULES.items())
]


def _re2_literal(value: str) -> str:
    """``value`` as an RE2 pattern matching it literally, ending on a word boundary if a word
    character ends it."""
    escaped = "".join(f"\\{c}" if not (c.isalnum() or c == " ") else c for c in value)
    return escaped + ("\\b" if value[-1].isalnum() or value[-1] == "_" else "")


def _normal(values: pa.Array) -> pa.Array:
    """Lower case, without a URL's scheme, ``www.`` or final slash: how allow entries compare."""
    lowered = pc.utf8_lower(values)
    return pc.replace_substring_regex(lowered, r"^(?:https?://)?(?:www\.)?|/$", "")


@dataclass(frozen=True)
class RedactionLists:
    """Values never to redact (``allow``: the platform's support address, its public brand URLs)
    and values always to redact (``deny``: internal host names, known personal identifiers).

    Both compare without regard to case. An allowed value is kept where a rule finds exactly it,
    or, for a URL, a link under it (``x.com/acme`` allows ``https://x.com/acme/status/1``). A
    denied value is redacted as ``[REDACTED]`` wherever it stands as a word of its own. ``where``
    names the place the lists came from, for errors.
    """

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    where: str = field(default="redaction lists", compare=False)

    def __post_init__(self) -> None:
        for name in ("allow", "deny"):
            for index, value in enumerate(getattr(self, name)):
                place = f"{name}[{index}]"
                if not isinstance(value, str):
                    kind = type(value).__name__
                    raise InvalidInput(
                        f"must be a string, not {kind}", where=self.where, field=place
                    )
                if len(value.strip()) < _MIN_LISTED or value != value.strip() or _MARK in value:
                    raise InvalidInput(
                        f"{value!r}: expected a value of at least {_MIN_LISTED} characters, "
                        "without surrounding spaces",
                        where=self.where,
                        field=place,
                    )
        both = {v.lower() for v in self.allow} & {v.lower() for v in self.deny}
        if both:
            raise InvalidInput(
                f"{sorted(both)[0]!r} is both allowed and denied; keep it in one list",
                where=self.where,
            )

    @classmethod
    def from_transforms(cls, transforms: Mapping[str, Any], *, where: str) -> RedactionLists:
        """The lists of a license's transforms: ``redact_allow`` and ``redact_deny``."""
        lists = {}
        for name in ("allow", "deny"):
            values = transforms.get(f"redact_{name}", [])
            if not isinstance(values, list):
                raise InvalidInput(
                    "expected a list of strings", where=where, field=f"transforms.redact_{name}"
                )
            lists[name] = tuple(values)
        return cls(allow=lists["allow"], deny=lists["deny"], where=where)

    def __bool__(self) -> bool:
        return bool(self.allow or self.deny)

    def passes(self) -> list[tuple[str, str]]:
        """The rule passes, after one for the deny list if there is one."""
        if not self.deny:
            return _RULE_PASSES
        by_length = sorted(self.deny, key=lambda v: (-len(v), v))
        pattern = "(?i:" + "|".join(_re2_literal(v) for v in by_length) + ")"
        return [_pass(_DENY, pattern), *_RULE_PASSES]

    def allowed(self, bodies: pa.Array) -> np.ndarray:
        """Which candidates an allow entry covers."""
        if not self.allow:
            return np.zeros(len(bodies), dtype=bool)
        entries = _normal(pa.array(self.allow, pa.string())).to_pylist()
        pattern = (
            "^(?:"
            + "|".join(_re2_literal(e).removesuffix("\\b") for e in entries)
            + ")(?:[/?#].*)?$"
        )
        return pc.match_substring_regex(_normal(bodies), pattern).to_numpy(zero_copy_only=False)


NO_LISTS = RedactionLists()


def public_transforms(transforms: Mapping[str, Any]) -> dict[str, Any]:
    """A license's transforms as a delivery's manifest states them: a deny list may name
    personal identifiers, so the manifest gives only how many values it has."""
    public = dict(transforms)
    if "redact_deny" in public:
        public["redact_deny"] = {"values": len(public["redact_deny"])}
    return public


def _as_array(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One ``string`` array (batches are far below the 2 GiB a ``large_string`` allows)."""
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        raise TypeError(f"redaction needs a string array, got {texts.type}")
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], texts.type)
    return texts.cast(pa.string())


def _utf8(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of all texts and where each text starts and ends in them."""
    bounds = np.frombuffer(texts.buffers()[1], np.int32)
    bounds = bounds[texts.offset : texts.offset + len(texts) + 1].astype(np.int64)
    data = np.frombuffer(texts.buffers()[2] or b"", np.uint8)[bounds[0] : bounds[-1]]
    return data, bounds - bounds[0]


def _digit_counts(data: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    if not len(data):
        return np.zeros(len(bounds) - 1, dtype=np.int32)
    digit = ((data - 48) < 10).view(np.uint8)  # uint8 arithmetic wraps below "0"
    counts = np.add.reduceat(digit, np.minimum(bounds[:-1], len(data) - 1), dtype=np.int32)
    counts[bounds[:-1] == bounds[1:]] = 0
    return counts


def _candidates(texts: pa.Array) -> np.ndarray:
    """Which texts each rule could match (rules x texts), by bytes that every match contains.

    RE2 costs about a microsecond per text and call; these numpy passes over the UTF-8 buffer
    cost a few hundred nanoseconds per text and spare most texts most of the rule passes.
    """
    data, bounds = _utf8(texts)
    digits = _digit_counts(data, bounds)
    has = {}
    for char in "@/:.":
        at = np.flatnonzero(data == ord(char))
        has[char] = np.bincount(np.searchsorted(bounds, at, side="right") - 1, minlength=len(texts))
    return np.array(
        [
            has["@"] > 0,  # EMAIL
            has["/"] > 0,  # URL
            ((digits >= 4) & (has["."] >= 3)) | (has[":"] >= 2),  # IP (v4: 3 dots; v6: "::")
            digits >= 13,  # CARD
            digits >= 8,  # PHONE
            digits > 0,  # ADDRESS
        ]
    )


def _matching(texts: pa.Array, rows: np.ndarray, *patterns: str) -> np.ndarray:
    """Which of ``texts`` (only ``rows`` are tried) all ``patterns`` match somewhere, each
    tried on the rows the ones before it matched."""
    hit = np.zeros(len(texts), dtype=bool)
    for pattern in patterns:
        if not len(rows):
            break
        some = texts.take(pa.array(rows))
        matched = pc.fill_null(pc.match_substring_regex(some, pattern), False)
        rows = rows[matched.to_numpy(zero_copy_only=False)]
    hit[rows] = True
    return hit


def _scatter(base: pa.Array, mask: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with the rows under ``mask`` replaced by ``values`` in order, as one take."""
    index = np.arange(len(base))
    index[mask] = len(base) + np.arange(len(values))
    return pa.concat_arrays([base, values]).take(pa.array(index))


def _luhn_ok(digits: pa.Array) -> np.ndarray:
    """Luhn check of digit strings (at most 19 digits each), as one numpy computation."""
    if len(digits) == 0:
        return np.zeros(0, dtype=bool)
    padded = pc.utf8_lpad(digits, width=19, padding="0")
    first = int(np.frombuffer(padded.buffers()[1], np.int32)[padded.offset])
    raw = np.frombuffer(padded.buffers()[2], np.uint8, count=19 * len(padded), offset=first)
    matrix = raw.reshape(len(padded), 19).astype(np.int16) - 48
    doubled = matrix[:, 1::2] * 2  # every second digit counting from the right (column 18)
    matrix[:, 1::2] = np.where(doubled > 9, doubled - 9, doubled)
    return matrix.sum(axis=1) % 10 == 0


def _invalidate(codes: np.ndarray, candidates: pa.Array, lists: RedactionLists) -> None:
    """Drop (code -1) protected look-alikes, phones with too few or many digits or shaped like
    dates, cards failing issuer or Luhn checks, repository links, and allowed values."""
    codes[codes == _KEEP] = -1
    digits = _digit_counts(*_utf8(candidates))
    phone = codes == PII_TYPES.index("PHONE")
    codes[phone & ((digits < 8) | (digits > 16))] = -1
    for kind, pattern in (("PHONE", rules.NOT_PHONE), ("URL", rules.NOT_URL)):
        which = np.flatnonzero(codes == PII_TYPES.index(kind))
        if len(which):
            some = candidates.take(pa.array(which))
            codes[
                which[pc.match_substring_regex(some, pattern).to_numpy(zero_copy_only=False)]
            ] = -1
    card = np.flatnonzero(codes == PII_TYPES.index("CARD"))
    if len(card):
        numbers = pc.replace_substring_regex(candidates.take(pa.array(card)), r"\D+", "")
        issuer = pc.match_substring_regex(numbers, rules.CARD_ISSUERS).to_numpy(
            zero_copy_only=False
        )
        valid = np.zeros(len(card), dtype=bool)
        valid[issuer] = _luhn_ok(numbers.filter(pa.array(issuer)))
        codes[card[~valid]] = -1
    found = np.flatnonzero((codes >= 0) & (codes < _DENY))
    if lists.allow and len(found):
        codes[found[lists.allowed(candidates.take(pa.array(found)))]] = -1


def _mark(marked: pa.Array, pattern: str, replacement: str) -> pa.Array:
    return pc.replace_substring_regex(marked, pattern=pattern, replacement=replacement)


def _mark_outside(marked: pa.Array, pattern: str, replacement: str) -> pa.Array:
    """``_mark`` in the plain pieces only, so that no rule matches inside an earlier match."""
    lists = pc.split_pattern(marked, _MARK)
    offsets = lists.offsets.to_numpy() - lists.offsets[0].as_py()
    pieces = pc.list_flatten(lists)
    plain = (np.arange(len(pieces)) - offsets[pc.list_parent_indices(lists).to_numpy()]) % 2 == 0
    done = _mark(pieces.filter(pa.array(plain)), pattern, replacement)
    rebuilt = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), _scatter(pieces, plain, done))
    return pc.binary_join(rebuilt, _MARK)


def _bigrams(texts: pa.Array) -> np.ndarray:
    """Per text, a 64-bit set of the (hashed) pairs of adjacent UTF-8 bytes in it."""
    data, bounds = _utf8(texts)
    signature = np.zeros(len(texts), dtype=np.uint64)
    if len(data) < 2:
        return signature
    bits = _BITS[((data[:-1] * np.uint8(31)) ^ data[1:]) & np.uint8(63)]
    bits[bounds[1:-1] - 1] = 0  # the pair across two texts
    starts = np.minimum(bounds[:-1], len(bits) - 1)
    signature = np.bitwise_or.reduceat(bits, starts)
    signature[bounds[1:] - bounds[:-1] < 2] = 0
    return signature


def _mark_passes(texts: pa.Array, passes: list[tuple[str, str]], hits: np.ndarray) -> pa.Array:
    """``texts`` after each pass in order has marked the texts it hits (``hits``: passes x
    texts, every text hit by one at least).

    A text's first pass marks it whole, so all first passes run side by side and one take puts
    their texts back in order. A later pass (only on the texts more than one pass hits) must
    mark only plain pieces; it marks the whole text too, and where a match began inside an
    earlier one (the text no longer alternates plain pieces and marks) that text is marked again
    piece by piece.
    """
    first = hits.argmax(axis=0)
    parts = [
        _mark(texts.filter(pa.array(first == k)), pattern, replacement)
        for k, (pattern, replacement) in enumerate(passes)
        if (first == k).any()
    ]
    position = np.empty(len(texts), dtype=np.int64)
    position[np.argsort(first, kind="stable")] = np.arange(len(texts))
    marked = pa.concat_arrays(parts).take(pa.array(position)) if parts else texts
    multi = hits.sum(axis=0) > 1
    if multi.any():
        again = marked.filter(pa.array(multi))
        for k, (pattern, replacement) in enumerate(passes):
            rows = hits[k, multi] & (first[multi] < k)
            if rows.any():
                some = again.filter(pa.array(rows))
                done = _mark(some, pattern, replacement)
                inside = ~pc.match_substring_regex(done, _WELL_MARKED).to_numpy(
                    zero_copy_only=False
                )
                if inside.any():
                    redone = _mark_outside(some.filter(pa.array(inside)), pattern, replacement)
                    done = _scatter(done, inside, redone)
                again = _scatter(again, rows, done)
        marked = _scatter(marked, multi, again)
    return marked


def _repeated(redacted: pa.Array, rows: np.ndarray, values: pa.Array) -> np.ndarray:
    """Which ``redacted`` texts still hold one of the values found in them (``values``,
    row-aligned with ``rows``).

    Arrow has no element-wise substring test: a text can hold a value only if it has every
    byte pair of it, which numpy checks for all pairs at once; Python's ``in`` decides the few
    pairs that pass.
    """
    value_pairs = _bigrams(values)
    maybe = np.flatnonzero(value_pairs & ~_bigrams(redacted)[rows] == 0)
    if not len(maybe):
        return maybe
    texts = redacted.take(pa.array(rows[maybe])).to_pylist()
    some = values.take(pa.array(maybe)).to_pylist()
    found = [value in text for text, value in zip(texts, some, strict=True)]
    return np.unique(rows[maybe[np.array(found, dtype=bool)]])


def _mark_repeats(marked: str, values: dict[str, int]) -> str:
    """``marked`` with every other occurrence of ``values`` (value -> type code) in its
    plain pieces marked too, where it stands as a word of its own."""
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=lambda v: (-len(v), v)))
    pattern = re.compile(rf"(\W)({alternatives})(?!\w)")

    def mark(match: re.Match[str]) -> str:
        code = values[match.group(2)]
        return f"{_MARK}{chr(1 + code)}{match.group(1)}{match.group(2)}{_MARK}"

    pieces = marked.split(_MARK)
    pieces[::2] = [pattern.sub(mark, piece) for piece in pieces[::2]]
    return _MARK.join(pieces)


class _Scan:
    """Texts cut into plain pieces and candidates, with each candidate's type.

    ``rows`` are the texts that have candidates (the others are left as they are); ``pieces``
    alternate plain text and candidates (type code, the character before the match, the match).
    Per candidate: ``lead`` (that character), ``body`` (the match), ``codes`` (the index in
    PII_TYPES, -1 where validation failed).
    """

    def __init__(self, texts: pa.Array | pa.ChunkedArray, lists: RedactionLists) -> None:
        self.type = texts.type
        self.texts = _as_array(texts)
        if not _utf8(self.texts)[0].all():  # NUL is the marker, and no text: PostgreSQL refuses it
            self.texts = pc.replace_substring(self.texts, _MARK, "\ufffd")
        passes = lists.passes()
        # Each pass runs on the texts its marking pattern matches, after the space every text
        # gets (so that a match at the start has a character before it). An IP address is
        # looked for without one: where one might be, look-alikes are protected first.
        spaced = pc.binary_join_element_wise(" ", self.texts, "")
        triggers = [pattern for pattern, _ in passes[-len(PII_TYPES) :]]
        triggers[_IP] = rules.RULES["IP"]
        hits = [
            _matching(spaced, np.flatnonzero(could), *_PREFILTERS[kind], trigger)
            for kind, trigger, could in zip(
                PII_TYPES, triggers, _candidates(self.texts), strict=True
            )
        ]
        hits.insert(0, _matching(spaced, np.flatnonzero(hits[_IP]), _RULE_PASSES[0][0]))
        if lists.deny:
            hits.insert(0, _matching(spaced, np.arange(len(spaced)), passes[0][0]))
        matrix = np.array(hits)
        self.rows = np.flatnonzero(matrix.any(axis=0))
        marked = spaced.take(pa.array(self.rows))
        marked = _mark_passes(marked, passes, matrix[:, self.rows])
        self._split(marked, lists)
        self.joined = self._joined()
        valid = np.flatnonzero(self.codes >= 0)
        if not len(valid):
            return
        parents = self.parents[np.flatnonzero(self.candidate)[valid]]
        values = self.body.take(pa.array(valid))
        again = _repeated(self.joined, parents, values)
        if len(again):
            found: dict[int, dict[str, int]] = {}
            for row, value, code in zip(
                parents, values.to_pylist(), self.codes[valid].tolist(), strict=True
            ):
                found.setdefault(int(row), {})[value] = code
            texts = marked.take(pa.array(again)).to_pylist()
            remarked = [
                _mark_repeats(t, found[r]) for t, r in zip(texts, again.tolist(), strict=True)
            ]
            mask = np.zeros(len(marked), dtype=bool)
            mask[again] = True
            self._split(_scatter(marked, mask, pa.array(remarked, pa.string())), lists)
            self.joined = self._joined()

    def _split(self, marked: pa.Array, lists: RedactionLists) -> None:
        lists_ = pc.split_pattern(marked, _MARK)
        self.offsets = lists_.offsets.to_numpy() - lists_.offsets[0].as_py()
        self.pieces = pc.list_flatten(lists_)
        self.parents = pc.list_parent_indices(lists_).to_numpy()
        self.candidate = (np.arange(len(self.pieces)) - self.offsets[self.parents]) % 2 == 1
        found = self.pieces.filter(pa.array(self.candidate))
        code = pc.index_in(pc.utf8_slice_codeunits(found, 0, 1), _CODES)
        self.codes = code.to_numpy(zero_copy_only=False).astype(np.int8)
        self.lead = pc.utf8_slice_codeunits(found, 1, 2)
        self.body = pc.utf8_slice_codeunits(found, 2)
        _invalidate(self.codes, self.body, lists)

    def _joined(self) -> pa.Array:
        """The redacted texts of ``rows``, after the space added before each."""
        valid = self.codes >= 0
        placeholders = _PLACEHOLDER_ARRAY.take(pa.array(self.codes, mask=~valid))
        replaced = pc.binary_join_element_wise(self.lead, pc.coalesce(placeholders, self.body), "")
        out = _scatter(self.pieces, self.candidate, replaced)
        lists = pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), out)
        return pc.binary_join(lists, "")

    def redacted(self) -> pa.Array:
        joined = pc.utf8_slice_codeunits(self.joined, 1)  # the added space
        mask = np.zeros(len(self.texts), dtype=bool)
        mask[self.rows] = True
        return _scatter(self.texts, mask, joined).cast(self.type)

    def spans(self) -> pa.Array:
        # Code points each piece has in the input: all but a candidate's type code.
        lengths = pc.utf8_length(self.pieces).to_numpy(zero_copy_only=False) - self.candidate
        before = np.cumsum(lengths) - lengths
        found = np.flatnonzero(self.candidate)[self.codes >= 0]
        parents = self.parents[found]
        # + 1 for the character before the match, - 1 for the space added before each text
        starts = before[found] - before[self.offsets[:-1][parents]]
        values = pa.StructArray.from_arrays(
            [
                pa.array(starts, pa.int32()),
                pa.array(starts + lengths[found] - 1, pa.int32()),
                _TYPE_ARRAY.take(pa.array(self.codes[self.codes >= 0].astype(np.int64))),
            ],
            fields=list(SPAN_TYPE.value_type),
        )
        counts = np.bincount(self.rows[parents], minlength=len(self.texts))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(offsets, values, mask=pc.is_null(self.texts))


def redact(texts: pa.Array | pa.ChunkedArray, lists: RedactionLists = NO_LISTS) -> pa.Array:
    """Texts with each piece of personal data replaced by its placeholder, e.g. ``[EMAIL]``."""
    return _Scan(texts, lists).redacted()


def redact_with_spans(
    texts: pa.Array | pa.ChunkedArray, lists: RedactionLists = NO_LISTS
) -> tuple[pa.Array, pa.Array]:
    """``redact`` plus where each placeholder was: code-point offsets into the input texts."""
    scan = _Scan(texts, lists)
    return scan.redacted(), scan.spans()


_MENTION = r"(?s)^(?P<handle>[A-Za-z0-9_]{1,30})(?P<rest>|[^A-Za-z0-9_].*)$"


@dataclass(frozen=True)
class Mentions:
    """The accounts whose @mentions become a replacement: their handles (any case) and the
    replacements, looked up in a dict built once, since ``pc.index_in`` would hash every
    handle again for each batch of an export."""

    handles: pa.Array
    replacements: pa.Array

    @cached_property
    def lookup(self) -> dict[str, str]:
        lowered = pc.utf8_lower(self.handles.cast(pa.string())).to_pylist()
        pairs = zip(lowered, self.replacements.cast(pa.string()).to_pylist(), strict=True)
        return dict(reversed(list(pairs)))  # the first of a repeated handle wins


def replace_mentions(
    texts: pa.Array | pa.ChunkedArray, mentions: Mentions, *, unknown: str = "[USER]"
) -> pa.Array:
    """Each ``@handle`` becomes its replacement if ``mentions`` has it (any case), else
    ``unknown``.

    An ``@`` right after a letter, digit or one of ``._%+-`` is part of an address, not a mention.
    """
    kind, texts = texts.type, _as_array(texts)
    lists = pc.split_pattern(texts, "@")
    offsets = lists.offsets.to_numpy() - lists.offsets[0].as_py()
    pieces = pc.list_flatten(lists)
    if len(pieces) == len(texts) - texts.null_count:  # no "@" anywhere
        return texts.cast(kind)
    position = np.arange(len(pieces)) - offsets[pc.list_parent_indices(lists).to_numpy()]
    ends_in_address = pc.match_substring_regex(pieces, r"[A-Za-z0-9._%+-]$").to_numpy(
        zero_copy_only=False
    )
    parts = pc.extract_regex(pieces, _MENTION)
    mention = (
        (position > 0)
        & np.roll(~ends_in_address, 1)
        & parts.is_valid().to_numpy(zero_copy_only=False)
    )
    lookup = mentions.lookup
    replacement = pa.array(
        [lookup.get(h, unknown) for h in pc.utf8_lower(parts.field("handle")).to_pylist()],
        pa.string(),
    )
    is_mention = pa.array(mention)
    lead = pc.if_else(is_mention, replacement, pc.if_else(pa.array(position > 0), "@", ""))
    body = pc.if_else(is_mention, parts.field("rest"), pieces)
    rebuilt = pc.binary_join_element_wise(lead, body, "")
    lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), rebuilt, mask=pc.is_null(texts))
    return pc.binary_join(lists, "").cast(kind)
