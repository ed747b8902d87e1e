"""What the engine is asked for and what it answers: `Row` in, `Completion` and `Update`
out; `Live`, a row inside the engine from `Engine.add` to its completion."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import DynamicCache

GREEDY_BELOW = 1e-4
"""Temperatures below this are served greedily (as 0). Dividing logits by a temperature
near 0 overflows float32 to inf (inf - inf = NaN in the softmax); at 1e-4 the sampling
distribution is already the argmax unless two logits lie within ~1e-3 of each other."""


@dataclass
class Row:
    """One completion to generate (a request with n=3 is three rows)."""
    prompt_ids: list[int]
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None          # None: a fresh random seed
    stop: list[str] = field(default_factory=list)
    top_logprobs: int = 0            # alternatives to record per token (0..20)
    logprobs: bool = True            # record each chosen token's logprob
    stream: bool = False             # report each drawn token after its step (`Engine.updates`)
    frequency_penalty: float = 0.0   # OpenAI's: logits - count x this - (count > 0) x presence_penalty,
    presence_penalty: float = 0.0    # counting the row's generated tokens (not the prompt)

    @property
    def greedy(self) -> bool:
        return self.temperature < GREEDY_BELOW or self.top_p <= 0


@dataclass
class Completion:
    token_ids: list[int]
    text: str
    finish_reason: str                # "stop" or "length"
    logprobs: list[float]             # of each chosen token ([] when the row asked for none)
    top_ids: list[list[int]]          # per token, the `top_logprobs` most likely ids
    top_logprobs: list[list[float]]


@dataclass(frozen=True)
class Update:
    """A token drawn for a streaming row in the last step (EOS and tokens past a stop
    string included: the row's `Completion` says where it ends)."""
    key: object
    token_id: int
    logprob: float | None             # None when the row asked for no logprobs
    top_ids: list[int]
    top_logprobs: list[float]


@dataclass(eq=False)
class Live:
    """A row inside the engine, from `add` to its completion."""
    key: object
    row: Row
    seed: int
    record: int                       # its row in the engine's `Outputs`
    width: int                        # prompt + max_new_tokens: the columns it may need
    done: int = 0                     # prompt tokens prefilled so far (chunked prefill)
    cache: DynamicCache | None = None # its own cache while its prompt is prefilled in chunks
    start: int = 0                    # its first column in the slot cache
    joined: int = 0                   # the engine step that drew its first token
    last: int = 0                     # its latest token (the watermark's context)
    tokens: list[int] | None = None   # generated tokens, kept on the host only for stop strings
    window: int = 0                   # tokens decoded per stop-string check
    stopped: bool = False

    @property
    def remaining(self) -> int:
        return len(self.row.prompt_ids) - self.done
