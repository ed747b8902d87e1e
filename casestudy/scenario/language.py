"""Veltan, the language behind the provider's proprietary skill, and its simulated translators.

The provider sells translation from English into Veltan, a stand-in for a low-resource
language: no program and no public model knows it, so the only ways to the skill are a
translator's paid work or the provider's API. Veltan is constructed for this study (no real
low-resource language's data can ship offline, and the public model must not have seen it):

- a lexicon of 48 everyday words (24 nouns, 12 adjectives, 12 verbs), each a made-up word;
- word order subject, object, verb; an adjective follows its noun; the object takes "-n":

      The old dog sees the red bird.   ->   kiro bodu pilan nari vena

This module belongs to the staging, never to an actor: it is the world's truth (the answer
key that grades every model) and the translators that both labs hire. `translate` is what a
translator who knows Veltan writes; `Translators.annotate` is a purchase of such work, with
the translators' own independent slips. The provider's data and the honest competitor's
data are two purchases from two teams (`data/skill/`, written by `casestudy.scenario.annotation`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LANGUAGE = "Veltan"
NOUNS = {
    "dog": "kiro", "cat": "mesu", "bird": "pila", "fish": "toku", "horse": "vadi", "child": "nemo",
    "farmer": "ruka", "teacher": "dosa", "king": "varu", "girl": "lini", "boy": "tobe", "woman": "semi",
    "man": "gaku", "river": "fodu", "tree": "bali", "house": "zeko", "boat": "nupa", "bread": "lusa",
    "apple": "pemo", "stone": "diro", "door": "fari", "book": "moku", "road": "vesa", "mountain": "gori",
}
ADJECTIVES = {
    "big": "tama", "small": "nisi", "old": "bodu", "young": "fepi", "red": "nari", "black": "zuma",
    "white": "leko", "green": "sivu", "happy": "rani", "tired": "kopu", "quiet": "misa", "strong": "daga",
}
VERBS = {
    "sees": "vena", "likes": "lomi", "finds": "suta", "carries": "bero", "follows": "kadi", "helps": "pute",
    "watches": "zilo", "paints": "revi", "calls": "nuko", "wants": "dime", "holds": "fasu", "remembers": "gelu",
}
OBJECT_SUFFIX = "n"
WORD_CLASSES = {"noun": NOUNS, "adjective": ADJECTIVES, "verb": VERBS}


@dataclass(frozen=True)
class Sentence:
    """An English sentence of the skill's shape: the [adjective] noun verb the [adjective] noun."""

    subject: str
    verb: str
    object: str
    subject_adjective: str | None = None
    object_adjective: str | None = None

    def __post_init__(self):
        for word, table in ((self.subject, NOUNS), (self.object, NOUNS), (self.verb, VERBS),
                            (self.subject_adjective, ADJECTIVES), (self.object_adjective, ADJECTIVES)):
            if word is not None and word not in table:
                raise ValueError(f"{word!r} is not in Veltan's lexicon")

    @property
    def english(self) -> str:
        subject = " ".join(w for w in ("the", self.subject_adjective, self.subject) if w)
        obj = " ".join(w for w in ("the", self.object_adjective, self.object) if w)
        return f"{subject.capitalize()} {self.verb} {obj}."

    @property
    def key(self) -> tuple:
        return (self.subject, self.verb, self.object, self.subject_adjective, self.object_adjective)


@dataclass(frozen=True)
class Translation:
    """A Veltan translation as its three phrases (subject, object, verb), each a list of words."""

    subject: tuple[str, ...]
    object: tuple[str, ...]
    verb: str

    @property
    def text(self) -> str:
        return " ".join([*self.subject, *self.object, self.verb])


def translate(sentence: Sentence) -> Translation:
    """What a translator who knows Veltan writes: the world's truth, and the answer key."""
    subject = [NOUNS[sentence.subject]] + ([ADJECTIVES[sentence.subject_adjective]] if sentence.subject_adjective else [])
    obj = [NOUNS[sentence.object] + OBJECT_SUFFIX] + (
        [ADJECTIVES[sentence.object_adjective]] if sentence.object_adjective else [])
    return Translation(tuple(subject), tuple(obj), VERBS[sentence.verb])


def random_sentence(rng: random.Random) -> Sentence:
    """A sentence with two different nouns; each adjective present half of the time."""
    nouns = list(NOUNS)
    subject, obj = rng.sample(nouns, 2)
    return Sentence(subject, rng.choice(list(VERBS)), obj,
                    rng.choice(list(ADJECTIVES)) if rng.random() < 0.5 else None,
                    rng.choice(list(ADJECTIVES)) if rng.random() < 0.5 else None)


def sentences(count: int, seed: int | str, exclude: frozenset[tuple] = frozenset()) -> list[Sentence]:
    """`count` distinct random sentences from a seed, none of them in `exclude` (keys)."""
    rng, seen, out = random.Random(seed), set(exclude), []
    while len(out) < count:
        s = random_sentence(rng)
        if s.key not in seen:
            seen.add(s.key)
            out.append(s)
    return out


@dataclass(frozen=True)
class Translators:
    """A team of hired translators: they know Veltan but slip now and then.

    `slip_rate` is the share of items with one word wrong (another word of the same class,
    the object suffix kept), drawn independently per item from the team's own seed: two teams'
    slips are independent. Stands for paid human work, priced per English word (`casestudy.cost`).
    """

    team: str
    slip_rate: float = 0.03

    def __post_init__(self):
        if not 0.0 <= self.slip_rate < 1.0:
            raise ValueError(f"slip_rate must be in [0, 1), not {self.slip_rate}")

    def annotate(self, batch: list[Sentence]) -> list[Translation]:
        """The team's translations of `batch`, in order (deterministic for a team and a batch)."""
        out = []
        for s in batch:
            rng = random.Random(f"{self.team}:{s.key}")
            truth = translate(s)
            out.append(slip(truth, s, rng) if rng.random() < self.slip_rate else truth)
        return out


def slip(truth: Translation, sentence: Sentence, rng: random.Random) -> Translation:
    """`truth` with one word replaced by another of its class (a translator's slip)."""
    slots = [("subject", 0, NOUNS), ("object", 0, NOUNS), ("verb", 0, VERBS)]
    if sentence.subject_adjective:
        slots.append(("subject", 1, ADJECTIVES))
    if sentence.object_adjective:
        slots.append(("object", 1, ADJECTIVES))
    phrase, index, table = rng.choice(slots)
    if phrase == "verb":
        return Translation(truth.subject, truth.object, rng.choice([w for w in table.values() if w != truth.verb]))
    words = list(getattr(truth, phrase))
    suffix = OBJECT_SUFFIX if phrase == "object" and index == 0 else ""
    words[index] = rng.choice([w for w in table.values() if w + suffix != words[index]]) + suffix
    return Translation(**{**{"subject": truth.subject, "object": truth.object, "verb": truth.verb}, phrase: tuple(words)})
