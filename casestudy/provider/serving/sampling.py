"""The draw of every decoding row's next token, vectorised on the device.

penalties -> watermark bias (`Marking`) -> [logprobs and top-k, see `Outputs.store`] ->
temperature / top_p -> a Gumbel-max draw whose noise is a hash of (seed, i, token) for the
row's i-th token (`gumbel_draw`), so a seeded row gives the same tokens whatever shares
its batch and whenever it joined. Greedy rows take the argmax.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from transformers.generation.logits_process import WatermarkLogitsProcessor

from casestudy.provider.serving.rows import Live
from casestudy.provider.settings import WatermarkSettings
from casestudy.provider.watermark import DeviceGreenLists, watermark_processor

# --- counter-based noise -------------------------------------------------------------
# Integer hashes in int64 arithmetic that never overflows (32-bit values times 31-bit
# constants), so the same bits come out on the CPU and CUDA.

BUCKET = 256          # tokens per bucket of the two-level draw


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash (Wellons' two-round "lowbias32" family) of values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = (x * 0x21F0AAAD) & 0xFFFFFFFF
    x = x ^ (x >> 15)
    x = (x * 0x735A2D97) & 0xFFFFFFFF
    return x ^ (x >> 15)


def row_keys(seed: torch.Tensor, counter: torch.Tensor) -> torch.Tensor:
    """One 32-bit key per (63-bit seed, counter): the row's i-th draw."""
    return _mix32(_mix32(_mix32(counter & 0xFFFFFFFF) ^ (seed & 0xFFFFFFFF)) ^ ((seed >> 32) & 0xFFFFFFFF))


