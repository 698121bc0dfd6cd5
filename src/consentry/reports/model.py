"""What every report is made of: sections, each a table (columns with their meaning) and
optionally a chart of it. The admin page, its JSON twin and ``consentry report`` all render the
one ``Report`` a data function returns."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ColumnKind = Literal["text", "count", "days", "money", "date", "percent"]
Cell = str | int | float | None
Row = dict[str, Any]


class Column(BaseModel):
    key: str
    label: str
    kind: ColumnKind = "text"


class Section(BaseModel):
    key: str
    title: str
    description: str
    """What the numbers mean, in words; also the chart's text alternative."""
    columns: list[Column]
    rows: list[Row]
    chart: dict[str, Any] | None = None
    """A Vega-Lite spec of the rows (rendered to SVG on the server for the page)."""

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(
            out,
            fieldnames=[c.key for c in self.columns],
            extrasaction="ignore",
            lineterminator="\n",
        )
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue()


class Report(BaseModel):
    name: str
    title: str
    description: str
    generated_at: datetime
    parameters: dict[str, str] = Field(default_factory=dict)
    sections: list[Section]
    notes: list[str] = Field(default_factory=list)
    """How the figures are counted, where the data model leaves a choice."""

    def section(self, key: str | None) -> Section:
        """One section by key; without a key, the only one (a CSV holds one table)."""
        if key is None:
            if len(self.sections) == 1:
                return self.sections[0]
            raise ValueError(
                f"report {self.name!r} has {len(self.sections)} tables; choose one with "
                f"--section: {', '.join(s.key for s in self.sections)}"
            )
        for section in self.sections:
            if section.key == key:
                return section
        raise ValueError(
            f"report {self.name!r} has no section {key!r}; "
            f"sections: {', '.join(s.key for s in self.sections)}"
        )
