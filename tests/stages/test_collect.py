"""The collect stage: its parameters and metrics.json contract, another endpoint end to end, bills, targets."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from casestudy.cost.prices import load_price_table
from casestudy.distiller.collect.dataset import read_records
from casestudy.distiller.collect.prompts import Prompt
from casestudy.profiles import notebook_defaults
from casestudy.scenario import frozen
from casestudy.stages import collect as stage
from casestudy.stages.collect import Metrics, Params, run_collection, stage_metrics
from tests.cost.test_headline import POINT
from tests.distiller.collect.fake_openai import FakeConfig, serve
from tests.stages.fake_run import COLLECT

SMOKE = Params.from_namespace(notebook_defaults("01_collect"))  # the notebook's parameters cell
PROMPTS = [Prompt(f"q{i}", ("chat", "factual")[i % 2], "train", ({"role": "user", "content": f"Question {i}?"},),
                  ("Paris",) if i % 2 else None) for i in range(6)]


def test_another_endpoint_end_to_end_with_the_metrics_later_notebooks_read(tmp_path, monkeypatch):
    monkeypatch.setenv("OTHER_ENDPOINT_KEY", "sk-other")
    config = FakeConfig(api_key="sk-other", model="other-llm")
    with serve(config) as base_url:
        params = replace(SMOKE, base_url=base_url, model="other-llm", api_key_env="OTHER_ENDPOINT_KEY",
                         samples_per_prompt=2, max_tokens=16, top_logprobs=3, traffic_accounts=2)
        result = run_collection(params, PROMPTS, tmp_path / "collect", progress=False)
        again = run_collection(params, PROMPTS, tmp_path / "collect", progress=False)
    assert result.arms["main"].summary.collected == 12 and again.arms["main"].summary is None  # reused
    assert "control" not in result.arms and len(config.requests) == 12  # no control, no simulated traffic
    metrics = stage_metrics(result, params, 123, load_price_table(), started=0.0)
    assert metrics.records == 12 and metrics.control.records == 0 and metrics.teacher_params == 123
    assert metrics.device.startswith("external endpoint") and all(v > 0 for v in metrics.bill_usd.values())
    assert list(metrics.arms()) == ["main"] and metrics.arm("main") == metrics.main
    assert {r["model"] for r in read_records(tmp_path / "collect" / "main")} == {"other-llm"}
    assert [t.as_dict() for t in metrics.targets] == [{"check": "main arm complete", "measured": "12 records",
                                                        "met": True}]
    assert metrics.headline["records"] == "12 (+0 control)" and metrics.parameters["base_url"] == base_url
    metrics.write(tmp_path / "collect")
    assert Metrics.read(tmp_path / "collect") == metrics


def test_an_endpoint_without_a_model_name_is_refused():
    with pytest.raises(ValueError, match="model"):
        replace(SMOKE, base_url="http://127.0.0.1:9/v1")


def test_params_have_no_defaults_of_their_own():
    """The notebook's parameters cell is the one source of the values."""
    with pytest.raises(TypeError):
        Params(seed=0)
    assert SMOKE.local and SMOKE.samples_per_prompt == 2 and SMOKE.request_timeout_s == 600.0
    assert SMOKE == Params.defaults() and SMOKE.profile == "smoke" and SMOKE.num_prompts == 16


def test_a_misspelt_parameter_names_the_valid_ones():
    with pytest.raises(TypeError, match=r"01_collect has no parameter \['max_tokns'\]; valid: .*max_tokens"):
        Params.from_values({**SMOKE.values(), "max_tokns": 5})
    with pytest.raises(TypeError, match=r"lack \['num_prompts'\]"):
        Params.from_namespace({k: v for k, v in SMOKE.values().items() if k != "num_prompts"})


@pytest.mark.parametrize("change, message", [
    (dict(top_logprobs=21), r"top_logprobs must be in \[0, 20\], not 21"),
    (dict(temperature=-0.5), r"temperature must be in \[0.0, 2.0\], not -0.5"),
    (dict(max_tokens=0), "max_tokens must be in .*not 0"),
    (dict(concurrency=0), "concurrency must be in .*not 0"),
    (dict(control_prompts=-1), "control_prompts must be in .*not -1"),
    (dict(device="gpu"), r"device must be one of \('auto', 'cpu', 'cuda'\), not 'gpu'"),
    (dict(num_prompts=0, skill_prompts=0), "nothing to ask"),
    (dict(request_timeout_s=0.0), "request_timeout_s must be > 0"),
    (dict(source="frozn"), "source must be"),
])
def test_a_bad_value_fails_before_any_work_naming_it(change, message):
    with pytest.raises(ValueError, match=message):
        replace(SMOKE, **change)


