"""A serving process keeps the cycle collector off the request path."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from consentry.service.app import GC_YOUNG_THRESHOLD, quiet_garbage_collector


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_what_exists_at_start_is_frozen_and_young_collections_wait() -> None:
    before = gc.get_threshold()
    quiet_garbage_collector()
    assert gc.get_freeze_count() > 0  # the app built so far is out of every collection
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    assert gc.isenabled()  # cycles are still collected
