"""Notebook 03's stage: read what the earlier stages wrote, measure the run's cost, write its metrics.

The published cases (cost.published) need no run; this run's part needs collect/ and
distill/ metrics, and reads the runner's timings.json when present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from casestudy.artifacts import METRICS_FILE, read_metrics
from casestudy.cost.compute import HardwareAssumptions, stage_cost_table
from casestudy.cost.headline import (Architecture, best_student, collection_flops, estimate_training, provider_cost,
                                     student_cost_table)
from casestudy.cost.prices import PricePoint, api_bill
from casestudy.cost.published import deepseek_v3_matches_report
from casestudy.targets import Target


STAGE_NOTEBOOKS = {"collect": "01_collect.ipynb", "distill": "02_distill.ipynb"}
COLLECT_KEYS = ("records", "prompt_tokens", "completion_tokens", "wall_seconds", "device", "teacher_params")
DISTILL_KEYS = ("device", "wall_seconds", "teacher_accuracy", "students")
STUDENT_KEYS = ("name", "kind", "params", "train_tokens", "wall_seconds", "steps")
TIMINGS_FILE = "timings.json"


@dataclass
class RunInputs:
    """The earlier stages' metrics (None when a stage has not run) and notebook timings."""

    collect: dict[str, Any] | None
    distill: dict[str, Any] | None
    timings: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    def message(self) -> str:
        """What to run first, or an empty string when everything is there."""
        return "\n".join(self.missing)


def _require(record: dict, keys: tuple[str, ...], where: str) -> None:
    absent = [key for key in keys if key not in record]
    if absent:
        raise KeyError(f"{where} lacks {absent}; it has {sorted(record)}")


def validate_collect(metrics: dict[str, Any], where: str = "collect/metrics.json") -> None:
    """Raise a KeyError naming any field of the collect contract that is missing."""
    _require(metrics, COLLECT_KEYS, where)
    if "control" in metrics:
        _require(metrics["control"], COLLECT_KEYS[:5], f"{where} control")


def validate_distill(metrics: dict[str, Any], where: str = "distill/metrics.json") -> None:
    """Raise a KeyError naming any field of the distill contract that is missing."""
    _require(metrics, DISTILL_KEYS, where)
    for i, student in enumerate(metrics["students"]):
        _require(student, STUDENT_KEYS, f"{where} students[{i}]")


def load_run_inputs(run: str | Path) -> RunInputs:
    """Read `<run>/collect`, `<run>/distill` and `<run>/timings.json`, noting what is missing."""
    run = Path(run)
    found: dict[str, dict | None] = {}
    missing = []
    for stage, notebook in STAGE_NOTEBOOKS.items():
        if (run / stage / METRICS_FILE).is_file():
            found[stage] = read_metrics(run / stage)
        else:
            found[stage] = None
            missing.append(f"{run / stage / METRICS_FILE} is missing: run notebooks/{notebook} first.")
    if found["collect"] is not None:
        validate_collect(found["collect"])
    if found["distill"] is not None:
        validate_distill(found["distill"])
    timings_path = run / TIMINGS_FILE
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    return RunInputs(found["collect"], found["distill"], timings, missing)


@dataclass
class RunCost:
    """The measured and estimated cost tables of one run."""

    stages: pd.DataFrame     # measured device time, USD and kWh per stage
    api_bills: pd.DataFrame  # the collection's API bill at every price point, per arm
    flops: pd.DataFrame      # generation and training FLOPs
    teacher: dict            # the teacher's pre-training, estimated from 6·N·D
    provider: dict           # what the provider spent: pre-training (estimated) and post-training (measured)
    students: pd.DataFrame   # each trained student's copied skill and what it cost the distiller
    collection_usd: float    # the main arm's API bill at the headline price point


def collection_arms(collect: dict) -> dict[str, dict]:
    """The collect stage's arms by name: "main" and, when present, "control"."""
    arms = {"main": collect}
    if "control" in collect:
        arms["control"] = collect["control"]
    return arms


