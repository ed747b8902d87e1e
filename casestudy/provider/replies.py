"""OpenAI's logprob entries of a completion's tokens: each token's text, its exact bytes
(`casestudy.token_bytes`) and logprob, and its top alternatives."""

from __future__ import annotations

from casestudy.provider.serving.rows import Completion, Update
from casestudy.token_bytes import token_bytes


class LogprobEntries:
    """Logprob entries from one tokenizer, each token's text and bytes computed once."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._known: dict[int, tuple[str, list[int]]] = {}

    def entry(self, token_id: int, logprob: float) -> dict:
        known = self._known.get(token_id)
        if known is None:
            tok = self.tokenizer
            known = self._known[token_id] = (tok.decode([token_id]), list(token_bytes(tok, token_id)))
        return {"token": known[0], "logprob": logprob, "bytes": known[1]}

    def with_top(self, token_id: int, logprob: float, top_ids: list[int], top_logprobs: list[float]) -> dict:
        return {**self.entry(token_id, logprob),
                "top_logprobs": [self.entry(i, v) for i, v in zip(top_ids, top_logprobs)]}

    def content(self, completion: Completion) -> list[dict]:
        """`choices[].logprobs.content` of a completion."""
        return [self.with_top(*token) for token in zip(
            completion.token_ids, completion.logprobs, completion.top_ids, completion.top_logprobs)]

    def of_update(self, update: Update) -> dict:
        """The entry of a streamed token."""
        return self.with_top(update.token_id, update.logprob, update.top_ids, update.top_logprobs)
