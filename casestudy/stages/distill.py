"""Notebook 02's stage: start students from the public model, train them on the harvest, measure
what they copied against controls, and judge the result against the profile's targets.

The students (`plans`):

    public          the public model, untrained: the floor every student starts from
    sft, topk       the public model trained on the provider's answers (arm `main`), by
                    cross-entropy on the sampled tokens or by top-k distillation
    control         the public model trained on the control deployment's answers (the public
                    model behind the same API, no post-training, no watermark)
    <kind>@<share>  the public model cut to `share` of its parameters by importance, healed
                    by the same training (`size_curve`); `public@<share>` is its untrained start
    scratch-<size>  a small model from random weights on the same data: a distiller without a base

The skill (`SKILL_FAMILY`) is what the provider added to the public model; its held-out
prompts were asked greedily in notebook 01, so the teacher is measured as the students are.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from casestudy.distiller.collect.dataset import read_records, read_topk
from casestudy.device import native_precision, pick_device
from casestudy.distiller.students.evaluate import evaluate_saved, gold_rows, grade_completions, topk_facts
from casestudy.distiller.students.grading import accuracy_table, closed_family_table, mcnemar, proportion_ci
from casestudy.distiller.students.student import StudentSpec
from casestudy.distiller.students.train import TrainConfig, TrainResult, train_student
from casestudy.models import load_model
from casestudy.paths import run_dir, stage_dir
from casestudy.stages.contract import Record, StageMetrics, StageParams, check_choice, check_range
from casestudy.targets import Target

SKILL_FAMILY = "arithmetic"
PUBLIC, CONTROL, TEACHER = "public", "control", "teacher"
KINDS = ("sft", "topk")


@dataclass(frozen=True, kw_only=True)
class Params(StageParams):
    """Notebook 02's parameters (its parameters cell is the one source of their defaults)."""

    NOTEBOOK = "02_distill"

    profile: str
    seed: int
    device: str
    public_model: str            # the public model every student starts from (and its tokenizer)
    kinds: tuple[str, ...]       # objectives of the main students
    control_kind: str            # objective of the control student
    size_curve: tuple[float, ...]  # pruned starts: the share of the public model's parameters kept
    curve_kind: str
    curve_controls: bool
    curve_train_layers: int
    scratch_size: str            # "" for no student from random weights
    scratch_lr: float
    max_steps: int
    batch_size: int
    grad_accum: int
    max_len: int
    lr: float
    train_layers: int
    warmup_steps: int
    topk_alpha: float
    eval_every: int
    max_new_tokens: int
    target_share: float | None
    target_margin: float | None
    target_p: float | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "size_curve", tuple(float(s) for s in self.size_curve))
        for kind in (*self.kinds, self.control_kind, self.curve_kind):
            check_choice("a training objective", kind, KINDS)
        for share in self.size_curve:
            check_range("a size_curve share", share, 0.0, 1.0)
            if share in (0.0, 1.0):
                raise ValueError(f"a size_curve share keeps part of the model: (0, 1), not {share}")
        if self.scratch_size:
            StudentSpec.parse(f"scratch-{self.scratch_size}")
        for name in ("max_steps", "batch_size", "grad_accum", "max_len", "warmup_steps", "eval_every",
                     "max_new_tokens", "train_layers", "curve_train_layers"):
            check_range(name, getattr(self, name), 0 if name in ("max_steps", "warmup_steps", "eval_every",
                                                                   "train_layers", "curve_train_layers") else 1)
        check_range("topk_alpha", self.topk_alpha, 0.0, 1.0)
        for name in ("target_share", "target_margin", "target_p"):
            if getattr(self, name) is not None:
                check_range(name, getattr(self, name), 0.0, 1.0)

    def recipe(self) -> TrainConfig:
        """The fine-tune of the whole public model that every main student and the control follow."""
        return TrainConfig(max_steps=self.max_steps, batch_size=self.batch_size, grad_accum=self.grad_accum,
                           max_len=self.max_len, lr=self.lr, warmup_steps=self.warmup_steps, seed=self.seed,
                           device=self.device, eval_every=self.eval_every, train_layers=self.train_layers)


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


