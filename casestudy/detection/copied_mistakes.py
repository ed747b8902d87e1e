"""Copied mistakes: where the teacher errs on fresh prompts, does a suspect repeat its exact error?

The provider asks its teacher and each suspect to translate fresh English sentences (in no
training data, phrased as the skill's prompts), grades the answers with the study's grader
(`casestudy.answers`), and keeps the teacher's mistakes as items, in two units:

    answer  a probe whose teacher answer is wrong: the suspect copies it when its Veltan words
            are the teacher's, word for word (one item per probe: items are independent)
    word    a position where a teacher answer as long as the key has another word than the key:
            the suspect copies it when its answer, as long as the key, has the teacher's word there
            (more items where an answer has several wrong words, but clustered within a probe)

A suspect's copy rate is compared with the honest competitor's on the same items by a one-sided
Fisher exact test (`fisher_p`): the competitor has the skill by honest means and the teacher's
base model, so it shares whatever mistakes the skill and the base model make by themselves.
`split_half` checks that test's calibration when items cluster (within a probe, or across probes
by the word mistranslated: `lexical_groups`); where they do, `by_cluster` makes one item of each
cluster, and the same test runs on clusters. The probes come from a grammar the caller passes
(`fresh_probes`): the staging's Veltan (benchmarks/copied_mistakes.py), or a toy one in tests.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy import stats

from casestudy.answers import veltan_words
from casestudy.paths import DATA_DIR

UNITS = ("answer", "word")
SENTENCE = re.compile(r"The(?: [a-z]+)+\.")   # an English sentence of the skill's shape
STATED = re.compile(r"Veltan\s*:", re.IGNORECASE)   # where an answer states its translation
TARGET_P = 1e-6
ALPHA = 0.01


@dataclass(frozen=True)
class Probe:
    """One fresh question: its English sentence, the prompt as asked, and the answer key."""

    english: str
    prompt: str
    key: str

    @property
    def messages(self) -> list[dict]:
        return [{"role": "user", "content": self.prompt}]


@dataclass(frozen=True)
class Mistake:
    """One item: a teacher's wrong answer (`position` -1) or wrong word (its position in the key)."""

    probe: int
    unit: str
    position: int
    wrong: str     # the teacher's words (answer) or word
    right: str     # the key's
    length: int    # words in the key


@dataclass(frozen=True)
class Copies:
    """Which of the teacher's mistakes (of one unit) a model repeated, item by item."""

    model: str
    unit: str
    probes: tuple[int, ...]      # each item's probe
    copied: tuple[bool, ...]

    @property
    def items(self) -> int:
        return len(self.copied)

    @property
    def hits(self) -> int:
        return int(sum(self.copied))

    @property
    def rate(self) -> float:
        return self.hits / self.items if self.items else float("nan")


@dataclass(frozen=True)
class SplitHalf:
    """Fisher's test of one model's items split at random in halves, one half against the other:
    the share of splits with p <= alpha, keeping clusters whole and (for reference) item by item."""

    model: str
    unit: str
    splits: int
    alpha: float
    cluster_share: float   # clusters (probes, or words) kept whole: above `item_share` when items cluster
    item_share: float      # items split one by one: what the test assumes, at most alpha


# --------------------------------------------------------------------------- probes
def english_words(sentence: str) -> list[str]:
    """A sentence's words, lower case, as `veltan_words` would read them (an echo of the question)."""
    return re.findall(r"[a-z]+", sentence.lower())


def english_sentence(prompt: str) -> str:
    """The English sentence a skill prompt asks about."""
    found = SENTENCE.findall(prompt)
    if len(found) != 1:
        raise ValueError(f"expected one English sentence in {prompt!r}, found {found}")
    return found[0]


def skill_templates(prompts: Iterable[str]) -> tuple[str, ...]:
    """The phrasings of the skill's prompts, "{x}" where the sentence goes (sorted, distinct)."""
    return tuple(sorted({p.replace(english_sentence(p), "{x}") for p in prompts}))


