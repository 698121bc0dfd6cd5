"""Posts from an Apache Iceberg table, read through ``pyiceberg``.

``--source iceberg:CATALOG.NAMESPACE.TABLE`` names the table as Spark SQL does; the catalog
``CATALOG`` is configured the pyiceberg way (``~/.pyiceberg.yaml`` or
``PYICEBERG_CATALOG__<CATALOG>__URI`` and friends: REST, Glue, Hive, SQL, with their
credentials kept out of the command line). ``iceberg:URI#CATALOG.NAMESPACE.TABLE`` gives the
catalog's URI inline instead (``sqlite:////lake/catalog.db``, ``postgresql://...``,
``https://rest.example.com``; pyiceberg infers the catalog type from it).

The table's current snapshot is pinned when the source is opened, so the count, the scan and the
quoted originals read the same snapshot. The cut-off is pushed down as an Iceberg row filter
(``created_at <= cutoff``): the manifests' column bounds and partition values prune whole files
before a byte of data is read, and pyiceberg applies delete files and schema evolution. Column
mapping, checks, defaults and the id sort are ``LakeTable``'s, as for Parquet and Delta.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from consentry.errors import InvalidInput
from consentry.pipeline.sources import LakeTable, LakeTableReads

SPEC_HELP = "iceberg:CATALOG.NAMESPACE.TABLE or iceberg:CATALOG_URI#CATALOG.NAMESPACE.TABLE"


@dataclass(frozen=True)
class IcebergLocation:
    """Which table, in which catalog: ``[URI#]CATALOG.NAMESPACE.TABLE``."""

    catalog: str
    table: str
    """NAMESPACE.TABLE (a namespace may have several levels)."""
    uri: str | None = None

    @classmethod
    def parse(cls, spec: str) -> IcebergLocation:
        uri, _, identifier = spec.rpartition("#")
        catalog, _, table = identifier.partition(".")
        if not catalog or "." not in table or "" in table.split("."):
            raise InvalidInput(f"expected {SPEC_HELP}, got iceberg:{spec}", field="--source")
        return cls(catalog, table, uri or None)

    def __str__(self) -> str:
        return f"{self.uri + '#' if self.uri else ''}{self.catalog}.{self.table}"

    def load(self) -> Any:
        """The pyiceberg table (errors name the table and how to configure its catalog)."""
        from pyiceberg.catalog import load_catalog
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        properties = {"uri": self.uri} if self.uri else {}
        try:
            catalog = load_catalog(self.catalog, **properties)
        except ValueError as exc:
            raise InvalidInput(
                f"cannot open the Iceberg catalog {self.catalog!r}: {exc}; configure it in "
                f"~/.pyiceberg.yaml or PYICEBERG_CATALOG__{self.catalog.upper()}__URI, or pass "
                f"its URI: iceberg:URI#{self.catalog}.{self.table}",
                where=str(self),
            ) from exc
        try:
            return catalog.load_table(self.table)
        except (NoSuchTableError, NoSuchNamespaceError) as exc:
            raise InvalidInput(
                f"the Iceberg catalog {self.catalog!r} has no table {self.table!r}",
                where=str(self),
            ) from exc


def _expressions() -> Any:
    """pyiceberg's row-filter expressions (pydantic models whose constructors mypy misreads)."""
    import pyiceberg.expressions

    return pyiceberg.expressions


@dataclass(frozen=True)
class IcebergTable(LakeTable):
    """A ``LakeTable`` whose rows are read by pyiceberg at one snapshot. Its ``dataset`` is an
    empty dataset of the table's Arrow schema: ``LakeTable`` reads only its schema."""

    iceberg: Any = None
    """The pyiceberg table."""
    snapshot_id: int | None = None
    """Pinned at open; None for a table without a snapshot (no rows)."""

    def _cutoff(self, cutoff: datetime) -> Any:
        lake = self.columns["created_at"]
        assert lake is not None
        moment = cutoff.astimezone(UTC)
        if self.dataset.schema.field(lake).type.tz is None:  # a naive timestamp is UTC
            moment = moment.replace(tzinfo=None)
        return _expressions().LessThanOrEqual(lake, moment.isoformat())

    def _scan(self, row_filter: Any, columns: list[str]) -> Any:
        return self.iceberg.scan(
            row_filter=row_filter, selected_fields=tuple(columns), snapshot_id=self.snapshot_id
        )

    def _reader(self, row_filter: Any, columns: list[str]) -> pa.RecordBatchReader:
        if self.snapshot_id is None:
            schema = pa.schema([self.dataset.schema.field(c) for c in columns])
            return pa.RecordBatchReader.from_batches(schema, [])
        return self._scan(row_filter, columns).to_arrow_batch_reader()

    def count(self, cutoff: datetime) -> int:
        if self.snapshot_id is None:
            return 0
        return int(self._scan(self._cutoff(cutoff), [self.columns["id"] or "id"]).count())

    def _posts_by(self, cutoff: datetime, batch_rows: int) -> pa.RecordBatchReader:
        return self._reader(self._cutoff(cutoff), self._lake_columns())

    def _quoted_ids(self, cutoff: datetime, kind: str, original: str) -> pa.Array:
        ice = _expressions()
        quotes = self._reader(ice.And(self._cutoff(cutoff), ice.EqualTo(kind, "quote")), [original])
        return quotes.read_all().column(0).combine_chunks()

    def _posts_with_ids(self, id_column: str, ids: pa.Array) -> pa.RecordBatchReader:
        ice, wanted = _expressions(), set(ids.to_pylist())
        row_filter = ice.In(id_column, wanted) if wanted else ice.AlwaysFalse()
        return self._reader(row_filter, self._lake_columns())


@dataclass(frozen=True)
class IcebergSource(LakeTableReads):
    """Posts from an Iceberg table (see the module's docstring)."""

    location: IcebergLocation
    cutoff: datetime
    columns: Mapping[str, str] = field(default_factory=dict)
    batch_rows: int = 65_536

    @cached_property
    def table(self) -> IcebergTable:
        """Opened once per source, at the snapshot current then."""
        table = self.location.load()
        empty = ds.dataset(table.schema().as_arrow().empty_table())
        checked = LakeTable.check(str(self.location), empty, self.columns)
        snapshot = table.current_snapshot()
        return IcebergTable(
            checked.where,
            checked.dataset,
            checked.columns,
            iceberg=table,
            snapshot_id=snapshot.snapshot_id if snapshot else None,
        )

    @property
    def where(self) -> str:
        return str(self.location)
