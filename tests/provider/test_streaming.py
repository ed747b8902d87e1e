"""Streaming sends tokens as they are generated: in process, on the tiny model, through
the app's request handling (ledger, rate limits) without a server process."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from starlette.requests import Request
from starlette.responses import StreamingResponse

from casestudy.models import load_model
from casestudy.provider.accounts import create_account
from casestudy.provider.app import Provider
from casestudy.provider.errors import CLIENT_CLOSED
from casestudy.provider.ledger import read_ledger
from tests.provider.conftest import MODEL_NAME, tiny_settings

HELLO = [{"role": "user", "content": "Name three rivers."}]


@pytest.fixture(scope="module")
def provider(tiny_model_dir, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("streaming")
    settings = tiny_settings(tiny_model_dir, workdir, batch_window_ms=0, max_tokens_cap=200)
    provider = Provider(settings, load_model(str(tiny_model_dir), device="cpu"))
    provider.api_key = create_account(settings.accounts_db, "streamer")
    yield provider
    provider.close()


def request_for(provider, body: dict, hang_up: asyncio.Event | None = None) -> Request:
    payload = json.dumps(body).encode()
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await (hang_up.wait() if hang_up is not None else asyncio.Event().wait())
        return {"type": "http.disconnect"}

    headers = [(b"authorization", f"Bearer {provider.api_key}".encode()), (b"content-type", b"application/json")]
    return Request({"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": headers}, receive)


async def answer(provider, body: dict, hang_up=None):
    return await provider.ledgered(request_for(provider, body, hang_up), "/v1/chat/completions", provider.chat)


def events(chunks: list[str]) -> list[dict | str]:
    out = []
    for chunk in chunks:
        for line in chunk.split("\n\n"):
            if line.startswith("data: "):
                data = line[len("data: "):]
                out.append(data if data == "[DONE]" else json.loads(data))
    return out


@pytest.mark.parametrize("extra", [{}, {"n": 2, "logprobs": True, "top_logprobs": 3, "stop": ["e"]}])
def test_stream_equals_the_whole_reply_and_starts_before_the_end(provider, extra):
    body = {"model": MODEL_NAME, "messages": HELLO, "max_tokens": 40, "seed": 5, **extra}

    async def scenario():
        whole = json.loads((await answer(provider, body)).body)
        response = await answer(provider, {**body, "stream": True, "stream_options": {"include_usage": True}})
        assert isinstance(response, StreamingResponse)
        chunks, in_flight = [], []
        async for chunk in response.body_iterator:
            chunks.append(chunk)
            in_flight.append(provider.engine.in_flight)
        return whole, chunks, in_flight

    whole, chunks, in_flight = asyncio.run(scenario())
    parsed = events(chunks)
    assert parsed[-1] == "[DONE]"
    texts, logprobs, finish, usage = {}, {}, {}, None
    for event in parsed[:-1]:
        usage = event.get("usage") or usage
        for choice in event["choices"]:
            texts[choice["index"]] = texts.get(choice["index"], "") + (choice["delta"].get("content") or "")
            if choice["logprobs"]:
                logprobs.setdefault(choice["index"], []).extend(choice["logprobs"]["content"])
            if choice["finish_reason"]:
                finish[choice["index"]] = choice["finish_reason"]
    for choice in whole["choices"]:
        assert texts[choice["index"]] == choice["message"]["content"]
        assert finish[choice["index"]] == choice["finish_reason"]
        if extra:
            assert logprobs[choice["index"]] == choice["logprobs"]["content"]
    assert usage == whole["usage"]
    if not extra:  # no stop string: text was sent while the row was still generating
        assert whole["usage"]["completion_tokens"] > 5 and len(chunks) > 3 and in_flight[1] > 0
    ledger = read_ledger(provider.settings.ledger_db)
    row = ledger.iloc[-1]
    assert row.status == 200 and row.params["stream"] is True
    assert row.completions == [c["message"]["content"] for c in whole["choices"]]


def test_a_client_that_hangs_up_mid_stream_gets_its_rows_dropped(provider):
    body = {"model": MODEL_NAME, "messages": HELLO, "max_tokens": 200, "seed": 1, "stream": True}

    async def scenario():
        hang_up = asyncio.Event()
        response = await answer(provider, body, hang_up)
        iterator = response.body_iterator
        await iterator.__anext__()          # the role chunk
        await iterator.__anext__()          # some text
        steps = provider.engine.steps
        hang_up.set()
        for _ in range(400):
            if provider.engine.in_flight == 0:
                break
            await asyncio.sleep(0.005)
        in_flight = provider.engine.in_flight
        rest = [chunk async for chunk in iterator]
        await asyncio.sleep(0.2)            # the ledger row is written by a task of its own
        return steps, in_flight, provider.engine.steps, rest

    steps, in_flight, steps_after, rest = asyncio.run(scenario())
    assert in_flight == 0 and steps_after < steps + 50 < 200
    assert not any("[DONE]" in chunk for chunk in rest)
    row = read_ledger(provider.settings.ledger_db).iloc[-1]
    assert row.status == CLIENT_CLOSED and row.error_code == "client_disconnected"


def test_penalties_are_served(provider):
    """frequency_penalty / presence_penalty other than 0 are applied, not refused."""
    body = {"model": MODEL_NAME, "messages": HELLO, "max_tokens": 16, "temperature": 0}

    async def scenario():
        plain = json.loads((await answer(provider, body)).body)
        repeat = json.loads((await answer(provider, {**body, "frequency_penalty": -2, "presence_penalty": -2})).body)
        return plain, repeat

    plain, repeat = asyncio.run(scenario())
    assert plain["choices"][0]["message"]["content"] != repeat["choices"][0]["message"]["content"]
    assert read_ledger(provider.settings.ledger_db).iloc[-1].status == 200


def test_a_stream_cut_short_is_billed_and_ledgered_for_what_it_was_sent(provider):
    """Issue 28 (a): a client that leaves before `[DONE]` pays for the tokens it was sent, and
    the ledger keeps their text (it used to be billed its prompt only, with no completion)."""
    body = {"model": MODEL_NAME, "messages": HELLO, "max_tokens": 200, "seed": 2, "stream": True}

    async def scenario():
        hang_up = asyncio.Event()
        response = await answer(provider, body, hang_up)
        iterator = response.body_iterator
        chunks = [await iterator.__anext__() for _ in range(4)]   # the role chunk, then tokens
        hang_up.set()
        chunks += [chunk async for chunk in iterator]             # what was sent before the hang-up told
        await asyncio.sleep(0.2)                                  # the row is written by a task of its own
        return chunks

    chunks = asyncio.run(scenario())
    deltas = [choice["delta"] for event in events(chunks) if event != "[DONE]" for choice in event["choices"]
              if "role" not in choice["delta"] and "content" in choice["delta"]]
    assert "[DONE]" not in "".join(chunks) and len(deltas) >= 3
    row = read_ledger(provider.settings.ledger_db).iloc[-1]
    assert row.status == CLIENT_CLOSED and row.error_code == "client_disconnected"
    assert row.completion_tokens == len(deltas) and row.completions == ["".join(d["content"] for d in deltas)]
    assert row.total_tokens == row.prompt_tokens + len(deltas)
    with sqlite3.connect(provider.settings.accounts_db) as conn:   # the rate limiter counts the same
        charged = conn.execute("SELECT tokens FROM rate_charges ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert charged == row.total_tokens
