"""The model's forwards as the engine runs them: a decoding step of every decoding row, a
padded prefill of whole prompts, one chunk of a long prompt. transformers' model code with
the engine's own 4-D attention masks and position ids (rows are right-aligned)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from transformers import DynamicCache

from casestudy.provider.serving.kvcache import SlotCache
from casestudy.provider.serving.rows import Live


@dataclass(eq=False)
class Joining:
    """Rows whose prefill ended this step: `cache` row `sources[i]` holds row i's prompt."""
    lives: list[Live]
    cache: DynamicCache
    sources: torch.Tensor
    width: int                        # columns of `cache` (the padded prompt length)
    logits: torch.Tensor              # [len(lives), vocab]


class Forward:
    """The model, its device and padding token, and the form of mask its attention takes."""

    def __init__(self, model, device: torch.device, pad_id: int):
        self.model, self.device, self.pad_id = model, device, pad_id
        if model.config._attn_implementation not in ("sdpa", "eager"):
            model.set_attn_implementation("sdpa")  # the engine passes 4-D masks
        self.bool_mask = model.config._attn_implementation == "sdpa"

    def clock(self) -> float:
        """Seconds of work: this thread's CPU time on the CPU (steady when other processes
        compete for the cores), wall time after a sync on CUDA."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return time.perf_counter()
        return time.thread_time()

    def mask(self, allowed: torch.Tensor) -> torch.Tensor:
        """A 4-D attention mask from a boolean [batch, q, k] one, in the form the attention takes."""
        allowed = allowed[:, None]
        if self.bool_mask:
            return allowed
        zero = torch.zeros((), dtype=self.model.dtype, device=self.device)
        return torch.where(allowed, zero, torch.finfo(self.model.dtype).min)

    def decode(self, cache: SlotCache, tokens: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """The next-token logits of the decoding rows, whose last `tokens` are written at
        column `cache.end` (each row's first column is `start`)."""
        columns = torch.arange(cache.end + 1, device=self.device)
        allowed = (columns[None, :] >= start[:, None])[:, None, :]
        positions = (cache.end - start)[:, None]
        out = self.model(input_ids=tokens[:, None], attention_mask=self.mask(allowed),
                         position_ids=positions, cache=cache, use_cache=True)
        cache.end += 1
        return out.logits[:, -1].float()

    def prefill(self, group: list[Live]) -> Joining:
        """Whole prompts, left-padded together (identical prompts once)."""
        prompts: dict[tuple[int, ...], int] = {}
        for live in group:
            prompts.setdefault(tuple(live.row.prompt_ids), len(prompts))
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        pad = torch.tensor([width - len(p) for p in prompts])
        for i, p in enumerate(prompts):
            ids[i, width - len(p):] = torch.tensor(p)
        ids, pad = ids.to(self.device), pad.to(self.device)
        steps = torch.arange(width, device=self.device)
        positions = (steps[None, :] - pad[:, None]).clamp(min=0)
        causal = steps[None, :] <= steps[:, None]
        # Padding is never attended to; a padding query attends to itself (no all-masked row, no NaN).
        allowed = causal[None] & ((steps[None, None, :] >= pad[:, None, None]) | torch.eye(width, dtype=torch.bool,
                                                                                         device=self.device)[None])
        cache = DynamicCache()
        out = self.model(input_ids=ids, attention_mask=self.mask(allowed), position_ids=positions,
                         cache=cache, use_cache=True, logits_to_keep=1)
        sources = torch.tensor([prompts[tuple(live.row.prompt_ids)] for live in group], device=self.device)
        logits = out.logits[:, -1].float().index_select(0, sources)
        return Joining(group, cache, sources, width, logits)

    def chunk(self, live: Live, size: int) -> Joining | None:
        """The next `size` tokens of a long prompt, into its own cache; once the prompt is
        all in, the row is ready to join."""
        begin, end = live.done, min(live.done + size, len(live.row.prompt_ids))
        if live.cache is None:
            live.cache = DynamicCache()
        ids = torch.tensor(live.row.prompt_ids[begin:end], device=self.device)[None]
        queries = torch.arange(begin, end, device=self.device)
        allowed = torch.arange(end, device=self.device)[None, :] <= queries[:, None]
        out = self.model(input_ids=ids, attention_mask=self.mask(allowed[None]), position_ids=queries[None],
                         cache=live.cache, use_cache=True, logits_to_keep=1)
        live.done = end
        if live.remaining:
            return None
        cache, live.cache = live.cache, None
        sources = torch.zeros(1, dtype=torch.long, device=self.device)
        return Joining([live], cache, sources, end, out.logits[:, -1].float())
