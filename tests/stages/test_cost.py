import json
from dataclasses import replace

import matplotlib
import pytest

from casestudy.cost import plots
from casestudy.cost.compute import HardwareAssumptions
from casestudy.cost.headline import Architecture
from casestudy.cost.published import R1DataAssumptions
from casestudy.stages import collect, cost as stage, distill
from casestudy.stages.cost import (Params, analyse_run, api_bill_table, caveats, flops_table, load_run_inputs,
                                   percent_text, stage_metrics, usd_text)
from tests.cost.test_compute import HW
from tests.stages.fake_run import COLLECT, DISTILL, FAKE_TIMINGS, fake_collect, write_fake_run

matplotlib.use("Agg")
TEACHER = Architecture(30, 576, 2048)
# The notebook's parameters cell with tests.cost's hardware (gpt-4o costs what tests.cost's POINT does).
PARAMS = Params.defaults(**{k: v for k, v in HW.__dict__.items()})
PRICES = PARAMS.price_points()
POINT = PARAMS.price_point(PRICES)


def published():
    return stage.v3_table(PARAMS), stage.r1_bill(PARAMS, [POINT])


def test_params_build_what_the_cost_layer_takes():
    assert PARAMS.hardware() == HW and PARAMS.teacher_architecture() == TEACHER
    assert PARAMS.r1_data() == R1DataAssumptions(200, 4000, 500)
    assert POINT.name == "gpt-4o" and PARAMS.scaling_student_params == (135e6, 1e9, 7e9, 70e9)
    assert isinstance(Params.defaults().hardware(), HardwareAssumptions)


def test_a_misspelt_parameter_names_the_valid_ones():
    with pytest.raises(TypeError, match=r"no parameter \['gpu_hour_used'\]; valid: .*gpu_hour_usd"):
        Params.from_values({**PARAMS.values(), "gpu_hour_used": 3.0})
    with pytest.raises(TypeError, match="lack"):
        Params.from_namespace({"profile": "smoke"})


def test_a_relative_price_file_is_read_from_the_projects_root(tmp_path):
    assert replace(PARAMS, price_file="data/prices.toml").price_points() == PRICES
    with pytest.raises(FileNotFoundError, match="nowhere.toml"):
        replace(PARAMS, price_file="nowhere.toml")


@pytest.mark.parametrize("change, message", [
    (dict(gpu_utilisation=1.5), r"gpu_utilisation must be in \[0.0, 1.0\], not 1.5"),
    (dict(gpu_hour_usd=-1.0), "gpu_hour_usd must be in .*not -1.0"),
    (dict(teacher_train_tokens=0), "teacher_train_tokens must be > 0, not 0"),
    (dict(scaling_student_params=[]), "scaling_student_params must be one or more sizes"),
    (dict(headline_price="gpt-5o"), "headline_price must be one of .*'gpt-4o'.*not 'gpt-5o'"),
])
def test_a_bad_value_fails_before_any_work_naming_it(change, message):
    with pytest.raises(ValueError, match=message):
        replace(PARAMS, **change)


def test_fake_run_is_readable(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    assert inputs.complete and inputs.timings == FAKE_TIMINGS


def test_missing_stages_say_which_notebook_to_run(tmp_path):
    inputs = load_run_inputs(tmp_path)
    assert not inputs.complete
    assert "01_collect.ipynb" in inputs.message() and "02_distill.ipynb" in inputs.message()
    assert analyse_run(inputs, PARAMS, PRICES) is None
    metrics = stage_metrics(PARAMS, POINT, None, *published(), inputs.message())
    assert "01_collect" in metrics.missing and "This run" in metrics.headline


def test_the_earlier_stages_are_read_through_their_typed_contracts(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    assert isinstance(inputs.collect, collect.Metrics) and isinstance(inputs.distill, distill.Metrics)
    assert inputs.collect == COLLECT and inputs.distill == DISTILL


@pytest.mark.parametrize("stage_name", ["collect", "distill"])
def test_a_renamed_or_missing_key_fails_naming_the_stage(tmp_path, stage_name):
    run = write_fake_run(tmp_path)
    path = run / stage_name / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["completion_tokenz" if stage_name == "collect" else "studentz"] = metrics.pop(
        "completion_tokens" if stage_name == "collect" else "students")
    path.write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match=f"does not match the {stage_name} stage's contract") as error:
        load_run_inputs(run)
    missing, renamed = ("completion_tokens", "completion_tokenz") if stage_name == "collect" else ("students", "studentz")
    assert missing in str(error.value) and renamed in str(error.value)


def test_a_student_without_a_key_fails_naming_it(tmp_path):
    run = write_fake_run(tmp_path)
    path = run / "distill" / "metrics.json"
    metrics = json.loads(path.read_text())
    del metrics["students"][1]["train_tokens"]
    path.write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match=r"distill stage's contract(.|\n)*students\.1\.train_tokens"):
        load_run_inputs(run)


