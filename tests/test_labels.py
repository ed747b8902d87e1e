"""Labels of points close together on the page are shared, not printed over each other."""

from casestudy.labels import shared_labels


def test_close_points_share_a_label_in_the_order_given():
    points = [(1.0, 0.0, "b"), (1.0, 0.02, "a"), (1.0, 0.9, "c"), (100.0, 0.0, "d")]
    assert shared_labels(points, 0.0, 0.04) == [(1.0, 0.02, "b, a"), (1.0, 0.9, "c"), (100.0, 0.0, "d")]


def test_closeness_is_in_decades_on_a_log_axis():
    points = [(0.5, 600.0, "provider"), (0.5, 460.0, "competitor"), (0.5, 0.6, "sft"), (0.52, 0.65, "topk")]
    assert shared_labels(points, 0.05, 0.15, log_y=True) == [(0.5, 0.65, "sft, topk"),
                                                             (0.5, 600.0, "provider, competitor")]
    assert len(shared_labels(points, 0.05, 0.01, log_y=True)) == 4


def test_a_point_joins_any_near_group_not_only_the_last():
    """A high point at the same x must not split the low points on either side of it."""
    points = [(1.0, 0.0, "a"), (1.0, 0.9, "b"), (1.5, 0.0, "c"), (1.5, 0.9, "d")]
    assert shared_labels(points, 0.6, 0.05) == [(1.0, 0.0, "a, c"), (1.0, 0.9, "b, d")]


def test_labels_close_on_the_page_are_moved_apart():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from casestudy.labels import overlapping, unclutter

    fig, ax = plt.subplots()
    notes = [ax.annotate(name, (0.5, 0.5), xytext=(4, 0), textcoords="offset points")
             for name in ("a long one", "another")]
    assert overlapping(fig, notes) == [("a long one", "another")]
    unclutter(fig, notes)
    assert overlapping(fig, notes) == [] and notes[1].xyann[1] > notes[0].xyann[1]
    plt.close("all")


def test_no_label_of_the_cost_or_skill_figure_prints_over_another(tmp_path):
    """The fake run's students lie where a label to the right of one meets a label to the left of the next."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from casestudy.cost import plots as cost_plots
    from casestudy.distiller.students import plots as student_plots
    from casestudy.labels import overlapping
    from casestudy.stages import cost
    from tests.stages.fake_run import write_fake_run
    from tests.stages.test_cost import PARAMS, POINT

    run_cost = cost.analyse_run(cost.load_run_inputs(write_fake_run(tmp_path)), PARAMS, [POINT])
    figure = cost_plots.copied_vs_cost(cost.spending_table(run_cost), run_cost.provider["pretraining_usd"])
    assert overlapping(figure, [t for t in figure.axes[0].texts if ": $" in t.get_text()]) == []
    sizes = [("public", 1.35e8, 0.02), ("sft", 1.35e8, 0.89), ("topk@0.5", 6.5e7, 0.9), ("public@0.5", 6.5e7, 0.0),
             ("topk@0.75", 1e8, 0.9), ("control@0.75", 1e8, 0.01), ("scratch-30m", 3e7, 0.0)]
    table = pd.DataFrame([{"model": m, "params": p, "trained": not m.startswith("public"), "accuracy": a,
                           "ci_low": a, "ci_high": a} for m, p, a in sizes])
    figure = student_plots.skill(table)
    assert overlapping(figure, figure.axes[1].texts) == []
    matplotlib.pyplot.close("all")
