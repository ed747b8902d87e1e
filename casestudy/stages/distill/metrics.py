"""Notebook 02's metrics.json: the typed contract that notebooks 03 and 04 and the spread read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from casestudy.competitor.purchase import english_words
from casestudy.distiller.students.train import TrainResult
from casestudy.stages.contract import Record, StageMetrics
from casestudy.stages.distill.params import SKILL_FAMILY, Params
from casestudy.stages.distill.students import (COMPETITOR, CONTROL, PROGRAM, PUBLIC, TEACHER, Harvest, StudentPlan,
                                               skipped_students)
from casestudy.stages.distill.verdict import Verdict


class SkillRow(Record):
    """One model's row of the skill table (`skill_table`); None where a figure does not apply."""

    model: str
    start: str
    params: float | None
    trained: bool
    n: int
    correct: int
    accuracy: float
    ci_low: float
    ci_high: float
    copied_share: float | None
    vs_control: str
    mcnemar_p: float | None
    teacher_format: float | None
    heldout_ce: float | None


class OrdinaryRow(Record):
    """One model on one ordinary gold family against the public model (`ordinary_table`)."""

    model: str
    family: str
    n: int
    correct: int
    accuracy: float
    ci_low: float
    ci_high: float
    balanced_accuracy: float | None
    vs_public: float | None
    lost: int
    gained: int
    mcnemar_p: float


class StudentMetrics(Record):
    """One student in metrics.json (read by notebooks 03 and 04 and the spread)."""

    name: str
    kind: str                    # "sft", "topk" or "untrained"
    start: str                   # "public", "public@0.5", "scratch-5m"
    arm: str | None              # "main", "control", "competitor" or None (untrained)
    params: int
    trainable_params: int
    train_tokens: int
    target_tokens: int
    steps: int
    wall_seconds: float
    tokens_per_second: float
    device: str
    accuracy: float              # over every gold family
    accuracy_by_family: dict[str, float]
    heldout_ce: float | None
    path: str                    # its folder, relative to the stage's
    n_layers: int
    d_model: int
    context: int
    skill: SkillRow | None = None


class Metrics(StageMetrics):
    """Notebook 02's metrics.json."""

    STAGE = "distill"

    device: str
    wall_seconds: float
    skill_family: str
    best_student: str | None
    teacher_accuracy: float
    teacher_accuracy_by_family: dict[str, float]
    teacher_skill: SkillRow | None
    gold_eval_prompts: int
    heldout_records: int
    topk_facts: dict[str, Any]
    closed_families: list[dict[str, Any]]
    students: list[StudentMetrics]
    parameters: dict[str, Any]
    fingerprint: str             # of the parameters and the harvest the students were trained on
    skipped_students: str = ""   # why students the parameters ask for were left out ("" when none was)
    program_skill: SkillRow | None = None    # the free program written from the advertised examples
    competitor_sentences: int = 0            # translations the honest competitor bought
    competitor_words: int = 0                # their English words: what it paid for
    ordinary: list[OrdinaryRow] = []         # every model on the ordinary gold families, against the public model

    def student(self, name: str | None) -> StudentMetrics | None:
        return next((s for s in self.students if s.name == name), None)



def architecture(student_dir: Path, context: int) -> dict[str, int]:
    """Depth, width and training context of a saved student (for notebook 03's attention FLOPs)."""
    config = json.loads((Path(student_dir) / "config.json").read_text())
    return {"n_layers": config["num_hidden_layers"], "d_model": config["hidden_size"], "context": context}


def optional(value: Any) -> Any:
    """NaN (a figure that does not apply) as None, for metrics.json."""
    return None if isinstance(value, float) and pd.isna(value) else value


def skill_rows(skill: pd.DataFrame) -> dict[str, SkillRow]:
    return {r["model"]: SkillRow(**{k: optional(v) for k, v in r.items()}) for r in skill.to_dict("records")}


