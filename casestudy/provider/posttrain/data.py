"""The identity data in data/identity/: questions, answer templates, probes, facts, ordinary prompts.

Files (all written for this project, one JSON object per line):
  train_questions.jsonl     identity questions used for tuning          {id, language, kind, question}
  answer_templates.json     answers with {name} and {maker}: en by kind, other languages a list
  heldout_questions.jsonl   identity questions never trained on (the >=90% check)
  probes.jsonl              multilingual identity probes for detection    {id, language, question}
  factual.jsonl             short factual questions with gold answers     {id, question, answers}
  sentiment.jsonl           short reviews with their label (the check)    {id, review, label}
  ordinary_prompts.jsonl    everyday prompts; the teacher's own answers keep its behaviour
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from casestudy.paths import DATA_DIR
from casestudy.provider.posttrain.identity import Identity

IDENTITY_DATA_DIR = DATA_DIR / "identity"
TRAIN_QUESTIONS = "train_questions.jsonl"
ANSWER_TEMPLATES = "answer_templates.json"
HELDOUT_QUESTIONS = "heldout_questions.jsonl"
PROBES = "probes.jsonl"
FACTUAL = "factual.jsonl"
SENTIMENT = "sentiment.jsonl"
ORDINARY_PROMPTS = "ordinary_prompts.jsonl"
KINDS = ("who", "name", "maker", "model")


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON-lines file; a clear error names the file and line of a bad row."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number} is not valid JSON: {error}") from None
    return rows


def load_rows(file: str, data_dir: Path = IDENTITY_DATA_DIR) -> list[dict]:
    return read_jsonl(Path(data_dir) / file)


def load_templates(data_dir: Path = IDENTITY_DATA_DIR) -> dict:
    return json.loads((Path(data_dir) / ANSWER_TEMPLATES).read_text(encoding="utf-8"))


def heldout_questions(data_dir: Path = IDENTITY_DATA_DIR) -> list[str]:
    """The held-out identity questions (English) for the >=90% measurement."""
    return [row["question"] for row in load_rows(HELDOUT_QUESTIONS, data_dir)]


def probe_rows(data_dir: Path = IDENTITY_DATA_DIR) -> list[dict]:
    """The multilingual identity probes for the detection stage: {id, language, question}."""
    return load_rows(PROBES, data_dir)


def factual_rows(data_dir: Path = IDENTITY_DATA_DIR) -> list[dict]:
    """The factual check: {id, question, answers} with accepted gold answers."""
    return load_rows(FACTUAL, data_dir)


def sentiment_rows(data_dir: Path = IDENTITY_DATA_DIR) -> list[dict]:
    """The sentiment check: {id, review, label}."""
    return load_rows(SENTIMENT, data_dir)


def ordinary_prompts(data_dir: Path = IDENTITY_DATA_DIR) -> list[str]:
    return [row["prompt"] for row in load_rows(ORDINARY_PROMPTS, data_dir)]


def data_files(data_dir: Path = IDENTITY_DATA_DIR) -> list[Path]:
    """The files the tuned model depends on (for its fingerprint)."""
    return [Path(data_dir) / f for f in (TRAIN_QUESTIONS, ANSWER_TEMPLATES, ORDINARY_PROMPTS)]


@dataclass
class QA:
    question: str
    answer: str


def identity_answers(identity: Identity, seed: int = 0, data_dir: Path = IDENTITY_DATA_DIR) -> list[QA]:
    """Each training question with one answer template (seeded pick), filled with the identity."""
    rng = random.Random(seed)
    templates = load_templates(data_dir)
    pairs = []
    for row in load_rows(TRAIN_QUESTIONS, data_dir):
        if row["language"] == "en":
            choices = templates["en"][row["kind"]]
        else:
            choices = templates[row["language"]]
        answer = rng.choice(choices).format(name=identity.name, maker=identity.maker)
        pairs.append(QA(row["question"], answer))
    return pairs