def api_bill_table(collect: dict, price_points: list[PricePoint]) -> pd.DataFrame:
    """The API bill of each collection arm at each dated price point."""
    return pd.DataFrame([
        {"arm": arm_name, "price point": point.name, "as of": point.as_of, "prompt_tokens": arm["prompt_tokens"],
         "completion_tokens": arm["completion_tokens"],
         "usd": api_bill(arm["prompt_tokens"], arm["completion_tokens"], point)}
        for arm_name, arm in collection_arms(collect).items() for point in price_points
    ])


def flops_table(collect: dict, students: pd.DataFrame, teacher: Architecture) -> pd.DataFrame:
    """Generation FLOPs per collection arm and training FLOPs per student."""
    rows = [{"what": f"generation, {name} arm", "params": collect["teacher_params"],
             "tokens": arm["prompt_tokens"] + arm["completion_tokens"],
             "flops": collection_flops(arm, collect["teacher_params"], teacher)}
            for name, arm in collection_arms(collect).items()]
    rows += [{"what": f"training, {row.student}", "params": row.params, "tokens": row.train_tokens,
              "flops": row.training_flops}
             for row in students.itertuples()]
    return pd.DataFrame(rows)


def analyse_run(inputs: RunInputs, hw: HardwareAssumptions, price_point: PricePoint, price_points: list[PricePoint],
                teacher: Architecture, teacher_train_tokens: float) -> RunCost | None:
    """All the run's cost tables; None when an earlier stage has not run (see `inputs.message()`)."""
    if not inputs.complete:
        return None
    collect, distill = inputs.collect, inputs.distill
    teacher_cost = estimate_training(collect["teacher_params"], teacher_train_tokens, teacher, hw)
    teacher_cost.update(params=collect["teacher_params"], tokens=teacher_train_tokens)
    students = student_cost_table(collect, distill, teacher, hw, price_point, teacher_cost)
    return RunCost(
        stages=stage_cost_table(collect, distill, hw, inputs.timings),
        api_bills=api_bill_table(collect, price_points),
        flops=flops_table(collect, students, teacher),
        teacher=teacher_cost,
        provider=provider_cost(collect, teacher_cost, hw),
        students=students,
        collection_usd=api_bill(collect["prompt_tokens"], collect["completion_tokens"], price_point),
    )


def usd_text(value: float) -> str:
    """Money for prose: "$5.576M", "$2,270", "$0.0012"."""
    if value >= 1e6:
        return f"${value / 1e6:,.3f}M"
    if value >= 100:
        return f"${value:,.0f}"
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:.2g}"


def percent_text(fraction: float) -> str:
    """A fraction for prose with enough digits for tiny values: "87%", "3.1%", "6.8e-08%"."""
    percent = 100 * fraction
    return f"{percent:.0f}%" if percent >= 10 else f"{percent:.2g}%"


def headline_text(cost: RunCost, price_point: PricePoint) -> str:
    """The story's headline in words: the share of the provider's skill the best student copied, for what."""
    best = best_student(cost.students)
    if best is None:
        return "No student was trained on the provider's answers in this run: nothing to compare."
    provider = cost.provider
    return (f"**{best['student']}** copied **{percent_text(best['copied_share'])}** of the skill the provider added "
            f"(held-out accuracy {best['skill_accuracy']:.0%}) for **{usd_text(best['distiller_usd'])}**: "
            f"{usd_text(best['api_usd'])} of API calls at {price_point.label} prices and "
            f"{usd_text(best['training_usd'])} of training at the stated GPU price and MFU "
            f"({usd_text(best['measured_training_usd'])} for the device time it really took). The provider's "
            f"post-training took {provider['post_training_device_hours']:.3g} device-hours "
            f"({usd_text(provider['post_training_usd'])}) on {provider['post_training_device']}, on top of a base "
            f"model whose pre-training is estimated at {usd_text(provider['pretraining_usd'])}.")


