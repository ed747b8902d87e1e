"""The ledger, the accounts and the rate limits survive a server killed mid-burst and started
again on the same files."""

from __future__ import annotations

import asyncio

import openai
import pytest

from casestudy.provider.ledger import read_ledger
from casestudy.provider.server import running_server, running_servers
from tests.provider.conftest import MODEL_NAME, tiny_settings


def ask(client, text: str, seed: int):
    return client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": text}],
                                          max_tokens=8, seed=seed)


async def burst_then_kill(handle, key: str, n: int) -> list[str]:
    """Send `n` concurrent requests, SIGKILL the server once the first replies arrive; return the replies got."""
    client = handle.async_client(key, max_retries=0, timeout=60)
    tasks = [asyncio.create_task(ask(client, f"Question {i}", seed=i)) for i in range(n)]
    got: list[str] = []
    for finished in asyncio.as_completed(tasks):
        try:
            got.append((await finished).choices[0].message.content)
        except openai.APIError:  # requests cut off by the kill
            continue
        if len(got) == 1:
            handle.process.kill()  # no shutdown handler runs: only committed rows survive
    return got


def test_killed_server_loses_no_answered_row_and_a_restart_appends(tiny_model_dir, tmp_path):
    settings = tiny_settings(tiny_model_dir, tmp_path, batch_window_ms=50, max_batch_size=4)
    with running_server(settings) as first:
        key = first.create_account("survivor")
        answered = asyncio.run(burst_then_kill(first, key, n=12))
        first.process.wait(timeout=30)
    assert answered, "no reply arrived before the kill"
    before = read_ledger(settings.ledger_db)
    texts = [c[0] for c in before[before.status == 200].completions]
    assert all(a in texts for a in answered)  # every answer a client received has its row
    assert len(before) <= 12

    with running_server(settings) as second:  # same ledger and accounts files
        reply = ask(second.client(key, max_retries=0), "After the restart", seed=99)
    after = read_ledger(settings.ledger_db)
    assert len(after) == len(before) + 1
    assert after.completions.iloc[-1][0] == reply.choices[0].message.content
    assert after.account_name.iloc[-1] == "survivor" and after.status.iloc[-1] == 200


def test_rate_limits_outlive_the_process_that_counted_them(tiny_model_dir, tmp_path):
    """Two servers on the same files (started together): a request counted by one, which is then
    killed, still counts in the other. The limits live in the accounts database, not in memory."""
    settings = tiny_settings(tiny_model_dir, tmp_path)
    with running_servers(settings, settings) as (first, second):
        limited = first.create_account("one-a-minute", rpm=1)
        ask(first.client(limited, max_retries=0), "My one request", seed=1)
        first.process.kill()
        first.process.wait(timeout=30)
        with pytest.raises(openai.RateLimitError) as caught:
            ask(second.client(limited, max_retries=0), "A second one", seed=2)
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert list(read_ledger(settings.ledger_db).status) == [200, 429]
