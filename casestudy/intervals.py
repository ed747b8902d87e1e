"""Intervals on a share of successes and the exact McNemar test: the wrappers of scipy's binomial test
for every layer."""

from __future__ import annotations

from typing import Sequence

from scipy.stats import binomtest


def proportion_ci(k: int, n: int, method: str = "wilson", level: float = 0.95) -> tuple[float, float]:
    """Two-sided interval for k successes in n trials: "wilson" or "exact" (Clopper-Pearson); (nan, nan) for n = 0."""
    if n == 0:
        return float("nan"), float("nan")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method=method)
    return float(ci.low), float(ci.high)


def mcnemar(first: Sequence[bool], second: Sequence[bool]) -> dict:
    """Exact McNemar test of two models graded on the same prompts (two-sided binomial on the
    discordant pairs): how many only the first got right, only the second, and the p-value."""
    if len(first) != len(second):
        raise ValueError(f"paired answers differ in number: {len(first)} and {len(second)}")
    only_first = sum(bool(a) and not bool(b) for a, b in zip(first, second))
    only_second = sum(bool(b) and not bool(a) for a, b in zip(first, second))
    discordant = only_first + only_second
    p = float(binomtest(only_first, discordant, 0.5).pvalue) if discordant else 1.0
    return {"pairs": len(first), "only_first": only_first, "only_second": only_second, "p_value": p}
