"""The students of notebook 02: where each starts, what it trains on, training them and grading them.

The students (`plans`):

- `public`: the public model, untrained: the floor every student starts from
- `sft`, `topk`: the public model trained on the provider's answers (arm `main`), by
  cross-entropy on the sampled tokens or by top-k distillation
- `control`: the public model trained on the control deployment's answers (the public
  model behind the same API, no post-training, no watermark)
- `<kind>@<share>`: the public model cut to `share` of its parameters by importance, healed
  by the same training (`size_curve`); `public@<share>` is its untrained start
- `scratch-<size>`: a small model from random weights on the same data: a distiller without a base
- `competitor`: the honest competitor's student, the public model trained by the same recipe on
  its own bought translations (as many sentences as the distiller asked about, in its own style)
  and the public model's own ordinary answers (the control arm's): the skill built without the API
- `program`: not a model, the free program written from the provider's advertised examples

A `topk` student needs the teacher's top-k logprobs. When its arm holds none (an endpoint that
ignores `logprobs`, as `transformers serve` does), `plans(params, data)` leaves it out (with a
pruned start left with nothing to train from it) and `skipped_students` says so in one sentence,
rather than failing or training an `sft` student under the name `topk`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from casestudy.competitor.program import advertised_lexicon, program_answer
from casestudy.competitor.purchase import training_records
from casestudy.device import native_precision, pick_device
from casestudy.distiller.collect.dataset import count_topk, read_records, read_topk
from casestudy.distiller.students.evaluate import evaluate_saved, gold_rows, grade_completions, topk_facts
from casestudy.distiller.students.grading import accuracy_table, closed_family_table
from casestudy.distiller.students.student import StudentSpec
from casestudy.distiller.students.train import TrainConfig, TrainResult, train_student
from casestudy.models import load_model
from casestudy.paths import run_dir, stage_dir
from casestudy.stages.distill.params import SKILL_FAMILY, Params

PUBLIC, CONTROL, TEACHER = "public", "control", "teacher"
COMPETITOR, PROGRAM = "competitor", "program"


@dataclass
class Workspace:
    """Where the stage reads and writes, the device it computes on, and the public tokenizer."""
    collect: Path
    out: Path
    device: str                 # in words, with the students' precision
    tokenizer: Any

    @property
    def students(self) -> Path:
        return self.out / "students"


def open_workspace(params: Params) -> Workspace:
    """The run's collect/ and distill/ folders, the device, and the public tokenizer (also the teacher's)."""
    run = run_dir(params.profile)
    dev = pick_device(params.device)
    return Workspace(stage_dir(run, "collect"), stage_dir(run, "distill"),
                     dev.describe(f"{native_precision(dev)} students"),
                     load_model(params.public_model, device="cpu").tokenizer)


@dataclass
class Harvest:
    """What notebook 01 collected, split for training and evaluation."""
    main: list[dict]
    control: list[dict]
    topk: dict
    control_topk: dict = field(default_factory=dict)
    main_train: list[dict] = field(init=False)
    control_train: list[dict] = field(init=False)
    competitor_train: list[dict] = field(init=False)   # the honest competitor's data: no API
    heldout: list[dict] = field(init=False)
    gold: list[dict] = field(init=False)

    def __post_init__(self) -> None:
        split = lambda recs, s: [r for r in recs if r["split"] == s]
        self.main_train, self.control_train = split(self.main, "train"), split(self.control, "train")
        self.heldout, self.gold = split(self.main, "eval"), gold_rows(self.main)
        self.competitor_train = training_records(self.skill_sentences, self.control_train)

    @property
    def skill_sentences(self) -> int:
        """How many distinct skill prompts the distiller trains on: what the competitor buys as many of."""
        return len({r.get("prompt_id", r["id"]) for r in self.main_train if r["family"] == SKILL_FAMILY})

    def train_records(self, arm: str | None) -> list[dict]:
        """The records a student of `arm` trains on (an untrained one, arm None, is measured on the main arm's)."""
        return {"control": self.control_train, "competitor": self.competitor_train}.get(arm, self.main_train)

    @classmethod
    def read(cls, collect: Path) -> "Harvest":
        return cls(read_records(collect / "main"), read_records(collect / "control"), read_topk(collect / "main"),
                   read_topk(collect / "control"))

    def records(self, arm: str) -> list[dict]:
        return self.control if arm == "control" else self.main

    def topk_records(self, arm: str) -> int:
        """How many records of `arm` ("main" or "control") carry the teacher's top-k logprobs."""
        return count_topk(self.control_topk if arm == "control" else self.topk)

    def has_topk(self, arm: str) -> bool:
        return self.topk_records(arm) > 0

    def table(self) -> pd.DataFrame:
        """Records and completion tokens per family (rows) and arm and split (columns), with totals."""
        long = pd.DataFrame([{"arm": arm, "split": r["split"], "family": r["family"], "records": 1,
                              "completion tokens": r["completion_tokens"]}
                             for arm, recs in (("main", self.main), ("control", self.control)) for r in recs])
        wide = long.pivot_table(index="family", columns=["arm", "split"], values=["records", "completion tokens"],
                                aggfunc="sum", fill_value=0)
        wide = wide.reindex(columns=pd.MultiIndex.from_product(
            [["records", "completion tokens"], ["main", "control"], ["train", "eval"]]), fill_value=0)
        wide.loc["total"] = wide.sum()
        return wide.astype(int)

    def input_files(self, collect: Path) -> list[Path]:
        """The files the stage's outputs depend on (for its fingerprint)."""
        files = [collect / arm / f for arm in ("main", "control") for f in ("records.jsonl", "topk.bin")]
        return [p for p in files if p.is_file()]


@dataclass(frozen=True)
class StudentPlan:
    """One student: where it starts, what it trains on, and how."""
    start: StudentSpec          # the public model, whole or pruned, or a scratch model
    arm: str | None             # "main", "control", "competitor" (its own data, no API), or None (untrained)
    kind: str                   # "sft", "topk" or "untrained"
    train: TrainConfig

    @property
    def trained(self) -> bool:
        return self.arm is not None


def plans(params: Params, data: Harvest | None = None) -> dict[str, StudentPlan]:
    """name -> StudentPlan for every student of the stage, controls and untrained starts included.

    `params.recipe()` is the fine-tune of the whole public model; pruned students train
    `curve_train_layers` (0: all, as healing a cut model needs) and the scratch student
    trains everything at `scratch_lr`. Given the harvest `data`, a `topk` student whose arm
    holds no top-k logprobs is left out, and so is a pruned start no student trains from
    (`skipped_students` says which and why).
    """
    out = all_plans(params)
    if data is None:
        return out
    kept = {name: plan for name, plan in out.items() if plan.kind != "topk" or data.has_topk(plan.arm)}
    starts = {str(plan.start) for plan in kept.values() if plan.trained}
    return {name: plan for name, plan in kept.items()
            if plan.trained or plan.start.share == 1 or name in starts}


def skipped_students(data: Harvest, params: Params) -> str:
    """One sentence naming the students `plans(params, data)` leaves out and why ("" when none is)."""
    every, kept = all_plans(params), plans(params, data)
    skipped = [name for name in every if name not in kept]
    if not skipped:
        return ""
    arms = sorted({plan.arm for plan in every.values() if plan.kind == "topk" and not data.has_topk(plan.arm)},
                  key=["main", "control"].index)
    held = "; ".join(f"arm `{arm}`: {data.topk_records(arm)} of {len(data.records(arm))} records carry them"
                     for arm in arms)
    names = ", ".join(f"`{name}`" for name in skipped)
    return (f"The harvest holds no top-k logprobs ({held}: the endpoint returned none, or none were asked; "
            "see the arm's manifest.json, `logprobs`), so "
            f"{'the students' if len(skipped) > 1 else 'the student'} {names} {'are' if len(skipped) > 1 else 'is'} "
            "left out: a top-k student learns the teacher's distribution, and trained on the text alone it would be "
            "an `sft` student under another name.")


def all_plans(params: Params) -> dict[str, StudentPlan]:
    """Every student `params` asks for, whatever the harvest holds."""
    recipe = params.recipe()
    objective = lambda kind, cfg: replace(cfg, alpha=params.topk_alpha if kind == "topk" else 0.0)
    untrained = replace(recipe, max_steps=0)
    public = StudentSpec()
    out = {PUBLIC: StudentPlan(public, None, "untrained", untrained)}
    out.update({kind: StudentPlan(public, "main", kind, objective(kind, recipe)) for kind in params.kinds})
    out[CONTROL] = StudentPlan(public, "control", params.control_kind, objective(params.control_kind, recipe))
    out[COMPETITOR] = StudentPlan(public, "competitor", "sft", objective("sft", recipe))
    for share in params.size_curve:
        start = StudentSpec(share=share)
        healing = replace(recipe, train_layers=params.curve_train_layers)
        out[str(start)] = StudentPlan(start, None, "untrained", untrained)
        out[f"{params.curve_kind}@{share:g}"] = StudentPlan(start, "main", params.curve_kind,
                                                            objective(params.curve_kind, healing))
        if params.curve_controls:
            out[f"{CONTROL}@{share:g}"] = StudentPlan(start, "control", params.control_kind,
                                                      objective(params.control_kind, healing))
    if params.scratch_size:
        start = StudentSpec("scratch", size=params.scratch_size)
        out[str(start)] = StudentPlan(start, "main", "sft",
                                      replace(recipe, lr=params.scratch_lr, train_layers=0, alpha=0.0))
    return out


def train_all(student_plans: dict[str, StudentPlan], data: Harvest, where: Workspace,
              params: Params) -> dict[str, TrainResult]:
    """Train (or reuse) every planned student; an untrained one is saved as it starts."""
    for name, plan in student_plans.items():  # before any training
        if plan.kind == "topk" and not data.has_topk(plan.arm):
            raise ValueError(f"student {name!r} distils top-k logprobs, but arm {plan.arm!r} holds none: "
                             "plan the students with plans(params, data)")
    students_dir, tokenizer, public = where.students, where.tokenizer, params.public_model
    results = {}
    for name, plan in student_plans.items():
        records = data.train_records(plan.arm)
        topk = data.control_topk if plan.arm == "control" else data.topk
        results[name] = train_student(records, topk if plan.kind == "topk" else None, str(plan.start), plan.train,
                                      students_dir / name, tokenizer=tokenizer, eval_records=data.heldout, name=name,
                                      kind=plan.kind, public=public)
    return results


def train_table(results: dict[str, TrainResult], student_plans: dict[str, StudentPlan]) -> pd.DataFrame:
    """What each student started from, what trained, on how many tokens, in how long."""
    return pd.DataFrame([{"student": n, "start": str(student_plans[n].start), "data": student_plans[n].arm or "none",
                          "objective": student_plans[n].kind, "params (M)": r.params / 1e6,
                          "trained (M)": r.trainable_params / 1e6 if r.steps else 0.0, "steps": r.steps,
                          "train tokens": r.train_tokens, "seconds": r.wall_seconds, "tokens/s": r.tokens_per_second,
                          "reused": r.reused} for n, r in results.items()]).round(1)


def curves(results: dict[str, TrainResult]) -> pd.DataFrame:
    return pd.DataFrame([{**h, "student": n} for n, r in results.items() for h in r.history])


def evaluate_all(results: dict[str, TrainResult], data: Harvest, where: Workspace,
                 params: Params) -> tuple[dict[str, dict], list[dict]]:
    """Each saved student's evaluation on the held-out gold prompts, and every graded answer
    (the teacher's, collected greedily through the API in notebook 01, first; the free program's
    on the skill's prompts last)."""
    evals = {name: {**evaluate_saved(name, where.students / name, data.gold, where.out / "eval",
                                     params.max_new_tokens, params.device),
                    "heldout_ce": result.heldout_ce} for name, result in results.items()}
    teacher_graded = grade_completions(TEACHER, data.gold, [r["completion"] for r in data.gold])
    skill_gold, lexicon = [r for r in data.gold if r["family"] == SKILL_FAMILY], advertised_lexicon()
    program_graded = grade_completions(PROGRAM, skill_gold,
                                       [program_answer(r["messages"][-1]["content"], lexicon) for r in skill_gold])
    return evals, teacher_graded + [g for e in evals.values() for g in e["graded"]] + program_graded


def family_accuracy(graded: Sequence[dict]) -> pd.DataFrame:
    """Accuracy with its exact 95% interval per model and gold family (and "all")."""
    return accuracy_table(graded, method="exact")


def closed_families(graded: Sequence[dict]) -> pd.DataFrame:
    """Balanced accuracy and the majority-label rate per model on the closed-answer families."""
    return closed_family_table(graded)


def logprob_facts(data: Harvest) -> dict:
    """What the teacher's top-k logprobs over the training answers show (notebook 02 §4)."""
    return topk_facts(data.topk, data.main_train)


def accuracy_by_family(acc: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    return acc.pivot_table(index="model", columns="family", values="accuracy", sort=False).reindex(order).round(2)


def samples_table(graded: list[dict], gold: list[dict], order: list[str], per_family: int = 3) -> pd.DataFrame:
    """A few held-out gold prompts with every model's answer."""
    by_model = pd.DataFrame(graded).pivot_table(index="prompt_id", columns="model", values="completion", aggfunc="first")
    samples = pd.DataFrame(gold).set_index("prompt_id")[["family", "gold"]].join(by_model[order])
    samples["prompt"] = [r["messages"][-1]["content"] for r in gold]
    return samples.groupby("family").head(per_family)[["prompt", "gold", *order]]
