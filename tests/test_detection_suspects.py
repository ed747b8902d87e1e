"""A suspect served as a black box and queried through the openai client."""

from casestudy.detection.suspects import query_model, suspect_settings
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
