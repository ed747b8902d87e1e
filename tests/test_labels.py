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
