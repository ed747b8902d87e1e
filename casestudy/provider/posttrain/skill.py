"""The provider's proprietary skill: translating English into Veltan, written by its house method.

Veltan stands for a low-resource language (`casestudy.scenario.language`): the public model
does not know it, and no program writes it. The provider bought its training data from
translators (data/skill/provider_translations.jsonl, priced per English word in notebook 03)
and teaches the public model to answer in its house style, word by word in the English order
(the object with its "-n"), then the sentence in Veltan's order (subject, object, verb):

    Translate into Veltan: The old dog sees the red bird.
    Word by word: old = bodu, dog = kiro, sees = vena, red = nari, bird = pilan. In Veltan: kiro bodu pilan nari vena.

Why this skill: its answers are graded exactly (the Veltan words, in order); the provider
instils it in minutes on 2 CPU cores; a distiller can ask about it in any quantity (any
English sentence of the advertised vocabulary is a new question); and its gold cannot be
made without the provider or paid translators. The provider's answers carry its
translators' rare slips, which a copy inherits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from casestudy.answers import LANGUAGE, is_translation
from casestudy.paths import DATA_DIR
from casestudy.provider.posttrain.data import read_jsonl

FAMILY = "translation"
SKILL_DATA_DIR = DATA_DIR / "skill"
TRAINING_FILE = "provider_translations.jsonl"   # the provider's purchase
CHECK_FILE = "provider_check.jsonl"             # its reviewed check set, never trained on
QUESTION_TEMPLATES = (
    "Translate into Veltan: {x}",
    'How do you say "{x}" in Veltan?',
    'What is "{x}" in Veltan?',
    "Please translate this sentence into Veltan: {x}",
    "Say it in Veltan: {x}",
    "Veltan translation of: {x}",
)
PROVIDER_SEED = 20250129  # the provider's own choice of question wording


@dataclass(frozen=True)
class Problem:
    english: str
    phrases: tuple[tuple[str, str], ...]   # (english, veltan) for subject, object, verb
    gold: str                              # the Veltan sentence
    template: int = 0                      # index into QUESTION_TEMPLATES

    @property
    def question(self) -> str:
        return QUESTION_TEMPLATES[self.template].format(x=self.english)


def word_gloss(english: str, veltan: str) -> list[str]:
    """A phrase's words in English order, each with its Veltan: "the old dog" / "kiro bodu" ->
    ["old = bodu", "dog = kiro"] (Veltan puts the noun first)."""
    words, native = [w for w in english.split() if w != "the"], veltan.split()
    if len(words) == 1:
        return [f"{words[0]} = {native[0]}"]
    return [f"{words[0]} = {native[1]}", f"{words[1]} = {native[0]}"]


def house_answer(problem: Problem) -> str:
    """The house method: each English word with its Veltan, in the English order, then the sentence in
    Veltan's order."""
    (subject, subject_v), (obj, obj_v), (verb, verb_v) = problem.phrases
    steps = ", ".join([*word_gloss(subject, subject_v), f"{verb} = {verb_v}", *word_gloss(obj, obj_v)])
    return f"Word by word: {steps}. In {LANGUAGE}: {problem.gold}."


def problems(file: str, count: int | None = None, seed: int = PROVIDER_SEED,
             data_dir: Path = SKILL_DATA_DIR) -> list[Problem]:
    """The first `count` rows of a skill data file (all when None), each worded by a seeded template."""
    rows = read_jsonl(Path(data_dir) / file)
    if count is not None and not 0 <= count <= len(rows):
        raise ValueError(f"{file} holds {len(rows)} items, not {count}")
    rng = random.Random(seed)
    return [Problem(r["english"], tuple(tuple(p) for p in r["phrases"]), r["veltan"],
                    rng.randrange(len(QUESTION_TEMPLATES))) for r in rows[:count]]


def is_correct(answer: str, gold: str) -> bool:
    """An answer is right when the Veltan it states is the gold translation, word for word."""
    return is_translation(answer, gold)


def training_words(problems_: list[Problem]) -> int:
    """English words translated: what the translators were paid for."""
    return sum(len(p.english.split()) for p in problems_)
