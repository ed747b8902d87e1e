"""Targets: what a stage set out to show, what it measured, and whether it got there.

Every stage's metrics.json carries a `targets` list of {"check", "measured", "met"}
rows, and the report's index shows them. `met` is None where the profile sets no target
(the smoke profile only checks that everything runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import pandas as pd


@dataclass(frozen=True)
class Target:
    check: str         # what is checked, in words
    measured: str      # what was measured, as text
    met: bool | None   # None: no target for this profile

    def as_dict(self) -> dict:
        return {"check": self.check, "measured": self.measured, "met": None if self.met is None else bool(self.met)}


def kept_ability(change: float, p_value: float, max_loss: float) -> bool:
    """An ability is kept when it lost at most `max_loss` (a share) and the exact McNemar test shows no
    significant loss (p >= 0.05, or no loss at all): the rule of the provider's check and of notebook 02."""
    return -change <= max_loss + 1e-9 and (p_value >= 0.05 or change >= 0)


def records(targets: Iterable[Target]) -> list[dict]:
    """The `targets` list of a metrics.json."""
    return [t.as_dict() for t in targets]


def table(targets: Iterable[Target | dict]) -> pd.DataFrame:
    """Targets (or a metrics.json's `targets` list) as a table indexed by check, for a notebook."""
    rows = [t.as_dict() if isinstance(t, Target) else t for t in targets]
    return pd.DataFrame(rows, columns=["check", "measured", "met"]).set_index("check")


def verdict(met: bool | None) -> str:
    """'met', 'missed' or 'no target', for prose and the report."""
    return "no target" if met is None else ("met" if met else "missed")
