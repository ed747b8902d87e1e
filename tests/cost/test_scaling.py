import numpy as np
import pytest

from casestudy.cost.headline import Architecture, estimate_training, student_cost_table
from casestudy.cost.scaling import distillation_cost, log_range, measured_points, scaling_grid, tokens_per_sample
from tests.cost.test_compute import HW
from tests.stages.fake_run import FAKE_COLLECT, FAKE_DISTILL
from tests.cost.test_headline import POINT


def test_tokens_per_sample():
    assert tokens_per_sample(FAKE_COLLECT) == (50.0, 40.0)
    with pytest.raises(ValueError, match="records"):
        tokens_per_sample({**FAKE_COLLECT, "records": 0})


def test_distillation_cost_is_api_bill_plus_training():
    cost = distillation_cost(1000, 1e9, 50, 40, 2.0, POINT, HW)
    assert cost["api_usd"] == pytest.approx((50_000 * 2.5 + 40_000 * 10) / 1e6)
    train = estimate_training(1e9, 1000 * 90 * 2.0, Architecture(), HW)["usd"]
    assert cost["training_usd"] == pytest.approx(train)
    assert cost["total_usd"] == pytest.approx(cost["api_usd"] + train)


def test_scaling_grid_is_monotone_in_samples_and_size():
    grid = scaling_grid([10, 100, 1000], [1e6, 1e9], 50, 40, 1.0, POINT, HW)
    assert len(grid) == 6
    for _, per_size in grid.groupby("student_params"):
        assert per_size["total_usd"].is_monotonic_increasing
    by_size = grid[grid["samples"] == 1000].set_index("student_params")["training_usd"]
    assert by_size[1e9] == pytest.approx(by_size[1e6] * 1000)


def test_log_range():
    values = log_range(100, 1e6, per_decade=2)
    assert values[0] == pytest.approx(100) and values[-1] == pytest.approx(1e6) and len(values) == 9
    assert np.all(np.diff(np.log10(values)) > 0)
    with pytest.raises(ValueError):
        log_range(10, 1)


def test_measured_points_leave_out_baselines():
    teacher = estimate_training(1e8, 1e12, Architecture(), HW)
    students = student_cost_table(FAKE_COLLECT, FAKE_DISTILL, Architecture(), HW, POINT, teacher)
    points = measured_points(students, 16)
    assert "baseline" not in set(points["student"]) and (points["samples"] == 16).all()
    sft = points.set_index("student").loc["sft"]
    assert sft["measured_usd"] == pytest.approx(sft["measured_training_usd"] + (800 * 2.5 + 640 * 10) / 1e6)
