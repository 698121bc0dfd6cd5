"""The one redactor: personal data in post texts becomes typed placeholders, over Arrow arrays.

RE2 (``pyarrow.compute``) runs each rule on its own: one alternation of all rules makes RE2's DFA
blow up, and capture groups force its slow submatch engine. A cheap trigger and one match per
rule pick the rows to work on; on those, each rule in priority order wraps every match in NUL
markers after a type code. RE2 has no look-behind, so a match includes the one character before
it (a text gets a leading space so that there always is one); that character never occurs inside
another rule's match, so no rule matches within an earlier one. One split then gives alternating
plain and candidate pieces, validated as flat arrays (Luhn for cards, digit count for phones).
``redact`` and ``redact_with_spans`` share that scan, so their texts are equal by construction.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PII_TYPES = ("EMAIL", "URL", "IP", "CARD", "PHONE", "ADDRESS")
PLACEHOLDERS = {kind: f"[{kind}]" for kind in PII_TYPES}
SPAN_TYPE = pa.list_(pa.struct([("start", pa.int32()), ("end", pa.int32()), ("type", pa.string())]))

_HANDLE = r"[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?"
# URL characters; none of them may start a match (see _BOUNDARY), and a URL ends on a non-dot.
_URL_TAIL = r"(?:[/?#](?:[\w.~%/?#=&+@!$*-]*[\w~%/#=&+@$*-])?)?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_HEX = r"[0-9A-Fa-f]{1,4}"
_EN_SUFFIX = (
    "Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Way|Place|Pl|Court|Ct|"
    "Terrace|Close|Crescent|Square|Sq|Parkway|Pkwy|Highway|Hwy|Gardens|Grove|Row|Mews|Circle"
)
# Latin letters (ASCII, Latin-1, Extended-A/B): RE2's DFA for \p{L} is three times slower.
_UPPER = r"[A-Z\x{C0}-\x{D6}\x{D8}-\x{DE}]"
_LETTERS = r"A-Za-z\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{24F}"
_DE_SUFFIX = "straße|strasse|str\\.|weg|allee|platz|gasse|ring|damm|ufer|chaussee"
_FR_TYPE = "rue|avenue|av\\.|boulevard|bd|place|chemin|allée|impasse|quai|cours|route"

# Each rule in priority order: where two could start at one place, the earlier one wins.
_RULES = {
    "EMAIL": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
    "URL": (
        r"(?i:(?:https?://)?(?:(?:www|m|mobile)\.)?(?:"
        rf"(?:x|twitter|instagram|facebook|fb|threads)\.(?:com|net)/@?{_HANDLE}"
        rf"|tiktok\.com/@{_HANDLE}"
        r"|linkedin\.com/in/[\w%-]+"
        r"|docs\.google\.com/(?:document|spreadsheets|presentation|forms)/d/(?:e/)?[\w-]+"
        r"|drive\.google\.com/(?:file/d/|open\?id=|drive/folders/)[\w-]+"
        r"|dropbox\.com/(?:s|sh|scl/fi)/[\w-]+"
        r"|1drv\.ms/[a-z]/[\w!-]+"
        rf"|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{{2,}}/@{_HANDLE}"
        rf"){_URL_TAIL})"
    ),
    "IP": (
        rf"{_OCTET}(?:\.{_OCTET}){{3}}\b"
        rf"|{_HEX}(?::{_HEX}){{7}}\b"
        rf"|{_HEX}(?::{_HEX}){{0,6}}::(?:{_HEX}(?::{_HEX}){{0,6}}\b)?"
        rf"|::{_HEX}(?::{_HEX}){{0,6}}\b"
    ),
    "CARD": (
        r"\d{4}(?: \d{4}){3}\b|\d{4}(?:-\d{4}){3}\b|3[47]\d{2}[ -]\d{6}[ -]\d{5}\b|\d{13,19}\b"
    ),
    "PHONE": (
        r"\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\(\d{1,4}\)|[ .-]?\d{1,4})(?:[ .-]?\d{2,8}){1,5}\b"
        r"|\(\d{3}\) ?\d{3}[-.]\d{4}\b|\d{3}-\d{3}-\d{4}\b|\d{3}\.\d{3}\.\d{4}\b"
        r"|\d{3} \d{3} \d{4}\b"
        r"|0\d{4} \d{6}\b|0\d{2} \d{4} \d{4}\b|0\d{3} \d{3} \d{4}\b"
        r"|\(?0\d{2,4}\)?(?: |/|-)\d{5,8}\b"
        r"|0[1-9](?: \d{2}){4}\b|0[1-9](?:\.\d{2}){4}\b|0[1-9](?:-\d{2}){4}\b"
    ),
    "ADDRESS": (
        rf"\d{{1,5}}[A-Za-z]? (?:{_UPPER}[{_LETTERS}'-]+ ){{1,3}}(?:{_EN_SUFFIX})\b"
        r"(?: (?:NW|NE|SW|SE)\b)?"
        rf"|{_UPPER}[{_LETTERS}-]*(?:{_DE_SUFFIX}) \d{{1,4}}(?: ?[a-z])?\b"
        rf"|{_UPPER}[{_LETTERS}]+ (?:Straße|Strasse|Str\.|Weg|Allee|Platz|Gasse|Ring|Damm)"
        r" \d{1,4}[a-z]?\b"
        rf"|\d{{1,4}}(?: ?(?:bis|ter))?,? (?i:{_FR_TYPE}) (?:de la |de l'|du |des |de |d')?"
        rf"{_UPPER}[{_LETTERS}'-]*(?: {_UPPER}[{_LETTERS}'-]*){{0,3}}"
    ),
}
assert tuple(_RULES) == PII_TYPES

# The character before a match: not part of a word, number, address or URL, nor a marker.
_BOUNDARY = r"[^A-Za-z0-9_.~%/?#=&+@!$*\x00-\x06\x{C0}-\x{24F}-]"
_MARK = "\x00"
_PASSES = [
    (rule, f"{_BOUNDARY}(?:{rule})", f"{_MARK}{chr(1 + code)}\\0{_MARK}")
    for code, rule in enumerate(_RULES.values())
]
_CARD_ISSUERS = (
    r"^(?:4\d{12}(?:\d{3}){0,2}|5[1-5]\d{14}|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)\d{12}"
    r"|3[47]\d{13}|6(?:011|5\d\d)\d{12}(?:\d{3})?|3(?:0[0-5]|[68]\d)\d{11}|35(?:2[89]|[3-8]\d)\d{12})$"
)
_PLACEHOLDER_ARRAY = pa.array([PLACEHOLDERS[k] for k in PII_TYPES])
_TYPE_ARRAY = pa.array(PII_TYPES)
_CODES = pa.array([chr(1 + code) for code in range(len(PII_TYPES))])


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
    for char in "@/:":
        at = np.flatnonzero(data == ord(char))
        has[char] = np.bincount(np.searchsorted(bounds, at, side="right") - 1, minlength=len(texts))
    return np.array(
        [
            has["@"] > 0,  # EMAIL
            has["/"] > 0,  # URL
            (digits >= 4) | (has[":"] >= 2),  # IP
            digits >= 13,  # CARD
            digits >= 8,  # PHONE
            digits > 0,  # ADDRESS
        ]
    )


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


def _invalidate(codes: np.ndarray, candidates: pa.Array) -> None:
    """Drop (code -1) phones with too few or many digits and cards failing issuer or Luhn checks."""
    digits = _digit_counts(*_utf8(candidates))
    codes[(codes == PII_TYPES.index("PHONE")) & ((digits < 8) | (digits > 16))] = -1
    card = np.flatnonzero(codes == PII_TYPES.index("CARD"))
    if len(card):
        numbers = pc.replace_substring_regex(candidates.take(pa.array(card)), r"\D+", "")
        issuer = pc.match_substring_regex(numbers, _CARD_ISSUERS).to_numpy(zero_copy_only=False)
        valid = np.zeros(len(card), dtype=bool)
        valid[issuer] = _luhn_ok(numbers.filter(pa.array(issuer)))
        codes[card[~valid]] = -1


class _Scan:
    """Texts cut into plain pieces and candidates, with each candidate's type.

    ``rows`` are the texts that have candidates (the others are left as they are); ``pieces``
    alternate plain text and candidates (type code, the character before the match, the match).
    Per candidate: ``lead`` (that character), ``body`` (the match), ``codes`` (the index in
    PII_TYPES, -1 where validation failed).
    """

    def __init__(self, texts: pa.Array | pa.ChunkedArray) -> None:
        self.type = texts.type
        self.texts = _as_array(texts)
        if not _utf8(self.texts)[0].all():  # NUL is the marker, and no text: PostgreSQL refuses it
            self.texts = pc.replace_substring(self.texts, _MARK, "\ufffd")
        maybe = _candidates(self.texts)
        hits = np.zeros_like(maybe)
        for (rule, _, _), could, hit in zip(_PASSES, maybe, hits, strict=True):
            rows = np.flatnonzero(could)
            if len(rows):
                some = self.texts.take(pa.array(rows))
                hit[rows] = pc.match_substring_regex(some, rule).to_numpy(zero_copy_only=False)
        self.rows = np.flatnonzero(hits.any(axis=0))
        marked = pc.binary_join_element_wise(" ", self.texts.take(pa.array(self.rows)), "")
        for (_, pattern, replacement), hit in zip(_PASSES, hits[:, self.rows], strict=True):
            if hit.any():
                done = pc.replace_substring_regex(
                    marked.filter(pa.array(hit)), pattern=pattern, replacement=replacement
                )
                marked = _scatter(marked, hit, done)
        lists = pc.split_pattern(marked, _MARK)
        self.offsets = lists.offsets.to_numpy() - lists.offsets[0].as_py()
        self.pieces = pc.list_flatten(lists)
        self.parents = pc.list_parent_indices(lists).to_numpy()
        self.candidate = (np.arange(len(self.pieces)) - self.offsets[self.parents]) % 2 == 1
        found = self.pieces.filter(pa.array(self.candidate))
        code = pc.index_in(pc.utf8_slice_codeunits(found, 0, 1), _CODES)
        self.codes = code.to_numpy(zero_copy_only=False).astype(np.int8)
        self.lead = pc.utf8_slice_codeunits(found, 1, 2)
        self.body = pc.utf8_slice_codeunits(found, 2)
        _invalidate(self.codes, self.body)

    def redacted(self) -> pa.Array:
        valid = self.codes >= 0
        placeholders = _PLACEHOLDER_ARRAY.take(pa.array(self.codes, mask=~valid))
        replaced = pc.binary_join_element_wise(self.lead, pc.coalesce(placeholders, self.body), "")
        out = _scatter(self.pieces, self.candidate, replaced)
        lists = pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), out)
        joined = pc.utf8_slice_codeunits(pc.binary_join(lists, ""), 1)  # the added space
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


def redact(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Texts with each piece of personal data replaced by its placeholder, e.g. ``[EMAIL]``."""
    return _Scan(texts).redacted()


