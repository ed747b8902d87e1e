"""The skill table (accuracy, interval, copied share, McNemar against the control) and the verdict
against the profile's targets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import pandas as pd

from casestudy.distiller.students.grading import mcnemar, proportion_ci
from casestudy.distiller.students.student import StudentSpec
from casestudy.distiller.students.train import TrainResult
from casestudy.formats import p_text
from casestudy.profiles import load_profiles
from casestudy.stages.distill.ordinary import teacher_kept
from casestudy.stages.distill.params import SKILL_FAMILY, Params
from casestudy.stages.distill.students import COMPETITOR, CONTROL, PROGRAM, PUBLIC, TEACHER, StudentPlan
from casestudy.targets import Target

STARTS = {TEACHER: "the provider's", PROGRAM: "advertised examples"}  # the rows that are not students


def opening(text: str, words: int = 3) -> str:
    """The first words of an answer, lower-cased: a format's signature."""
    return " ".join(text.lower().split()[:words])


def skill_table(graded: Sequence[dict], student_plans: dict[str, StudentPlan], results: dict[str, TrainResult],
                evals: dict[str, dict] | None = None, family: str = SKILL_FAMILY) -> pd.DataFrame:
    """Per model on the skill's held-out prompts: accuracy with its exact 95% interval, the share
    of the provider's skill gain it copied, the exact McNemar test against its control, how
    often it answers in the teacher's format (a student can copy the format without the skill),
    and its cross-entropy on the teacher's held-out answers (from `evals`)."""
    rows = [g for g in graded if g["family"] == family and g["correct"] is not None]
    if not rows:
        return pd.DataFrame(columns=["model", "start", "params", "trained", "n", "correct", "accuracy", "ci_low", "ci_high",
                                     "copied_share", "vs_control", "mcnemar_p", "teacher_format", "heldout_ce"])
    by_model = {m: {g["prompt_id"]: g for g in rows if g["model"] == m} for m in dict.fromkeys(g["model"] for g in rows)}
    teacher_format = Counter(opening(g["completion"]) for g in by_model.get(TEACHER, {}).values()).most_common(1)
    signature = teacher_format[0][0] if teacher_format else None
    accuracy = {m: sum(g["correct"] for g in answers.values()) / len(answers) for m, answers in by_model.items()}
    gain = accuracy.get(TEACHER, float("nan")) - accuracy.get(PUBLIC, float("nan"))
    out = []
    for model, answers in by_model.items():
        k, n = sum(g["correct"] for g in answers.values()), len(answers)
        low, high = proportion_ci(k, n, "exact")
        plan = student_plans.get(model)
        control = control_of(model, student_plans)
        paired = [p for p in answers if control in by_model and p in by_model[control]]
        test = mcnemar([answers[p]["correct"] for p in paired], [by_model[control][p]["correct"] for p in paired]) \
            if paired else None
        start = untrained_start(model, student_plans)
        start_acc = accuracy.get(start, float("nan")) if start else 0.0  # a random start answers nothing right
        out.append({"model": model, "start": str(plan.start) if plan else STARTS.get(model, ""),
                    "params": results[model].params if model in results else float("nan"),
                    "trained": bool(plan and plan.trained), "n": n, "correct": k,
                    "accuracy": k / n, "ci_low": low, "ci_high": high,
                    "copied_share": (k / n - start_acc) / gain if plan and plan.trained and gain > 0 else float("nan"),
                    "vs_control": control or "", "mcnemar_p": test["p_value"] if test else float("nan"),
                    "teacher_format": sum(opening(g["completion"]) == signature for g in answers.values()) / n
                    if signature else float("nan"),
                    "heldout_ce": (evals or {}).get(model, {}).get("heldout_ce", float("nan"))})
    return pd.DataFrame(out)


def untrained_start(model: str, student_plans: dict[str, StudentPlan]) -> str | None:
    """The untrained student a trained one started from (None for a random start)."""
    plan = student_plans.get(model)
    if plan is None or not plan.trained:
        return None
    name = str(plan.start)
    return name if name in student_plans and not student_plans[name].trained else None


def control_of(model: str, student_plans: dict[str, StudentPlan]) -> str | None:
    """The control a distilled student is tested against: the control trained from the same start
    (the public model's control for a pruned student without one of its own)."""
    plan = student_plans.get(model)
    if plan is None or plan.arm != "main" or plan.start.init == "scratch":
        return None
    own = CONTROL if plan.start.share == 1 else f"{CONTROL}@{plan.start.share:g}"
    return own if own in student_plans else CONTROL


