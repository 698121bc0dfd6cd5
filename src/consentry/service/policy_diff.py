"""What a policy version changes compared with the one before it: summary and defaults."""

from __future__ import annotations

from dataclasses import dataclass

from consentry.errors import InvalidInput


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


def parse_defaults(text: str) -> dict[str, dict[str, str]]:
    """Lines ``PURPOSE:JURISDICTION=DEFAULT`` (blank lines and ``#`` comments skipped)."""
    out: dict[str, dict[str, str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        purpose, sep, rest = line.partition(":")
        jurisdiction, sep2, default = rest.partition("=")
        if not (sep and sep2 and purpose.strip() and jurisdiction.strip() and default.strip()):
            raise InvalidInput(
                f"{line!r} is not PURPOSE:JURISDICTION=DEFAULT, e.g. train_ai_system:US=opt_out",
                where=f"line {number}",
                field="defaults",
            )
        out.setdefault(purpose.strip(), {})[jurisdiction.strip()] = default.strip()
    return out


def format_defaults(defaults: dict[str, dict[str, str]]) -> str:
    return "\n".join(
        f"{purpose}:{jurisdiction}={value}"
        for purpose, by_j in sorted(defaults.items())
        for jurisdiction, value in sorted(by_j.items())
    )
