"""The honest competitor's training data: its own bought translations in its own house style, plus the
public model's own answers to ordinary prompts (what it has for free)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Sequence

from casestudy.paths import DATA_DIR

FAMILY = "translation"
PURCHASE_FILE = DATA_DIR / "skill" / "competitor_translations.jsonl"
QUESTION_TEMPLATES = (
    "Translate to Veltan: {x}",
    "In Veltan, how do you say: {x}",
    "Translate this English sentence into Veltan: {x}",
    'What is "{x}" in Veltan?',
)
SEED = 7


def house_answer(row: dict) -> str:
    """The competitor's style: its translator's notes on each phrase, then the sentence."""
    (subject, subject_v), (obj, obj_v), (verb, verb_v) = row["phrases"]
    return (f'Translation notes: subject "{subject}" -> {subject_v}, object "{obj}" -> {obj_v}, '
            f'verb "{verb}" -> {verb_v} (last). Veltan: {row["veltan"]}.')


def purchased_rows(count: int, path: Path = PURCHASE_FILE) -> list[dict]:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not 0 <= count <= len(rows):
        raise ValueError(f"the competitor's purchase holds {len(rows)} translations, not {count}")
    return rows[:count]


def training_records(count: int, free_ordinary: Sequence[dict], path: Path = PURCHASE_FILE) -> list[dict]:
    """`count` bought translations as chat records (the same shape as a harvest's), followed by
    `free_ordinary`, records of the public model's own answers (the control arm's) to ordinary prompts."""
    rng = random.Random(SEED)
    bought = [{"id": r["id"], "prompt_id": r["id"], "sample": 0, "family": FAMILY, "split": "train",
               "messages": [{"role": "user", "content": rng.choice(QUESTION_TEMPLATES).format(x=r["english"])}],
               "completion": house_answer(r), "finish_reason": "stop", "gold": [r["veltan"]]}
              for r in purchased_rows(count, path)]
    return bought + [r for r in free_ordinary if r["family"] != FAMILY]


def english_words(count: int, path: Path = PURCHASE_FILE) -> int:
    """English words in the first `count` translations bought: what the competitor paid for."""
    return sum(len(r["english"].split()) for r in purchased_rows(count, path))
