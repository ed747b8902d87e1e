"""The collector against a fake OpenAI-compatible server: records, logprobs, retries, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
from transformers import AutoTokenizer

from casestudy.distiller.collect.collector import CollectError, collect
from casestudy.distiller.collect.logprobs import LogprobsWarning
from casestudy.distiller.collect.manifest import read_manifest
from casestudy.distiller.collect.settings import CollectSettings
from casestudy.distiller.collect.retry import RetryPolicy
from casestudy.distiller.collect.dataset import RECORD_FIELDS, has_topk, read_records, read_topk, topk_count
from casestudy.distiller.collect.prompts import Prompt, write_prompts
from casestudy.models import embedded_model_dir
from tests.distiller.collect.fake_openai import FakeConfig, serve

KEY_ENV = "FAKE_OPENAI_KEY_FOR_TESTS"


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(embedded_model_dir())


@pytest.fixture
def prompts() -> list[Prompt]:
    return [
        Prompt(f"p{i:02d}", "chat" if i % 2 else "sentiment", "train" if i % 5 else "eval",
               ({"role": "user", "content": f"Tell me something nice, number {i}."},),
               None if i % 2 else ("positive",))
        for i in range(10)
    ]


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-fake")
    return KEY_ENV


def settings_for(base_url: str, **overrides) -> CollectSettings:
    values = dict(base_url=base_url, model="fake-model", api_key_env=KEY_ENV, max_tokens=16, temperature=0.7, seed=0,
                  top_logprobs=5, samples_per_prompt=2, concurrency=4, timeout_s=5,
                  retry=RetryPolicy(base_s=0.05, max_backoff_s=0.2))
    return CollectSettings(**{**values, **overrides})


def test_collects_every_record_with_ids_mapped_by_the_teacher_tokenizer(tmp_path, prompts, key, tokenizer):
    config = FakeConfig()
    with serve(config) as base_url:
        summary = collect(prompts, tmp_path / "main", settings_for(base_url), tokenizer=tokenizer, progress=False)
    assert summary.complete and summary.collected == 20
    records = read_records(tmp_path / "main")
    assert [r["id"] for r in records] == [f"p{i:02d}:{s}" for i in range(10) for s in range(2)]
    assert all(set(RECORD_FIELDS) <= set(r) for r in records)
    assert records[0]["gold"] == ["positive"] and records[1]["base_url"] == base_url
    topk = read_topk(tmp_path / "main")
    assert set(topk) == {r["id"] for r in records}
    for r in records:
        t = topk[r["id"]]
        assert t.token_ids.dtype == np.int32 and t.top_logprobs.dtype == np.float32
        assert t.top_ids.shape == (r["completion_tokens"], 5)
        assert tokenizer.decode(t.token_ids.tolist()).strip() == r["completion"]
        assert (t.top_ids[:, 0] == t.token_ids).all()
    assert all(req["body"]["top_logprobs"] == 5 and req["body"]["logprobs"] for req in config.requests)
    manifest = json.loads((tmp_path / "main" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["counts"]["records"] == 20
    full = {"asked": 5, "records": 20, "records_with_logprobs": 20, "top_returned": 5}
    assert manifest["logprobs"] == full and manifest["runs"][-1]["logprobs"] == full
    assert manifest["runs"][-1]["collected"] == 20  # counted without the (disabled) progress bar
    assert summary.with_logprobs == 20 and not summary.logprobs_missing and has_topk(tmp_path / "main")


def test_an_endpoint_that_ignores_logprobs_is_named_and_the_manifest_says_so(tmp_path, prompts, key):
    with serve(FakeConfig(ignore_logprobs=True)) as base_url:
        with pytest.warns(LogprobsWarning, match=rf"{base_url} returned no logprobs: 0 of 20 records"):
            summary = collect(prompts, tmp_path / "a", settings_for(base_url), progress=False)
    assert summary.complete and summary.with_logprobs == 0 and summary.logprobs_missing
    manifest = read_manifest(tmp_path / "a")
    assert manifest["generation"]["top_logprobs"] == 5  # what was asked ...
    none = {"asked": 5, "records": 20, "records_with_logprobs": 0, "top_returned": 0}
    assert manifest["logprobs"] == none and manifest["runs"][-1]["logprobs"] == none  # ... and what came back
    assert read_topk(tmp_path / "a") == {} and not has_topk(tmp_path / "a") and topk_count(tmp_path / "a") == 0


def test_a_resumed_collection_counts_the_logprobs_of_every_run(tmp_path, prompts, key):
    config = FakeConfig(script=[("500",)] * 3, ignore_logprobs=True)
    settings = lambda base_url: settings_for(base_url, concurrency=1, samples_per_prompt=1,
                                             retry=RetryPolicy(max_retries=2, base_s=0.01))
    with serve(config) as base_url:
        with pytest.warns(LogprobsWarning, match="0 of 2 records"):
            first = collect(prompts[:3], tmp_path / "a", settings(base_url), progress=False)
        config.ignore_logprobs = False  # the endpoint mended: the missing record comes with its logprobs
        second = collect(prompts[:3], tmp_path / "a", settings(base_url), progress=False)
        third = collect(prompts[:3], tmp_path / "a", settings(base_url), progress=False)  # nothing left to ask
    assert list(first.failed) == ["p00:0"] and second.complete and (second.collected, third.collected) == (1, 0)
    manifest = read_manifest(tmp_path / "a")
    assert [r["logprobs"]["records_with_logprobs"] for r in manifest["runs"]] == [0, 1, 0]
    assert [r["collected"] for r in manifest["runs"]] == [2, 1, 0]
    assert manifest["logprobs"] == {"asked": 5, "records": 3, "records_with_logprobs": 1, "top_returned": 5}
    assert topk_count(tmp_path / "a") == 1 and set(read_topk(tmp_path / "a")) == {"p00:0"}


def test_a_second_run_asks_for_nothing(tmp_path, prompts, key):
    config = FakeConfig()
    with serve(config) as base_url:
        collect(prompts, tmp_path / "a", settings_for(base_url), progress=False)
        sent = len(config.requests)
        summary = collect(prompts, tmp_path / "a", settings_for(base_url), progress=False)
    assert len(config.requests) == sent and summary.already_done == 20 and summary.collected == 0


def test_retries_429_with_retry_after_500_and_timeouts(tmp_path, prompts, key):
    config = FakeConfig(script=[("429", 0.3), ("500",), ("sleep", 3.0)])
    with serve(config) as base_url:
        start = time.perf_counter()
        summary = collect(prompts[:2], tmp_path / "a", settings_for(base_url, concurrency=1, timeout_s=1.0,
                                                                     samples_per_prompt=1), progress=False)
    assert summary.complete
    assert summary.retries == {"429": 1, "500": 1, "timeout": 1}
    assert time.perf_counter() - start >= 0.3 + 1.0  # waited out Retry-After and the timeout
    assert len(read_records(tmp_path / "a")) == 2


def test_gives_up_after_max_retries_and_keeps_the_rest(tmp_path, prompts, key):
    config = FakeConfig(script=[("500",)] * 3)
    with serve(config) as base_url:
        summary = collect(prompts[:3], tmp_path / "a", settings_for(base_url, concurrency=1, samples_per_prompt=1,
                                                                     retry=RetryPolicy(max_retries=2, base_s=0.01)),
                          progress=False)
    assert list(summary.failed) == ["p00:0"] and not summary.complete
    assert [r["id"] for r in read_records(tmp_path / "a")] == ["p01:0", "p02:0"]


def test_a_rejected_key_is_a_clear_error(tmp_path, prompts, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    with serve(FakeConfig()) as base_url:
        with pytest.raises(CollectError, match=rf"HTTP 401.*\${KEY_ENV}"):
            collect(prompts, tmp_path / "a", settings_for(base_url), progress=False)


def test_a_blocked_account_is_retired_and_a_spare_takes_over_without_loss_or_duplicates(tmp_path, prompts,
                                                                                       monkeypatch):
    """Two accounts side by side and one spare: the provider blocks the first after 3 answers and the spare
    after 4. Every record is collected once; the manifest and the summary say which account was blocked."""
    for env, key in (("KEY_A", "sk-a"), ("KEY_B", "sk-b"), ("KEY_C", "sk-c")):
        monkeypatch.setenv(env, key)
    config = FakeConfig(api_key=("sk-a", "sk-b", "sk-c"), block_after={"sk-a": 3, "sk-c": 4})
    settings = settings_for("http://x/v1", api_key_env="KEY_A", more_key_envs=("KEY_B",), spare_key_envs=("KEY_C",))
    with serve(config) as base_url:
        summary = collect(prompts, tmp_path / "a", replace(settings, base_url=base_url), progress=False)
    ids = [r["id"] for r in read_records(tmp_path / "a")]
    assert summary.complete and len(ids) == len(set(ids)) == 20 and summary.unasked == 0
    assert summary.blocked == ["KEY_A", "KEY_C"]
    by_env = {a["key_env"]: a for a in summary.accounts}
    assert by_env["KEY_A"]["records"] == 3 and by_env["KEY_C"]["records"] == 4 and by_env["KEY_B"]["records"] == 13
    assert "harvesting" in by_env["KEY_A"]["blocked"] and by_env["KEY_B"]["blocked"] is None
    assert read_manifest(tmp_path / "a")["runs"][-1]["accounts"] == summary.accounts


def test_when_every_account_is_blocked_the_collection_stops_with_what_it_has(tmp_path, prompts, key):
    config = FakeConfig(block_after={"sk-fake": 5})
    with serve(config) as base_url:
        summary = collect(prompts, tmp_path / "a", settings_for(base_url, concurrency=2), progress=False)
    assert not summary.complete and summary.collected == 5 and summary.unasked == 15 and not summary.failed
    assert summary.blocked == [KEY_ENV] and len(read_records(tmp_path / "a")) == 5
    with serve(FakeConfig()) as base_url:  # a new key later: the rest, nothing twice
        rest = collect(prompts, tmp_path / "a", settings_for(base_url), progress=False)
    assert rest.already_done == 5 and rest.collected == 15 and rest.complete


def test_a_missing_key_variable_is_named(tmp_path, prompts, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(KeyError, match="NO_SUCH_KEY_VAR"):
        collect(prompts, tmp_path / "a", settings_for("http://127.0.0.1:9/v1", api_key_env="NO_SUCH_KEY_VAR"),
                progress=False)


@pytest.mark.parametrize("bad, match", [({"top_logprobs": 21}, "top_logprobs"), ({"base_url": "localhost:8000"}, "base_url"),
                                        ({"concurrency": 0}, "concurrency")])
def test_bad_settings_name_the_bad_value(bad, match):
    with pytest.raises(ValueError, match=match):
        settings_for(bad.pop("base_url", "http://127.0.0.1:9/v1"), **bad)


def test_another_endpoint_with_a_foreign_vocabulary_maps_to_minus_one(tmp_path, prompts, key, tokenizer):
    with serve(FakeConfig(foreign=True, model="other-llm")) as base_url:
        with pytest.warns(LogprobsWarning, match="at most 3 alternatives a position came back"):  # of the 5 asked
            collect(prompts[:2], tmp_path / "a", settings_for(base_url, model="other-llm"), tokenizer=tokenizer,
                    progress=False)
    records = read_records(tmp_path / "a")
    assert {r["model"] for r in records} == {"other-llm"}
    assert all((t.top_ids == -1).all() for t in read_topk(tmp_path / "a").values())


def test_changed_settings_are_refused_or_restart(tmp_path, prompts, key):
    with serve(FakeConfig()) as base_url:
        collect(prompts[:2], tmp_path / "a", settings_for(base_url), progress=False)
        with pytest.raises(ValueError, match=r"max_tokens: 16 -> 8"):
            collect(prompts[:2], tmp_path / "a", settings_for(base_url, max_tokens=8), progress=False)
        collect(prompts[:2], tmp_path / "a", settings_for(base_url, max_tokens=8), progress=False, on_change="restart")
    assert len(read_records(tmp_path / "a.previous")) == 4
    assert all(r["completion_tokens"] <= 8 for r in read_records(tmp_path / "a"))


def test_a_run_killed_mid_way_resumes_without_duplicates_or_loss(tmp_path):
    """SIGKILL a real collector process, restart the collection: exactly the expected records."""
    prompts = [Prompt(f"k{i:03d}", "chat", "train", ({"role": "user", "content": f"Question {i}?"},)) for i in range(60)]
    prompt_file = write_prompts(prompts, tmp_path / "prompts.jsonl")
    arm = tmp_path / "arm"
    config = FakeConfig(delay_s=0.02)
    with serve(config) as base_url:
        settings = settings_for(base_url)
        command = [sys.executable, "-m", "casestudy.distiller.collect.cli", "--base-url", base_url, "--model", "fake-model",
                   "--api-key-env", KEY_ENV, "--arm-dir", str(arm), "--prompts", str(prompt_file),
                   "--samples-per-prompt", "2", "--max-tokens", "16", "--top-logprobs", "5", "--concurrency", "4",
                   "--no-progress"]
        process = subprocess.Popen(command, env={**os.environ, KEY_ENV: "sk-fake"})
        deadline = time.time() + 60
        while time.time() < deadline and process.poll() is None:
            path = arm / "records.jsonl"
            if path.is_file() and path.read_bytes().count(b"\n") >= 15:
                break
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.wait()
        partial = len(read_records(arm))
        assert 15 <= partial < 120, "the kill should land mid-way"
        # A torn tail, as a kill during a write would leave it:
        with open(arm / "records.jsonl", "ab") as handle:
            handle.write(b'{"id": "k059:1", "prompt_id": "k0')
        with open(arm / "topk.bin", "ab") as handle:
            handle.write(b"\x00" * 13)
        sent_before = len(config.requests)
        os.environ[KEY_ENV] = "sk-fake"
        try:
            summary = collect(prompts, arm, settings, progress=False)
        finally:
            del os.environ[KEY_ENV]
    assert summary.complete and summary.already_done == partial and summary.dropped_parts >= 1
    records = read_records(arm)
    ids = [r["id"] for r in records]
    assert ids == [f"k{i:03d}:{s}" for i in range(60) for s in range(2)]
    assert len(config.requests) - sent_before == 120 - partial  # only the missing ones
    topk = read_topk(arm)
    assert set(topk) == set(ids)
    for r in records:  # the fake's logprobs: -0.5 for the sampled token, -0.5 - rank for the top-5
        t = topk[r["id"]]
        assert t.top_ids.shape == (r["completion_tokens"], 5)
        assert np.allclose(t.token_logprobs, -0.5) and np.allclose(t.top_logprobs, -0.5 - np.arange(5))
    # The killed run wrote no entry of its own; the arm's summary is counted from disk, so it stays right:
    assert read_manifest(arm)["logprobs"] == {"asked": 5, "records": 120, "records_with_logprobs": 120,
                                             "top_returned": 5}
