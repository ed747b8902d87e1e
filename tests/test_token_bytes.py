"""Logprob bytes map back to exact token ids."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from casestudy.models import embedded_model_dir
from casestudy.token_bytes import is_byte_level, token_bytes, token_id_from_bytes



@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(embedded_model_dir())


def test_every_token_round_trips_through_its_bytes(tokenizer):
    assert is_byte_level(tokenizer)
    for token_id in range(len(tokenizer)):
        assert token_id_from_bytes(tokenizer, token_bytes(tokenizer, token_id)) == token_id


def test_bytes_are_exact_raw_utf8(tokenizer):
    text = "Héllo wörld 日本語 🙂 <|im_end|>!"
    ids = tokenizer.encode(text)
    assert b"".join(token_bytes(tokenizer, i) for i in ids).decode("utf-8") == text
    # An emoji split over several tokens: single tokens carry partial UTF-8 sequences.
    emoji_ids = tokenizer.encode("🙂")
    assert len(emoji_ids) > 1 and b"".join(token_bytes(tokenizer, i) for i in emoji_ids) == "🙂".encode()
    assert token_id_from_bytes(tokenizer, list(token_bytes(tokenizer, emoji_ids[0]))) == emoji_ids[0]


def test_unknown_bytes_raise(tokenizer):
    with pytest.raises(KeyError, match="no token"):
        token_id_from_bytes(tokenizer, b"\x00definitely not one token\xff")
