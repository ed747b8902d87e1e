"""Issue 15's compatibility gaps: what common OpenAI clients send and expect, against a real server."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest

from casestudy.provider.ledger import read_ledger
from tests.provider.conftest import MODEL_NAME

HELLO = [{"role": "user", "content": "Name three rivers."}]
NULLS = {name: None for name in (
    "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "seed", "stop", "logprobs", "top_logprobs",
    "stream", "stream_options", "user", "frequency_penalty", "presence_penalty", "logit_bias", "response_format")}
NO_OPS = {"frequency_penalty": 0, "presence_penalty": 0.0, "response_format": {"type": "text"}, "logit_bias": {},
          "stream": False, "n": 1, "temperature": 1, "top_p": 1}


@pytest.fixture(scope="module")
def http(server, api_key):
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60) as c:
        yield c


@pytest.mark.parametrize("extra", [NULLS, NO_OPS], ids=["nulls", "no-op defaults"])
def test_nulls_and_no_op_defaults_are_accepted(http, extra):
    reply = http.post("/chat/completions", json={"model": MODEL_NAME, "messages": HELLO, **extra})
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["logprobs"] is None and len(reply.json()["choices"]) == 1


def test_tool_turns_and_assistant_content_null(server, api_key):
    client = server.client(api_key)
    messages = [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"},
    ]
    reply = client.chat.completions.create(model=MODEL_NAME, messages=messages, max_tokens=4)
    assert reply.choices[0].message.role == "assistant"
    history = [*HELLO, reply.choices[0].message, {"role": "user", "content": "And two more?"}]  # a reply sent back
    assert client.chat.completions.create(model=MODEL_NAME, messages=history, max_tokens=2).choices


def test_retrieve_model(server, api_key):
    client = server.client(api_key, max_retries=0)
    model = client.models.retrieve(MODEL_NAME)
    assert (model.id, model.object, model.owned_by) == (MODEL_NAME, "model", "provider")
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-9")
    assert caught.value.body["code"] == "model_not_found"


def test_rate_limit_headers_as_openai_sends_them(server):
    client = server.client(server.create_account("headers", rpm=3, tpm=1000), max_retries=0)
    seen = []
    for _ in range(3):
        raw = client.chat.completions.with_raw_response.create(model=MODEL_NAME, messages=HELLO, max_tokens=2)
        seen.append(raw.headers)
        usage = raw.parse().usage
    assert [int(h["x-ratelimit-remaining-requests"]) for h in seen] == [2, 1, 0]
    assert seen[0]["x-ratelimit-limit-requests"] == "3" and seen[0]["x-ratelimit-limit-tokens"] == "1000"
    assert int(seen[-1]["x-ratelimit-remaining-tokens"]) == 1000 - 3 * usage.total_tokens  # settled usage
    assert all(h["x-ratelimit-reset-requests"].endswith("s") for h in seen)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=2)
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "0"


def streamed(chunks) -> tuple[dict[int, str], dict[int, list], dict[int, str], object]:
    texts, logprobs, finish, usage = {}, {}, {}, None
    for chunk in chunks:
        assert chunk.object == "chat.completion.chunk" and chunk.model == MODEL_NAME
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
            if choice.logprobs is not None:
                logprobs.setdefault(choice.index, []).extend(choice.logprobs.content)
            if choice.finish_reason:
                finish[choice.index] = choice.finish_reason
    return texts, logprobs, finish, usage


@pytest.mark.parametrize("stop", [None, ["e"]])
def test_official_client_streams_with_logprobs(server, api_key, stop):
    client = server.client(api_key)
    ask = dict(model=MODEL_NAME, messages=HELLO, max_tokens=12, n=2, seed=9, logprobs=True, top_logprobs=3, stop=stop)
    whole = client.chat.completions.create(**ask)
    texts, logprobs, finish, usage = streamed(
        client.chat.completions.create(**ask, stream=True, stream_options={"include_usage": True}))
    for choice in whole.choices:
        assert texts[choice.index] == choice.message.content
        assert finish[choice.index] == choice.finish_reason
        assert [e.model_dump() for e in logprobs[choice.index]] == [e.model_dump() for e in choice.logprobs.content]
    assert usage == whole.usage


def test_async_client_streams(server, api_key):
    async def run():
        client = server.async_client(api_key)
        stream = await client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=6, seed=1,
                                                      stream=True)
        chunks = [chunk async for chunk in stream]
        whole = await client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=6, seed=1)
        return chunks, whole

    chunks, whole = asyncio.run(run())
    texts, logprobs, finish, usage = streamed(chunks)
    assert texts[0] == whole.choices[0].message.content and not logprobs and usage is None
    assert chunks[0].choices[0].delta.role == "assistant"


def test_stream_is_ledgered_as_one_request(server):
    client = server.client(server.create_account("streamer"))
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=MODEL_NAME, messages=HELLO, max_tokens=5, stream=True) if c.choices)
    ledger = read_ledger(server.settings.ledger_db)
    row = ledger[ledger.account_name == "streamer"].iloc[-1]
    assert row.status == 200 and row.completions == [text] and row.params["stream"] is True


def test_stream_of_a_refused_request_is_a_plain_error(server, api_key):
    reply = httpx.post(server.base_url + "/chat/completions", timeout=60,
                       headers={"Authorization": f"Bearer {api_key}"},
                       json={"model": "gpt-9", "messages": HELLO, "stream": True})
    assert reply.status_code == 404 and reply.headers["content-type"].startswith("application/json")
    assert json.loads(reply.text)["error"]["code"] == "model_not_found"