def test_api_bill_table_per_arm_and_price_point():
    table = api_bill_table(COLLECT, PRICES)
    assert set(table["arm"]) == {"main", "control"}
    assert len(table) == 2 * len(PRICES)
    no_control = fake_collect(control=COLLECT.control.model_copy(update=dict(records=0, prompt_tokens=0,
                                                                             completion_tokens=0)))
    assert set(api_bill_table(no_control, PRICES)["arm"]) == {"main"}


def test_flops_table_rows(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    cost = analyse_run(inputs, PARAMS, [POINT])
    table = flops_table(COLLECT, cost.students, TEACHER)
    assert table["what"].tolist()[:2] == ["generation, main arm", "generation, control arm"]
    trained = [s for s in DISTILL.students if s.steps]
    assert len(table) == 2 + len(trained) and "training, public" not in set(table["what"])  # the untrained start cost nothing


def test_analyse_run_and_stage_metrics(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    cost = analyse_run(inputs, PARAMS, PRICES)
    assert cost.teacher["params"] == COLLECT.teacher_params and cost.teacher["tokens"] == 2e12
    metrics = stage_metrics(PARAMS, POINT, cost, *published())
    headline = metrics.headline
    assert 3 <= len(headline) <= 5
    assert headline["Collection at gpt-4o (2025-01-15)"] == "$0.0084"
    assert headline["DeepSeek-V3, recomputed"] == "2,788K GPU-hours = $5.576M"
    assert headline["Skill copied"].startswith("topk: 88% of the provider's skill gain for $0.0084")
    assert headline["What the provider spent"].startswith("pre-training ~1,432 GPU-hours")
    assert metrics.best_student.student == "topk"  # the highest copied share, not the control
    assert metrics.deepseek_v3.model_dump() == {"gpu_hours_k": 2788.0, "usd_m": 5.576}
    assert [t.met for t in metrics.targets] == [True, True]
    text = caveats(cost, inputs)
    assert "100 held-out skill prompts" in text and "MFU 0.4" in text


def test_the_cost_metrics_round_trip_with_the_keys_they_had(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    metrics = stage_metrics(PARAMS, POINT, analyse_run(inputs, PARAMS, PRICES), *published())
    metrics.write(tmp_path / "cost")
    written = json.loads((tmp_path / "cost" / "metrics.json").read_text())
    assert {"price point", "as of", "usd"} <= set(written["api_bills"][0])  # the table's columns, as before
    assert written["teacher"]["params"] == COLLECT.teacher_params and written["price_point"]["name"] == "gpt-4o"
    same = lambda m: json.dumps(m.model_dump(), sort_keys=True, default=str)  # NaN (the total row's devices) != NaN
    assert same(stage.Metrics.read(tmp_path / "cost")) == same(metrics)



@pytest.mark.parametrize("damage", [
    lambda d: d["assumptions"].update(gpu_wattz=1.0),          # an unknown key in the hardware assumptions
    lambda d: d["price_point"].update(currency="USD"),          # and in the price point
    lambda d: d["assumptions"].pop("gpu_watts"),                # a missing one
    lambda d: d["price_point"].update(input_usd_per_1m="a lot"),  # a value of the wrong type
])
def test_the_assumptions_and_price_point_records_are_checked_as_strictly_as_the_rest(tmp_path, damage):
    """Both are the cost layer's dataclasses (HardwareAssumptions, PricePoint) inside the Record contract:
    read back as those dataclasses, and a key they do not declare is refused, not dropped."""
    metrics = stage_metrics(PARAMS, POINT, None, *published(), "not measured")
    metrics.write(tmp_path)
    back = stage.Metrics.read(tmp_path)
    assert back.assumptions == PARAMS.hardware() and back.price_point == POINT
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["assumptions"] == {k: float(v) for k, v in HW.__dict__.items()}
    damage(written)
    (tmp_path / "metrics.json").write_text(json.dumps(written))
    with pytest.raises(ValueError, match="does not match the cost stage's contract"):
        stage.Metrics.read(tmp_path)

def test_a_run_not_measured_is_a_missed_target(tmp_path):
    inputs = load_run_inputs(tmp_path)
    metrics = stage_metrics(PARAMS, POINT, None, *published(), inputs.message())
    assert metrics.targets[0].met is True
    assert metrics.targets[1].met is False and "01_collect.ipynb" in metrics.targets[1].measured
    metrics.write(tmp_path / "cost")
    assert stage.Metrics.read(tmp_path / "cost").missing == metrics.missing


def test_text_helpers():
    assert usd_text(5_576_000) == "$5.576M"
    assert usd_text(3579.4) == "$3,579"
    assert usd_text(12.345) == "$12.35"
    assert usd_text(0.0084) == "$0.0084"
    assert percent_text(0.75) == "75%"
    assert percent_text(0.031) == "3.1%"
    assert percent_text(6.8e-10) == "6.8e-08%"


def test_texts_and_tables_of_the_notebook(tmp_path):
    v3, r1 = stage.v3_table(PARAMS), stage.r1_bill(PARAMS, PRICES)
    assert stage.v3_text(v3).endswith("matches the report (2,788K GPU-hours, $5.576M): True")
    assert stage.r1_text(PARAMS, r1).startswith("samples 800,000, prompt 200, reasoning answer 4000")
    assert "at R1's own price" in stage.r1_against_v3_text(r1, v3)
    assert "training: USD at $1.5 per A100-hour     36.00" in stage.alpaca_text(PARAMS, PRICES)
    cost = analyse_run(load_run_inputs(write_fake_run(tmp_path)), PARAMS, PRICES)
    assert list(stage.api_bills_by_price(cost).columns) == ["main", "control"]
    assert stage.teacher_text(cost, PARAMS).startswith("Pre-training the teacher on 2T tokens:")
    assert stage.headline_text(cost).startswith("**topk** copied **88%**")


def test_figures_draw(tmp_path):
    inputs = load_run_inputs(write_fake_run(tmp_path))
    cost = analyse_run(inputs, PARAMS, [POINT])
    spent = stage.spending_table(cost)  # no competitor in the fake run: the provider's post-training alone
    assert list(spent.side) == ["provider", "distiller", "distiller", "distiller"]
    assert spent.label.iloc[0] == "provider: post-training only" and spent.share.iloc[0] == 1.0
    figure = plots.copied_vs_cost(spent, cost.provider["pretraining_usd"])
    labels = [t.get_text() for t in figure.axes[0].texts]
    assert figure.axes[0].get_yscale() == "log" and any(t.startswith("the public model's pre-training") for t in labels)
    assert {"provider", "sft", "topk", "control"} <= {t.split(":")[0] for t in labels}
    scaling = stage.scaling(cost, inputs, replace(PARAMS, scaling_max_samples=1e5))
    assert scaling.marks == {"Alpaca 52K": 52_000, "R1 800K": 800_000} and len(scaling.points) == 3
    fig = plots.scaling(scaling.grid, scaling.points, scaling.marks)
    assert len(fig.axes) == 2
    matplotlib.pyplot.close("all")


def test_the_published_spread_is_read_and_told(tmp_path):
    assert stage.published_spread("smoke", tmp_path) is None
    assert stage.spread_text("smoke", None) == "No spread has been published for the `smoke` profile yet."
    (tmp_path / "smoke").mkdir()
    (tmp_path / "smoke" / "spread.csv").write_text(
        "seed,device,best student,copied share,watermark p, main suspect\n"
        "0,cpu,sft,0.8,1e-05\n1,cpu,topk,0.7,0.001\n".replace("watermark p, main suspect", '"watermark p, main suspect"'))
    table = stage.published_spread("smoke", tmp_path)
    summary = stage.spread_summary(table)
    assert summary.loc["copied share", "min"] == 0.7 and summary.loc["watermark p, main suspect", "log10 range"] == "-5.0 to -3.0"
    assert stage.spread_text("smoke", table) == ("Over seeds 0, 1, run on cpu: copied share 70% to 80% (2 seeds); "
                                                 "watermark p, main suspect 1.0e-05 to 1.0e-03 (2 seeds).")
