"""Exact bytes of each token, and back: how a client maps a logprob entry to a token id.

For a byte-level BPE tokenizer (GPT-2, SmolLM2, Llama 3, Qwen) the vocabulary strings
are bytes written through GPT-2's bytes-to-unicode table; undoing that table gives the
token's raw bytes. Other tokenizers fall back to the UTF-8 of the token's decoded text.
"""

from __future__ import annotations

import json

from transformers import PreTrainedTokenizerBase
from transformers.convert_slow_tokenizer import bytes_to_unicode

_UNICODE_TO_BYTE = {char: byte for byte, char in bytes_to_unicode().items()}


def is_byte_level(tokenizer: PreTrainedTokenizerBase) -> bool:
    """True when the tokenizer's pre-tokenizer or decoder is byte-level BPE."""
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    if backend is None:
        return False
    spec = json.loads(backend.to_str())
    return "ByteLevel" in json.dumps([spec.get("pre_tokenizer"), spec.get("decoder")])


def _vocab_string_bytes(token: str) -> bytes | None:
    if all(char in _UNICODE_TO_BYTE for char in token):
        return bytes(_UNICODE_TO_BYTE[char] for char in token)
    return None


def token_bytes(tokenizer: PreTrainedTokenizerBase, token_id: int) -> bytes:
    """The exact raw bytes of one token."""
    return _tables(tokenizer).id_to_bytes[token_id]


def token_id_from_bytes(tokenizer: PreTrainedTokenizerBase, raw: bytes | list[int]) -> int:
    """The token id whose exact bytes are `raw` (a `bytes` or the JSON list of ints)."""
    key = bytes(raw)
    try:
        return _tables(tokenizer).bytes_to_id[key]
    except KeyError:
        raise KeyError(f"no token of this tokenizer has the bytes {key!r}") from None


class _Tables:
    def __init__(self, tokenizer: PreTrainedTokenizerBase):
        byte_level = is_byte_level(tokenizer)
        special = set(tokenizer.all_special_ids)
        self.id_to_bytes: dict[int, bytes] = {}
        for token, token_id in tokenizer.get_vocab().items():
            raw = _vocab_string_bytes(token) if byte_level and token_id not in special else None
            if raw is None:
                raw = tokenizer.decode([token_id], skip_special_tokens=False).encode("utf-8")
            self.id_to_bytes[token_id] = raw
        self.bytes_to_id: dict[bytes, int] = {}
        # Prefer ordinary tokens over special ones when two share the same bytes.
        for token_id in sorted(self.id_to_bytes, key=lambda i: (i in special, i)):
            self.bytes_to_id.setdefault(self.id_to_bytes[token_id], token_id)


def _tables(tokenizer: PreTrainedTokenizerBase) -> _Tables:
    # Tokenizers are not hashable by content; one table per tokenizer object.
    cached = getattr(tokenizer, "_casestudy_token_tables", None)
    if cached is None:
        cached = _Tables(tokenizer)
        tokenizer._casestudy_token_tables = cached
    return cached
