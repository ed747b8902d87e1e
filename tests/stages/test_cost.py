import json

import matplotlib
import pytest

from casestudy.cost import plots
from casestudy.cost.headline import Architecture
from casestudy.cost.prices import load_price_table
from casestudy.cost.published import deepseek_v3_table, r1_distillation_bill, R1DataAssumptions
from casestudy.cost.scaling import measured_points, scaling_grid
from casestudy.stages.cost import (analyse_run, api_bill_table, caveats, flops_table, load_run_inputs, percent_text,
                                   stage_metrics, usd_text, validate_collect, validate_distill)
from tests.cost.test_compute import HW
from tests.cost.test_headline import POINT
from tests.stages.fake_run import FAKE_COLLECT, FAKE_DISTILL, FAKE_TIMINGS, write_fake_run

matplotlib.use("Agg")
TEACHER = Architecture(30, 576, 2048)


def published():
    return deepseek_v3_table(2.0), r1_distillation_bill(R1DataAssumptions(200, 4000, 500), [POINT])


def test_fake_run_is_readable(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    assert inputs.complete and inputs.timings == FAKE_TIMINGS


def test_missing_stages_say_which_notebook_to_run(tmp_path):
    inputs = load_run_inputs(tmp_path)
    assert not inputs.complete
    assert "01_collect.ipynb" in inputs.message() and "02_distill.ipynb" in inputs.message()
    assert analyse_run(inputs, HW, POINT, [POINT], TEACHER, 2e12) is None
    metrics, headline = stage_metrics(None, *published(), POINT, HW, inputs.message())
    assert "01_collect" in metrics["missing"] and "This run" in headline


def test_contract_violations_name_the_missing_key():
    with pytest.raises(KeyError, match="completion_tokens"):
        validate_collect({k: v for k, v in FAKE_COLLECT.items() if k != "completion_tokens"})
    students = [{k: v for k, v in FAKE_DISTILL["students"][0].items() if k != "params"}]
    with pytest.raises(KeyError, match=r"students\[0\].*params"):
        validate_distill({**FAKE_DISTILL, "students": students})


def test_api_bill_table_per_arm_and_price_point():
    table = api_bill_table(FAKE_COLLECT, load_price_table())
    assert set(table["arm"]) == {"main", "control"}
    assert len(table) == 2 * len(load_price_table())


def test_flops_table_rows(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    cost = analyse_run(inputs, HW, POINT, [POINT], TEACHER, 2e12)
    table = flops_table(FAKE_COLLECT, cost.students, TEACHER)
    assert table["what"].tolist()[:2] == ["generation, main arm", "generation, control arm"]
    trained = [s for s in FAKE_DISTILL["students"] if s["steps"]]
    assert len(table) == 2 + len(trained) and "training, public" not in set(table["what"])  # the untrained start cost nothing


def test_analyse_run_and_stage_metrics(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    cost = analyse_run(inputs, HW, POINT, load_price_table(), TEACHER, 2e12)
    assert cost.teacher["params"] == FAKE_COLLECT["teacher_params"] and cost.teacher["tokens"] == 2e12
    metrics, headline = stage_metrics(cost, *published(), POINT, HW)
    assert 3 <= len(headline) <= 5
    assert headline["Collection at p (2025-01-15)"] == "$0.0084"
    assert headline["DeepSeek-V3, recomputed"] == "2,788K GPU-hours = $5.576M"
    assert headline["Skill copied"].startswith("topk: 88% of the provider's skill gain for $0.0084")
    assert headline["What the provider spent"].startswith("pre-training ~1,432 GPU-hours")
    assert metrics["best_student"]["student"] == "topk"  # the highest copied share, not the control
    assert metrics["deepseek_v3"] == {"gpu_hours_k": 2788.0, "usd_m": 5.576}
    assert [t["met"] for t in metrics["targets"]] == [True, True]
    json.dumps(metrics, default=str)  # serialisable as write_metrics does it
    text = caveats(cost, inputs, POINT, HW)
    assert "100 held-out skill prompts" in text and "MFU 0.4" in text


def test_a_run_not_measured_is_a_missed_target(tmp_path):
    inputs = load_run_inputs(tmp_path)
    metrics, headline = stage_metrics(None, *published(), POINT, HW, inputs.message())
    assert metrics["targets"][0]["met"] is True
    assert metrics["targets"][1]["met"] is False and "01_collect.ipynb" in metrics["targets"][1]["measured"]


def test_text_helpers():
    assert usd_text(5_576_000) == "$5.576M"
    assert usd_text(3579.4) == "$3,579"
    assert usd_text(12.345) == "$12.35"
    assert usd_text(0.0084) == "$0.0084"
    assert percent_text(0.75) == "75%"
    assert percent_text(0.031) == "3.1%"
    assert percent_text(6.8e-10) == "6.8e-08%"


def test_figures_draw(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    cost = analyse_run(inputs, HW, POINT, [POINT], TEACHER, 2e12)
    assert len(plots.copied_vs_cost(cost.students, cost.provider).axes) == 1
    grid = scaling_grid([10, 1e3, 1e5], [1e6, 1e9], 50, 40, 2.0, POINT, HW)
    fig = plots.scaling(grid, measured_points(cost.students, 16), {"R1 800K": 8e5})
    assert len(fig.axes) == 2
    matplotlib.pyplot.close("all")
