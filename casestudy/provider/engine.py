"""Batched generation with per-row sampling settings, seeds, stops and logprobs.

One `generate` call serves rows that asked for different temperatures, top_p, seeds,
stop strings and lengths. A single logits processor does, per row: watermark bias ->
record logprobs -> temperature / top_p -> draw with the row's own torch.Generator, and
hands `generate` a one-hot score so its greedy step takes the drawn token.

Logprobs are those of the *watermarked* distribution at temperature 1: the model's
logits plus the green-list bias, before temperature and top_p, so they do not change
with either. A distiller that trains on them therefore learns the watermark's bias too.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from casestudy.provider.settings import WatermarkSettings
from casestudy.models import LoadedModel
from casestudy.provider.watermark import watermark_processor

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


@dataclass
class Completion:
    token_ids: list[int]
    text: str
    finish_reason: str                # "stop" or "length"
    logprobs: list[float]             # of each chosen token
    top_ids: list[list[int]]          # per token, the `top_logprobs` most likely ids
    top_logprobs: list[list[float]]


class RowSampler(LogitsProcessor):
    """Watermark, record logprobs, and draw each row's next token with its own generator."""

    def __init__(self, rows: list[Row], watermark, device: torch.device):
        self.watermark = watermark
        self.temperature = torch.tensor([r.temperature for r in rows], device=device)
        self.top_p = torch.tensor([r.top_p for r in rows], device=device)
        self.generators = []
        for r in rows:
            g = torch.Generator(device=device)
            g.manual_seed(r.seed if r.seed is not None else secrets.randbits(63))
            self.generators.append(g)
        self.k = max(r.top_logprobs for r in rows)
        self.chosen: list[torch.Tensor] = []
        self.chosen_logprob: list[torch.Tensor] = []
        self.top_values: list[torch.Tensor] = []
        self.top_indices: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = scores.float()
        if self.watermark is not None:
            scores = self.watermark(input_ids, scores)
        logprobs = torch.log_softmax(scores, dim=-1)
        chosen = self._draw(scores, logprobs)
        self.chosen.append(chosen)
        self.chosen_logprob.append(logprobs.gather(1, chosen[:, None])[:, 0])
        if self.k:
            values, indices = logprobs.topk(self.k, dim=-1)
            self.top_values.append(values)
            self.top_indices.append(indices)
        one_hot = torch.full_like(scores, float("-inf"))
        one_hot.scatter_(1, chosen[:, None], 0.0)
        return one_hot

    def _draw(self, scores: torch.Tensor, logprobs: torch.Tensor) -> torch.Tensor:
        greedy = self.temperature <= 0
        if bool((self.temperature == 1).all()):
            probs = logprobs.exp()
        else:
            probs = torch.softmax(scores / torch.where(greedy, 1.0, self.temperature)[:, None], dim=-1)
        if bool((self.top_p < 1).any()):
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            before = sorted_probs.cumsum(-1) - sorted_probs   # mass strictly above each token
            sorted_probs = sorted_probs.masked_fill(before >= self.top_p[:, None], 0.0)
            sorted_probs[:, 0] = torch.where(sorted_probs[:, 0] > 0, sorted_probs[:, 0], 1.0)
            probs = torch.zeros_like(probs).scatter_(1, order, sorted_probs)
        # Inverse-CDF draw with each row's own generator (multinomial is ~100x slower here).
        cdf = probs.cumsum(dim=-1)
        u = torch.cat([torch.rand(1, generator=g, device=probs.device) for g in self.generators])
        u = u.clamp_min(1e-12) * cdf[:, -1]
        drawn = torch.searchsorted(cdf, u[:, None])[:, 0].clamp(max=probs.shape[-1] - 1)
        if bool(greedy.any()):
            drawn = torch.where(greedy, scores.argmax(dim=-1), drawn)
        return drawn


class RowStop(StoppingCriteria):
    """Stops each row at its own max_new_tokens, EOS or stop string."""

    def __init__(self, rows: list[Row], prompt_len: int, eos_ids: set[int], tokenizer):
        self.rows, self.prompt_len, self.eos_ids, self.tokenizer = rows, prompt_len, eos_ids, tokenizer

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        generated = input_ids[:, self.prompt_len:]
        done = []
        for row, tokens in zip(self.rows, generated.tolist()):
            finished = len(tokens) >= row.max_new_tokens or bool(tokens and tokens[-1] in self.eos_ids)
            if not finished and row.stop:
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                finished = any(s in text for s in row.stop)
            done.append(finished)
        return torch.tensor(done, device=input_ids.device)


def eos_token_ids(loaded: LoadedModel) -> set[int]:
    ids = loaded.model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return ids


class Engine:
    """Runs one batched `generate` for a list of rows."""

    def __init__(self, loaded: LoadedModel, watermark: WatermarkSettings | None):
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.vocab_size = loaded.model.config.get_text_config().vocab_size
        self.watermark = (
            watermark_processor(watermark, self.vocab_size) if watermark else None
        )
        self.eos_ids = eos_token_ids(loaded)
        self.context_window = getattr(loaded.model.config.get_text_config(), "max_position_embeddings", None)

    @torch.inference_mode()
    def generate(self, rows: list[Row]) -> list[Completion]:
        model, device = self.loaded.model, self.loaded.device.torch
        batch = self.tokenizer.pad(
            {"input_ids": [r.prompt_ids for r in rows]}, padding=True, return_tensors="pt"
        ).to(device)
        prompt_len = batch["input_ids"].shape[1]
        sampler = RowSampler(rows, self.watermark, device)
        config = GenerationConfig(
            do_sample=False,  # RowSampler has already drawn; greedy just takes its pick
            max_new_tokens=max(r.max_new_tokens for r in rows),
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=sorted(self.eos_ids),
        )
        output = model.generate(
            **batch,
            generation_config=config,
            logits_processor=LogitsProcessorList([sampler]),
            stopping_criteria=StoppingCriteriaList([RowStop(rows, prompt_len, self.eos_ids, self.tokenizer)]),
        )
        return [self._finish(i, row, output[i, prompt_len:].tolist(), sampler) for i, row in enumerate(rows)]

    def _finish(self, i: int, row: Row, generated: list[int], sampler: RowSampler) -> Completion:
        finish = "length"
        end = min(len(generated), row.max_new_tokens)
        for j, token in enumerate(generated[:end]):
            if token in self.eos_ids:
                end, finish = j, "stop"
                break
        tokens = generated[:end]
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        if row.stop:
            hits = [(text.find(s), s) for s in row.stop if s in text]
            if hits:
                cut = min(hits)[0]
                text, finish = text[:cut], "stop"
                # Keep the fewest tokens whose text reaches the stop string.
                for j in range(1, len(tokens) + 1):
                    if len(self.tokenizer.decode(tokens[:j], skip_special_tokens=True)) > cut:
                        tokens = tokens[:j]
                        break
        n = len(tokens)
        k = row.top_logprobs
        return Completion(
            token_ids=tokens,
            text=text,
            finish_reason=finish,
            logprobs=[float(sampler.chosen_logprob[j][i]) for j in range(n)],
            top_ids=[sampler.top_indices[j][i, :k].tolist() for j in range(n)] if k else [[] for _ in range(n)],
            top_logprobs=[sampler.top_values[j][i, :k].tolist() for j in range(n)] if k else [[] for _ in range(n)],
        )
