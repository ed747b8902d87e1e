"""Settings, accounts, rate limits, the ledger, the host check and the engine, in process."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from casestudy.provider.__main__ import main
from casestudy.provider.accounts import create_account, find_account
from casestudy.provider.app import Provider
from casestudy.provider.ledger import Ledger, LedgerRow, read_ledger
from casestudy.provider.ratelimit import Charge, RateLimiter, Refusal, go_duration
from casestudy.provider.schemas import ChatCompletionRequest
from casestudy.provider.server import check_host
from casestudy.provider.serving.engine import Engine
from casestudy.provider.serving.rows import Row
from casestudy.provider.settings import ProviderSettings, WatermarkSettings
from casestudy.models import load_model
from tests.provider.conftest import tiny_settings


def test_settings_round_trip_through_json(tmp_path):
    settings = ProviderSettings(model_name="m", watermark=WatermarkSettings(key=5, bias=1.5), system_prompt="Hi")
    assert ProviderSettings.load(settings.save(tmp_path / "s.json")) == settings
    with pytest.raises(ValueError, match="greenlist_ratio"):
        WatermarkSettings(greenlist_ratio=1.5)
    with pytest.raises(ValueError, match="max_batch_size"):
        ProviderSettings(max_batch_size=0)


def test_non_loopback_host_needs_explicit_flag(capsys):
    check_host(ProviderSettings(host="127.0.0.1"))
    check_host(ProviderSettings(host="0.0.0.0", allow_remote=True))
    with pytest.raises(PermissionError, match="allow-remote"):
        check_host(ProviderSettings(host="0.0.0.0"))
    assert main(["serve", "--host", "0.0.0.0"]) == 2 and "allow-remote" in capsys.readouterr().err


def test_accounts_store_only_key_hashes(tmp_path):
    db = tmp_path / "accounts.sqlite"
    key = create_account(db, "bob", rpm=5)
    assert find_account(db, key).name == "bob" and find_account(db, key).rpm == 5
    assert find_account(db, key + "x") is None
    stored = sqlite3.connect(db).execute("SELECT * FROM accounts").fetchall()
    assert key not in repr(stored)
    with pytest.raises(ValueError, match="already exists"):
        create_account(db, "bob")


def test_rate_limiter_windows_and_retry_after():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert isinstance(limiter.admit(1, rpm=2, tpm=100, tokens=10), Charge)
    now[0] = 10
    assert isinstance(limiter.admit(1, rpm=2, tpm=100, tokens=10), Charge)
    refusal = limiter.admit(1, rpm=2, tpm=100, tokens=10)
    assert isinstance(refusal, Refusal) and refusal.limit == "requests" and refusal.retry_after_s == 50
    assert isinstance(limiter.admit(2, rpm=2, tpm=100, tokens=10), Charge)  # accounts are separate
    charge = limiter.admit(3, rpm=10, tpm=100, tokens=90)
    refusal = limiter.admit(3, rpm=10, tpm=100, tokens=20)
    assert refusal.limit == "tokens" and refusal.retry_after_s == 60
    limiter.settle(charge, 30)  # the answer was shorter than max_tokens
    assert isinstance(limiter.admit(3, rpm=10, tpm=100, tokens=20), Charge)
    assert limiter.admit(4, rpm=10, tpm=100, tokens=101).limit == "tokens"
    now[0] = 61
    assert isinstance(limiter.admit(1, rpm=2, tpm=100, tokens=10), Charge)


def test_rate_limits_live_in_sqlite_and_survive_a_restart(tmp_path):
    now = [1000.0]
    db = tmp_path / "accounts.sqlite"
    first = RateLimiter(db, clock=lambda: now[0])
    for _ in range(2):
        assert isinstance(first.admit(1, rpm=2, tpm=100, tokens=30), Charge)
    first.close()
    again = RateLimiter(db, clock=lambda: now[0])  # a restarted server on the same file
    assert again.count_request(1, rpm=2).limit == "requests"
    assert again.admit(1, rpm=3, tpm=100, tokens=50).limit == "tokens"  # 60 used: counted, no room
    state = again.state(1, rpm=3, tpm=100)
    assert (state.remaining_requests, state.remaining_tokens) == (0, 40)
    assert state.headers()["x-ratelimit-reset-requests"] == "1m0s"
    now[0] += 59.5
    assert state.headers()["x-ratelimit-limit-tokens"] == "100"
    assert again.state(1, rpm=3, tpm=100).headers()["x-ratelimit-reset-tokens"] == "500ms"
    now[0] += 1
    assert isinstance(again.admit(1, rpm=2, tpm=100, tokens=100), Charge)


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (0.0004, "1ms"), (0.12, "120ms"), (8.64, "8.64s"),
                                           (59.9999, "1m0s"), (60, "1m0s"), (61.5, "1m1.5s")])
def test_reset_durations_are_written_as_openai_writes_them(seconds, text):
    assert go_duration(seconds) == text


def test_ledger_keeps_every_row_from_threads_and_across_reopen(tmp_path):
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    threads = [threading.Thread(target=lambda i=i: [ledger.write(LedgerRow(
        time=1.0, endpoint="e", status=200, account_name=f"t{i}", messages=[{"role": "user", "content": "é"}],
        completions=["x"])) for _ in range(25)]) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.close()
    Ledger(path).write(LedgerRow(time=2.0, endpoint="e", status=401))  # a restarted server appends
    frame = read_ledger(path)
    assert len(frame) == 201 and frame.account_name.value_counts().eq(25).all()
    assert frame.messages.iloc[0][0]["content"] == "é" and frame.status.iloc[-1] == 401


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    return Engine(load_model(str(tiny_model_dir), device="cpu"), WatermarkSettings(key=3))


def test_a_seeded_row_gives_the_same_tokens_alone_or_in_a_batch(engine, tokenizer):
    prompt = tokenizer.encode("Once upon a time")
    alone = engine.generate([Row(prompt, 8, seed=11)])[0]
    longer = tokenizer.encode("A much longer prompt that forces left padding on the other row")
    batched = engine.generate([Row(longer, 5, seed=1), Row(prompt, 8, seed=11), Row(prompt, 3, temperature=0)])
    assert batched[1].token_ids == alone.token_ids
    assert [len(c.token_ids) for c in batched] == [5, 8, 3]  # each row its own length
    assert [c.finish_reason for c in batched] == ["length"] * 3


def test_top_p_zero_is_greedy(engine, tokenizer):
    prompt = tokenizer.encode("Hello")
    greedy = engine.generate([Row(prompt, 6, temperature=0)])[0]
    nucleus = engine.generate([Row(prompt, 6, top_p=0.0, seed=5)])[0]
    assert nucleus.token_ids == greedy.token_ids


def test_a_model_without_chat_template_gets_a_plain_transcript(tiny_model_dir, tmp_path):
    loaded = load_model(str(tiny_model_dir), device="cpu")
    loaded.tokenizer.chat_template = None  # a base model, e.g. a student saved without one
    provider = Provider(tiny_settings(tiny_model_dir, tmp_path, system_prompt="Be brief."), loaded)
    try:
        request = ChatCompletionRequest.model_validate({"model": "tiny", "messages": [{"role": "user", "content": "hi"}]})
        text = loaded.tokenizer.decode(provider.planner.prompt_ids(request))
        assert text.endswith("system: Be brief.\nuser: hi\nassistant:")
    finally:
        provider.close()


def test_a_prompt_provably_over_the_window_is_refused_without_tokenizing(tiny_model_dir, tmp_path, monkeypatch):
    from casestudy.provider import planning
    from casestudy.provider.errors import APIError

    provider = Provider(tiny_settings(tiny_model_dir, tmp_path), load_model(str(tiny_model_dir), device="cpu"))
    calls = []
    monkeypatch.setattr(planning, "encode_chat", lambda tok, messages: calls.append(1) or [1] * 10)
    try:
        window, longest = provider.engine.context_window, provider.planner.max_token_bytes
        assert longest >= 64  # SmolLM2's longest token: 81 bytes
        for size, tokenized in ((window * longest + longest, False), (window * longest - 1000, True)):
            request = ChatCompletionRequest.model_validate(
                {"model": "tiny", "messages": [{"role": "user", "content": "x" * size}]})
            calls.clear()
            try:
                provider.planner.plan(request)
            except APIError as error:
                assert error.code == "context_length_exceeded"
            assert bool(calls) is tokenized
    finally:
        provider.close()