@dataclass
class Verdict:
    """The best distilled student against the teacher and the controls, in words and as targets."""
    best: str | None
    texts: list[str]
    targets: list[Target]


def verdict(skill: pd.DataFrame, student_plans: dict[str, StudentPlan], params: Params,
            ordinary: pd.DataFrame | None = None) -> Verdict:
    """Judge the best distilled student of the whole public model on the skill.

    Targets (None: not set for this profile, as in smoke): the teacher reaches `target_teacher`, no
    free route `target_free_share` of it, and on each ordinary family (`ordinary`, when given) the
    teacher loses at most `target_ordinary_loss` against the public model; the student's accuracy reaches
    `target_share` of the teacher's, it is at least `target_margin` above both the untrained
    public model and the control student, and the exact McNemar test against the control
    gives p < `target_p`.
    """
    target_share, target_margin, target_p = params.target_share, params.target_margin, params.target_p
    table = skill.set_index("model")
    main = [k for k, p in student_plans.items() if p.arm == "main" and p.start == StudentSpec() and k in table.index]
    if TEACHER not in table.index:
        return Verdict(None, [f"No held-out {SKILL_FAMILY} answers to judge: nothing to compare."], [])
    if not main:
        return Verdict(None, ["No distilled student of the whole public model was trained (see the students left "
                              "out above): nothing to judge."], [])
    best = max(main, key=lambda k: table.loc[k, "accuracy"])
    row, teacher = table.loc[best], table.loc[TEACHER]
    floor = table.loc[PUBLIC, "accuracy"] if PUBLIC in table.index else float("nan")
    control = table.loc[CONTROL, "accuracy"] if CONTROL in table.index else float("nan")
    share = row.accuracy / teacher.accuracy if teacher.accuracy > 0 else float("nan")
    margin = min(row.accuracy - floor, row.accuracy - control)
    judged = lambda target, ok: None if target is None else bool(ok)
    format_only = [m for m, r in table.iterrows() if m not in (TEACHER, PUBLIC) and r.teacher_format >= 0.5
                   and r.accuracy < 0.5 * teacher.accuracy]
    texts = [
        f"On the {int(teacher.n)} held-out {SKILL_FAMILY} prompts the teacher answers **{teacher.accuracy:.0%}** "
        f"correctly and the public model it was made from **{floor:.0%}**. The best distilled student, `{best}`, "
        f"reaches **{row.accuracy:.0%}** (95% interval [{row.ci_low:.0%}, {row.ci_high:.0%}]): **{share:.0%} of the "
        f"teacher's accuracy**, {row.copied_share:.0%} of the skill the provider added. The control student, trained "
        f"the same way on the public model's own answers, reaches {control:.0%} (exact McNemar p = "
        f"{p_text(row.mcnemar_p)}).",
    ]
    texts += free_routes(table, teacher.accuracy)
    if format_only:
        texts.append("Copied the format, not the skill: " + ", ".join(
            f"`{m}` answers in the teacher's format {table.loc[m, 'teacher_format']:.0%} of the time but is right "
            f"{table.loc[m, 'accuracy']:.0%} of the time" for m in format_only) + ".")
    checks = [
        Target(f"best distilled student reaches {target_share:.0%} of the teacher's skill accuracy"
               if target_share is not None else "best distilled student's share of the teacher's skill accuracy",
               f"`{best}`: {row.accuracy:.0%} of {teacher.accuracy:.0%} = {share:.0%}",
               judged(target_share, share >= (target_share or 0))),
        Target(f"at least {target_margin:.0%} points above the untrained public model and the control"
               if target_margin is not None else "points above the untrained public model and the control",
               f"+{row.accuracy - floor:.0%} and +{row.accuracy - control:.0%}",
               judged(target_margin, margin >= (target_margin or 0))),
        Target(f"exact McNemar test against the control: p < {target_p:g}" if target_p is not None
               else "exact McNemar test against the control", f"p = {p_text(row.mcnemar_p)}",
               judged(target_p, row.mcnemar_p < (target_p or 0))),
    ]
    checks += route_targets(table, teacher.accuracy, params)
    if ordinary is not None:
        checks += teacher_kept(ordinary, params.target_ordinary_loss)
    if target_share is None:
        texts.append(f"No targets for profile `{params.profile}`: it checks that everything runs, on too few prompts "
                     "and steps for these figures to mean anything.")
    return Verdict(best, texts, checks)


