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
from casestudy.distiller.students.evaluate import evaluate_saved, gold_rows, grade_completions
from casestudy.distiller.students.grading import accuracy_table, mcnemar, proportion_ci
from casestudy.distiller.students.train import TrainConfig, TrainResult, train_student
from casestudy.targets import Target

SKILL_FAMILY = "arithmetic"
PUBLIC, CONTROL, TEACHER = "public", "control", "teacher"
KINDS = ("sft", "topk")
FINGERPRINT_PARAMS = ("public_model", "kinds", "control_kind", "size_curve", "curve_kind", "curve_controls",
                      "scratch_size", "max_steps", "batch_size", "grad_accum", "max_len", "lr", "train_layers",
                      "curve_train_layers", "scratch_lr", "warmup_steps", "topk_alpha", "eval_every",
                      "max_new_tokens", "seed")


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
class Plan:
    """One student: where it starts, what it trains on, and how."""
    start: str                  # "public", "public@0.5", "scratch-5m"
    arm: str | None             # "main", "control", or None (untrained)
    kind: str                   # "sft", "topk" or "untrained"
    train: TrainConfig

    @property
    def trained(self) -> bool:
        return self.arm is not None


def plans(recipe: TrainConfig, kinds: Sequence[str], control_kind: str, topk_alpha: float,
          size_curve: Sequence[float] = (), curve_kind: str = "topk", curve_controls: bool = False,
          curve_train_layers: int = 0, scratch_size: str = "", scratch_lr: float = 3e-3) -> dict[str, Plan]:
    """name -> Plan for every student of the stage, controls and untrained starts included.

    `recipe` is the fine-tune of the whole public model; pruned students train
    `curve_train_layers` (0: all, as healing a cut model needs) and the scratch student
    trains everything at `scratch_lr`.
    """
    for kind in (*kinds, control_kind, curve_kind):
        if kind not in KINDS:
            raise ValueError(f"unknown training objective {kind!r}; choose from {KINDS}")
    objective = lambda kind, cfg: replace(cfg, alpha=topk_alpha if kind == "topk" else 0.0)
    untrained = replace(recipe, max_steps=0)
    out = {PUBLIC: Plan("public", None, "untrained", untrained)}
    out.update({kind: Plan("public", "main", kind, objective(kind, recipe)) for kind in kinds})
    out[CONTROL] = Plan("public", "control", control_kind, objective(control_kind, recipe))
    for share in size_curve:
        start = f"public@{share:g}"
        healing = replace(recipe, train_layers=curve_train_layers)
        out[start] = Plan(start, None, "untrained", untrained)
        out[f"{curve_kind}@{share:g}"] = Plan(start, "main", curve_kind, objective(curve_kind, healing))
        if curve_controls:
            out[f"{CONTROL}@{share:g}"] = Plan(start, "control", control_kind, objective(control_kind, healing))
    if scratch_size:
        out[f"scratch-{scratch_size}"] = Plan(f"scratch-{scratch_size}", "main", "sft",
                                              replace(recipe, lr=scratch_lr, train_layers=0, alpha=0.0))
    return out


def train_all(student_plans: dict[str, Plan], data: Harvest, students_dir: Path, tokenizer,
              public: str) -> dict[str, TrainResult]:
    """Train (or reuse) every planned student; an untrained one is saved as it starts."""
    results = {}
    for name, plan in student_plans.items():
        records = data.control_train if plan.arm == "control" else data.main_train
        topk = data.control_topk if plan.arm == "control" else data.topk
        results[name] = train_student(records, topk if plan.kind == "topk" else None, plan.start, plan.train,
                                      students_dir / name, tokenizer=tokenizer, eval_records=data.heldout, name=name,
                                      kind=plan.kind, public=public)
    return results


def train_table(results: dict[str, TrainResult], student_plans: dict[str, Plan]) -> pd.DataFrame:
    """What each student started from, what trained, on how many tokens, in how long."""
    return pd.DataFrame([{"student": n, "start": student_plans[n].start, "data": student_plans[n].arm or "none",
                          "objective": student_plans[n].kind, "params (M)": r.params / 1e6,
                          "trained (M)": r.trainable_params / 1e6 if r.steps else 0.0, "steps": r.steps,
                          "train tokens": r.train_tokens, "seconds": r.wall_seconds, "tokens/s": r.tokens_per_second,
                          "reused": r.reused} for n, r in results.items()]).round(1)


