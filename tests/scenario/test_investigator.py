"""A suspect served as a black box and queried through the openai client."""

import pytest

from casestudy.scenario.investigator import query_model, suspect_settings
from casestudy.provider.ledger import read_ledger


def test_query_model_returns_one_answer_per_conversation_in_order(tiny_llama_dir, tmp_path):
    settings = suspect_settings(tiny_llama_dir, tmp_path, "suspect", device="cpu")
    conversations = [[{"role": "user", "content": f"Question number {i}?"}] for i in range(5)]
    answers = query_model(settings, conversations, max_tokens=6, temperature=1.0, seed=3)
    assert len(answers) == 5 and all(isinstance(a, str) for a in answers)
    ledger = read_ledger(tmp_path / "suspect-ledger.sqlite")
    asked = [m[-1]["content"] for m in ledger[ledger.status == 200].messages]
    assert sorted(asked) == sorted(c[0]["content"] for c in conversations)
    assert not settings.watermark_enabled
    assert settings.precision == "auto" and settings.max_batch_size == 128  # served as its owner would


def test_ask_model_starts_one_server_and_reuses_cached_answers(tiny_llama_dir, tmp_path, monkeypatch):
    from casestudy.scenario import investigator as study
    sets = {"a": study.QuerySet([[{"role": "user", "content": "Hi?"}]] * 3, 4, 1.0),
            "b": study.QuerySet([[{"role": "user", "content": "Who are you?"}]] * 2, 4, 0.0)}
    first = study.ask_model("m", tiny_llama_dir, sets, tmp_path, seed=1, device="cpu")
    assert [len(first["a"]), len(first["b"])] == [3, 2]
    assert len(read_ledger(tmp_path / "servers" / "m-ledger.sqlite").query("status == 200")) == 5

    def no_server(*args, **kwargs):
        raise AssertionError("cached answers must not start a server")

    monkeypatch.setattr(study, "running_server", no_server)
    assert study.ask_model("m", tiny_llama_dir, sets, tmp_path, seed=1, device="cpu") == first
    changed = {"a": study.QuerySet([[{"role": "user", "content": "Other?"}]], 4, 1.0)}
    with pytest.raises(AssertionError, match="must not start a server"):  # new questions need the model again
        study.ask_model("m", tiny_llama_dir, changed, tmp_path, seed=1, device="cpu")
    with pytest.raises(AssertionError, match="must not start a server"):  # so does another precision
        study.ask_model("m", tiny_llama_dir, sets, tmp_path, seed=1, device="cpu", precision="fp32")