def test_the_metrics_keep_the_keys_notebooks_03_04_and_the_frozen_archive_read(tmp_path):
    COLLECT.write(tmp_path)
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert {"records", "prompt_tokens", "completion_tokens", "wall_seconds", "tokens_per_second", "device",
            "teacher_params", "bill_usd", "control", "post_training", "source", "traffic", "parameters",
            "targets", "headline"} <= set(written)
    assert written["control"]["records"] == 16 and written["source"] == {"kind": "live"}
    assert Metrics.read(tmp_path) == COLLECT


def test_the_shipped_frozen_collection_satisfies_the_contract():
    shipped = Metrics.model_validate(frozen.read_json_member(frozen.archive_path("workshop"), "metrics.json"))
    assert shipped.records > 0 and shipped.control.records > 0 and shipped.post_training.optimizer_steps > 0


@pytest.mark.parametrize("edit, named", [
    (lambda m: m.update(completion_tokenz=m.pop("completion_tokens")), ("completion_tokens", "completion_tokenz")),
    (lambda m: m["control"].pop("records"), ("control.records",)),
    (lambda m: m.update(source={"kind": "thawed"}), ("source",)),
])
def test_a_renamed_or_missing_key_fails_naming_the_stage(tmp_path, edit, named):
    COLLECT.write(tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    edit(metrics)
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match="does not match the collect stage's contract") as error:
        Metrics.read(tmp_path)
    assert all(name in str(error.value) for name in named)
    with pytest.raises(FileNotFoundError, match="stage 'collect'"):
        Metrics.read(tmp_path / "nowhere")


def test_the_notebooks_prompts_and_tables():
    pool, prompts = stage.choose_prompts(SMOKE)
    mix, checks = prompts[:SMOKE.num_prompts + SMOKE.skill_prompts], prompts[SMOKE.num_prompts + SMOKE.skill_prompts:]
    assert sum(p.family == stage.SKILL_FAMILY for p in mix) == SMOKE.skill_prompts
    for family in ("sentiment", "factual"):  # the held-out checks top each ordinary gold family up to gold_checks
        assert sum(p.family == family and p.split == "eval" for p in prompts) >= SMOKE.gold_checks
    assert all(p.split == "eval" and p.family in ("sentiment", "factual") for p in checks)
    assert len({p.id for p in prompts}) == len(prompts)
    table = stage.prompts_table(prompts)
    assert table.loc["total", "total"] == len(prompts)
    assert stage.prompts_text(pool, prompts).startswith(f"**{len(prompts)}** of the {len(pool)} prompts")
    assert list(stage.arms_table(COLLECT).columns) == ["main", "control"]
    bills = stage.bill_table(COLLECT, [POINT])  # the fake's bills are at tests.cost's price point
    assert bills.to_dict("records") == [{"price point": "p (2025-01-15)", "tier": "flagship", "main": 0.0084,
                                         "control": 0.0084}]
    assert stage.ledger_view(replace(SMOKE, base_url="http://x/v1", model="m"), "/nowhere") is None


def test_counts_the_pool_or_the_run_cannot_fill_are_said():
    """The workshop asks 128 held-out prompts per gold family; the pool holds 122 factual ones."""
    pool, prompts = stage.choose_prompts(SMOKE)
    workshop = replace(SMOKE, gold_checks=128, control_prompts=len(prompts) + 5)
    factual, sentiment = stage.gold_check_sizes(workshop, pool)
    assert (factual.what, factual.used, factual.reduced) == ("held-out factual prompts", 122, True)
    assert (sentiment.used, sentiment.reduced) == (128, False)
    control = stage.control_size(workshop, prompts)
    assert control.used == len(prompts) and stage.control_prompts(workshop, prompts) == prompts
    text = stage.sizes_text(workshop, pool, prompts)
    assert text.startswith("**122 held-out factual prompts**, not the 128 of `gold_checks`: the prompt pool holds "
                           "only 122.") and f"not the {len(prompts) + 5} of `control_prompts`" in text
    assert "control_prompts" not in stage.sizes_text(replace(workshop, base_url="http://x/v1", model="m"), pool, prompts)
    assert stage.control_prompts(SMOKE, prompts) == prompts[:SMOKE.control_prompts]


def test_the_product_check_says_the_items_each_family_holds():
    rows = [{"model": m, "system": "deployment prompt", "family": f, "n": n}
            for m in ("public", "teacher") for f, n in (("identity", 51), ("skill", 200))]
    sizes = stage.check_sizes(replace(SMOKE, check_items=200), pd.DataFrame(rows))
    assert [(s.what, s.used, s.reduced) for s in sizes] == [("identity questions in the check", 51, True),
                                                           ("reviewed translations in the check", 200, False)]
    assert stage.check_text(replace(SMOKE, check_items=200), pd.DataFrame(rows)).startswith(
        "**51 identity questions in the check**, not the 200 of `check_items`: the provider's identity check set "
        "holds only 51.")