def redact_with_spans(texts: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """``redact`` plus where each placeholder was: code-point offsets into the input texts."""
    scan = _Scan(texts)
    return scan.redacted(), scan.spans()


_MENTION = r"(?s)^(?P<handle>[A-Za-z0-9_]{1,30})(?P<rest>|[^A-Za-z0-9_].*)$"


def replace_mentions(
    texts: pa.Array | pa.ChunkedArray,
    handles: pa.Array,
    replacements: pa.Array,
    *,
    unknown: str = "[USER]",
) -> pa.Array:
    """Each ``@handle`` becomes its replacement if ``handles`` has it (any case), else ``unknown``.

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
    handle = pc.utf8_lower(parts.field("handle"))
    index = pc.index_in(handle, value_set=pc.utf8_lower(handles.cast(pa.string())))
    replacement = pc.fill_null(replacements.cast(pa.string()).take(index), unknown)
    is_mention = pa.array(mention)
    lead = pc.if_else(is_mention, replacement, pc.if_else(pa.array(position > 0), "@", ""))
    body = pc.if_else(is_mention, parts.field("rest"), pieces)
    rebuilt = pc.binary_join_element_wise(lead, body, "")
    lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), rebuilt, mask=pc.is_null(texts))
    return pc.binary_join(lists, "").cast(kind)
