"""Intervals on a share of successes, the one wrapper of scipy's binomial test for every layer."""

from __future__ import annotations

from scipy.stats import binomtest


def proportion_ci(k: int, n: int, method: str = "wilson", level: float = 0.95) -> tuple[float, float]:
    """Two-sided interval for k successes in n trials: "wilson" or "exact" (Clopper-Pearson); (nan, nan) for n = 0."""
    if n == 0:
        return float("nan"), float("nan")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method=method)
    return float(ci.low), float(ci.high)