def counter_gumbel(keys: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel noise for each (row key, index) pair: `keys` [rows], `index` [rows, n]."""
    h = _mix32(keys[:, None] ^ _mix32(index & 0xFFFFFFFF))
    u = ((h >> 9) * 2 + 1).to(torch.float32) * (1.0 / (1 << 24))   # in (0, 1), 23 bits
    return -torch.log(-torch.log(u))


def gumbel_draw(z: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """A token per row with probability softmax(z), from the row's key alone.

    Two-level Gumbel-max: a bucket of `BUCKET` tokens drawn by its log-mass, then a token
    within it, each with its own counter-based noise. Unlike an inverse-CDF draw (where a
    1e-7 change of the logits, e.g. from another batch size, moves every boundary of the
    CDF and flips the draw for a few percent of tokens), this flips only if the two best
    noisy scores are within ~1e-7 of each other. It also needs no softmax or cumsum.
    """
    rows, vocab = z.shape
    pad = (-vocab) % BUCKET
    if pad:
        z = torch.nn.functional.pad(z, (0, pad), value=float("-inf"))
    buckets = z.view(rows, -1, BUCKET)
    mass = buckets.logsumexp(-1)
    ids = torch.arange(mass.shape[1], device=z.device).expand(rows, -1)
    bucket = (mass + counter_gumbel(_mix32(keys ^ 0x1B873593), ids)).argmax(-1)
    within = buckets[torch.arange(rows, device=z.device), bucket]
    token_ids = bucket[:, None] * BUCKET + torch.arange(BUCKET, device=z.device)
    pick = (within + counter_gumbel(_mix32(keys ^ 0x68E31DA4), token_ids)).argmax(-1)
    return bucket * BUCKET + pick


# --- the draw --------------------------------------------------------------------------

@dataclass
class Sampling:
    """The decoding rows' draw settings as device tensors (rebuilt when rows join or leave)."""
    seed: torch.Tensor
    temperature: torch.Tensor         # 1 for greedy rows
    top_p: torch.Tensor
    greedy: torch.Tensor
    all_greedy: bool
    any_greedy: bool
    scaled: bool                      # some sampled row has a temperature other than 1
    nucleus: bool                     # some sampled row has top_p < 1
    want_logprobs: bool
    k: int                            # top-k alternatives to record (the most any row asks)
    penalized: bool
    frequency: torch.Tensor | None = None
    presence: torch.Tensor | None = None

    @classmethod
    def of(cls, lives: Sequence[Live], device: torch.device) -> "Sampling":
        rows = [live.row for live in lives]
        greedy = [row.greedy for row in rows]
        floats = torch.tensor([[1.0 if g else row.temperature, row.top_p] for g, row in zip(greedy, rows)])
        temperature, top_p = upload(floats, device).unbind(1)
        want_logprobs = any(row.logprobs for row in rows)
        penalized = any(row.frequency_penalty or row.presence_penalty for row in rows)
        frequency = presence = None
        if penalized:
            frequency, presence = upload(torch.tensor(
                [[row.frequency_penalty, row.presence_penalty] for row in rows]), device).unbind(1)
        return cls(
            seed=upload(torch.tensor([live.seed for live in lives], dtype=torch.long), device),
            temperature=temperature, top_p=top_p, greedy=upload(torch.tensor(greedy), device),
            all_greedy=all(greedy), any_greedy=any(greedy),
            scaled=any(row.temperature != 1.0 for row, g in zip(rows, greedy) if not g),
            nucleus=any(row.top_p < 1.0 for row, g in zip(rows, greedy) if not g),
            want_logprobs=want_logprobs,
            k=max(row.top_logprobs for row in rows if row.logprobs) if want_logprobs else 0,
            penalized=penalized, frequency=frequency, presence=presence)

    def penalize(self, logits: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
        """OpenAI's frequency and presence penalties, from each row's generated-token counts."""
        return logits - seen * self.frequency[:, None] - (seen > 0) * self.presence[:, None]

    def choose(self, scores: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """Each row's next token: the argmax, or a seeded draw at its temperature and top_p
        (`count`: the tokens each row has drawn so far)."""
        if self.all_greedy:
            return scores.argmax(-1)
        z = scores / self.temperature[:, None] if self.scaled else scores
        if self.nucleus:
            probs = torch.softmax(z, dim=-1)
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            above = sorted_probs.cumsum(-1) - sorted_probs   # mass strictly above each token
            outside = torch.zeros_like(probs, dtype=torch.bool).scatter_(1, order, above >= self.top_p[:, None])
            z = z.masked_fill(outside, float("-inf"))
        tokens = gumbel_draw(z, row_keys(self.seed, count))
        if self.any_greedy:
            tokens = torch.where(self.greedy, scores.argmax(-1), tokens)
        return tokens


class Marking:
    """The green-list watermark's bias on the decoding rows' logits: from a table of green
    lists on the device ("lefthash"), or transformers' own per-row code ("selfhash").

    With "lefthash" a `slot` map on the device gives each previous token its table row, so
    a step reads its rows from the previous tokens already on the device: no upload. Only a
    previous token the table has not seen (or has evicted) costs host work, all in the
    "green lists" `record_function` region: its list drawn on the CPU, then two uploads
    (the new lists, their rows) for all the step's new tokens."""

    REGION = "green lists"

    def __init__(self, settings: WatermarkSettings, vocab_size: int, device: torch.device):
        self.processor = watermark_processor(settings, vocab_size)
        self.mark_greedy = settings.mark_greedy
        self.device = device
        self.green = (DeviceGreenLists(self.processor, device)
                      if self.processor.seeding_scheme == "lefthash" else None)
        self.slot = torch.zeros(vocab_size, dtype=torch.long, device=device)   # token -> table row

    @property
    def needs_tokens(self) -> bool:
        """Whether rows must keep their generated tokens on the host (the context of "selfhash")."""
        return self.green is None

    def marked(self, logits: torch.Tensor, sampling: Sampling, lives: Sequence[Live], prev: Sequence[int],
               prev_t: torch.Tensor, step: int) -> torch.Tensor:
        """The bias on the rows it covers: all of them, or only the sampled ones without `mark_greedy`."""
        if not self.mark_greedy and sampling.all_greedy:
            return logits
        scores = self(logits, lives, prev, prev_t, step)
        if not self.mark_greedy and sampling.any_greedy:   # greedy rows answer unmarked
            scores = torch.where(sampling.greedy[:, None], logits, scores)
        return scores

    def __call__(self, scores: torch.Tensor, lives: Sequence[Live], prev: Sequence[int], prev_t: torch.Tensor,
                 step: int) -> torch.Tensor:
        """`scores` plus the bias; `prev` the rows' previous tokens, `prev_t` the same on the device."""
        width = self.processor.context_width
        lengths = ([len(s.row.prompt_ids) + step - s.joined for s in lives] if width > 1
                   else [width] * len(lives))
        if self.green is not None:
            return self.green.add(scores, self.rows(prev, prev_t, lengths))
        # "selfhash": transformers' own per-row code on the CPU (slow, as it always was).
        out = scores.cpu()
        for i, live in enumerate(lives):
            if lengths[i] >= width:
                context = (live.row.prompt_ids + (live.tokens or []))[-width:]
                out[i:i + 1] = WatermarkLogitsProcessor.__call__(self.processor, torch.tensor([context]), out[i:i + 1])
        return out.to(scores.device)

    def rows(self, prev: Sequence[int], prev_t: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
        """Each row's table row (`DeviceGreenLists.rows`'s answer, read on the device): 0, no
        bias, for a row shorter than the context width."""
        known = self.green._rows
        self.green.capacity = max(self.green.capacity, len(set(prev)))   # a step's rows never evict each other
        new = []
        for token in prev:   # this step's tokens first become the most recent: none is evicted below
            if token in known:
                known.move_to_end(token)
            else:
                new.append(token)
        if new:
            self._refill(list(dict.fromkeys(new)))
        rows = self.slot.index_select(0, prev_t)
        width = self.processor.context_width
        if any(n < width for n in lengths):   # only in a row's first steps, if ever
            rows = rows * upload(torch.tensor([n >= width for n in lengths], dtype=torch.long), self.device)
        return rows

    def _refill(self, tokens: list[int]) -> None:
        """Green lists of `tokens` into the table (drawn on the CPU, as the detector draws
        them), and their rows into `slot`."""
        green = self.green
        with torch.profiler.record_function(self.REGION):
            masks = torch.zeros((len(tokens), self.processor.vocab_size), dtype=torch.bool)
            for i, token in enumerate(tokens):
                masks[i, self.processor._get_greenlist_ids(torch.tensor([token]))] = True
            rows = [green._allocate(token) for token in tokens]
            if max(tokens) >= self.slot.shape[0]:   # a model may pad its head wider than the vocabulary
                grown = torch.zeros(2 * max(tokens) + 1, dtype=torch.long, device=self.device)
                grown[: self.slot.shape[0]] = self.slot
                self.slot = grown
            index = upload(torch.tensor(rows + tokens), self.device)
            green.table.index_copy_(0, index[: len(rows)], upload(masks, self.device))
            self.slot.index_copy_(0, index[len(rows):], index[: len(rows)])


def upload(host: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor on `device`; on CUDA from pinned memory without waiting (a plain
    `.to(device)` makes the host wait for every kernel queued before the copy)."""
    if device.type != "cuda":
        return host.to(device)
    return host.pin_memory().to(device, non_blocking=True)
