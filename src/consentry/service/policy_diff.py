"""What a policy version changes compared with the one before it: summary and defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DefaultChange:
    purpose: str
    jurisdiction: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.before == self.after:
            return "same"
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"


def diff_defaults(
    before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]
) -> list[DefaultChange]:
    """Every (purpose, jurisdiction) of either version, with its default in each."""
    keys = {(p, j) for side in (before, after) for p, by_j in side.items() for j in by_j}
    return [
        DefaultChange(p, j, before.get(p, {}).get(j), after.get(p, {}).get(j))
        for p, j in sorted(keys)
    ]
