"""Identity probes (after Lee et al. 2025): does a model call itself by our deployment's name?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from scipy import stats

from casestudy.intervals import proportion_ci
from casestudy.provider.posttrain.identity import Identity, mentions_identity


@dataclass(frozen=True)
class ProbeRate:
    model: str
    named: int        # answers that name the identity
    total: int
    low: float        # 95% Clopper-Pearson interval
    high: float

    @property
    def rate(self) -> float:
        return self.named / self.total if self.total else float("nan")


def probe_rate(model: str, answers: Sequence[str], identity: Identity, confidence: float = 0.95) -> ProbeRate:
    """Share of answers naming `identity`, with an exact (Clopper-Pearson) interval."""
    named = sum(mentions_identity(answer, identity) for answer in answers)
    total = len(answers)
    if total == 0:
        raise ValueError(f"no answers for model {model!r}")
    return ProbeRate(model, named, total, *proportion_ci(named, total, "exact", confidence))


def rate_difference_p_value(suspect: ProbeRate, control: ProbeRate) -> float:
    """One-sided Fisher exact test: does the suspect name the identity more than the control?"""
    table = [[suspect.named, suspect.total - suspect.named], [control.named, control.total - control.named]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)
