"""The collect stage: another endpoint end to end, metrics names, bills, targets; the harvest's tables."""

from __future__ import annotations

from dataclasses import replace

import pytest

from casestudy.cost.prices import load_price_table
from casestudy.distiller.collect.dataset import read_records
from casestudy.distiller.collect.prompts import Prompt
from casestudy.profiles import notebook_defaults
from casestudy.stages.collect import StageParams, run_collection, stage_metrics
from tests.distiller.collect.fake_openai import FakeConfig, serve

SMOKE = StageParams.from_namespace(notebook_defaults("01_collect"))  # the notebook's parameters cell
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
    for key in ("records", "prompt_tokens", "completion_tokens", "wall_seconds", "device", "teacher_params",
                "tokens_per_second", "bill_usd"):
        assert key in metrics
    for key in ("records", "prompt_tokens", "completion_tokens", "wall_seconds"):
        assert key in metrics["control"]
    assert metrics["records"] == 12 and metrics["control"]["records"] == 0 and metrics["teacher_params"] == 123
    assert metrics["device"].startswith("external endpoint") and all(v > 0 for v in metrics["bill_usd"].values())
    assert {r["model"] for r in read_records(tmp_path / "collect" / "main")} == {"other-llm"}
    assert metrics["targets"] == [{"check": "main arm complete", "measured": "12 records", "met": True}]


def test_an_endpoint_without_a_model_name_is_refused():
    with pytest.raises(ValueError, match="model"):
        replace(SMOKE, base_url="http://127.0.0.1:9/v1")


def test_stage_params_have_no_defaults_of_their_own():
    """The notebook's parameters cell is the one source of the values."""
    with pytest.raises(TypeError):
        StageParams(seed=0)
    assert SMOKE.local and SMOKE.samples_per_prompt == 2 and SMOKE.request_timeout_s == 600.0
