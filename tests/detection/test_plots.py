"""The provider's figures draw from tables shaped like the stage's."""

import matplotlib
import numpy as np
import pandas as pd

from casestudy.detection import plots
from casestudy.detection.traffic import ledger_accounts, ledger_timeline
from tests.detection.test_traffic import synthetic_ledger

matplotlib.use("Agg")


def test_the_figures_say_what_they_show():
    curves = pd.DataFrame({"queries": [1, 16, 1, 16], "p_value": [0.5, 1e-3, 0.6, 0.4], "model": ["topk", "topk", "public", "public"]})
    ax = plots.radioactivity(curves, 0.01, 1e-6).axes[0]
    assert ax.get_title().endswith("(after 16 queries, p ≤ alpha for: topk)")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["public", "topk", "alpha = 0.01", "target p = 1e-06"]
    assert plots.significant_after(curves[curves.model == "public"], 0.01).endswith("for: none")
    dose = pd.DataFrame({"watermarked_share": [0.0, 1.0], "p_value": [0.8, 9.6e-7]})
    ax = plots.dose(dose, 0.01, 86, 200, 1e-6).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["dose student", "alpha = 0.01", "target p = 1e-06"]
    assert [t.get_text() for t in ax.texts] == ["p = 8.0e-01", "p = 9.6e-07"] and "86 training records" in ax.get_title()
    always = pd.DataFrame({"distiller_requests": [50, 100], "rank": [1, 1], "flagged": [True, True], "margin": [0.2, 0.1]})
    assert plots.flagged_title(always, "d") == "'d' ranked most anomalous from its first 50 requests"
    late = always.assign(rank=[3, 1], flagged=[False, True], margin=[-0.05, 0.1])
    assert plots.flagged_title(late, "d") == "'d' first ranked most anomalous after 100 requests"
    assert plots.flagged_title(late.assign(flagged=False), "d") == "'d' never ranked most anomalous at these checkpoints"
    curve = pd.DataFrame({"fpr": [0, 0, 1], "tpr": [0, 1, 1]})
    right = plots.traffic(curve, 1.0, 9, late, "d").axes[1]
    assert right.get_title() == plots.flagged_title(late, "d") and [t.get_text() for t in right.texts] == ["rank 3"]
    matplotlib.pyplot.close("all")


def test_figures_draw():
    curves = pd.DataFrame({"queries": [1, 16, 1, 16], "p_value": [0.5, 1e-3, 0.6, 0.4], "model": ["a", "a", "b", "b"]})
    assert len(plots.radioactivity(curves, 0.01).axes) == 1
    assert len(plots.calibration(np.linspace(0.01, 0.99, 20)).axes) == 2
    dose = pd.DataFrame({"watermarked_share": [0.0, 1.0], "p_value": [0.8, 1e-5]})
    assert len(plots.dose(dose, 0.01, 40, 16).axes) == 1
    identity = pd.DataFrame({"rate": [0.5, 0.0], "ci_low": [0.3, 0.0], "ci_high": [0.7, 0.1]}, index=["t", "c"])
    assert len(plots.identity_rates(identity, 51, "Kestrel").axes) == 1
    curve = pd.DataFrame({"fpr": [0, 0, 1], "tpr": [0, 1, 1]})
    replay = pd.DataFrame({"distiller_requests": [5, 10], "rank": [3, 1], "flagged": [False, True], "margin": [-0.1, 0.2]})
    assert len(plots.traffic(curve, 1.0, 9, replay, "distiller").axes) == 2
    matplotlib.pyplot.close("all")


def test_the_ledger_view():
    ledger = synthetic_ledger().assign(endpoint="/v1/chat/completions", model="kestrel-1", id=range(len(synthetic_ledger())),
                                       completion_tokens=10)
    accounts = ledger_accounts(ledger)
    assert accounts.index[0] == "distiller" and accounts.loc["distiller", "logprobs_share"] == 1.0
    timeline = ledger_timeline(ledger, "distiller")
    assert set(timeline.who) == {"distiller", "ordinary customer (simulated)"}
    assert len(plots.ledger_timeline(timeline).axes) == 1
    matplotlib.pyplot.close("all")


def test_the_evidence_figure_writes_every_p_and_names_the_references():
    from casestudy.stages.detect import TESTS
    table = pd.DataFrame({"role": ["honest", "distilled", "honest", "honest"], "watermark p": [0.9, 0.03, 0.6, 0.5],
                          "identity p": [1, 1e-12, np.nan, 1], "mistakes p": [1, 4e-5, 1, np.nan]},
                         index=["public", "sft", "control", "competitor"])
    ax = plots.evidence(table, TESTS, 0.01, 1e-6).axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("reference") == 2 and "1.0e-12" in texts and "4.0e-05" in texts
    assert [t.get_text() for t in ax.get_yticklabels()][1] == "sft (distilled)" and "p ≤ 1e-6" in ax.get_title()


def test_the_copied_mistakes_figure_has_one_row_per_model_with_its_interval():
    table = pd.DataFrame({"items": [60, 60], "rate": [0.3, 0.0], "ci_low": [0.19, 0.0], "ci_high": [0.43, 0.06]},
                         index=["sft", "competitor"])
    ax = plots.copied_mistakes(table, 1500).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sft", "competitor"] and "60 wrong answers" in ax.get_xlabel()
