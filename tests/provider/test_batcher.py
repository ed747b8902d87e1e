"""The continuous batcher on the tiny model: requests join at the next step, a finished
row's slot is refilled, cancelled requests leave, the memory budget makes requests wait,
and a long prompt does not hold up a short request."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from casestudy.provider.serving.batcher import ContinuousBatcher
from casestudy.provider.serving.engine import Engine
from casestudy.provider.serving.rows import Row
from casestudy.models import load_model


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(str(tiny_model_dir), device="cpu")


def prompt(tokenizer, text="Tell me a story."):
    return tokenizer.encode(text)


def run(batcher: ContinuousBatcher, scenario):
    try:
        return asyncio.run(scenario())
    finally:
        batcher.close()


async def timed(batcher, rows, delay=0.0):
    await asyncio.sleep(delay)
    start = time.perf_counter()
    result = await batcher.submit(rows)
    return result, time.perf_counter(), time.perf_counter() - start


def test_a_request_arriving_mid_generation_joins_without_waiting(loaded, tokenizer):
    batcher = ContinuousBatcher(Engine(loaded, None), max_rows=8)

    async def scenario():
        return await asyncio.gather(timed(batcher, [Row(prompt(tokenizer), 150, seed=1)]),
                                    timed(batcher, [Row(prompt(tokenizer, "Hi"), 4, seed=2)], delay=0.1))

    (long, long_end, _), (short, short_end, _) = run(batcher, scenario)
    assert short_end < long_end            # it did not wait for the long row to end
    assert short.batch_rows == 2 and long.batch_rows == 2
    assert len(long.completions[0].token_ids) == 150 and len(short.completions[0].token_ids) == 4


def test_a_finished_rows_slot_is_refilled_before_the_long_row_ends(loaded, tokenizer):
    engine = Engine(loaded, None)
    batcher = ContinuousBatcher(engine, max_rows=2)
    joined_at = {}
    step = engine.step

    def spying_step():
        for live in engine.slots + engine.prefilling:
            joined_at.setdefault(live.row.seed, engine.steps)
        return step()

    engine.step = spying_step

    async def scenario():
        return await asyncio.gather(timed(batcher, [Row(prompt(tokenizer), 120, seed=1)]),
                                    timed(batcher, [Row(prompt(tokenizer, "Hi"), 3, seed=2)]),
                                    timed(batcher, [Row(prompt(tokenizer, "Hello"), 3, seed=3)]))   # queued at once

    (long, long_end, _), (short, _, _), (queued, queued_end, _) = run(batcher, scenario)
    assert queued_end < long_end
    assert joined_at[3] <= joined_at[2] + 4 < 120   # it started as soon as the short row's slot was free
    assert max(r.batch_rows for r in (long, short, queued)) == 2


def test_cancelling_the_awaiting_task_drops_the_rows_at_the_next_step(loaded, tokenizer):
    engine = Engine(loaded, None)
    batcher = ContinuousBatcher(engine, max_rows=1)

    async def scenario():
        doomed = asyncio.ensure_future(batcher.submit([Row(prompt(tokenizer), 200, seed=1)]))
        queued = asyncio.ensure_future(batcher.submit([Row(prompt(tokenizer), 200, seed=2)]))
        waiting = asyncio.ensure_future(timed(batcher, [Row(prompt(tokenizer, "Hi"), 3, seed=3)]))
        while engine.steps < 3:   # the doomed row is generating (a fixed sleep let it finish on a loaded machine)
            await asyncio.sleep(0.001)
        steps_at_cancel = engine.steps
        doomed.cancel()   # generating
        queued.cancel()   # never admitted
        result, _, _ = await waiting
        return doomed, queued, result, steps_at_cancel

    doomed, queued, result, steps_at_cancel = run(batcher, scenario)
    assert doomed.cancelled() and queued.cancelled()
    assert len(result.completions[0].token_ids) == 3
    assert engine.in_flight == 0
    assert engine.steps <= steps_at_cancel + 3 + 2   # the short request's 3 steps, not the rest of 200


def test_the_memory_budget_makes_requests_wait_for_room(loaded, tokenizer):
    row = Row(prompt(tokenizer), 12, seed=1)
    width = len(row.prompt_ids) + row.max_new_tokens
    engine = Engine(loaded, None, max_batch_tokens=2 * width)
    batcher = ContinuousBatcher(engine, max_rows=8)
    most = []
    step = engine.step
    engine.step = lambda: (most.append(engine.in_flight), step())[1]

    async def scenario():
        return await asyncio.gather(*[batcher.submit([Row(row.prompt_ids, 12, seed=i)]) for i in range(5)])

    results = run(batcher, scenario)
    assert [len(r.completions[0].token_ids) for r in results] == [12] * 5
    assert max(most) == 2 and max(r.batch_rows for r in results) == 2


@pytest.fixture(scope="module")
def wide_model(tmp_path_factory, tokenizer):
    """Wide enough that a 3,000-token prefill costs many short requests' decoding."""
    path = tmp_path_factory.mktemp("tiny-wide")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=256, intermediate_size=1024, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return load_model(str(path), device="cpu")


