import math

import pytest

from casestudy.cost.headline import (Architecture, best_student, collection_arm, collection_flops, estimate_training,
                                     fine_tune_flops, provider_cost, student_cost_table)
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


def test_collection_arm_by_name():
    assert collection_arm(FAKE_COLLECT, "main") is FAKE_COLLECT
    assert collection_arm(FAKE_COLLECT, "control") is FAKE_COLLECT["control"]
    assert collection_arm(FAKE_COLLECT, None) is None
    no_control = {k: v for k, v in FAKE_COLLECT.items() if k != "control"}
    assert collection_arm(no_control, "control") is no_control


def test_collection_flops_counts_prompt_and_completion_tokens_over_the_full_context():
    assert collection_flops(FAKE_COLLECT, 1000, Architecture()) == 2 * 1000 * 1440
    context = 1440 / 16  # a record's full length: Kaplan's 2·L·n_ctx·d already averages over positions
    assert collection_flops(FAKE_COLLECT, 1000, Architecture(2, 8, 0)) == 1440 * (2000 + 2 * 2 * context * 8)


def test_fine_tune_flops_runs_backward_through_the_trained_part_only():
    assert fine_tune_flops(10, 10, 1, Architecture()) == 6 * 10  # everything trains: 6·N
    assert fine_tune_flops(10, 4, 1, Architecture()) == 2 * 10 + 4 * 4
    assert fine_tune_flops(10, 10, 1, Architecture(2, 8, 16)) == 6 * 10 + 3 * 2 * 2 * 16 * 8


def test_student_cost_table_copied_share_and_spend():
    teacher = estimate_training(FAKE_COLLECT["teacher_params"], 2e12, TEACHER, HW)
    table = student_cost_table(FAKE_COLLECT, FAKE_DISTILL, TEACHER, HW, POINT, teacher).set_index("student")
    assert "public" not in table.index  # an untrained start cost nothing
    sft = table.loc["sft"]
    assert sft["copied_share"] == 0.625 and sft["skill_accuracy"] == 0.6
    assert sft["training_flops"] == 40_000 * (2 * 4e6 + 4 * 1e6)
    assert sft["compute_fraction"] == pytest.approx((sft["collection_flops"] + sft["training_flops"]) / teacher["flops"])
    assert sft["api_usd"] == pytest.approx((800 * 2.5 + 640 * 10) / 1e6)
    assert sft["distiller_usd"] == pytest.approx(sft["api_usd"] + sft["training_usd"])
    assert sft["measured_training_usd"] == pytest.approx(25 * 2 / 3600 * 0.04)
    # the student's own architecture adds the attention term; the control arm is billed for its own tokens
    assert table.loc["topk", "training_flops"] == 40_000 * (6 * 4e6 + 3 * 2 * 4 * 128 * 256)
    assert table.loc["control", "api_usd"] == pytest.approx((800 * 2.5 + 600 * 10) / 1e6)


def test_provider_cost_prices_its_measured_post_training():
    teacher = estimate_training(FAKE_COLLECT["teacher_params"], 2e12, TEACHER, HW)
    spend = provider_cost(FAKE_COLLECT, teacher, HW)
    assert spend["post_training_device_hours"] == pytest.approx(600 * 2 / 3600)
    assert spend["post_training_usd"] == pytest.approx(600 * 2 / 3600 * 0.04)
    assert spend["pretraining_usd"] == teacher["usd"]
    assert provider_cost({}, teacher, HW)["post_training_usd"] == 0


def test_best_student_is_the_one_that_copied_most_from_the_provider():
    teacher = estimate_training(1e8, 1e12, Architecture(), HW)
    table = student_cost_table(FAKE_COLLECT, FAKE_DISTILL, Architecture(), HW, POINT, teacher)
    assert best_student(table)["student"] == "topk"
    assert best_student(table[table.arm == "control"]) is None
    assert not math.isnan(best_student(table)["distiller_usd"])
