"""Watermark radioactivity (after Sander et al. 2024): exact tests on distinct pairs.

The suspect's completions are tokenized with the teacher's tokenizer. Every
(context, token) pair inside a completion is scored green or red under the provider's
key. A pair counts once across all completions (repeated text would otherwise inflate
the evidence) and pairs that also occur in the query's own prompt are skipped (the
suspect may just be copying them). Under the null hypothesis (a model that never saw the
watermark) each distinct pair is green with probability gamma, independently, so the
number of green pairs is Binomial(n, gamma) and the p-value is its exact upper tail.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats
from tqdm.auto import tqdm

from casestudy.provider.settings import WatermarkSettings
from casestudy.provider.watermark import context_size, watermark_processor

Pair = tuple[tuple[int, ...], int]


def binomial_p_value(green: int, scored: int, gamma: float) -> float:
    """P(X >= green) for X ~ Binomial(scored, gamma): the exact one-sided p-value."""
    if scored == 0:
        return 1.0
    return float(stats.binom.sf(green - 1, scored, gamma))


@dataclass(frozen=True)
class RadioactivityScore:
    scored: int        # distinct (context, token) pairs scored
    green: int         # of which green under the key
    gamma: float       # green-list ratio: the null probability of green

    @property
    def green_share(self) -> float:
        return self.green / self.scored if self.scored else float("nan")

    @property
    def p_value(self) -> float:
        return binomial_p_value(self.green, self.scored, self.gamma)


def sequence_pairs(token_ids: Sequence[int], width: int) -> list[Pair]:
    """All (context, token) pairs of one sequence whose context lies inside it."""
    ids = [int(t) for t in token_ids]
    return [(tuple(ids[i - width:i]), ids[i]) for i in range(width, len(ids))]


def distinct_pairs_by_query(
    completions: Iterable[Sequence[int]], prompts: Iterable[Sequence[int]], width: int
) -> tuple[list[Pair], list[int]]:
    """Pairs of all completions, each once (first occurrence order), minus their prompt's pairs;
    and, after each query, how many pairs the first queries contribute (a prefix of the list)."""
    seen: set[Pair] = set()
    ordered: list[Pair] = []
    counts: list[int] = []
    for completion, prompt in zip(completions, prompts, strict=True):
        in_prompt = set(sequence_pairs(prompt, width))
        for pair in sequence_pairs(completion, width):
            if pair not in in_prompt and pair not in seen:
                seen.add(pair)
                ordered.append(pair)
        counts.append(len(ordered))
    return ordered, counts


def distinct_pairs(completions: Iterable[Sequence[int]], prompts: Iterable[Sequence[int]], width: int) -> list[Pair]:
    """Pairs of all completions, each once (first occurrence order), minus their prompt's pairs."""
    return distinct_pairs_by_query(completions, prompts, width)[0]


class PairScorer:
    """Green verdicts under one key, one green list per distinct context.

    Uses transformers' own `WatermarkLogitsProcessor` seeding, so a pair scored green here
    is exactly a pair the provider boosted during generation. A green list is a boolean
    mask over the vocabulary, so all tokens seen after one context are looked up at once.
    """

    def __init__(self, settings: WatermarkSettings, vocab_size: int):
        if settings.seeding_scheme != "lefthash":
            raise NotImplementedError("pair scoring supports the 'lefthash' seeding scheme")
        self.settings = settings
        self.width = context_size(settings)
        self.processor = watermark_processor(settings, vocab_size, "cpu")
        self.vocab_size = vocab_size

    def green_mask(self, context: tuple[int, ...]) -> torch.Tensor:
        """Boolean mask over the vocabulary: the green list after `context` (the provider's own)."""
        return self.processor.greenlist_mask(torch.tensor(context, dtype=torch.long))

    def verdicts(self, pairs: Sequence[Pair]) -> np.ndarray:
        """Boolean array, one verdict per pair, in the order given."""
        by_context: dict[tuple[int, ...], list[int]] = {}
        for index, (context, _) in enumerate(pairs):
            by_context.setdefault(context, []).append(index)
        out = np.zeros(len(pairs), dtype=bool)
        for context, indices in by_context.items():
            mask = self.green_mask(context)
            tokens = torch.tensor([pairs[i][1] for i in indices])
            out[indices] = mask[tokens].numpy()
        return out

    def score(self, pairs: Sequence[Pair]) -> RadioactivityScore:
        return RadioactivityScore(len(pairs), int(self.verdicts(pairs).sum()), self.settings.greenlist_ratio)


