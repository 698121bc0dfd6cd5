"""Synthetic posts: when, by whom, in reply to what, and texts with PII in some of them.

Everything is drawn as index arrays and assembled with Arrow string kernels, so a million
posts take seconds. PII values come from a small pre-generated pool (``demo.pii``) that is
sampled per post, never generated per post.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from consentry.demo import pii
from consentry.demo.arrays import (
    MICROS_PER_DAY,
    FlatPool,
    blank_unless,
    concat,
    micros,
    timestamps,
)
from consentry.demo.people import Accounts, snowflake_ids
from consentry.demo.scenario import PERIOD_END, PERIOD_START
from consentry.demo.vocab import EMOJI, HASHTAGS, LANGUAGES, NEGATIVE_LEADS, PII_LEADS, SENTENCES
from consentry.store.content import POSTS_SCHEMA

DIRECT_SHARE = 0.05
REPLY_SHARE = 0.26
"""Of posts that are not direct messages (so about a quarter of all posts)."""
DELETED_SHARE = 0.012
"""Deleted by their authors; with the posts of deleted accounts about 2% in all."""
PII_SHARE = 0.25
NEGATIVE_SHARE = 0.05
MENTION_SHARE = 0.10
"""Of posts that are not replies; replies usually mention the author they answer."""
POOL_SIZE = 256
"""PII values pre-generated per kind."""
PII_KINDS = pii.PII_KINDS
NO_TEXT = pa.scalar(None, type=pa.string())


def _pii_pools(seed: int) -> tuple[FlatPool, FlatPool]:
    """Pre-generated PII values per kind and hard negatives (ISBNs, order numbers...)."""
    rng = random.Random(seed)
    values = FlatPool([[pii.pii_value(k, rng) for _ in range(POOL_SIZE)] for k in PII_KINDS])
    negatives = FlatPool([[pii.negative_value(rng) for _ in range(POOL_SIZE)]])
    return values, negatives


def _leads() -> FlatPool:
    """Lead-ins per (kind, language), row-major; English where a language has none."""
    return FlatPool(
        [PII_LEADS[k].get(lang) or PII_LEADS[k]["en"] for k in PII_KINDS for lang in LANGUAGES]
    )


def _times(rng: np.random.Generator, accounts: Accounts, author: np.ndarray) -> np.ndarray:
    """Uniform within each author's lifetime inside the period."""
    lo = np.maximum(accounts.created[author], micros(PERIOD_START))
    gone = accounts.deleted[author]
    hi = np.where(gone >= 0, gone, micros(PERIOD_END))
    return lo + np.floor(rng.random(len(author)) * (hi - lo)).astype(np.int64)


def _parents(rng: np.random.Generator, reply: np.ndarray) -> np.ndarray:
    """An earlier row for each reply, mostly recent (about half a day back); -1 otherwise."""
    n = len(reply)
    row = np.arange(n)
    back = 1 + (rng.geometric(1.0 / max(2.0, n / 400.0), n) - 1) % np.maximum(row, 1)
    return np.where(reply & (row > 0), row - back, -1)


