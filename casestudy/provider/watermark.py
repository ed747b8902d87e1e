"""The provider's green-list watermark: the logits processor used in generation, and
the green/red scoring primitive the detection stage needs.

Both sides build the very same `transformers.WatermarkLogitsProcessor` from
`WatermarkingConfig`, and scoring calls its own green-list seeding, so a token counted
green here is exactly a token that was boosted during generation.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch
from transformers import WatermarkingConfig
from transformers.generation.logits_process import WatermarkLogitsProcessor

from casestudy.provider.settings import WatermarkSettings


def watermarking_config(settings: WatermarkSettings) -> WatermarkingConfig:
    """The transformers config for these settings (pass to `generate` as `watermarking_config`)."""
    return WatermarkingConfig(
        greenlist_ratio=settings.greenlist_ratio,
        bias=settings.bias,
        hashing_key=settings.key,
        seeding_scheme=settings.seeding_scheme,
        context_width=settings.context_width,
    )


class CachedWatermarkProcessor(WatermarkLogitsProcessor):
    """transformers' WatermarkLogitsProcessor with its green lists cached.

    Seeding a green list costs a `randperm` of the whole vocabulary (~10 ms on a CPU),
    once per row and step. With "lefthash" the list depends only on the previous
    `context_width` tokens, so lists are kept (as boolean masks, LRU) and the bias is
    added to the whole batch at once. Green lists still come from the parent's own
    `_get_greenlist_ids`; "selfhash" uses the parent's code unchanged.

    Green lists are always drawn on the CPU: `randperm` on a CUDA generator gives other
    permutations, and the detector (CPU) must see the lists the server used.
    """

    def __init__(self, *args, cache_size: int = 1024, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache_size = cache_size
        self._masks: OrderedDict[tuple[int, ...], torch.Tensor] = OrderedDict()

    def greenlist_mask(self, prefix: torch.LongTensor) -> torch.Tensor:
        """Boolean mask (on the CPU) over the vocabulary of the green tokens after `prefix`."""
        prefix = prefix.cpu()
        key = tuple(prefix[-self.context_width:].tolist())
        mask = self._masks.get(key)
        if mask is None:
            mask = torch.zeros(self.vocab_size, dtype=torch.bool)
            mask[self._get_greenlist_ids(prefix)] = True
            self._masks[key] = mask
            if len(self._masks) > self.cache_size:
                self._masks.popitem(last=False)
        else:
            self._masks.move_to_end(key)
        return mask

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        if self.seeding_scheme != "lefthash" or input_ids.shape[-1] < self.context_width:
            return super().__call__(input_ids.cpu(), scores.cpu()).to(scores.device)
        masks = torch.stack([self.greenlist_mask(seq) for seq in input_ids.cpu()]).to(scores.device)
        # Green lists cover the first `vocab_size` logits; a model may pad its head wider.
        bias = torch.zeros_like(scores)
        bias[:, : self.vocab_size] = masks.to(scores.dtype) * self.bias
        return scores + bias


class DeviceGreenLists:
    """Green lists as boolean rows of a table on the scoring device, for "lefthash".

    With "lefthash" a token's green list is seeded by the token before it alone (whatever
    `context_width`), so the table keeps one row per recent previous token (LRU); each
    step gathers the rows of the batch's previous tokens and adds `bias` to the green
    logits in one op. Lists are drawn by the processor's own `_get_greenlist_ids` on the
    CPU; `add` gives bit for bit what `WatermarkLogitsProcessor` gives. Row 0 stays
    all-false: rows shorter than `context_width` get no bias, as the processor skips them.
    """

    def __init__(self, processor: CachedWatermarkProcessor, device: torch.device, capacity: int = 2048):
        if processor.seeding_scheme != "lefthash":
            raise ValueError("DeviceGreenLists serves the 'lefthash' scheme only")
        self.processor, self.device, self.capacity = processor, device, capacity
        self.table = torch.zeros((1, processor.vocab_size), dtype=torch.bool, device=device)
        self._rows: OrderedDict[int, int] = OrderedDict()   # previous token -> table row

    def rows(self, prev_tokens: Sequence[int], lengths: Sequence[int]) -> torch.Tensor:
        """Table rows for each sequence, given its last token and its length so far."""
        width = self.processor.context_width
        found, missing = [], []
        for token, length in zip(prev_tokens, lengths):
            if length < width:
                found.append(0)
                continue
            row = self._rows.get(token)
            if row is None:
                row = self._allocate(token)
                missing.append((row, token))
            else:
                self._rows.move_to_end(token)
            found.append(row)
        if missing:
            masks = torch.zeros((len(missing), self.processor.vocab_size), dtype=torch.bool)
            for i, (_, token) in enumerate(missing):
                masks[i, self.processor._get_greenlist_ids(torch.tensor([token]))] = True
            index = torch.tensor([row for row, _ in missing], device=self.device)
            self.table.index_copy_(0, index, masks.to(self.device))
        return torch.tensor(found, dtype=torch.long).to(self.device, non_blocking=True)

    def _allocate(self, token: int) -> int:
        if len(self._rows) + 1 < self.table.shape[0]:
            row = len(self._rows) + 1
        elif self.table.shape[0] < self.capacity + 1:
            grown = torch.zeros((min(2 * self.table.shape[0], self.capacity + 1), self.table.shape[1]),
                                dtype=torch.bool, device=self.device)
            grown[: self.table.shape[0]] = self.table
            self.table = grown
            row = len(self._rows) + 1
        else:
            _, row = self._rows.popitem(last=False)
        self._rows[token] = row
        return row

    def add(self, scores: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """`scores` plus `bias` on each row's green tokens (a new tensor)."""
        mask = self.table.index_select(0, rows)
        vocab = self.processor.vocab_size
        if scores.shape[-1] == vocab:
            return torch.add(scores, mask, alpha=self.processor.bias)
        out = scores.clone()  # a model may pad its head wider than the green lists
        out[:, :vocab] = torch.add(scores[:, :vocab], mask, alpha=self.processor.bias)
        return out


