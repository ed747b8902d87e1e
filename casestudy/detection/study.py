"""Notebook-level steps of the detection stage: ask suspects, cache their answers, score them."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from casestudy.artifacts import fingerprint, write_json_atomic
from casestudy.detection.radioactivity import PairScorer, distinct_pairs, p_values_by_queries
from casestudy.detection.suspects import ask, suspect_settings
from casestudy.provider.accounts import create_free_account
from casestudy.provider.server import running_server
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


@dataclass(frozen=True)
class QuerySet:
    """One batch of questions for a model, asked under the same generation settings."""
    conversations: list
    max_tokens: int
    temperature: float


def ask_model(
    name: str,
    model_dir: Path,
    query_sets: dict[str, QuerySet],
    out_dir: Path,
    seed: int,
    device: str = "auto",
    system_prompt: str = "",
) -> dict[str, list[str]]:
    """Answers of one model, served as a black box, to each query set.

    Answers are cached per set under `<out_dir>/answers/<name>-<set>.json`, keyed by the
    model's weights and the questions; the server is started once, and only if some set
    has no fresh cached answers.
    """
    weights = sorted(Path(model_dir).glob("*.safetensors"))
    answers, missing = {}, {}
    for label, queries in query_sets.items():
        key = fingerprint({**asdict(queries), "seed": seed, "system_prompt": system_prompt}, weights)
        path = Path(out_dir) / "answers" / f"{name}-{label}.json"
        if path.is_file() and json.loads(path.read_text()).get("fingerprint") == key:
            answers[label] = json.loads(path.read_text())["answers"]
        else:
            missing[label] = (queries, key, path)
    if missing:
        settings = suspect_settings(Path(model_dir), Path(out_dir) / "servers", name, device, system_prompt)
        with running_server(settings) as server:
            # a fresh account each time: keys are stored hashed, so an earlier run's key is gone
            _, api_key = create_free_account(settings.accounts_db, "provider-investigator")
            for label, (queries, key, path) in missing.items():
                answers[label] = ask(server, api_key, settings.model_name, queries.conversations,
                                     queries.max_tokens, queries.temperature, seed)
                write_json_atomic(path, {"fingerprint": key, "model_dir": str(model_dir), "answers": answers[label]})
    return {label: answers[label] for label in query_sets}


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
