"""What the rows drew: tokens, logprobs and top-k kept on the device until a row ends,
then copied to the host once and cut into a `Completion` (at EOS or a stop string)."""

from __future__ import annotations

from typing import Sequence

import torch

from casestudy.models import LoadedModel
from casestudy.provider.serving.rows import Completion, Live, Row, Update


def eos_token_ids(loaded: LoadedModel) -> set[int]:
    ids = loaded.model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return ids


class Outputs:
    """Per-row records of drawn tokens, logprobs and top-k, on the device until a row ends."""

    def __init__(self, device: torch.device):
        self.device = device
        self.tokens = self.logprobs = self.top_values = self.top_ids = None
        self.counts = None           # [records, vocab] generated-token counts, once a row has penalties
        self.free: list[int] = []
        self.count = 0

    def allocate(self) -> int:
        if self.free:
            return self.free.pop()
        self.count += 1
        return self.count - 1

    def ensure(self, length: int, k: int, vocab: int = 0) -> None:
        rows = max(self.count, 1)
        have_rows = 0 if self.tokens is None else self.tokens.shape[0]
        have_len = 0 if self.tokens is None else self.tokens.shape[1]
        have_k = 0 if self.top_values is None else self.top_values.shape[2]
        if vocab and self.counts is None:
            self.counts = torch.zeros((max(rows, have_rows), vocab), dtype=torch.float32, device=self.device)
        if rows <= have_rows and length <= have_len and k <= have_k:
            return
        rows, length = max(rows, 2 * have_rows), max(length, have_len)
        k = max(k, have_k)

        def grow(old, shape, dtype):
            new = torch.zeros(shape, dtype=dtype, device=self.device)
            if old is not None:
                new[tuple(slice(0, s) for s in old.shape)] = old
            return new

        self.tokens = grow(self.tokens, (rows, length), torch.long)
        if self.counts is not None:
            self.counts = grow(self.counts, (rows, self.counts.shape[1]), torch.float32)
        self.logprobs = grow(self.logprobs, (rows, length), torch.float32)
        if k:
            self.top_values = grow(self.top_values, (rows, length, k), torch.float32)
            self.top_ids = grow(self.top_ids, (rows, length, k), torch.int32)

    def store(self, record: torch.Tensor, count: torch.Tensor, tokens: torch.Tensor, scores: torch.Tensor,
              lse: torch.Tensor | None, k: int) -> None:
        """Keep a step's draw: token `count` of each row's `record`, with its logprob and
        the top `k` when `lse` (the scores' log-normaliser) is given."""
        at = (record, count)
        self.tokens.index_put_(at, tokens)
        if lse is not None:
            self.logprobs.index_put_(at, scores.gather(1, tokens[:, None])[:, 0] - lse[:, 0])
            if k:
                values, ids = scores.topk(k, dim=-1)
                self.top_values[:, :, :k].index_put_(at, values - lse)
                self.top_ids[:, :, :k].index_put_(at, ids.to(torch.int32))
        if self.counts is not None:
            self.counts.index_put_((record, tokens), torch.ones_like(tokens, dtype=self.counts.dtype),
                                   accumulate=True)

    def updates(self, slots: Sequence[Live], rows: Sequence[int], drawn: Sequence[int], record: torch.Tensor,
                count: torch.Tensor) -> list[Update]:
        """The `Update` of each streaming row (`rows` of `slots`) from the step's `drawn`
        tokens, with logprobs and top-k read at token `count` of each slot's `record` (a
        second, small copy to the host, only when streaming rows want them)."""
        lives = [slots[i] for i in rows]
        want = [i for i, live in zip(rows, lives) if live.row.logprobs]
        lp, top_ids, top_values = {}, {}, {}
        if want:
            index = torch.tensor(want, device=self.device)
            at = (record.index_select(0, index), count.index_select(0, index))
            lp = dict(zip(want, self.logprobs[at].tolist()))
            k = max(slots[i].row.top_logprobs for i in want)
            if k:
                top_values = dict(zip(want, self.top_values[at][:, :k].tolist()))
                top_ids = dict(zip(want, self.top_ids[at][:, :k].tolist()))
        updates = []
        for i, live in zip(rows, lives):
            k = live.row.top_logprobs if live.row.logprobs else 0
            updates.append(Update(live.key, drawn[i], lp.get(i), top_ids[i][:k] if k else [],
                                  top_values[i][:k] if k else []))
        return updates

    def completions(self, lives: Sequence[Live], lengths: Sequence[int], finish) -> list[tuple[object, Completion]]:
        """Completions of finished rows, the first `lengths` tokens of their records copied
        to the host once; `finish(row, tokens)` cuts each at EOS or a stop string."""
        records = torch.tensor([live.record for live in lives], device=self.device)
        span = max(lengths)
        tokens = self.tokens.index_select(0, records)[:, :span].tolist()
        want_lp = any(live.row.logprobs for live in lives)
        logprobs = self.logprobs.index_select(0, records)[:, :span].tolist() if want_lp else None
        k = max(live.row.top_logprobs for live in lives if live.row.logprobs) if want_lp else 0
        top_values = self.top_values.index_select(0, records)[:, :span, :k].tolist() if k else None
        top_ids = self.top_ids.index_select(0, records)[:, :span, :k].tolist() if k else None
        results = []
        for i, (live, n) in enumerate(zip(lives, lengths)):
            completion = finish(live.row, tokens[i][:n])
            m, k_row = len(completion.token_ids), live.row.top_logprobs
            if live.row.logprobs:
                completion.logprobs = logprobs[i][:m]
                completion.top_ids = [t[:k_row] for t in top_ids[i][:m]] if k_row else [[] for _ in range(m)]
                completion.top_logprobs = [t[:k_row] for t in top_values[i][:m]] if k_row else [[] for _ in range(m)]
            results.append((live.key, completion))
        return results


def finish(tokenizer, eos_ids: set[int], row: Row, generated: list[int]) -> Completion:
    """Tokens and text up to EOS, max_new_tokens or the first stop string (excluded)."""
    finish_reason = "length"
    tokens = generated
    if tokens and tokens[-1] in eos_ids:
        tokens, finish_reason = tokens[:-1], "stop"
    text = tokenizer.decode(tokens, skip_special_tokens=True)
    if row.stop:
        hits = [(text.find(s), s) for s in row.stop if s in text]
        if hits:
            cut = min(hits)[0]
            text, finish_reason = text[:cut], "stop"
            # Keep the fewest tokens whose text reaches the stop string.
            for j in range(1, len(tokens) + 1):
                if len(tokenizer.decode(tokens[:j], skip_special_tokens=True)) > cut:
                    tokens = tokens[:j]
                    break
    return Completion(tokens, text, finish_reason, [], [], [])
