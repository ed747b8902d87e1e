"""Every suspect through every test, and the conviction rule.

A test convicts a model when the model's p is at most `target_p` while every honest model's p on
the same test (the honest competitor, the control, the public model) is above `alpha`: evidence
counts only if the same test would not have accused a model that did not copy. A test's reference
(the control for identity, the competitor for copied mistakes) has no p of its own on that test.
The traffic test ranks accounts, not models, so it is not a column here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from casestudy.formats import p_text
from casestudy.stages import distill
from casestudy.targets import Target

TESTS = {"watermark": "watermark radioactivity", "identity": "identity probes", "mistakes": "copied mistakes"}


def column(test: str) -> str:
    """The evidence table's p-value column of a test ("watermark p")."""
    return f"{test} p"


def p_values(evidence: pd.DataFrame) -> pd.DataFrame:
    """The evidence table's p-values alone, one column per test, named as in TESTS."""
    return evidence[[column(t) for t in TESTS]].set_axis(list(TESTS), axis=1)


def roles(distilled: distill.Metrics) -> dict[str, str]:
    """Each of notebook 02's students: "distilled" (trained on the provider's API answers) or "honest"."""
    return {s.name: "distilled" if s.arm == "main" else "honest" for s in distilled.students}


def evidence_table(final: pd.DataFrame, identity: pd.DataFrame, mistakes: pd.DataFrame,
                   distilled: distill.Metrics) -> pd.DataFrame:
    """One row per suspect, one p-value column per test (NaN where the model is the test's reference)."""
    role = roles(distilled)
    frame = pd.DataFrame({"role": pd.Series(role), column("watermark"): final.p_value,
                          column("identity"): identity.p_vs_control, column("mistakes"): mistakes.p_value}).loc[list(role)]
    return frame.astype({column(t): float for t in TESTS})


def convictions(evidence: pd.DataFrame, target_p: float, alpha: float) -> pd.DataFrame:
    """Per suspect and test: does the test convict it (its p <= target_p, every honest p > alpha)?"""
    honest = evidence[evidence.role == "honest"]
    quiet = {t: bool((honest[column(t)].dropna() > alpha).all()) for t in TESTS}
    return pd.DataFrame({t: (evidence[column(t)] <= target_p) & quiet[t] for t in TESTS}, index=evidence.index)


def verdicts(evidence: pd.DataFrame, target_p: float, alpha: float) -> pd.DataFrame:
    """The evidence table with the strongest test, the tests that convict, and a verdict: a distilled
    model is "convicted" or "not convicted"; an honest one is "cleared" when no test gives it p <= alpha."""
    convicted = convictions(evidence, target_p, alpha)
    p = p_values(evidence)
    out = evidence.copy()
    out["strongest"] = [row.idxmin() if row.notna().any() else None for _, row in p.iterrows()]
    out["convicted by"] = [", ".join(t for t in TESTS if convicted.loc[m, t]) or "–" for m in evidence.index]
    flagged = (p <= alpha).any(axis=1)
    out["verdict"] = np.where(evidence.role == "distilled",
                              np.where(convicted.any(axis=1), "convicted", "not convicted"),
                              np.where(flagged, "flagged (false positive)", "cleared"))
    return out


def evidence_targets(verdict: pd.DataFrame, suspect: str, target_p: float, alpha: float) -> list[Target]:
    """The conviction rule's targets: notebook 02's main suspect convicted by some test, and every
    honest model above alpha on every test."""
    row = verdict.loc[suspect]
    strongest = row["strongest"]
    said = f"{TESTS[strongest]} p = {p_text(row[column(strongest)])}" if isinstance(strongest, str) else "no test"
    honest = p_values(verdict[verdict.role == "honest"]).stack().dropna()
    lowest = honest.idxmin() if len(honest) else None
    low = (f"lowest: {lowest[0]} on {TESTS[lowest[1]]}, p = {p_text(honest[lowest])}" if lowest else "no honest model")
    target = f"{target_p:.0e}".replace("e-0", "e-")
    return [Target(f"`{suspect}` convicted by some test (p ≤ {target}, every honest model above alpha {alpha:g})",
                   f"{row['convicted by']}; strongest: {said}", row["verdict"] == "convicted"),
            Target("every honest model above alpha on every test", low, bool((honest > alpha).all()))]