def curves(results: dict[str, TrainResult]) -> pd.DataFrame:
    return pd.DataFrame([{**h, "student": n} for n, r in results.items() for h in r.history])


def evaluate_all(results: dict[str, TrainResult], data: Harvest, students_dir: Path, cache: Path,
                 max_new_tokens: int, device: str) -> tuple[dict[str, dict], list[dict]]:
    """Each saved student's evaluation on the held-out gold prompts, and every graded answer
    (the teacher's, collected greedily through the API in notebook 01, first)."""
    evals = {name: {**evaluate_saved(name, students_dir / name, data.gold, cache, max_new_tokens, device),
                    "heldout_ce": result.heldout_ce} for name, result in results.items()}
    teacher_graded = grade_completions(TEACHER, data.gold, [r["completion"] for r in data.gold])
    return evals, teacher_graded + [g for e in evals.values() for g in e["graded"]]


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


def skill_table(graded: Sequence[dict], student_plans: dict[str, Plan], results: dict[str, TrainResult],
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
        out.append({"model": model, "start": plan.start if plan else "the provider's",
                    "params": results[model].params if model in results else float("nan"),
                    "trained": bool(plan and plan.trained), "n": n, "correct": k,
                    "accuracy": k / n, "ci_low": low, "ci_high": high,
                    "copied_share": (k / n - start_acc) / gain if plan and plan.trained and gain > 0 else float("nan"),
                    "vs_control": control or "", "mcnemar_p": test["p_value"] if test else float("nan"),
                    "teacher_format": sum(opening(g["completion"]) == signature for g in answers.values()) / n
                    if signature else float("nan"),
                    "heldout_ce": (evals or {}).get(model, {}).get("heldout_ce", float("nan"))})
    return pd.DataFrame(out)


def untrained_start(model: str, student_plans: dict[str, Plan]) -> str | None:
    """The untrained student a trained one started from (None for a random start)."""
    plan = student_plans.get(model)
    if plan is None or not plan.trained:
        return None
    name = PUBLIC if plan.start == "public" else plan.start
    return name if name in student_plans and not student_plans[name].trained else None


def control_of(model: str, student_plans: dict[str, Plan]) -> str | None:
    """The control a distilled student is tested against: the control trained from the same start
    (the public model's control for a pruned student without one of its own)."""
    plan = student_plans.get(model)
    if plan is None or plan.arm != "main" or plan.start.startswith("scratch"):
        return None
    share = plan.start.partition("@")[2]
    own = f"{CONTROL}@{share}" if share else CONTROL
    return own if own in student_plans else CONTROL


@dataclass
class Verdict:
    """The best distilled student against the teacher and the controls, in words and as targets."""
    best: str | None
    texts: list[str]
    targets: list[Target]


def verdict(skill: pd.DataFrame, student_plans: dict[str, Plan], target_share: float | None,
            target_margin: float | None, target_p: float | None, profile: str) -> Verdict:
    """Judge the best distilled student of the whole public model on the skill.

    Targets (None: not set for this profile, as in smoke): its accuracy reaches
    `target_share` of the teacher's, it is at least `target_margin` above both the untrained
    public model and the control student, and the exact McNemar test against the control
    gives p < `target_p`.
    """
    table = skill.set_index("model")
    main = [k for k, p in student_plans.items() if p.arm == "main" and p.start == "public" and k in table.index]
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
        texts.append(f"No targets for profile `{profile}`: it checks that everything runs, on too few prompts "
                     "and steps for these figures to mean anything.")
    return Verdict(best, texts, checks)


def architecture(student_dir: Path, context: int) -> dict[str, int]:
    """Depth, width and training context of a saved student (for notebook 03's attention FLOPs)."""
    config = json.loads((Path(student_dir) / "config.json").read_text())
    return {"n_layers": config["num_hidden_layers"], "d_model": config["hidden_size"], "context": context}


def student_metrics(results: dict[str, TrainResult], student_plans: dict[str, Plan], evals: dict[str, dict],
                    acc: pd.DataFrame, skill: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per student for metrics.json (read by notebooks 03 and 04)."""
    fam_acc = acc.pivot_table(index="model", columns="family", values="accuracy")
    families = [f for f in fam_acc.columns if f != "all"]
    by_skill = skill.set_index("model")
    out = []
    for name, r in results.items():
        plan = student_plans[name]
        entry = {"name": name, "kind": plan.kind, "start": plan.start, "arm": plan.arm, "params": r.params,
                 "trainable_params": r.trainable_params, "train_tokens": r.train_tokens,
                 "target_tokens": r.target_tokens, "steps": r.steps, "wall_seconds": r.wall_seconds,
                 "tokens_per_second": r.tokens_per_second, "device": r.device,
                 "accuracy": float(fam_acc.loc[name, "all"]) if name in fam_acc.index else float("nan"),
                 "accuracy_by_family": {f: float(fam_acc.loc[name, f]) for f in families if name in fam_acc.index},
                 "heldout_ce": evals[name]["heldout_ce"], "path": f"students/{name}",
                 **architecture(r.out_dir, plan.train.max_len)}
        if name in by_skill.index:
            entry["skill"] = {k: (None if pd.isna(v) else v) for k, v in by_skill.loc[name].to_dict().items()}
        out.append(entry)
    return out


def stage_metrics(device: str, wall: float, acc: pd.DataFrame, skill: pd.DataFrame, data: Harvest,
                  results: dict[str, TrainResult], student_plans: dict[str, Plan], evals: dict[str, dict],
                  closed: pd.DataFrame, facts: dict, judged: Verdict) -> dict[str, Any]:
    """The metrics.json of the distill stage (names read by notebooks 03 and 04)."""
    fam_acc = acc.pivot_table(index="model", columns="family", values="accuracy")
    teacher_skill = skill.set_index("model").loc[TEACHER] if TEACHER in set(skill.model) else None
    return {
        "device": device, "wall_seconds": wall, "skill_family": SKILL_FAMILY, "best_student": judged.best,
        "teacher_accuracy": float(fam_acc.loc[TEACHER, "all"]),
        "teacher_accuracy_by_family": {f: float(fam_acc.loc[TEACHER, f]) for f in fam_acc.columns if f != "all"},
        "teacher_skill": None if teacher_skill is None else {k: (None if pd.isna(v) else v)
                                                              for k, v in teacher_skill.to_dict().items()},
        "gold_eval_prompts": len(data.gold), "heldout_records": len(data.heldout), "topk_facts": facts,
        "closed_families": closed.to_dict("records"),
        "students": student_metrics(results, student_plans, evals, acc, skill),
        "targets": [t.as_dict() for t in judged.targets],
    }


def headline(metrics: dict[str, Any]) -> dict[str, str]:
    """The report index's lines for this stage."""
    teacher = metrics.get("teacher_skill") or {}
    by_name = {s["name"]: s for s in metrics["students"]}
    lines = {}
    if teacher:
        public = by_name.get(PUBLIC, {}).get("skill", {})
        lines[f"{metrics['skill_family']}: teacher / public model"] = (
            f"{teacher['accuracy']:.0%} / {public.get('accuracy', float('nan')):.0%} of {teacher['n']} held-out prompts")
    best = by_name.get(metrics.get("best_student") or "")
    if best and "skill" in best:
        copied = best["skill"].get("copied_share")
        lines[f"best student ({best['name']})"] = (
            f"{best['skill']['accuracy']:.0%}, " + (f"{copied:.0%} of the skill gain copied" if copied is not None
                                                     else "no skill gain to copy (teacher not above the public model)"))
    if CONTROL in by_name and "skill" in by_name[CONTROL]:
        lines["control student"] = f"{by_name[CONTROL]['skill']['accuracy']:.0%}"
    return lines


def fingerprint_params(namespace: dict[str, Any]) -> dict[str, Any]:
    """The notebook parameters that the stage's outputs depend on."""
    return {k: namespace[k] for k in FINGERPRINT_PARAMS}
