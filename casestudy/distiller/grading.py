"""Grade completions against gold answers, and put 95% intervals on accuracies.

Open families (e.g. "factual") are correct when a gold answer appears as whole words in
the normalised completion. Closed families (e.g. "sentiment": positive/negative) are
correct when the first label the completion mentions is the gold one, so "positive,
not negative" is positive and naming both labels does not score by luck.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Sequence

import pandas as pd
from scipy.stats import binomtest

CLOSED_FAMILIES: dict[str, tuple[str, ...]] = {"sentiment": ("positive", "negative")}


def normalize(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return " ".join(text.split())


def _find(needle: str, hay: str) -> int:
    """Position of `needle` as whole words in `hay`, or -1."""
    needle = normalize(needle)
    if not needle:
        return -1
    m = re.search(rf"(?:^| ){re.escape(needle)}(?: |$)", hay)
    return m.start() if m else -1


def grade(completion: str, gold: Sequence[str] | None, family: str | None = None) -> bool | None:
    """True/False against the gold answers; None when the prompt has no gold."""
    if not gold:
        return None
    hay = normalize(completion)
    choices = CLOSED_FAMILIES.get(family or "")
    if choices:
        found = [(pos, c) for c in choices if (pos := _find(c, hay)) >= 0]
        if not found:
            return False
        first = min(found)[1]
        return first in {normalize(g) for g in gold}
    return any(_find(g, hay) >= 0 for g in gold)


def chance_level(family: str | None) -> float:
    """Accuracy of guessing: 1/len(choices) for closed families, 0 for open answers."""
    choices = CLOSED_FAMILIES.get(family or "")
    return 1.0 / len(choices) if choices else 0.0


def proportion_ci(k: int, n: int, method: str = "wilson", level: float = 0.95) -> tuple[float, float]:
    """Two-sided interval for k successes in n trials: "wilson" or "exact" (Clopper-Pearson)."""
    if n == 0:
        return float("nan"), float("nan")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method=method)
    return float(ci.low), float(ci.high)


def accuracy_table(rows: Iterable[dict], by: Sequence[str] = ("model",), method: str = "wilson") -> pd.DataFrame:
    """Accuracy with a 95% interval per group and family, plus family "all".

    rows: dicts with the `by` keys, "family" and "correct" (bool; None rows are skipped).
    """
    df = pd.DataFrame([r for r in rows if r.get("correct") is not None])
    if df.empty:
        return pd.DataFrame(columns=[*by, "family", "n", "correct", "accuracy", "ci_low", "ci_high", "chance"])
    df["correct"] = df["correct"].astype(bool)
    both = pd.concat([df, df.assign(family="all")])
    out = []
    for key, g in both.groupby([*by, "family"], sort=False):
        k, n = int(g["correct"].sum()), len(g)
        lo, hi = proportion_ci(k, n, method)
        fam = key[-1]
        out.append({**dict(zip([*by, "family"], key)), "n": n, "correct": k, "accuracy": k / n,
                    "ci_low": lo, "ci_high": hi, "chance": chance_level(fam) if fam != "all" else float("nan")})
    return pd.DataFrame(out)