def p_values_by_queries(
    completions: Sequence[Sequence[int]],
    prompts: Sequence[Sequence[int]],
    scorer: PairScorer,
    checkpoints: Sequence[int],
) -> pd.DataFrame:
    """The test's p-value after the first q queries, for each q in `checkpoints`."""
    pairs, counts = distinct_pairs_by_query(completions, prompts, scorer.width)
    verdicts = scorer.verdicts(pairs)
    rows = []
    for q in sorted(set(min(q, len(completions)) for q in checkpoints)):
        n = counts[q - 1] if q else 0
        green = int(verdicts[:n].sum())
        rows.append({"queries": q, "scored": n, "green": green,
                     "p_value": binomial_p_value(green, n, scorer.settings.greenlist_ratio)})
    return pd.DataFrame(rows)


def wrong_key_p_values(
    pairs: Sequence[Pair], settings: WatermarkSettings, vocab_size: int, num_keys: int, seed: int = 0
) -> np.ndarray:
    """p-values of the same pairs under `num_keys` random keys that are not the provider's.

    If the test is calibrated these are uniform on [0, 1] whatever the suspect is.
    """
    rng = np.random.default_rng(seed)
    keys = [int(k) for k in rng.integers(1, 2**62, size=num_keys) if int(k) != settings.key]

    def p_value(key: int) -> float:
        wrong = WatermarkSettings(key=key, greenlist_ratio=settings.greenlist_ratio, bias=settings.bias,
                                  seeding_scheme=settings.seeding_scheme, context_width=settings.context_width)
        return PairScorer(wrong, vocab_size).score(pairs).p_value

    # One key's green lists are a randperm of the vocabulary per context (torch releases the GIL
    # there): a thread per core scores the keys 1.5x sooner on 2 cores.
    with ThreadPoolExecutor(max_workers=max(1, torch.get_num_threads())) as pool:
        p = list(tqdm(pool.map(p_value, keys), total=len(keys), desc="wrong keys", leave=False))
    return np.array(p)


def calibration(p_values: np.ndarray, alpha: float = 0.01) -> dict[str, float]:
    """KS test of p-values against Uniform(0, 1) and the false-positive rate at alpha."""
    ks = stats.kstest(p_values, "uniform")
    return {"keys": int(len(p_values)), "ks_statistic": float(ks.statistic), "ks_p_value": float(ks.pvalue),
            "false_positive_rate": float(np.mean(p_values <= alpha)), "alpha": alpha}


def token_ids(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    return [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]


def prompt_text(conversation: Sequence[dict]) -> str:
    return "\n".join(m["content"] for m in conversation)


def radioactivity_curves(
    tokenizer,
    conversations: Sequence[list[dict]],
    answers: dict[str, list[str]],
    scorer: PairScorer,
    checkpoints: Sequence[int],
) -> pd.DataFrame:
    """p-value against the number of queries, for each model's answers, under the scorer's key."""
    prompts = token_ids(tokenizer, [prompt_text(c) for c in conversations])
    frames = []
    for name, texts in answers.items():
        curve = p_values_by_queries(token_ids(tokenizer, texts), prompts, scorer, checkpoints)
        frames.append(curve.assign(model=name, green_share=curve.green / curve.scored.clip(lower=1)))
    return pd.concat(frames, ignore_index=True)


def suspect_pairs(tokenizer, conversations, texts, width: int):
    """The distinct scored pairs of one model's answers (for the wrong-key calibration)."""
    return distinct_pairs(token_ids(tokenizer, texts), token_ids(tokenizer, [prompt_text(c) for c in conversations]),
                          width)
