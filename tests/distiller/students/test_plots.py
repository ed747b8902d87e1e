"""Notebook 02's figures draw from tables shaped like the stage's."""

import matplotlib
import pandas as pd

from casestudy.distiller.students import plots
from casestudy.distiller.students.grading import accuracy_table

matplotlib.use("Agg")


def test_figures_draw():
    curves = pd.DataFrame({"train_tokens": [0, 100, 0, 100], "train_ce": [9.0, 6.0, 9.0, 5.5],
                           "eval_ce": [10.0, 7.0, 10.0, 6.5], "student": ["sft", "sft", "topk", "topk"]})
    assert len(plots.training_curves(curves).axes) == 2
    rows = [{"model": m, "family": f, "correct": ok} for m in ("teacher", "sft") for f in ("factual", "sentiment")
            for ok in (True, False)]
    assert len(plots.accuracy(accuracy_table(rows), ["teacher", "sft"]).axes) == 2
    quality = pd.DataFrame({"student": ["sft", "sft-15m"], "kind": ["sft", "sft"], "params": [5e6, 1.5e7],
                            "heldout_ce": [6.0, 5.5]})
    assert len(plots.quality_vs_size(quality, curves).axes) == 2
    matplotlib.pyplot.close("all")