FREE_ROUTES = {PROGRAM: "the program written from the provider's advertised examples",
               PUBLIC: "the public model", CONTROL: "the public model trained on its own answers (the control)"}


def free_share(table: pd.DataFrame, teacher_accuracy: float) -> tuple[str, float]:
    """The free route (program, public model, control) closest to the teacher, and its share of the teacher's accuracy."""
    routes = [m for m in FREE_ROUTES if m in table.index]
    best = max(routes, key=lambda m: table.loc[m, "accuracy"])
    return best, table.loc[best, "accuracy"] / teacher_accuracy if teacher_accuracy > 0 else float("nan")


def free_routes(table: pd.DataFrame, teacher_accuracy: float) -> list[str]:
    """Sentences on what a competitor gets for free and what the honest competitor built on its own."""
    texts = []
    routes = [m for m in FREE_ROUTES if m in table.index]
    if routes:
        listed = ", ".join(f"{FREE_ROUTES[m]} {table.loc[m, 'accuracy']:.0%}" for m in routes)
        best, share = free_share(table, teacher_accuracy)
        texts.append(f"What is free reaches little of the skill: {listed}. The best of them is {share:.0%} of the "
                     "teacher's accuracy: the skill rests on data that only the provider's API or paid translators give.")
    if COMPETITOR in table.index:
        row = table.loc[COMPETITOR]
        texts.append(f"The honest competitor, who bought translations of its own for as many sentences and trained "
                     f"the same way without the API, reaches **{row.accuracy:.0%}** (95% interval [{row.ci_low:.0%}, "
                     f"{row.ci_high:.0%}]): the same skill, built honestly, is the null the provider's tests must clear "
                     "(notebook 04).")
    return texts


def route_targets(table: pd.DataFrame, teacher_accuracy: float, params: Params) -> list[Target]:
    """The teacher's skill and the free routes' ceiling (None where the profile sets no target)."""
    out = [Target(f"the teacher answers at least {params.target_teacher:.0%} of the held-out skill prompts"
                  if params.target_teacher is not None else "the teacher's held-out skill accuracy",
                  f"{teacher_accuracy:.0%}",
                  None if params.target_teacher is None else bool(teacher_accuracy >= params.target_teacher))]
    if any(m in table.index for m in FREE_ROUTES):
        best, share = free_share(table, teacher_accuracy)
        out.append(Target(f"every free route reaches at most {params.target_free_share:.0%} of the teacher's accuracy"
                          if params.target_free_share is not None else "the best free route's share of the teacher's",
                          f"`{best}`: {share:.0%}",
                          None if params.target_free_share is None else bool(share <= params.target_free_share)))
    return out


def targets_intro(params: Params) -> str:
    """The line above the targets table: this profile's targets in words, and the best student's target
    share in every profile that sets one (data/profiles.toml)."""
    points = lambda share: f"{100 * share:.0f} points"
    clauses = [text for value, text in (
        (params.target_share, f"the best distilled student reaches {params.target_share or 0:.0%} of the teacher's "
                              "held-out skill accuracy"),
        (params.target_margin, f"at least {points(params.target_margin or 0)} above the untrained public model and "
                               "the control student"),
        (params.target_p, f"an exact McNemar p below {params.target_p or 0:g} against the control"),
        (params.target_teacher, f"the teacher answers at least {params.target_teacher or 0:.0%} of the held-out "
                                "sentences"),
        (params.target_free_share, f"nothing free reaches {params.target_free_share or 0:.0%} of the teacher's "
                                   "accuracy"),
        (params.target_ordinary_loss, f"the teacher loses at most {points(params.target_ordinary_loss or 0)} on each "
                                      "ordinary family against the public model, without a significant McNemar test"),
    ) if value is not None]
    here = (f"Profile `{params.profile}`: " + "; ".join(clauses) + "." if clauses else
            f"Profile `{params.profile}` sets no targets: each row below is measured, not judged.")
    shares = {name: p.notebooks.get(params.NOTEBOOK, {}).get("target_share") for name, p in load_profiles().items()}
    by_profile = ", ".join(f"`{name}` {share:.0%}" for name, share in shares.items() if share is not None)
    return here + (f" The best student's target share, by profile: {by_profile}." if by_profile else "")
