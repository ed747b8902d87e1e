"""Notebook 02's figures draw from tables shaped like the stage's."""

import matplotlib
import pandas as pd
from matplotlib.colors import to_hex

from casestudy import palette
from casestudy.distiller.students import plots

matplotlib.use("Agg")


def test_figures_draw():
    curves = pd.DataFrame({"train_tokens": [0, 100, 0, 100], "train_ce": [9.0, 6.0, 9.0, 5.5],
                           "eval_ce": [10.0, 7.0, 10.0, 6.5], "student": ["sft", "sft", "topk", "topk"]})
    assert len(plots.training_curves(curves).axes) == 2
    skill = pd.DataFrame({"model": ["teacher", "public", "sft", "public@0.5", "topk@0.5"],
                          "params": [float("nan"), 1.3e8, 1.3e8, 6.5e7, 6.5e7], "trained": [False, False, True, False, True],
                          "accuracy": [0.9, 0.05, 0.8, 0.0, 0.4], "ci_low": [0.8, 0.01, 0.7, 0.0, 0.3],
                          "ci_high": [0.95, 0.12, 0.88, 0.05, 0.5]})
    assert len(plots.skill(skill).axes) == 2
    assert len(plots.skill(skill[skill.model == "teacher"]).axes) == 2  # no sized model: the right panel stays empty
    ordinary = pd.DataFrame({"model": ["public", "teacher"] * 2, "family": ["factual"] * 2 + ["sentiment"] * 2,
                             "n": [122, 122, 128, 128], "accuracy": [0.6, 0.59, 0.8, 0.7], "ci_low": [0.5] * 4,
                             "ci_high": [0.9] * 4})
    figure = plots.ordinary(ordinary)
    assert [ax.get_title() for ax in figure.axes] == ["factual: 122 held-out prompts", "sentiment: 128 held-out prompts"]
    assert plots.ordinary(ordinary.iloc[:0]) is None
    matplotlib.pyplot.close("all")


def test_models_at_one_spot_share_a_label():
    points = pd.DataFrame({"model": ["public@0.5", "control@0.5", "topk@0.5", "sft", "topk", "public"],
                           "params": [6.5e7, 6.5e7, 6.5e7, 1.3e8, 1.3e8, 1.3e8],
                           "accuracy": [0.0, 0.006, 0.9, 0.887, 0.894, 0.025]})
    assert plots.point_labels(points) == [(6.5e7, 0.006, "public@0.5, control@0.5"), (6.5e7, 0.9, "topk@0.5"),
                                          (1.3e8, 0.025, "public"), (1.3e8, 0.894, "sft, topk")]


def test_every_panel_colours_a_student_by_the_palette():
    """The left panel has no line for the untrained public model: its colours must not shift for it."""
    curves = pd.DataFrame({"train_tokens": [0, 0, 100, 0, 100, 100, 100, 100],
                           "train_ce": [None, None, 6.0, None, 5.5, None, None, None],
                           "eval_ce": [9.0, 10.0, None, 10.0, None, 7.0, 6.5, 8.0],
                           "student": ["public", "sft", "sft", "scratch-5m", "scratch-5m", "sft", "scratch-5m",
                                       "control"]})
    figure = plots.training_curves(curves)
    left, right = figure.axes
    assert [to_hex(line.get_color()) for line in left.get_lines()] == [palette.color("sft"), palette.color("scratch-5m")]
    assert [t.get_text() for t in right.get_yticklabels()] == ["public", "sft", "control", "scratch-5m"]
    assert [to_hex(c) for c in right.collections[0].get_facecolors()] == [
        palette.color(n) for n in ("public", "sft", "control", "scratch-5m")]
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["public", "sft", "control", "scratch-5m"]
    skill = pd.DataFrame({"model": ["topk", "teacher", "public"], "params": [1.3e8, float("nan"), 1.3e8],
                          "trained": [True, False, False], "accuracy": [0.8, 0.9, 0.0], "ci_low": [0.7, 0.8, 0.0],
                          "ci_high": [0.9, 0.95, 0.05]})
    figure = plots.skill(skill)
    assert [to_hex(c) for c in figure.axes[0].collections[1].get_facecolors()] == [
        palette.color(n) for n in ("public", "topk", "teacher")]  # sorted by accuracy
    matplotlib.pyplot.close("all")
