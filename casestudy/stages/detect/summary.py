"""The stage's targets (met or missed), the line above their table, and the summary of every test
with its statistic, its result on the control and its false positives."""

from __future__ import annotations

import pandas as pd
from scipy.stats import binomtest

from casestudy.detection.identity_probes import ProbeRate
from casestudy.formats import p_text
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY
from casestudy.stages.detect.anomaly import Traffic
from casestudy.stages.detect.metrics import Calibration
from casestudy.stages.detect.params import Params
from casestudy.targets import Target

CALIBRATION_LEVEL = 0.05  # the wrong keys pass when their KS and excess-flagging p-values lie above this


def targets(final: pd.DataFrame, dose: pd.DataFrame, calib: Calibration, suspect: str, params: Params) -> list[Target]:
    """The study's targets: fully watermarked students at p <= target_p, controls and wrong keys quiet."""
    by_share = dose.set_index("watermarked_share").p_value
    flagged = round(calib.false_positive_rate * calib.keys)
    excess = binomtest(flagged, calib.keys, params.alpha, alternative="greater").pvalue
    return [
        Target("fully watermarked dose student", f"p = {p_text(by_share.get(1.0), 3)}",
               bool(by_share.get(1.0, 1.0) <= params.target_p)),
        Target(f"`{suspect}` student (notebook 02)", f"p = {p_text(final.loc[suspect, 'p_value'], 3)}",
               bool(final.loc[suspect, "p_value"] <= params.target_p)),
        Target("control student not significant", f"p = {p_text(final.loc['control', 'p_value'], 3)}",
               bool(final.loc["control", "p_value"] > params.alpha)),
        Target("dose student without watermark not significant", f"p = {p_text(by_share.get(0.0), 3)}",
               bool(by_share.get(0.0, 0.0) > params.alpha)),
        Target("wrong keys uniform and not over-flagged",
               f"{flagged}/{calib.keys} flagged (binomial p = {p_text(excess)}), KS p = {p_text(calib.ks_p_value)}",
               bool(excess > CALIBRATION_LEVEL and calib.ks_p_value > CALIBRATION_LEVEL)),
    ]


def targets_intro(params: Params) -> str:
    """The line above the targets table: the profile, the queries, the targets' levels, and where the target is set."""
    target = f"{params.target_p:.0e}".replace("e-0", "e-")
    return (f"Profile `{params.profile}`, {params.num_queries} queries per suspect: each student trained only on "
            f"watermarked data must reach p ≤ {target}, the control student and the unwatermarked dose student must "
            f"stay above alpha = {params.alpha:g}, and the wrong keys' KS and one-sided binomial p above "
            f"{CALIBRATION_LEVEL:g}" + ("" if params.profile == "workshop" else
                                        " (the p-value target is set for the workshop profile)") + ".")


def summary_table(final: pd.DataFrame, calib: Calibration, rates: dict[str, ProbeRate], identity: pd.DataFrame,
                  seen: Traffic, suspect: str, params: Params, mistakes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every test, its statistic, its result on the control, and its false positives."""
    ordinary = seen.scores.drop(seen.distillers)
    copied = [] if mistakes is None else [
        {"test": "copied mistakes",
         "statistic": f"{mistakes.loc[suspect, 'copied']}/{mistakes.loc[suspect, 'items']} of the teacher's wrong "
                      f"answers repeated ({mistakes.loc[suspect, 'words_copied']}/{mistakes.loc[suspect, 'words']} words)",
         "suspect": f"p = {p_text(mistakes.loc[suspect, 'p_value'], 3)} (Fisher per word, vs competitor)",
         "control": f"{mistakes.loc['control', 'copied']}/{mistakes.loc['control', 'items']} repeated",
         "false positives": f"the competitor (reference) repeats {mistakes.loc['competitor', 'copied']}"}]
    return pd.DataFrame([
        {"test": "watermark radioactivity",
         "statistic": f"{final.loc[suspect, 'green']}/{final.loc[suspect, 'scored']} green pairs",
         "suspect": f"p = {p_text(final.loc[suspect, 'p_value'], 3)}",
         "control": f"p = {p_text(final.loc['control', 'p_value'], 3)}",
         "false positives": f"{calib.false_positive_rate:.0%} of {calib.keys} wrong keys at alpha {params.alpha} "
                            f"(KS p = {p_text(calib.ks_p_value)})"},
        {"test": "identity probes",
         "statistic": f"{rates[suspect].named}/{rates[suspect].total} answers name {PROVIDER_IDENTITY.name}",
         "suspect": f"p = {p_text(identity.loc[suspect, 'p_vs_control'], 3)} (Fisher, vs control)",
         "control": f"{rates['control'].rate:.0%} name it", "false positives": "control is the reference"},
        {"test": "traffic anomaly", "statistic": "IsolationForest over accounts",
         "suspect": f"AUC = {seen.auc:.2f}; first flagged after {seen.first} requests",
         "control": f"{len(seen.features) - len(seen.distillers)} simulated ordinary accounts",
         "false positives": f"{int((ordinary >= seen.scores[seen.distillers].min()).sum())} ordinary accounts score "
                            "at or above a distiller"},
        *copied,
    ]).set_index("test")