@pytest.fixture
def one_thread():
    """One torch thread: fewer stalls when other processes load the machine (timing test)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_long_prompt_does_not_hold_up_a_short_request(wide_model, tokenizer, one_thread):
    engine = Engine(wide_model, None)
    batcher = ContinuousBatcher(engine, max_rows=8)
    short = prompt(tokenizer, "Hi")
    long = prompt(tokenizer, "word " * 3000)[:3000]

    async def alone():
        return (await timed(batcher, [Row(short, 16, seed=1)]))[2]

    async def with_long():
        both = await asyncio.gather(timed(batcher, [Row(long, 16, seed=2)]),
                                    timed(batcher, [Row(short, 16, seed=1)], delay=0.005))
        return both[1][2], both[0][2]

    async def scenario():
        await alone()  # warm-up
        solo, mixed = [], []
        for _ in range(3):  # interleaved, so that a change in the machine's load hits both
            solo.append(await alone())
            mixed.append(await with_long())
        return solo, mixed

    solo, mixed = run(batcher, scenario)
    short_alone = statistics.median(solo)
    short_mixed = statistics.median(m[0] for m in mixed)
    long_latency = statistics.median(m[1] for m in mixed)
    print(f"short alone {short_alone:.2f} s, beside the long prompt {short_mixed:.2f} s, long {long_latency:.2f} s")
    assert long_latency > 3 * short_alone, "the long prompt is too cheap for this test to mean anything"
    assert short_mixed <= 2 * short_alone, (short_alone, short_mixed, long_latency)


def test_a_client_that_hangs_up_gets_its_rows_out_of_the_engine(tiny_model_dir, tmp_path, loaded):
    """Through the app: a disconnect while generating is a 499, and the request's rows
    leave the decoding batch at the next step instead of running to max_tokens."""
    from starlette.requests import Request

    from casestudy.provider.app import Provider
    from casestudy.provider.errors import CLIENT_CLOSED, APIError
    from tests.provider.conftest import tiny_settings

    provider = Provider(tiny_settings(tiny_model_dir, tmp_path, batch_window_ms=0), loaded)
    engine = provider.engine
    generating = []

    async def scenario():
        async def receive():  # the client hangs up once its rows are decoding
            while engine.decoding < 2:
                await asyncio.sleep(0.005)
            generating.append(engine.steps)
            return {"type": "http.disconnect"}

        request = Request({"type": "http", "method": "POST", "path": "/", "headers": []}, receive)
        with pytest.raises(APIError) as caught:
            await provider.generate(request, [Row([1, 2, 3], 200, seed=1), Row([1, 2, 3], 200, seed=2)])
        for _ in range(400):  # the worker drops them at its next step
            if engine.in_flight == 0:
                break
            await asyncio.sleep(0.005)
        return caught.value, engine.in_flight, engine.steps

    try:
        error, in_flight, steps = asyncio.run(scenario())
    finally:
        provider.close()
    assert error.status == CLIENT_CLOSED
    assert in_flight == 0 and steps < generating[0] + 50 < 200
