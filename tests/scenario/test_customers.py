"""Simulated ordinary customers: conversational, irregular, rarely asking for logprobs."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from casestudy.aio import run_sync
from casestudy.scenario.customers import TrafficSettings, lognormal_gap, load_pieces, simulate_traffic
from tests.distiller.collect.fake_openai import FakeConfig, serve

FAST = dict(mean_gap_s=0.05, think_s=(0.01, 0.02), follow_up_p=0.7, seed=1)


async def run_for(base_url: str, keys: dict[str, str], seconds: float, settings: TrafficSettings):
    stop = asyncio.Event()
    task = asyncio.create_task(simulate_traffic(base_url, "fake-model", keys, stop, settings))
    await asyncio.sleep(seconds)
    stop.set()
    return await asyncio.wait_for(task, timeout=10)


def test_every_account_chats_with_follow_ups_and_stops_when_told():
    keys = {f"customer-{i:02d}": f"sk-{i}" for i in range(3)}
    config = FakeConfig(api_key=tuple(keys.values()))
    with serve(config) as base_url:
        summary = run_sync(run_for(base_url, keys, 1.5, TrafficSettings(**FAST, logprobs_p=0.0)))
        sent = len(config.requests)
    assert set(summary.requests) == set(keys) and all(n >= 2 for n in summary.requests.values())
    assert not summary.errors
    turns = Counter(len(r["body"]["messages"]) for r in config.requests)
    assert turns[1] > 0 and turns[3] > 0  # single requests and follow-ups carrying the earlier answer
    assert not any(r["body"].get("logprobs") for r in config.requests)
    assert len({r["key"] for r in config.requests}) == 3
    assert sent == sum(summary.requests.values())


def test_logprobs_share_follows_the_setting():
    keys = {"customer-00": "sk-fake"}
    config = FakeConfig()
    with serve(config) as base_url:
        run_sync(run_for(base_url, keys, 0.6, TrafficSettings(**FAST, logprobs_p=1.0)))
    assert config.requests and all(r["body"]["logprobs"] and 1 <= r["body"]["top_logprobs"] <= 5 for r in config.requests)


def test_gaps_are_irregular_with_the_asked_mean():
    import random
    rng = random.Random(0)
    gaps = [lognormal_gap(rng, 10.0, 1.0) for _ in range(20000)]
    mean = sum(gaps) / len(gaps)
    assert 9.0 < mean < 11.0 and max(gaps) > 5 * mean and min(gaps) < mean / 5


def test_pieces_and_settings_are_checked(tmp_path):
    openers, follow_ups = load_pieces()
    assert len(openers) >= 30 and len(follow_ups) >= 8
    with pytest.raises(ValueError, match="mean_gap_s"):
        TrafficSettings(mean_gap_s=0)
    (tmp_path / "t.json").write_text('{"openers": []}')
    with pytest.raises(ValueError, match="openers"):
        load_pieces(tmp_path / "t.json")
