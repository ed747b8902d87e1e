"""Which prompts are prefilled in a step, and how much of a long one.

Prompts of up to `prefill_tokens` are prefilled whole, padded together within a token
budget (as many tokens as rows decode, at least `prefill_tokens`; `prefill_max` when none
decode). A longer prompt goes in chunks: while other rows decode or wait for their first
token, only as long as its chunks' time stays under `long_share` of the decoding time,
each chunk sized to take about one decoding step; alone, in chunks of about `chunk_s`
seconds, so that a newcomer waits for one chunk at most. A long prompt then slows the rows
decoding beside it by about 1.5x instead of stalling them for its whole prefill
(head-of-line blocking).
"""

from __future__ import annotations

from casestudy.provider.serving.forward import Forward, Joining
from casestudy.provider.serving.rows import Live


class PrefillSchedule:
    """The prefill share of each step, and the timing of a long prompt's chunks."""

    def __init__(self, forward: Forward, prefill_tokens: int, prefill_max: int = 1024, long_share: float = 0.5):
        self.forward = forward
        self.prefill_tokens = prefill_tokens   # longer prompts go in chunks; at least this many tokens per step
        self.prefill_max = max(prefill_max, prefill_tokens)
        self.long_share = long_share           # a long prompt's prefill time / decoding time, at most
        self.chunk_s = 0.1                     # seconds per chunk of a long prompt alone in the engine
        self.reset()

    def reset(self) -> None:
        self.credit = 0.0                           # seconds a long prompt's chunks may take now
        self.chunk = {False: None, True: None}      # tokens per chunk of a long prompt: alone, shared

    def plan(self, waiting: list[Live], budget: int) -> tuple[list[Live], Live | None]:
        """This step's prefill: prompts of at most `prefill_tokens` tokens prefilled whole,
        padded together within `budget`; and the oldest longer prompt, in chunks."""
        long = next((r for r in waiting if r.done), None) or \
            next((r for r in waiting if r.remaining > self.prefill_tokens), None)
        group, prompts, width = [], set(), 0
        for r in waiting:
            if r is long or r.done or r.remaining > self.prefill_tokens:
                continue
            key = tuple(r.row.prompt_ids)
            if key not in prompts:
                wider = max(width, len(key))
                if prompts and (len(prompts) + 1) * wider > budget:
                    break
                prompts.add(key)
                width = wider
            group.append(r)
        return group, long

    def run(self, waiting: list[Live], decoding: int, decode_s: float) -> list[Joining]:
        """Prefill within this step's share (`decode_s`: the time of its decoding forward);
        the rows whose prompts are now all in."""
        if not waiting:
            return []
        budget = self.prefill_max if decoding == 0 else max(self.prefill_tokens, decoding)
        group, long = self.plan(waiting, budget)
        joining = []
        if group:
            joining.append(self.forward.prefill(group))
        if long is None:
            self.reset()
            return joining
        contended = decoding > 0 or bool(group)
        if contended:
            self.credit = min(self.credit + self.long_share * decode_s, decode_s)
        if not contended or self.credit > 0:
            size = self.chunk[contended] or min(64, self.prefill_tokens)
            started = self.forward.clock()
            ready = self.forward.chunk(long, size)
            spent = self.forward.clock() - started
            if contended:
                self.credit -= spent
            target = decode_s if contended else self.chunk_s
            if target > 0:
                scale = min(8.0, max(0.25, target / max(spent, 1e-6)))
                self.chunk[contended] = int(min(self.prefill_max, max(16, size * scale)))
            if ready is not None:
                joining.append(ready)
        return joining
