import math

import pytest

from casestudy.cost.headline import (Architecture, best_student, collection_arm, collection_flops, estimate_training,
                                     student_cost_table)
from casestudy.cost.prices import PricePoint
from tests.cost.test_compute import HW
from tests.stages.fake_run import FAKE_COLLECT, FAKE_DISTILL

POINT = PricePoint("p", "flagship", 2.5, 10.0, "2025-01-15", "s")
TEACHER = Architecture(30, 576, 2048)


def test_estimate_training_gpu_hours_usd_kwh():
    est = estimate_training(1e9, 1e10, Architecture(), HW)
    assert est["flops"] == 6e19
    assert est["gpu_hours"] == pytest.approx(6e19 / (989e12 * 0.4) / 3600)
    assert est["usd"] == pytest.approx(est["gpu_hours"] * 2.0)
    assert est["kwh"] == pytest.approx(est["gpu_hours"] * 0.7)


def test_collection_arm_by_kind():
    assert collection_arm(FAKE_COLLECT, "sft") is FAKE_COLLECT
    assert collection_arm(FAKE_COLLECT, "control") is FAKE_COLLECT["control"]
    assert collection_arm(FAKE_COLLECT, "baseline") is None
    no_control = {k: v for k, v in FAKE_COLLECT.items() if k != "control"}
    assert collection_arm(no_control, "control") is no_control


def test_collection_flops_counts_prompt_and_completion_tokens():
    assert collection_flops(FAKE_COLLECT, 1000, Architecture()) == 2 * 1000 * 1440
    mean_context = 1440 / 16 / 2
    assert collection_flops(FAKE_COLLECT, 1000, Architecture(2, 8, 0)) == 1440 * (2000 + 2 * 2 * mean_context * 8)


def test_student_cost_table_fractions():
    teacher = estimate_training(FAKE_COLLECT["teacher_params"], 2e12, TEACHER, HW)
    table = student_cost_table(FAKE_COLLECT, FAKE_DISTILL, TEACHER, HW, POINT, teacher).set_index("student")
    assert table.loc["sft-4M", "quality_fraction"] == pytest.approx(0.5 / 0.8)
    sft = table.loc["sft-4M"]
    assert sft["training_flops"] == 6 * 4e6 * 40_000
    assert sft["compute_fraction"] == pytest.approx((sft["collection_flops"] + sft["training_flops"]) / teacher["flops"])
    assert sft["api_usd"] == pytest.approx((800 * 2.5 + 640 * 10) / 1e6)
    assert sft["usd_fraction"] == pytest.approx((sft["api_usd"] + sft["training_usd"]) / teacher["usd"])
    assert sft["measured_training_usd"] == pytest.approx(25 * 2 / 3600 * 0.04)
    # the student's own architecture adds the attention term; the control arm is billed for its own tokens
    assert table.loc["topk-4M", "training_flops"] == 40_000 * (6 * 4e6 + 6 * 4 * 128 * 256)
    assert table.loc["control-4M", "api_usd"] == pytest.approx((800 * 2.5 + 600 * 10) / 1e6)
    assert table.loc["baseline", "compute_fraction"] == 0 and table.loc["baseline", "api_usd"] == 0


def test_zero_teacher_accuracy_gives_nan_quality():
    distill = {**FAKE_DISTILL, "teacher_accuracy": 0.0}
    teacher = estimate_training(1e8, 1e12, Architecture(), HW)
    table = student_cost_table(FAKE_COLLECT, distill, Architecture(), HW, POINT, teacher)
    assert table["quality_fraction"].isna().all()
    assert best_student(table) is None


def test_best_student_skips_baselines():
    teacher = estimate_training(1e8, 1e12, Architecture(), HW)
    table = student_cost_table(FAKE_COLLECT, FAKE_DISTILL, Architecture(), HW, POINT, teacher)
    assert best_student(table)["student"] == "topk-4M"
    assert not math.isnan(best_student(table)["usd_fraction"])
