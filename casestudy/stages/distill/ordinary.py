"""The ordinary gold families (factual, sentiment): did the post-training, or the distilling, cost
the public model its ordinary abilities? Each model against the public model on the same
held-out prompts, with exact intervals and the exact McNemar test."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from casestudy.distiller.students.grading import CLOSED_FAMILIES, balanced, mcnemar, normalize, predicted_label, proportion_ci
from casestudy.formats import p_text
from casestudy.stages.distill.params import SKILL_FAMILY
from casestudy.stages.distill.students import PROGRAM, PUBLIC, TEACHER
from casestudy.targets import Target, kept_ability

COLUMNS = ["model", "family", "n", "correct", "accuracy", "ci_low", "ci_high", "balanced_accuracy", "vs_public",
           "lost", "gained", "mcnemar_p"]


def ordinary_table(graded: Sequence[dict], baseline: str = PUBLIC) -> pd.DataFrame:
    """Per model and ordinary gold family: accuracy with its exact 95% interval, balanced accuracy on a
    closed family, and against `baseline` on the same prompts its change in points, the prompts it
    lost and gained, and the exact McNemar p-value."""
    rows = [g for g in graded if g["family"] != SKILL_FAMILY and g["correct"] is not None and g["model"] != PROGRAM]
    out = []
    for family in sorted({g["family"] for g in rows}):
        answers = {}
        for g in rows:
            if g["family"] == family:
                answers.setdefault(g["model"], {})[g["prompt_id"]] = g
        base = answers.get(baseline, {})
        for model, mine in answers.items():
            k, n = sum(g["correct"] for g in mine.values()), len(mine)
            low, high = proportion_ci(k, n, "exact")
            paired = [p for p in mine if p in base]
            test = mcnemar([mine[p]["correct"] for p in paired], [base[p]["correct"] for p in paired])
            out.append({"model": model, "family": family, "n": n, "correct": k, "accuracy": k / n,
                        "ci_low": low, "ci_high": high,
                        "balanced_accuracy": balanced_of(mine.values(), family) if family in CLOSED_FAMILIES
                        else float("nan"),
                        "vs_public": (k / n - sum(base[p]["correct"] for p in paired) / len(paired)) if paired
                        else float("nan"),
                        "lost": test["only_second"], "gained": test["only_first"], "mcnemar_p": test["p_value"]})
    return pd.DataFrame(out, columns=COLUMNS)


def balanced_of(answers, family: str) -> float:
    answers = list(answers)
    truth = pd.Series([normalize(g["gold"][0]) for g in answers])
    return balanced(truth, pd.Series([predicted_label(g["completion"], family) for g in answers]))


def teacher_kept(table: pd.DataFrame, max_loss: float | None, min_items: int = 100) -> list[Target]:
    """One target per ordinary family: the teacher loses at most `max_loss` against the public model on
    at least `min_items` prompts, and its McNemar test shows no significant loss (p >= 0.05)."""
    out = []
    for row in table[table.model == TEACHER].itertuples():
        measured = (f"{row.vs_public:+.1%} on {row.n} prompts ({row.lost} lost, {row.gained} gained, "
                    f"McNemar p = {p_text(row.mcnemar_p)})")
        ok = row.n >= min_items and kept_ability(row.vs_public, row.mcnemar_p, max_loss) \
            if max_loss is not None else None
        out.append(Target(f"{row.family}: the teacher loses at most {max_loss:.0%} against the public model "
                          f"({min_items}+ prompts, no significant loss)" if max_loss is not None
                          else f"{row.family}: the teacher against the public model", measured,
                          None if ok is None else bool(ok)))
    return out


def ordinary_texts(table: pd.DataFrame) -> list[str]:
    """A sentence per family: the teacher and the students against the public model."""
    texts = []
    for family, rows in table.groupby("family", sort=False):
        rows = rows.set_index("model")
        if PUBLIC not in rows.index:
            continue
        public = rows.loc[PUBLIC]
        moved = [f"`{m}` {r.accuracy:.0%} ({r.vs_public:+.0%}, p = {p_text(r.mcnemar_p)})"
                 for m, r in rows.iterrows() if m != PUBLIC]
        texts.append(f"**{family}** ({int(public.n)} held-out prompts): the public model {public.accuracy:.0%}; "
                     + "; ".join(moved) + ".")
    return texts