def student_metrics(results: dict[str, TrainResult], student_plans: dict[str, StudentPlan], evals: dict[str, dict],
                    acc: pd.DataFrame, skill: pd.DataFrame) -> list[StudentMetrics]:
    """One entry per student for metrics.json (read by notebooks 03 and 04)."""
    fam_acc = acc.pivot_table(index="model", columns="family", values="accuracy")
    families = [f for f in fam_acc.columns if f != "all"]
    by_skill = skill_rows(skill)
    return [StudentMetrics(
        name=name, kind=student_plans[name].kind, start=str(student_plans[name].start), arm=student_plans[name].arm,
        params=r.params, trainable_params=r.trainable_params, train_tokens=r.train_tokens,
        target_tokens=r.target_tokens, steps=r.steps, wall_seconds=r.wall_seconds,
        tokens_per_second=r.tokens_per_second, device=r.device,
        accuracy=float(fam_acc.loc[name, "all"]) if name in fam_acc.index else float("nan"),
        accuracy_by_family={f: float(fam_acc.loc[name, f]) for f in families if name in fam_acc.index},
        heldout_ce=optional(evals[name]["heldout_ce"]), path=f"students/{name}",
        **architecture(r.out_dir, student_plans[name].train.max_len), skill=by_skill.get(name),
    ) for name, r in results.items()]


def stage_metrics(params: Params, device: str, wall: float, acc: pd.DataFrame, skill: pd.DataFrame,
                  data: Harvest, results: dict[str, TrainResult], student_plans: dict[str, StudentPlan],
                  evals: dict[str, dict], closed: pd.DataFrame, facts: dict, judged: Verdict,
                  collect: Path, ordinary: pd.DataFrame | None = None) -> Metrics:
    """The metrics.json of the distill stage (read by notebooks 03 and 04 and the spread), its headline set."""
    fam_acc = acc.pivot_table(index="model", columns="family", values="accuracy")
    metrics = Metrics(
        device=device, wall_seconds=wall, skill_family=SKILL_FAMILY, best_student=judged.best,
        teacher_accuracy=float(fam_acc.loc[TEACHER, "all"]),
        teacher_accuracy_by_family={f: float(fam_acc.loc[TEACHER, f]) for f in fam_acc.columns if f != "all"},
        teacher_skill=skill_rows(skill).get(TEACHER), gold_eval_prompts=len(data.gold),
        heldout_records=len(data.heldout), topk_facts=facts, closed_families=closed.to_dict("records"),
        students=student_metrics(results, student_plans, evals, acc, skill), parameters=params.values(),
        fingerprint=params.fingerprint(data.input_files(collect)), targets=judged.targets,
        skipped_students=skipped_students(data, params), program_skill=skill_rows(skill).get(PROGRAM),
        competitor_sentences=data.skill_sentences, competitor_words=english_words(data.skill_sentences),
        ordinary=[OrdinaryRow(**{k: optional(v) for k, v in r.items()}) for r in
                  (ordinary.to_dict("records") if ordinary is not None else [])],
    )
    metrics.headline = headline(metrics)
    return metrics


def headline(metrics: Metrics) -> dict[str, str]:
    """The report index's lines for this stage."""
    lines = {}
    public = metrics.student(PUBLIC)
    if metrics.teacher_skill:
        floor = public.skill.accuracy if public and public.skill else float("nan")
        lines[f"{metrics.skill_family}: teacher / public model"] = (
            f"{metrics.teacher_skill.accuracy:.0%} / {floor:.0%} of {metrics.teacher_skill.n} held-out prompts")
    best = metrics.student(metrics.best_student)
    if best and best.skill:
        copied = best.skill.copied_share
        lines[f"best student ({best.name})"] = (
            f"{best.skill.accuracy:.0%}, " + (f"{copied:.0%} of the skill gain copied" if copied is not None
                                               else "no skill gain to copy (teacher not above the public model)"))
    control = metrics.student(CONTROL)
    if control and control.skill:
        lines["control student"] = f"{control.skill.accuracy:.0%}"
    competitor = metrics.student(COMPETITOR)
    if competitor and competitor.skill:
        row = competitor.skill
        lines["honest competitor (no API)"] = f"{row.accuracy:.0%} [{row.ci_low:.0%}, {row.ci_high:.0%}]"
    return lines