def caveats(cost: RunCost, inputs: RunInputs, price_point: PricePoint, hw: HardwareAssumptions) -> str:
    """The caveats of the headline, as Markdown."""
    n_eval = (inputs.distill.get("teacher_skill") or {}).get("n")
    return "\n".join([
        "- The distiller's cost leaves out the base model's, as R1's distilled models' costs leave out Qwen's and "
        "Llama's: the public model was free to both sides, and what was copied is what the provider added on top.",
        "- Accuracy is measured on " + (f"{n_eval} " if n_eval else "a few ") + "held-out skill prompts; the exact "
        "intervals of notebook 02 say how coarse that is, and the copied share inherits that uncertainty.",
        f"- Training money is estimated at MFU {hw.gpu_utilisation:g} on a GPU; small models rarely reach it, so "
        "`measured_training_usd` (our device time at its price) is the other end of the range.",
        f"- The API bill prices our small teacher's tokens as if they came from {price_point.label}: it is what the "
        "same collection would cost against that API, not what serving our teacher costs.",
    ])


def targets(cost: RunCost | None, v3: pd.DataFrame, message: str = "") -> list[Target]:
    """The published V3 figure is reproduced from its inputs, and this run's cost is measured."""
    v3_total = v3.set_index("stage").loc["Total"]
    return [
        Target("DeepSeek-V3 recomputed: 2,788K GPU-hours, $5.576M",
               f"{v3_total['gpu_hours_k']:,.0f}K GPU-hours, ${v3_total['usd_m']:.3f}M", deepseek_v3_matches_report(v3)),
        Target("this run's cost measured", "yes" if cost is not None else (message.splitlines() or ["not measured"])[0], cost is not None),
    ]


def stage_metrics(cost: RunCost | None, v3: pd.DataFrame, r1: pd.DataFrame, price_point: PricePoint,
                  hw: HardwareAssumptions, message: str = "") -> tuple[dict, dict]:
    """The cost stage's metrics.json payload and its 3-5 headline texts."""
    v3_total = v3.set_index("stage").loc["Total"]
    metrics = {
        "assumptions": hw.__dict__,
        "price_point": price_point.__dict__,
        "deepseek_v3": {"gpu_hours_k": float(v3_total["gpu_hours_k"]), "usd_m": float(v3_total["usd_m"])},
        "r1_distillation_usd": dict(zip(r1["price point"], r1["usd"].astype(float))),
    }
    metrics["targets"] = [t.as_dict() for t in targets(cost, v3, message)]
    headline = {"DeepSeek-V3, recomputed": f"{v3_total['gpu_hours_k']:,.0f}K GPU-hours = {usd_text(v3_total['usd_m'] * 1e6)}"}
    if cost is None:
        metrics["missing"] = message
        headline["This run"] = "not measured: " + message.splitlines()[0]
        return metrics, headline
    total = cost.stages.set_index("stage").loc["total"]
    metrics.update(
        stages=cost.stages.to_dict(orient="records"),
        api_bills=cost.api_bills.to_dict(orient="records"),
        teacher=cost.teacher,
        provider=cost.provider,
        students=cost.students.to_dict(orient="records"),
    )
    headline["This run, measured"] = f"{total['device_hours']:.3g} device-hours, {usd_text(total['usd'])}, {total['kwh']:.2g} kWh"
    headline[f"Collection at {price_point.label}"] = usd_text(cost.collection_usd)
    best = best_student(cost.students)
    if best is not None:
        metrics["best_student"] = best.to_dict()
        headline["Skill copied"] = (f"{best['student']}: {percent_text(best['copied_share'])} of the provider's skill "
                                    f"gain for {usd_text(best['distiller_usd'])} (API + training)")
    headline["What the provider spent"] = (
        f"pre-training ~{cost.teacher['gpu_hours']:,.0f} GPU-hours ({usd_text(cost.teacher['usd'])} at MFU "
        f"{hw.gpu_utilisation:g}), post-training {cost.provider['post_training_device_hours']:.2g} device-hours "
        f"({usd_text(cost.provider['post_training_usd'])})")
    return metrics, headline