class StudentMetrics(Record):
    """One student in metrics.json (read by notebooks 03 and 04 and the spread)."""

    name: str
    kind: str                    # "sft", "topk" or "untrained"
    start: str                   # "public", "public@0.5", "scratch-5m"
    arm: str | None              # "main", "control" or None (untrained)
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

    def student(self, name: str | None) -> StudentMetrics | None:
        return next((s for s in self.students if s.name == name), None)


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
    heldout: list[dict] = field(init=False)
    gold: list[dict] = field(init=False)

    def __post_init__(self) -> None:
        split = lambda recs, s: [r for r in recs if r["split"] == s]
        self.main_train, self.control_train = split(self.main, "train"), split(self.control, "train")
        self.heldout, self.gold = split(self.main, "eval"), gold_rows(self.main)

    @classmethod
    def read(cls, collect: Path) -> "Harvest":
        return cls(read_records(collect / "main"), read_records(collect / "control"), read_topk(collect / "main"),
                   read_topk(collect / "control"))

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
    arm: str | None             # "main", "control", or None (untrained)
    kind: str                   # "sft", "topk" or "untrained"
    train: TrainConfig

    @property
    def trained(self) -> bool:
        return self.arm is not None


def plans(params: Params) -> dict[str, StudentPlan]:
    """name -> StudentPlan for every student of the stage, controls and untrained starts included.

    `params.recipe()` is the fine-tune of the whole public model; pruned students train
    `curve_train_layers` (0: all, as healing a cut model needs) and the scratch student
    trains everything at `scratch_lr`.
    """
    recipe = params.recipe()
    objective = lambda kind, cfg: replace(cfg, alpha=params.topk_alpha if kind == "topk" else 0.0)
    untrained = replace(recipe, max_steps=0)
    public = StudentSpec()
    out = {PUBLIC: StudentPlan(public, None, "untrained", untrained)}
    out.update({kind: StudentPlan(public, "main", kind, objective(kind, recipe)) for kind in params.kinds})
    out[CONTROL] = StudentPlan(public, "control", params.control_kind, objective(params.control_kind, recipe))
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
    students_dir, tokenizer, public = where.students, where.tokenizer, params.public_model
    results = {}
    for name, plan in student_plans.items():
        records = data.control_train if plan.arm == "control" else data.main_train
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
    (the teacher's, collected greedily through the API in notebook 01, first)."""
    evals = {name: {**evaluate_saved(name, where.students / name, data.gold, where.out / "eval",
                                     params.max_new_tokens, params.device),
                    "heldout_ce": result.heldout_ce} for name, result in results.items()}
    teacher_graded = grade_completions(TEACHER, data.gold, [r["completion"] for r in data.gold])
    return evals, teacher_graded + [g for e in evals.values() for g in e["graded"]]


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
    samples["prompt"] = [r["messages"][-1]["content"][:80] for r in gold]
    return samples.groupby("family").head(per_family)[["prompt", "gold", *order]]


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
        out.append({"model": model, "start": str(plan.start) if plan else "the provider's",
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


def verdict(skill: pd.DataFrame, student_plans: dict[str, StudentPlan], params: Params) -> Verdict:
    """Judge the best distilled student of the whole public model on the skill.

    Targets (None: not set for this profile, as in smoke): its accuracy reaches
    `target_share` of the teacher's, it is at least `target_margin` above both the untrained
    public model and the control student, and the exact McNemar test against the control
    gives p < `target_p`.
    """
    target_share, target_margin, target_p = params.target_share, params.target_margin, params.target_p
    table = skill.set_index("model")
    main = [k for k, p in student_plans.items() if p.arm == "main" and p.start == StudentSpec() and k in table.index]
    if not main or TEACHER not in table.index:
        return Verdict(None, [f"No held-out {SKILL_FAMILY} answers to judge: nothing to compare."], [])
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
        f"{row.mcnemar_p:.2g}).",
    ]
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
               else "exact McNemar test against the control", f"p = {row.mcnemar_p:.2g}",
               judged(target_p, row.mcnemar_p < (target_p or 0))),
    ]
    if target_share is None:
        texts.append(f"No targets for profile `{params.profile}`: it checks that everything runs, on too few prompts "
                     "and steps for these figures to mean anything.")
    return Verdict(best, texts, checks)


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
                  collect: Path) -> Metrics:
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
    return lines
