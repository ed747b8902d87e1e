"""6 · Copied mistakes: the teacher's errors on fresh skill prompts, and which suspects repeat them.

The provider screens fresh prompts of the skill through its own teacher, as deployed (its own
model: the screen costs no suspect queries), keeps the prompts the teacher gets wrong, and asks
every suspect those, greedy, in the same ask as the other query sets. A suspect's copies are
tested against the honest competitor's (the only honest model with the skill) by Fisher's exact
test. The teacher's mistakes repeat across prompts (one word it always mistranslates), so the
test that decides counts one item per such word (`lexical_groups`); the item-level p is shown
beside it and overstates the evidence (docs/detection.md measures both).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from casestudy.answers import is_translation
from casestudy.detection import copied_mistakes as cm
from casestudy.intervals import proportion_ci
from casestudy.models import resolve_source
from casestudy.scenario.investigator import QuerySet
from casestudy.scenario.language import random_sentence, translate
from casestudy.stages import detect  # the package: calls go through its seams (see __init__)
from casestudy.stages.detect.params import Params
from casestudy.stages.detect.queries import Queries
from casestudy.stages.detect.workspace import Workspace

REFERENCE = "competitor"   # the honest model the suspects' copy rates are tested against
SCREEN_SET, SUSPECT_SET = "mistakes-screen", "mistakes"


def veltan_draw(rng: random.Random) -> tuple[str, str]:
    """One fresh sentence of the skill's grammar and its answer key."""
    sentence = random_sentence(rng)
    return sentence.english, translate(sentence).text


@dataclass(frozen=True)
class Screen:
    """The teacher's answers to the fresh probes, and its mistakes among them."""

    probes: list[cm.Probe]
    teacher: list[str]
    items: list[cm.Mistake]      # both units (cm.UNITS)

    @property
    def wrong(self) -> list[int]:
        """The probes the teacher answered wrong: the suspects are asked these."""
        return sorted({m.probe for m in self.items})

    @property
    def accuracy(self) -> float:
        return 1 - len(self.wrong) / len(self.probes)

    def text(self) -> str:
        """One sentence for the notebook: how many probes, how many the teacher got wrong."""
        return (f"The teacher, as deployed, translated {len(self.probes):,} fresh sentences (in no training data) and "
                f"got **{len(self.wrong)} wrong** ({self.accuracy:.1%} right); every suspect is asked those "
                f"{len(self.wrong)}, greedy.")


def screen_teacher(where: Workspace, queries: Queries, params: Params) -> tuple[Screen, Queries]:
    """Fresh probes through the deployed teacher (with the identity probes, one server), and the
    investigator's query sets with the teacher's wrong probes added for the suspects."""
    probes = cm.fresh_probes(params.mistake_probes, params.seed, veltan_draw,
                             cm.skill_templates(cm.skill_prompts(family=where.skill_family)), cm.used_sentences())
    screen_set = QuerySet([p.messages for p in probes], params.mistake_max_tokens, 0.0)
    teacher = detect.ask_model("teacher", resolve_source(where.deployment.model_source),
                               {"probes": queries.probes, SCREEN_SET: screen_set}, where.out, params.seed,
                               params.device, where.deployment.system_prompt, where.deployment.precision)[SCREEN_SET]
    screen = Screen(probes, teacher, cm.mistakes(probes, teacher))
    asked = QuerySet([probes[i].messages for i in screen.wrong], params.mistake_max_tokens, 0.0)
    return screen, queries.with_mistakes(asked)


def mistakes_table(screen: Screen, student_answers: dict[str, dict[str, list[str]]]) -> pd.DataFrame:
    """Per suspect: the teacher's wrong answers it repeats word for word (with an exact 95% interval),
    the words behind them, and Fisher's one-sided p against the honest competitor, per word the
    teacher gets wrong (the test that decides) and per answer (independence assumed: too bold)."""
    if REFERENCE not in student_answers:
        raise ValueError(f"the copied-mistakes test needs the honest competitor ({REFERENCE!r}) among the suspects")
    wrong = screen.wrong
    answers = {name: dict(zip(wrong, a[SUSPECT_SET])) for name, a in student_answers.items()}
    copies = {name: cm.copies(name, screen.items, a, "answer") for name, a in answers.items()}
    words = cm.lexical_groups(screen.items, "answer")
    clustered = {name: cm.by_cluster(c, words) for name, c in copies.items()}
    rows = []
    for name, c in copies.items():
        low, high = proportion_ci(c.hits, c.items, "exact")
        right = sum(is_translation(answers[name][i], screen.probes[i].key) for i in wrong)
        rows.append({"model": name, "items": c.items, "copied": c.hits, "rate": c.rate, "ci_low": low,
                     "ci_high": high, "right": right, "words": clustered[name].items,
                     "words_copied": clustered[name].hits,
                     "p_value": np.nan if name == REFERENCE else cm.fisher_p(clustered[name], clustered[REFERENCE]),
                     "p_items": np.nan if name == REFERENCE else cm.fisher_p(c, copies[REFERENCE])})
    return pd.DataFrame(rows).set_index("model")