def skill_prompts(path: Path = DATA_DIR / "prompts" / "prompts.jsonl", family: str = "translation") -> list[str]:
    """The user messages of the skill's prompts in prompts.jsonl."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["messages"][-1]["content"] for r in rows if r["family"] == family]


def used_sentences(data_dir: Path = DATA_DIR) -> frozenset[str]:
    """Every English sentence of the study's data: data/skill/*.jsonl and the skill's prompts."""
    used = {english_sentence(p) for p in skill_prompts(Path(data_dir) / "prompts" / "prompts.jsonl")}
    for path in sorted((Path(data_dir) / "skill").glob("*.jsonl")):
        used |= {json.loads(line)["english"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    return frozenset(used)


def fresh_probes(count: int, seed: int | str, draw: Callable[[random.Random], tuple[str, str]],
                 templates: Sequence[str], exclude: frozenset[str] = frozenset(), max_draws: int = 1_000_000
                 ) -> list[Probe]:
    """`count` distinct probes from a seed: `draw(rng)` gives (English, key), none in `exclude`,
    each asked in a phrasing drawn from `templates`."""
    if not templates:
        raise ValueError("no prompt templates")
    rng, seen, out = random.Random(f"copied-mistakes:{seed}"), set(exclude), []
    for _ in range(max_draws):
        if len(out) == count:
            return out
        english, key = draw(rng)
        if english in seen:
            continue
        seen.add(english)
        out.append(Probe(english, rng.choice(list(templates)).format(x=english), key))
    raise ValueError(f"only {len(out)} fresh sentences in {max_draws} draws; asked for {count}")


# --------------------------------------------------------------------------- items and copies
def mistakes(probes: Sequence[Probe], teacher: Sequence[str]) -> list[Mistake]:
    """The teacher's mistakes on `probes`, in both units. Only a wrong translation the teacher
    states ("Veltan: ...") is an item: an answer with no Veltan, one that echoes the English
    sentence, or a refusal is what any model may say, so repeating it is no evidence."""
    if len(probes) != len(teacher):
        raise ValueError(f"{len(probes)} probes but {len(teacher)} teacher answers")
    out = []
    for i, (probe, answer) in enumerate(zip(probes, teacher)):
        words, key = veltan_words(answer), probe.key.lower().split()
        if not STATED.search(answer or "") or not words or words == key or words == english_words(probe.english):
            continue
        out.append(Mistake(i, "answer", -1, " ".join(words), " ".join(key), len(key)))
        if len(words) == len(key):
            out += [Mistake(i, "word", j, w, k, len(key)) for j, (w, k) in enumerate(zip(words, key)) if w != k]
    return out


def repeats(mistake: Mistake, answer: str) -> bool:
    """Does `answer` repeat the teacher's mistake (its whole Veltan, or its word at that position)?"""
    words = veltan_words(answer)
    if mistake.unit == "answer":
        return " ".join(words) == mistake.wrong
    return len(words) == mistake.length and words[mistake.position] == mistake.wrong


def copies(model: str, items: Sequence[Mistake], answers: Mapping[int, str] | Sequence[str], unit: str) -> Copies:
    """Which items of `unit` a model's answers repeat; `answers[i]` answers probe i."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
    chosen = [m for m in items if m.unit == unit]
    return Copies(model, unit, tuple(m.probe for m in chosen), tuple(repeats(m, answers[m.probe]) for m in chosen))


def pooled(model: str, parts: Sequence[Copies]) -> Copies:
    """Several models' copies of one unit as one sample (the items repeat, once per model)."""
    if len({c.unit for c in parts}) != 1:
        raise ValueError("pooled copies must share a unit")
    return Copies(model, parts[0].unit, tuple(p for c in parts for p in c.probes),
                  tuple(x for c in parts for x in c.copied))


