"""The provider's green-list watermark: the logits processor used in generation, and
the green/red scoring primitive the detection stage needs.

Both sides build the very same `transformers.WatermarkLogitsProcessor` from
`WatermarkingConfig`, and scoring calls its own green-list seeding, so a token counted
green here is exactly a token that was boosted during generation.
"""

from __future__ import annotations

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


def watermark_processor(settings: WatermarkSettings, vocab_size: int, device="cpu") -> WatermarkLogitsProcessor:
    """The logits processor that adds `bias` to the green tokens' logits."""
    return watermarking_config(settings).construct_processor(vocab_size, torch.device(device))


def context_size(settings: WatermarkSettings) -> int:
    """How many preceding tokens a token's green list depends on."""
    if settings.seeding_scheme == "selfhash":
        return settings.context_width - 1  # selfhash seeds on the token itself too
    return settings.context_width


class GreenScorer:
    """Green/red verdicts for (context, token) pairs, cached per context."""

    def __init__(self, settings: WatermarkSettings, vocab_size: int):
        self.settings = settings
        self.processor = watermark_processor(settings, vocab_size, "cpu")
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
