"""Export engines: each executes an ``ExportPlan`` over Arrow record batches and yields, per
batch and in scan order, the delivered records, their members and a counts table; the driver
writes shards and aggregates the counts. The embedded engine runs the batch function on threads;
a Spark engine runs the same function in ``mapInArrow``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from consentry.pipeline.transform import BatchOutput

if TYPE_CHECKING:
    from consentry.pipeline.plan import ExportPlan

__all__ = ["BatchOutput", "Engine"]


class Engine(Protocol):
    @property
    def name(self) -> str:
        """Recorded with the delivery and in its manifest."""
        ...

    def execute(self, plan: ExportPlan) -> Iterator[BatchOutput]:
        """The plan's batches, judged and finished, in the source's (post-id) order."""
        ...