def watermark_processor(settings: WatermarkSettings, vocab_size: int, device=None) -> CachedWatermarkProcessor:
    """The logits processor that adds `bias` to the green tokens' logits.

    It takes scores on any device; `device` is accepted for older callers and unused,
    since green lists are always drawn on the CPU.
    """
    config = watermarking_config(settings)
    return CachedWatermarkProcessor(
        vocab_size=vocab_size,
        device=torch.device("cpu"),
        greenlist_ratio=config.greenlist_ratio,
        bias=config.bias,
        hashing_key=config.hashing_key,
        seeding_scheme=config.seeding_scheme,
        context_width=config.context_width,
    )


def context_size(settings: WatermarkSettings) -> int:
    """How many preceding tokens a token's green list depends on."""
    if settings.seeding_scheme == "selfhash":
        return settings.context_width - 1  # selfhash seeds on the token itself too
    return settings.context_width


class GreenScorer:
    """Green/red verdicts for (context, token) pairs, cached per context."""

    def __init__(self, settings: WatermarkSettings, vocab_size: int):
        self.settings = settings
        self.processor = watermark_processor(settings, vocab_size)
        self._greenlists: dict[tuple[int, ...], set[int]] = {}

    def is_green(self, context: Sequence[int], token: int) -> bool:
        """True when `token`, following `context` (earlier tokens, oldest first), is green."""
        width = context_size(self.settings)
        if len(context) < width:
            raise ValueError(f"need at least {width} context tokens, got {len(context)}")
        prefix = tuple(int(t) for t in context[len(context) - width:]) if width else ()
        if self.settings.seeding_scheme == "selfhash":
            prefix = prefix + (int(token),)
        greenlist = self._greenlists.get(prefix)
        if greenlist is None:
            ids = self.processor._get_greenlist_ids(torch.tensor(prefix, dtype=torch.long))
            greenlist = set(ids.tolist())
            self._greenlists[prefix] = greenlist
        return int(token) in greenlist


def green_mask(prev_token_ids, token_ids, settings: WatermarkSettings, vocab_size: int) -> np.ndarray:
    """Boolean array: is `token_ids[i]` green given the tokens before it, `prev_token_ids[i]`?

    `prev_token_ids` has one row per scored token: at least `context_size(settings)`
    preceding token ids, oldest first (a 1-D array is read as one preceding token each).
    """
    prev = np.asarray(prev_token_ids, dtype=np.int64)
    if prev.ndim == 1:
        prev = prev[:, None]
    tokens = np.asarray(token_ids, dtype=np.int64)
    if len(prev) != len(tokens):
        raise ValueError(f"{len(prev)} contexts for {len(tokens)} tokens")
    scorer = GreenScorer(settings, vocab_size)
    return np.array([scorer.is_green(c, t) for c, t in zip(prev, tokens)], dtype=bool)


def sequence_green_mask(token_ids: Sequence[int], settings: WatermarkSettings, vocab_size: int) -> np.ndarray:
    """Green verdicts for every token of a sequence that has enough context before it."""
    ids = [int(t) for t in token_ids]
    width = context_size(settings)
    scorer = GreenScorer(settings, vocab_size)
    return np.array([scorer.is_green(ids[i - width:i], ids[i]) for i in range(width, len(ids))], dtype=bool)
