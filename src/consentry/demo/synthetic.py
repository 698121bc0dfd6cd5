"""A synthetic social platform as Parquet files: accounts, posts and their consent history.

Same seed, same bytes: every random choice comes from one seeded generator, in a fixed order,
and the files are written with fixed writer options.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from consentry.demo.history import generate_consent
from consentry.demo.people import generate_accounts
from consentry.demo.posts import generate_posts
from consentry.errors import InvalidInput

ROW_GROUP_ROWS = 131_072


@dataclass(frozen=True)
class DemoFiles:
    accounts: Path
    posts: Path
    consent: Path
    counts: dict[str, int]
    """Rows per file: accounts, posts, consent."""


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write under a temporary name, then rename, so a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(
        table, partial, compression="zstd", row_group_size=ROW_GROUP_ROWS, write_statistics=True
    )
    os.replace(partial, path)


def generate(
    out_dir: Path,
    *,
    accounts: int,
    posts: int,
    seed: int,
    on_step: Callable[[str], None] | None = None,
) -> DemoFiles:
    """Write accounts.parquet, posts.parquet and consent.parquet into ``out_dir``.

    ``on_step`` is told the name of each step as it starts (for a progress display).
    """
    if accounts < 2:
        raise InvalidInput("a platform needs at least 2 accounts", field="accounts")
    if posts < 1:
        raise InvalidInput("a platform needs at least 1 post", field="posts")
    step = on_step or (lambda _name: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    step("accounts")
    people = generate_accounts(rng, accounts)
    step("posts")
    post_table = generate_posts(rng, people, posts, seed=seed)
    step("consent")
    consent = generate_consent(rng, people)

    step("write")
    files = DemoFiles(
        accounts=out_dir / "accounts.parquet",
        posts=out_dir / "posts.parquet",
        consent=out_dir / "consent.parquet",
        counts={"accounts": accounts, "posts": posts, "consent": consent.num_rows},
    )
    write_parquet(people.table, files.accounts)
    write_parquet(post_table, files.posts)
    write_parquet(consent, files.consent)
    return files
