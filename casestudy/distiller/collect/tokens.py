"""Map the raw token bytes an OpenAI-style API returns to ids of a local tokenizer.

The chat-completions API reports every sampled token and every top-logprob alternative
with its exact UTF-8 `bytes`. The distiller keeps token *ids* of the tokenizer its
students use (the teacher's). A token that tokenizer lacks (for example one from a
foreign endpoint's model) maps to -1.
"""

from __future__ import annotations

UNKNOWN_ID = -1


class TokenMap:
    """bytes -> token id for one tokenizer; -1 for bytes that are no single token."""

    def __init__(self, tokenizer):
        from casestudy.token_bytes import token_id_from_bytes  # imports transformers: only when needed

        self.lookup = token_id_from_bytes
        self.tokenizer = tokenizer
        self.cache: dict[bytes, int] = {}

    def to_id(self, raw: bytes | list[int] | None, text: str | None = None) -> int:
        """The id of a token given its bytes (or, failing that, its text); -1 if unknown."""
        if raw is None:
            if text is None:
                return UNKNOWN_ID
            raw = text.encode("utf-8")
        key = bytes(raw)
        if key not in self.cache:
            try:
                self.cache[key] = self.lookup(self.tokenizer, key)
            except KeyError:
                self.cache[key] = UNKNOWN_ID
        return self.cache[key]
