"""The official openai client, sync and async, against a real server process."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from casestudy.provider.ledger import read_ledger
from casestudy.token_bytes import token_id_from_bytes
from tests.provider.conftest import MODEL_NAME

HELLO = [{"role": "user", "content": "Name three rivers."}]


def test_completion_with_20_logprobs_and_usage(server, api_key, tokenizer):
    client = server.client(api_key)
    reply = client.chat.completions.create(
        model=MODEL_NAME, messages=HELLO, max_tokens=8, logprobs=True, top_logprobs=20, seed=1)
    choice = reply.choices[0]
    assert choice.finish_reason == "length"
    content = choice.logprobs.content
    assert len(content) == reply.usage.completion_tokens == 8
    prompt = tokenizer.apply_chat_template(
        [{"role": "system", "content": server.settings.system_prompt}, *HELLO], add_generation_prompt=True)
    assert reply.usage.prompt_tokens == len(prompt["input_ids"])
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    ids = [token_id_from_bytes(tokenizer, entry.bytes) for entry in content]
    assert tokenizer.decode(ids) == choice.message.content
    for entry in content:
        tops = entry.top_logprobs
        assert len(tops) == 20
        assert [t.logprob for t in tops] == sorted((t.logprob for t in tops), reverse=True)
        assert entry.logprob <= tops[0].logprob + 1e-6
        assert all(t.logprob <= 0 for t in tops)


def test_seed_makes_sampling_reproducible(server, api_key):
    client = server.client(api_key)
    ask = dict(model=MODEL_NAME, messages=HELLO, max_tokens=6, seed=42, n=2)
    first, second = client.chat.completions.create(**ask), client.chat.completions.create(**ask)
    assert [c.message.content for c in first.choices] == [c.message.content for c in second.choices]
    assert first.choices[0].message.content != first.choices[1].message.content  # each choice its own stream


def test_stop_sequence_and_greedy(server, api_key):
    client = server.client(api_key)
    greedy = client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=10, temperature=0)
    again = client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=10, temperature=0)
    assert greedy.choices[0].message.content == again.choices[0].message.content
    text = greedy.choices[0].message.content
    stop = text[len(text) // 2:][:2]
    cut = client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=10, temperature=0, stop=[stop])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == text[: text.find(stop)]


def test_models_list(server, api_key):
    models = server.client(api_key).models.list()
    assert [m.id for m in models.data] == [MODEL_NAME]


def test_missing_or_unknown_key_is_401(server):
    with pytest.raises(openai.AuthenticationError) as caught:
        server.client("sk-cs-not-a-key", max_retries=0).chat.completions.create(model=MODEL_NAME, messages=HELLO)
    assert caught.value.body["code"] == "invalid_api_key"
    reply = httpx.post(server.base_url + "/chat/completions", json={"model": MODEL_NAME, "messages": HELLO})
    assert reply.status_code == 401
    assert set(reply.json()["error"]) == {"message", "type", "param", "code"}


def test_requests_per_minute_limit_is_429_with_retry_after(server):
    client = server.client(server.create_account("rpm-2", rpm=2), max_retries=0)
    for _ in range(2):
        client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=1)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=1)
    assert 1 <= int(caught.value.response.headers["retry-after"]) <= 60
    assert caught.value.body["type"] == "requests"


def test_tokens_per_minute_limit_is_429(server):
    client = server.client(server.create_account("tpm-60", tpm=60), max_retries=0)
    client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=16)  # ~45 tokens
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=16)
    assert caught.value.body["type"] == "tokens"
    assert "retry-after" in caught.value.response.headers


def test_concurrent_burst_is_batched_and_every_request_ledgered(server):
    key = server.create_account("burst")
    client = server.async_client(key, max_retries=0)

    async def burst():
        asks = [client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": f"Q{i}"}],
                                               max_tokens=4, seed=i) for i in range(12)]
        return await asyncio.gather(*asks)

    replies = asyncio.run(burst())
    ledger = read_ledger(server.settings.ledger_db)
    rows = ledger[ledger.account_name == "burst"]
    assert len(rows) == 12 and (rows.status == 200).all()
    assert sorted(c[0] for c in rows.completions) == sorted(r.choices[0].message.content for r in replies)
    assert rows.batch_rows.max() > 1  # requests shared a generate call
    assert (rows.total_tokens == rows.prompt_tokens + rows.completion_tokens).all()
    assert rows.messages.iloc[0][0]["role"] == "user" and rows.params.iloc[0]["max_tokens"] == 4


def test_refused_requests_are_ledgered(server):
    httpx.post(server.base_url + "/chat/completions", json={"model": MODEL_NAME, "messages": HELLO},
               headers={"Authorization": "Bearer sk-cs-unknown-ledger-check"})
    ledger = read_ledger(server.settings.ledger_db)
    refused = ledger[(ledger.status == 401) & ledger.account_id.isna()]
    assert len(refused) >= 1 and refused.error_code.iloc[-1] == "invalid_api_key"