def _texts(
    rng: np.random.Generator,
    *,
    seed: int,
    lang: np.ndarray,
    mention: pa.Array,
    has_mention: np.ndarray,
) -> pa.Array:
    n = len(lang)
    sentences = FlatPool([SENTENCES[code] for code in LANGUAGES])
    second = rng.random(n) < 0.4

    values, negatives = _pii_pools(seed)
    leads, negative_leads = (
        _leads(),
        FlatPool([NEGATIVE_LEADS.get(c) or NEGATIVE_LEADS["en"] for c in LANGUAGES]),
    )
    kind = rng.integers(0, len(PII_KINDS), n)
    has_pii = rng.random(n) < PII_SHARE
    has_negative = rng.random(n) < NEGATIVE_SHARE
    tag = rng.random(n) < 0.2
    emoji = rng.random(n) < 0.15
    first = sentences.pick(rng, lang)

    # "@someone First sentence. Second one. Ref: ISBN... Email me at x@y.z #tag 🙂"
    return concat(
        blank_unless(has_mention, concat(pa.array(["@"] * n), mention, pa.array([" "] * n))),
        sentences.take(first),
        blank_unless(second, " "),
        sentences.take(sentences.pick_other(rng, lang, first), present=second),
        blank_unless(has_negative, " "),
        negative_leads.take(negative_leads.pick(rng, lang), present=has_negative),
        blank_unless(has_negative, " "),
        negatives.take(negatives.pick(rng, np.zeros(n, dtype=np.int64)), present=has_negative),
        blank_unless(has_pii, " "),
        leads.take(leads.pick(rng, kind * len(LANGUAGES) + lang), present=has_pii),
        blank_unless(has_pii, " "),
        values.take(values.pick(rng, kind), present=has_pii),
        blank_unless(tag, " "),
        FlatPool([HASHTAGS]).take(rng.integers(0, len(HASHTAGS), n), present=tag),
        blank_unless(emoji, " "),
        FlatPool([EMOJI]).take(rng.integers(0, len(EMOJI), n), present=emoji),
    )


def generate_posts(rng: np.random.Generator, accounts: Accounts, n: int, *, seed: int) -> pa.Table:
    author = rng.choice(len(accounts.created), size=n, p=accounts.activity)
    created = _times(rng, accounts, author)
    order = np.argsort(created, kind="stable")
    author, created = author[order], created[order]

    direct = rng.random(n) < DIRECT_SHARE
    reply = ~direct & (rng.random(n) < REPLY_SHARE)
    parent = _parents(rng, reply)
    reply = parent >= 0
    protected = accounts.table.column("protected").to_numpy(zero_copy_only=False)[author]
    visibility = np.where(direct, 2, np.where(protected, 1, 0))

    # Usual language most of the time, English otherwise.
    lang = np.where(rng.random(n) < 0.8, accounts.language[author], LANGUAGES.index("en"))
    handles = accounts.table.column("handle").combine_chunks()
    mentioned = np.where(
        reply,
        author[np.maximum(parent, 0)],
        rng.choice(len(accounts.created), size=n, p=accounts.activity),
    )
    has_mention = np.where(reply, rng.random(n) < 0.85, rng.random(n) < MENTION_SHARE)
    text = _texts(
        rng,
        seed=seed,
        lang=lang,
        mention=handles.take(pa.array(mentioned)),
        has_mention=has_mention,
    )

    # Deleted posts: 2% deleted a few days after posting, and everything of a deleted account.
    gone = accounts.deleted[author]
    dropped = rng.random(n) < DELETED_SHARE
    later = np.minimum(
        created + rng.exponential(3 * MICROS_PER_DAY, n).astype(np.int64), micros(PERIOD_END) - 1
    )
    deleted = np.where(gone >= 0, gone, np.where(dropped, later, -1))

    likes = np.where(direct, 0, np.floor(rng.lognormal(0.5, 1.6, n))).astype(np.int64)
    ids = snowflake_ids(created)
    return pa.table(
        {
            "id": ids,
            "account_id": accounts.table.column("id").combine_chunks().take(pa.array(author)),
            "created_at": timestamps(created),
            "text": text,
            "lang": pa.array(LANGUAGES).take(pa.array(lang)),
            "visibility": pa.array(["public", "protected", "direct"]).take(pa.array(visibility)),
            "reply_to": pc.if_else(
                pa.array(reply), ids.take(pa.array(np.maximum(parent, 0))), NO_TEXT
            ),
            "kind": pa.array(np.where(reply, "reply", "post")),
            "original_id": pa.nulls(n, pa.string()),
            "deleted_at": timestamps(deleted, missing=deleted < 0),
            "like_count": likes,
            "repost_count": rng.binomial(likes, 0.12).astype(np.int64),
            "reply_count": np.bincount(parent[reply], minlength=n).astype(np.int64),
        },
        schema=POSTS_SCHEMA,
    )
