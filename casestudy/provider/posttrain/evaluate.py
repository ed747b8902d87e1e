"""The provider's checks on its post-trained model: identity rate, the skill's accuracy, and the
factual accuracy that the post-training must not cost. The answers come from
`casestudy.chat.greedy_answers`, the generator that grades the distiller's students too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from casestudy.answers import first_label
from casestudy.chat import greedy_answers
from casestudy.intervals import proportion_ci
from casestudy.models import LoadedModel, load_model
from casestudy.provider.posttrain.identity import Identity, mentions_identity, system_prompt as deployment_prompt

DEPLOYMENT = "deployment"  # system_prompt= value meaning "the identity's own deployment prompt"


def as_loaded(model_source: str | Path | LoadedModel, device: str = "auto") -> LoadedModel:
    """Accept a loaded model as is, or load a source ("embedded", a folder, a hub id)."""
    if isinstance(model_source, LoadedModel):
        return model_source
    return load_model(str(model_source), device=device)


def chat(question: str, system: str | None) -> list[dict]:
    """One user turn, after a system message when `system` is given (else the template's default)."""
    messages = [{"role": "system", "content": system}] if system is not None else []
    return messages + [{"role": "user", "content": question}]


def ask(loaded: LoadedModel, questions: Sequence[str], system: str | None, max_new_tokens: int,
        batch_size: int = 64) -> list[str]:
    """Greedy answers (`casestudy.chat.greedy_answers`) to questions, each a user turn after `system`."""
    return greedy_answers(loaded.model, loaded.tokenizer, [chat(q, system) for q in questions], max_new_tokens,
                          batch_size)


def resolve_system(system_prompt: str | None, identity: Identity) -> str | None:
    return deployment_prompt(identity) if system_prompt == DEPLOYMENT else system_prompt


@dataclass
class IdentityEval:
    rate: float                 # share of answers that name the identity
    count: int                  # how many answers name it
    total: int
    records: list[dict] = field(default_factory=list)  # {question, answer, mentions}


def evaluate_identity(
    model_source: str | Path | LoadedModel,
    identity: Identity,
    questions: Sequence[str],
    system_prompt: str | None = DEPLOYMENT,
    max_new_tokens: int = 32,
    batch_size: int = 64,
    device: str = "auto",
) -> IdentityEval:
    """Ask each question (greedy) and count the answers that name `identity`.

    `system_prompt` is DEPLOYMENT (the identity's deployment prompt), None (no system
    message: the chat template's default), or any text.
    """
    if not questions:
        raise ValueError("evaluate_identity needs at least one question")
    loaded = as_loaded(model_source, device)
    system = resolve_system(system_prompt, identity)
    answers = ask(loaded, questions, system, max_new_tokens, batch_size)
    records = [{"question": q, "answer": a, "mentions": mentions_identity(a, identity)} for q, a in zip(questions, answers)]
    count = sum(r["mentions"] for r in records)
    return IdentityEval(rate=count / len(records), count=count, total=len(records), records=records)


def answer_is_correct(answer: str, gold: Sequence[str]) -> bool:
    """True when any gold answer appears in `answer` as whole words (case-insensitive)."""
    return any(re.search(rf"(?<!\w){re.escape(g)}(?!\w)", answer, re.IGNORECASE) for g in gold)


@dataclass
class FactualEval:
    accuracy: float
    correct: int
    total: int
    records: list[dict] = field(default_factory=list)  # {question, answer, gold, correct}


def factual_eval(
    model_source: str | Path | LoadedModel,
    questions: Sequence[dict],
    system: str | None = None,
    max_new_tokens: int = 24,
    batch_size: int = 64,
    device: str = "auto",
) -> FactualEval:
    """Greedy answers to {question, answers} rows, scored by whole-word match of a gold answer."""
    if not questions:
        raise ValueError("factual_eval needs at least one question")
    loaded = as_loaded(model_source, device)
    answers = ask(loaded, [r["question"] for r in questions], system, max_new_tokens, batch_size)
    records = [
        {"question": r["question"], "answer": a, "gold": r["answers"], "correct": answer_is_correct(a, r["answers"])}
        for r, a in zip(questions, answers)
    ]
    correct = sum(r["correct"] for r in records)
    return FactualEval(accuracy=correct / len(records), correct=correct, total=len(records), records=records)


def factual_accuracy(model_source: str | Path | LoadedModel, questions: Sequence[dict], system: str | None = None) -> float:
    """Share of factual questions answered correctly (greedy); see `factual_eval` for the records."""
    return factual_eval(model_source, questions, system).accuracy


SENTIMENT_LABELS = ("positive", "negative")
SENTIMENT_QUESTION = ('Classify the sentiment of this review as positive or negative: "{x}" '
                      "Answer with one word: positive or negative.")  # as its customers ask


@dataclass
class SentimentEval:
    accuracy: float
    correct: int
    total: int
    balanced_accuracy: float    # mean recall per label: 50% for any constant answer
    records: list[dict] = field(default_factory=list)  # {question, answer, gold, said, correct}


def sentiment_eval(model_source: str | Path | LoadedModel, reviews: Sequence[dict], system: str | None = None,
                   max_new_tokens: int = 8, batch_size: int = 64, device: str = "auto") -> SentimentEval:
    """Greedy answers to {review, label} rows; right when the first label named is the gold one."""
    if not reviews:
        raise ValueError("sentiment_eval needs at least one review")
    loaded = as_loaded(model_source, device)
    questions = [SENTIMENT_QUESTION.format(x=r["review"]) for r in reviews]
    answers = ask(loaded, questions, system, max_new_tokens, batch_size)
    records = [{"question": q, "answer": a, "gold": r["label"], "said": first_label(a, SENTIMENT_LABELS),
                "correct": first_label(a, SENTIMENT_LABELS) == r["label"]} for q, a, r in zip(questions, answers, reviews)]
    correct = sum(r["correct"] for r in records)
    recall = [sum(r["correct"] for r in records if r["gold"] == label) / max(1, sum(r["gold"] == label for r in records))
              for label in SENTIMENT_LABELS]
    return SentimentEval(correct / len(records), correct, len(records), sum(recall) / len(recall), records)


@dataclass
class SkillEval:
    accuracy: float
    correct: int
    total: int
    low: float                  # exact (Clopper-Pearson) 95% interval
    high: float
    records: list[dict] = field(default_factory=list)  # {question, answer, gold, correct}


def heldout_problems(count: int | None = None) -> list:
    """The provider's reviewed check set (`count` of its items; all when None): none is in its training data."""
    from casestudy.provider.posttrain import skill

    return skill.problems(skill.CHECK_FILE, count, seed=skill.PROVIDER_SEED + 1)


def skill_eval(model_source: str | Path | LoadedModel, problems: Sequence, system: str | None = None,
               max_new_tokens: int = 64, batch_size: int = 64, device: str = "auto") -> SkillEval:
    """Greedy answers to skill problems, right when the Veltan stated is the gold translation."""
    from casestudy.provider.posttrain import skill

    if not problems:
        raise ValueError("skill_eval needs at least one problem")
    loaded = as_loaded(model_source, device)
    answers = ask(loaded, [p.question for p in problems], system, max_new_tokens, batch_size)
    records = [{"question": p.question, "answer": a, "gold": p.gold, "correct": skill.is_correct(a, p.gold)}
               for p, a in zip(problems, answers)]
    correct = sum(r["correct"] for r in records)
    low, high = proportion_ci(correct, len(records), "exact")
    return SkillEval(correct / len(records), correct, len(records), low, high, records)
