"""The notebook's tables: prompts per family and split, the arms side by side, their bills."""

from __future__ import annotations

import pandas as pd

from casestudy.cost.prices import PricePoint
from casestudy.distiller.collect.prompts import Prompt
from casestudy.stages.collect.metrics import Metrics


def prompts_table(prompts: list[Prompt]) -> pd.DataFrame:
    """Prompts per family (rows) and split (columns), with totals."""
    chosen = pd.DataFrame([{"family": p.family, "split": p.split} for p in prompts])
    return pd.crosstab(chosen.family, chosen.split, margins=True, margins_name="total")


ARM_COLUMNS = ("records", "prompt_tokens", "completion_tokens", "wall_seconds", "tokens_per_second")


def arms_table(metrics: Metrics) -> pd.DataFrame:
    """Main and control side by side."""
    return pd.DataFrame({name: {k: getattr(arm, k) for k in ARM_COLUMNS}
                         for name, arm in (("main", metrics.main), ("control", metrics.control))})


def bill_table(metrics: Metrics, price_points: list[PricePoint]) -> pd.DataFrame:
    """Each arm's API bill at each dated price point."""
    return pd.DataFrame([{"price point": p.label, "tier": p.tier, "main": metrics.bill_usd[p.label],
                          "control": metrics.control.bill_usd[p.label]} for p in price_points])
