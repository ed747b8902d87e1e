"""The dynamic batcher's window: requests that return a moment after a batch still join the next one."""

from __future__ import annotations

import asyncio
import time

import pytest

from casestudy.provider.batcher import DynamicBatcher
from casestudy.provider.engine import Completion


class SlowEngine:
    """Stands in for Engine: each generate takes `seconds` and records its batch size."""

    def __init__(self, seconds: float):
        self.seconds, self.batches = seconds, []

    def generate(self, rows):
        self.batches.append(len(rows))
        time.sleep(self.seconds)
        return [Completion([1], "x", "stop", [0.0], [[1]], [[0.0]]) for _ in rows]


async def collector_round_trip(batcher: DynamicBatcher, think_s: float) -> None:
    """4 requests at once; while they generate a customer's request arrives; the collector
    sends its next 4 requests `think_s` after its replies (reading them takes time)."""
    async def customer():
        await asyncio.sleep(0.05)
        await batcher.submit(["customer"])

    first = [batcher.submit([f"c{i}"]) for i in range(4)]
    waiting = asyncio.ensure_future(customer())
    await asyncio.gather(*first)
    await asyncio.sleep(think_s)
    await asyncio.gather(*[batcher.submit([f"d{i}"]) for i in range(4)], waiting)


@pytest.mark.parametrize("share, expected", [(0.0, [4, 1, 4]), (0.5, [4, 5])])
def test_window_share_of_the_last_generate_keeps_batches_full(share, expected):
    engine = SlowEngine(seconds=0.6)
    batcher = DynamicBatcher(engine, window_s=0.02, max_rows=8, window_share=share)
    try:
        asyncio.run(collector_round_trip(batcher, think_s=0.1))
    finally:
        batcher.close()
    assert engine.batches == expected
    assert batcher.window() == pytest.approx(max(0.02, share * batcher.last_generate_s))
