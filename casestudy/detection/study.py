"""Notebook-level steps of the detection stage: ask suspects, cache their answers, score them."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Sequence

import pandas as pd

from casestudy.artifacts import fingerprint, write_json_atomic
from casestudy.detection.radioactivity import PairScorer, distinct_pairs, p_values_by_queries
from casestudy.detection.suspects import query_model, suspect_settings
from casestudy.provider.settings import ProviderSettings


def query_conversations(prompts: Sequence, n: int, seed: int = 0) -> list[list[dict]]:
    """`n` conversations for querying suspects: held-out prompts first, then training ones.

    The provider does not know which prompts the distiller used, so any prompt will do;
    held-out ones come first so that the test does not rest on memorised answers.
    """
    rng = random.Random(seed)
    held_out = [p for p in prompts if p.split == "eval"]
    train = [p for p in prompts if p.split != "eval"]
    rng.shuffle(held_out), rng.shuffle(train)
    chosen = (held_out + train)[:n]
    if len(chosen) < n:
        raise ValueError(f"asked for {n} queries but only {len(chosen)} prompts exist")
    return [[dict(m) for m in p.messages] for p in chosen]


def cached_answers(
    name: str,
    model_dir: Path,
    conversations: Sequence[list[dict]],
    out_dir: Path,
    max_tokens: int,
    temperature: float,
    seed: int,
    device: str = "auto",
    system_prompt: str = "",
) -> list[str]:
    """Query a model served as a black box, or reuse the answers of an identical earlier query."""
    params = {"conversations": list(conversations), "max_tokens": max_tokens, "temperature": temperature,
              "seed": seed, "system_prompt": system_prompt}
    key = fingerprint(params, sorted(Path(model_dir).glob("*.safetensors")))
    path = Path(out_dir) / "answers" / f"{name}.json"
    if path.is_file() and json.loads(path.read_text()).get("fingerprint") == key:
        return json.loads(path.read_text())["answers"]
    settings = suspect_settings(Path(model_dir), Path(out_dir) / "servers", name, device, system_prompt)
    answers = query_model(settings, conversations, max_tokens, temperature, seed)
    write_json_atomic(path, {"fingerprint": key, "model_dir": str(model_dir), "answers": answers})
    return answers


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


def deployment_settings(path: Path) -> ProviderSettings:
    """The provider's saved deployment settings (they hold the secret watermark key)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} does not exist: run notebook 01_collect first")
    return ProviderSettings.from_json(Path(path).read_text())
