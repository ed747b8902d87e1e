"""Issue 28, item 6: the provider's books are complete before it bills, blocks or accuses.

Each test re-runs one attack on a real server process (loopback, the tiny model with a
1M-token window so that big prompts are really tokenized): streams left just before
`[DONE]`, megabyte strings in fields that are not the prompt, a hang-up during the body
upload, idle and slow connections, a flood of big prompts beside another account's
model list, and a plain request that fails. At the end: no 5xx in the ledger.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sqlite3
import threading
import time

import httpx
import pytest
from starlette.requests import Request

from casestudy.models import load_model
from casestudy.provider.accounts import create_account
from casestudy.provider.app import Provider
from casestudy.provider.errors import CLIENT_CLOSED
from casestudy.provider.ledger import read_ledger
from casestudy.provider.server import running_server, uvicorn_options
from tests.provider.conftest import MODEL_NAME, tiny_settings

HELLO = [{"role": "user", "content": "Name three rivers."}]
BIG = "n" * 950_000
SCHEMA = {BIG[:400_000]: BIG[:400_000]}   # a key and a value of 400 kB (the body stays under 1.5 MB)
HEADER_S, BODY_S = 2.0, 3.0   # this server's deadlines (the defaults are 5 and 10 s)


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("books-model")
    shutil.copytree(tiny_model_dir, folder, dirs_exist_ok=True)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 1 << 20}))
    settings = tiny_settings(folder, tmp_path_factory.mktemp("books"), max_body_bytes=1_500_000, max_tokens_cap=32,
                             header_timeout_s=HEADER_S, body_timeout_s=BODY_S, timeout_keep_alive_s=2)
    with running_server(settings) as handle:
        yield handle


def post(server, key: str, body, timeout: float = 60) -> httpx.Response:
    return httpx.post(server.base_url + "/chat/completions", content=json.dumps(body).encode(), timeout=timeout,
                      headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})


def ledger_of(server, account: str):
    ledger = read_ledger(server.settings.ledger_db)
    return ledger[ledger.account_name == account]


def wait_for_rows(server, account: str, count: int, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while len(ledger_of(server, account)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return ledger_of(server, account)


# --- (a) a stream left just before [DONE] pays for what it read -----------------------------------

def read_then_leave(server, key: str, tokens: int) -> tuple[int, str, str]:
    """Stream a 32-token completion, read `tokens` of it, hang up: (status, text read, error code)."""
    body = {"model": MODEL_NAME, "messages": HELLO, "max_tokens": 32, "stream": True, "seed": 1}
    got, text = 0, ""
    with httpx.Client(timeout=60) as client:
        with client.stream("POST", server.base_url + "/chat/completions", json=body,
                           headers={"Authorization": f"Bearer {key}"}) as reply:
            if reply.status_code != 200:
                return reply.status_code, "", json.loads(reply.read())["error"]["code"]
            for line in reply.iter_lines():
                if not line.startswith("data: {"):
                    continue
                for choice in json.loads(line[len("data: "):])["choices"]:
                    if "role" not in choice["delta"] and choice["delta"].get("content") is not None:
                        got, text = got + 1, text + choice["delta"]["content"]
                if got >= tokens:
                    break
    return 200, text, ""


def test_streams_left_before_done_pay_for_what_they_read(server):
    # Before: each stream was billed its 31 prompt tokens only and its row had no completion, so a
    # 300-tokens-per-minute account (4 whole 63-token requests) read 31 tokens from 8 streams or more.
    key = server.create_account("books-abandon", tpm=300)
    outcomes = [read_then_leave(server, key, 31) for _ in range(6)]
    statuses = [status for status, _, _ in outcomes]
    assert statuses == [200] * 4 + [429] * 2 and outcomes[-1][2] == "rate_limit_exceeded"
    rows = wait_for_rows(server, "books-abandon", 6)
    streamed = rows[rows.status != 429]
    assert len(streamed) == 4 and set(streamed.status) <= {200, CLIENT_CLOSED}
    for (_, text, _), (_, row) in zip(outcomes, streamed.iterrows()):
        assert row.completion_tokens >= 31 and row.completions[0].startswith(text) and len(text) > 0
        assert row.total_tokens == row.prompt_tokens + row.completion_tokens
    with sqlite3.connect(server.settings.accounts_db) as conn:
        charged = [tokens for (tokens,) in conn.execute(
            "SELECT tokens FROM rate_charges WHERE account_id = ? ORDER BY id", (int(rows.account_id.iloc[0]),))]
    assert charged[:4] == list(streamed.total_tokens)


# --- (b) no client string is stored or echoed whole -------------------------------------------------

HUGE = {
    "name": ({"messages": [{"role": "user", "content": "hi", "name": BIG}]}, 400, "string_above_max_length"),
    "user": ({"messages": HELLO, "user": BIG}, 400, "string_above_max_length"),
    "refusal": ({"messages": [{"role": "assistant", "content": "x", "refusal": BIG}, *HELLO]}, 200, None),
    "tool_call_id": ({"messages": [*HELLO, {"role": "tool", "content": "x", "tool_call_id": BIG}]}, 200, None),
    "json_schema": ({"messages": HELLO, "response_format": {"type": "text", "json_schema": SCHEMA}}, 200, None),
    "unknown field": ({"messages": HELLO, BIG: 1}, 400, "unknown_parameter"),
    "model": ({"messages": HELLO, "model": BIG}, 404, "model_not_found"),
}


@pytest.mark.parametrize("case", list(HUGE))
def test_megabyte_strings_are_refused_or_stored_bounded(server, case):
    # Before: 950 kB in a name, `user`, `refusal` or `model` was ledgered whole (and the 404 echoed it).
    account = f"books-huge-{case}"
    key = server.create_account(account)
    extra, status, code = HUGE[case]
    reply = post(server, key, {"model": MODEL_NAME, "max_tokens": 1, **extra})
    assert reply.status_code == status and len(reply.content) < 2000
    if code:
        assert reply.json()["error"]["code"] == code
    if case == "model":
        assert "truncated; 950000 characters" in reply.json()["error"]["message"]
    row = ledger_of(server, account).iloc[-1]
    sizes = {name: len(json.dumps(row[name], ensure_ascii=False, default=str)) for name in row.index}
    assert max(sizes.values()) < 6000, sizes
    if status == 200:  # the prompt the account paid for is kept whole
        assert any(m.get("content") == HELLO[0]["content"] for m in row.messages)


def test_unknown_model_id_is_echoed_truncated(server):
    reply = httpx.get(server.base_url + "/models/" + "m" * 20_000, timeout=30,
                      headers={"Authorization": f"Bearer {server.create_account('books-model-id')}"})
    assert reply.status_code == 404 and len(reply.content) < 1000 and "truncated" in reply.json()["error"]["message"]
    assert len(ledger_of(server, "books-model-id").model.iloc[-1]) < 300


# --- (c) a hang-up during the upload is the client's, not a 500 ---------------------------------------

def raw_head(key: str | None, length: int) -> bytes:
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_hang_up_during_the_upload_is_ledgered_as_499(server):
    # Before: starlette's ClientDisconnect escaped read_body: ledgered as 500 internal_error.
    key = server.create_account("books-upload")
    for _ in range(3):
        with socket.create_connection((server.settings.host, server.settings.port)) as sock:
            sock.sendall(raw_head(key, 10_000) + b'{"model": "tiny", "mess')
            time.sleep(0.2)
    rows = wait_for_rows(server, "books-upload", 3)
    assert list(rows.status) == [CLIENT_CLOSED] * 3 and set(rows.error_code) == {"client_disconnected"}


# --- (d) idle and slow connections are closed -----------------------------------------------------

def closes_after(server, first: bytes, trickle: bytes, timeout_s: float = 12) -> float:
    """Seconds until the server closes a connection that sends `first`, then `trickle` a byte
    every 0.3 s; `timeout_s` if it never does."""
    start = time.monotonic()
    with socket.create_connection((server.settings.host, server.settings.port)) as sock:
        sock.settimeout(0.3)
        if first:
            sock.sendall(first)
        for i in range(int(timeout_s / 0.3)):
            try:
                if not sock.recv(65536):      # the server closed it
                    return time.monotonic() - start
            except socket.timeout:
                pass
            except OSError:
                return time.monotonic() - start
            if trickle:
                try:
                    sock.sendall(trickle[i % len(trickle):][:1])   # the next byte, round and round
                except OSError:
                    return time.monotonic() - start
    return timeout_s


def test_idle_and_slow_connections_are_closed(server):
    # Before: connections that sent nothing, half a head, or a head and no body stayed open
    # (40 s and more); a head without a key and a body trickling in kept its connection for good.
    key = server.create_account("books-slow")
    kinds = {   # what is sent, what trickles, the deadline that must close it
        "nothing": (b"", b"", HEADER_S),
        "half a head, trickling": (b"POST /v1/chat/completions HTTP/1.1\r\n", b"X-Slow: yes\r\n", HEADER_S),
        "head with a key, no body": (raw_head(key, 1000), b"", BODY_S),
        "head with a key, body trickling": (raw_head(key, 1000), b'{"model": "', BODY_S),
        "head without a key, body trickling": (raw_head(None, 1000), b'{"model": "', BODY_S),
    }
    results: dict[str, list[float]] = {kind: [] for kind in kinds}

    def one(kind):
        first, trickle, _ = kinds[kind]
        results[kind].append(closes_after(server, first, trickle))

    threads = [threading.Thread(target=one, args=(kind,)) for kind in kinds for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for kind, (_, _, deadline) in kinds.items():
        assert all(deadline - 0.5 < took < deadline + 3 for took in results[kind]), (kind, results[kind])
    rows = wait_for_rows(server, "books-slow", 16)
    assert list(rows.status) == [408] * 16 and set(rows.error_code) == {"request_timeout"}


def test_keep_alive_clients_still_work(server):
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {server.create_account('books-keep')}"}) as c:
        assert c.get(server.base_url + "/models").status_code == 200
        time.sleep(0.5)
        assert c.get(server.base_url + "/models").status_code == 200
        time.sleep(2.5)   # past the keep-alive: the server closed it, the client opens another
        assert c.get(server.base_url + "/models").status_code == 200


def test_uvicorn_gets_the_deadlines_from_the_settings(tmp_path):
    defaults = uvicorn_options(tiny_settings("unused", tmp_path))
    assert defaults["timeout_keep_alive"] == 5
    assert (defaults["http"].header_timeout_s, defaults["http"].body_timeout_s) == (5.0, 10.0)
    mine = uvicorn_options(tiny_settings("unused", tmp_path, header_timeout_s=1.5, body_timeout_s=4,
                                         timeout_keep_alive_s=3))
    assert (mine["http"].header_timeout_s, mine["http"].body_timeout_s, mine["timeout_keep_alive"]) == (1.5, 4, 3)
    with pytest.raises(ValueError):
        tiny_settings("unused", tmp_path, body_timeout_s=0)


# --- (e) one account's big prompts do not slow another's cheap requests --------------------------

def test_model_list_stays_fast_while_another_account_floods_big_prompts(server):
    # Before: 12 concurrent 625 kB prompts (refused 400 after tokenizing) queued the key lookups,
    # rate limits and ledger writes of everyone in asyncio's default pool: /v1/models took 2.8 s at worst.
    flood, quiet = server.create_account("books-flood", tpm=1000), server.create_account("books-quiet")
    content = json.dumps({"model": MODEL_NAME, "messages": [{"role": "user", "content": "word " * 125_000}],
                          "max_tokens": 4}).encode()
    waits: list[float] = []
    started, done = threading.Event(), threading.Event()

    def poll():
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {quiet}"}) as client:
            client.get(server.base_url + "/models")
            started.set()
            while not done.is_set():
                start = time.perf_counter()
                assert client.get(server.base_url + "/models").status_code == 200
                waits.append(time.perf_counter() - start)
                time.sleep(0.02)

    async def attack():
        async with httpx.AsyncClient(timeout=120) as client:
            return await asyncio.gather(*[client.post(
                server.base_url + "/chat/completions", content=content,
                headers={"Authorization": f"Bearer {flood}", "Content-Type": "application/json"}) for _ in range(12)])

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        started.wait(30)
        start = time.perf_counter()
        replies = asyncio.run(attack())
        took = time.perf_counter() - start
        time.sleep(0.2)
    finally:
        done.set()
        poller.join()
    assert {r.status_code for r in replies} == {400}
    assert {r.json()["error"]["code"] for r in replies} == {"tokens_per_minute_exceeded"}
    print(f"\nflood of 12 x 625 kB: {took:.1f} s; /v1/models: {len(waits)} polls, "
          f"median {sorted(waits)[len(waits) // 2] * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms")
    assert len(waits) >= 5 and max(waits) < 1.0


# --- a plain request that fails is settled too -----------------------------------------------------

class Broken:
    """A batcher stand-in that fails every request."""

    async def submit(self, rows, on_update=None):
        raise RuntimeError("the engine fell over")

    def close(self):
        pass


def test_a_plain_request_that_fails_is_settled_to_its_prompt(tiny_model_dir, tmp_path):
    # Before: the 500's row had no usage and its charge stayed at prompt + max_tokens.
    settings = tiny_settings(tiny_model_dir, tmp_path, batch_window_ms=0)
    provider = Provider(settings, load_model(str(tiny_model_dir), device="cpu"))
    provider.batcher.close()
    provider.batcher = Broken()
    key = create_account(settings.accounts_db, "books-broken")
    body = json.dumps({"model": MODEL_NAME, "messages": HELLO, "max_tokens": 16}).encode()
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()

    request = Request({"type": "http", "method": "POST", "path": "/v1/chat/completions",
                       "headers": [(b"authorization", f"Bearer {key}".encode())]}, receive)
    try:
        response = asyncio.run(provider.ledgered(request, "/v1/chat/completions", provider.chat))
    finally:
        provider.close()
    row = read_ledger(settings.ledger_db).iloc[-1]
    assert response.status_code == row.status == 500 and row.error_code == "internal_error"
    assert row.prompt_tokens > 0 and row.completion_tokens == 0 and row.total_tokens == row.prompt_tokens
    with sqlite3.connect(settings.accounts_db) as conn:
        assert conn.execute("SELECT tokens FROM rate_charges").fetchall() == [(row.prompt_tokens,)]


# --- the whole list: none of it made the server fail ------------------------------------------------

def test_no_attack_got_a_5xx(server):
    ledger = read_ledger(server.settings.ledger_db)
    assert len(ledger) > 20 and (ledger.status < 500).all(), ledger[ledger.status >= 500]