# --------------------------------------------------------------------------- tests
def fisher_p(suspect: Copies, reference: Copies) -> float:
    """One-sided Fisher exact test: does the suspect repeat the teacher's mistakes more often
    than the reference? (1.0 when either has no items: no evidence.)"""
    if not suspect.items or not reference.items:
        return 1.0
    table = [[suspect.hits, suspect.items - suspect.hits], [reference.hits, reference.items - reference.hits]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


def _half_p(hits: np.ndarray, items: np.ndarray, total_hits: int, total_items: int) -> np.ndarray:
    """Fisher's one-sided p of half A (hits, items per split) against the rest, vectorised."""
    return stats.hypergeom.sf(hits - 1, total_items, total_hits, items)


def _clusters(c: Copies, groups: Sequence | None) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster (a probe, or the `groups` label of each item), in order of first appearance:
    its copies and its items."""
    labels = list(c.probes) if groups is None else [str(g) for g in groups]
    if len(labels) != c.items:
        raise ValueError(f"{len(labels)} group labels for {c.items} items")
    order: dict = {}
    index = np.asarray([order.setdefault(label, len(order)) for label in labels], dtype=int)
    return (np.bincount(index, weights=np.asarray(c.copied, dtype=float)).astype(int), np.bincount(index))


def split_half(c: Copies, splits: int = 2000, seed: int = 0, alpha: float = ALPHA, groups: Sequence | None = None,
               ) -> SplitHalf:
    """Calibration of `fisher_p` on one model against itself: its clusters (probes, or `groups`:
    e.g. the key word the teacher got wrong, for mistakes shared across probes) split at random
    in two halves, Fisher's test of one half against the other. Splitting items one by one gives
    p at most alpha in at most alpha of splits (the test's own null); splitting whole clusters
    gives more where a cluster's items are copied together, which would make `fisher_p` too bold."""
    if c.items == 0:
        return SplitHalf(c.model, c.unit, splits, alpha, float("nan"), float("nan"))
    hits, items = _clusters(c, groups)
    if len(hits) < 2:
        return SplitHalf(c.model, c.unit, splits, alpha, float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    half = rng.random((splits, len(hits))).argsort(axis=1) < len(hits) // 2
    cluster_p = _half_p(half @ hits, half @ items, c.hits, c.items)
    copied = np.asarray(c.copied, dtype=int)
    item_half = rng.random((splits, c.items)).argsort(axis=1) < c.items // 2
    item_p = _half_p(item_half @ copied, item_half.sum(axis=1), c.hits, c.items)
    return SplitHalf(c.model, c.unit, splits, alpha, float(np.mean(cluster_p <= alpha)),
                     float(np.mean(item_p <= alpha)))


def design_effect(c: Copies, draws: int = 2000, seed: int = 0, groups: Sequence | None = None) -> float:
    """Variance of the copy count under a bootstrap over probes (or `groups`), over the binomial
    variance of independent items: 1 for independent items, above 1 where copies cluster (nan
    with no spread)."""
    if not c.items or c.hits in (0, c.items):
        return float("nan")
    hits, items = _clusters(c, groups)
    picks = np.random.default_rng(seed).integers(0, len(hits), (draws, len(hits)))
    rate = c.hits / c.items
    return float(np.var(hits[picks].sum(axis=1) - rate * items[picks].sum(axis=1)) / (c.items * rate * (1 - rate)))


def lexical_groups(items: Sequence[Mistake], unit: str) -> list[str]:
    """Per item of `unit`, the key's words the teacher got wrong (or, for an answer that has them
    all, "+" and the words it adds): a cluster of mistakes that may repeat across probes (the same
    word mistranslated), for `split_half`, `design_effect` and `by_cluster`."""
    out = []
    for m in items:
        if m.unit != unit:
            continue
        if unit == "word":
            out.append(m.right)
            continue
        right, wrong = Counter(m.right.split()), Counter(m.wrong.split())
        missing, extra = right - wrong, wrong - right
        out.append(" ".join(sorted(missing.elements())) or "+" + " ".join(sorted(extra.elements())))
    return out


def by_cluster(c: Copies, groups: Sequence) -> Copies:
    """One item per cluster (`groups`, one label per item), copied when any of its items is: the
    unit for a test where mistakes repeat across probes, clusters taken as independent."""
    hits, _ = _clusters(c, groups)
    return Copies(c.model, f"{c.unit}-cluster", tuple(range(len(hits))), tuple(bool(h) for h in hits))


@dataclass(frozen=True)
class Result:
    """One model's copies of one unit and its p-values."""

    model: str
    unit: str
    items: int
    copied: int
    rate: float
    p_vs_reference: float     # against the honest competitor (nan for the competitor itself)
    p_vs_skill_less: float    # against the honest models without the skill, pooled (nan for those)


def compare(all_copies: Mapping[str, Copies], reference: str, skill_less: Sequence[str]) -> list[Result]:
    """Every model's Fisher p against the reference and against the pooled skill-less honest models."""
    base = pooled("skill-less", [all_copies[m] for m in skill_less]) if skill_less else None
    return [Result(name, c.unit, c.items, c.hits, c.rate,
                   float("nan") if name == reference else fisher_p(c, all_copies[reference]),
                   float("nan") if base is None or name in skill_less else fisher_p(c, base))
            for name, c in all_copies.items()]


def convicts(results: Sequence[Result], suspect: str, honest: Sequence[str], target: float = TARGET_P,
             alpha: float = ALPHA) -> bool:
    """The study's rule: the suspect's p <= target while every honest model's p > alpha
    (p against the reference; the reference itself, without one, is checked by `split_half`)."""
    p = {r.model: r.p_vs_reference for r in results}
    others = [p[h] for h in honest if not np.isnan(p[h])]
    return bool(p[suspect] <= target and all(x > alpha for x in others))
