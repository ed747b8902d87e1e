"""Notebook 04's decisions on fabricated test results: the targets met and missed, the summary, metrics.

CI runs the smoke profile, whose 16 queries never reach the workshop target; these tests
give the targets workshop-like and failing results.
"""

import numpy as np
import pandas as pd
import pytest

from casestudy.detection.identity_probes import ProbeRate
from casestudy.stages import detect
from tests.detection.test_traffic import synthetic_ledger

FINAL = pd.DataFrame({"model": ["sft", "topk", "control", "baseline"], "scored": [900, 950, 880, 870],
                      "green": [300, 320, 215, 220], "green_share": [0.33, 0.34, 0.24, 0.25],
                      "p_value": [1e-9, 2e-3, 0.6, 0.4]}).set_index("model")
CALIB = {"keys": 100, "ks_statistic": 0.05, "ks_p_value": 0.87, "false_positive_rate": 0.01, "alpha": 0.01}
RATES = {"teacher (deployed)": ProbeRate("teacher (deployed)", 25, 51, 0.35, 0.63),
         "topk": ProbeRate("topk", 0, 51, 0.0, 0.07), "control": ProbeRate("control", 0, 51, 0.0, 0.07)}


def dose(p_full: float, p_none: float = 0.9) -> pd.DataFrame:
    return pd.DataFrame({"watermarked_share": [0.0, 0.5, 1.0], "scored": [800] * 3, "green": [200, 260, 300],
                         "green_share": [0.25, 0.33, 0.38], "p_value": [p_none, 1e-4, p_full]})


def test_workshop_like_results_meet_the_dose_target_and_keep_the_controls_quiet():
    checks = detect.targets(FINAL, dose(1.7e-13), CALIB, "topk", 1e-6, 0.01)
    assert [t.met for t in checks] == [True, False, True, True, True]   # the one-pass top-k student: p = 2e-3
    assert checks[0].measured == "p = 1.70e-13" and checks[1].check == "`topk` student (notebook 02)"
    assert checks[4].measured == "1/100 flagged (binomial p = 0.63), KS p = 0.87"


def test_failing_results_miss_every_target():
    leaky = {**CALIB, "false_positive_rate": 0.2, "ks_p_value": 0.001}
    final = FINAL.assign(p_value=[1e-9, 2e-3, 1e-4, 0.4])
    checks = detect.targets(final, dose(0.3, p_none=1e-3), leaky, "sft", 1e-6, 0.01)
    assert [t.met for t in checks] == [False, True, False, False, False]


def test_the_targets_intro_says_where_the_target_is_set():
    assert detect.targets_intro("workshop", 200, 1e-6) == "Profile `workshop`, 200 queries per suspect:"
    assert "(the p ≤ 1e-6 target is set for the workshop profile)" in detect.targets_intro("smoke", 16, 1e-6)


def test_query_ladder_and_main_suspect():
    assert detect.checkpoints(16) == [1, 2, 5, 10, 16] and detect.checkpoints(200)[-2:] == [100, 200]
    assert detect.main_suspect(FINAL, {"best_student": "sft"}) == "sft"  # notebook 02's best, when it was queried
    assert detect.main_suspect(FINAL, {}) == "topk" and detect.main_suspect(FINAL.drop("topk"), {}) == "sft"


def test_identity_table_compares_with_the_control():
    table = detect.identity_table(RATES)
    assert table.loc["teacher (deployed)", "p_vs_control"] < 1e-6 and np.isnan(table.loc["control", "p_vs_control"])


def test_traffic_summary_summary_table_metrics_and_headline():
    seen = detect.traffic(synthetic_ledger(), seed=0)
    assert seen.distillers == ["distiller"] and seen.auc == pytest.approx(1.0) and "first ranked" in seen.text()
    assert seen.table().index[0] == "distiller"
    identity = detect.identity_table(RATES)
    summary = detect.summary_table(FINAL, CALIB, RATES, identity, seen, "topk", 0.01)
    assert summary.loc["watermark radioactivity", "suspect"] == "p = 2.00e-03"
    assert summary.loc["traffic anomaly", "false positives"].startswith("0 ordinary accounts")
    checks = detect.targets(FINAL, dose(1e-13), CALIB, "topk", 1e-6, 0.01)
    metrics = detect.stage_metrics(16, "topk", FINAL, CALIB, dose(1e-13), identity, seen, [], checks)
    assert metrics["targets"][0] == {"check": "fully watermarked dose student", "measured": "p = 1.00e-13", "met": True}
    line = detect.headline(FINAL, dose(1e-13), CALIB, RATES, seen, "topk", 16, 0.01)
    assert line["watermark p (topk, 16 queries)"] == "2.00e-03" and line["traffic detector AUC"] == "1.00"


def test_watermark_queries_are_open_prompts_when_the_skill_is_named():
    from casestudy.distiller.collect.prompts import load_prompts
    skill_texts = {p.text for p in load_prompts() if p.family == "arithmetic"}
    watermark, probes, rows = detect.query_sets(300, 8, 1.0, 8, seed=0, skill_family="arithmetic")
    asked = {c[-1]["content"] for c in watermark.conversations}
    assert len(asked) == 300 and not asked & skill_texts and len(probes.conversations) == len(rows)
    everything, _, _ = detect.query_sets(300, 8, 1.0, 8, seed=0)
    assert {c[-1]["content"] for c in everything.conversations} & skill_texts  # without the name, sums are asked too
