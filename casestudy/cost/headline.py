"""The teacher's cost estimated from FLOPs, and each student's quality and cost as fractions of it.

A student's cost is what it took to make it: the teacher's generation of the collected
data (2·N_teacher per token) plus the student's training (6·N·D and attention). In money
that is the API bill at one price point plus the training's GPU-hours at the stated MFU
and price, the same way the teacher's pre-training is estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from casestudy.cost.compute import HardwareAssumptions, device_hours, device_usd, parse_device
from casestudy.cost.flops import device_hours_for, generation_flops, training_flops
from casestudy.cost.prices import PricePoint, api_bill

# Which collection arm a student kind was trained on; None: no collected data.
ARM_OF_KIND = {"baseline": None, "control": "control"}
STUDENT_ARCH_KEYS = ("n_layers", "d_model", "context")


@dataclass(frozen=True)
class Architecture:
    """What the FLOP count's attention term needs; zeros count 6·N·D alone."""

    n_layers: int = 0
    d_model: int = 0
    context: int = 0


def estimate_training(params: float, tokens: float, arch: Architecture, hw: HardwareAssumptions) -> dict:
    """FLOPs, GPU-hours at the stated MFU, USD and kWh to train `params` on `tokens` tokens."""
    flops = training_flops(params, tokens, arch.n_layers, arch.d_model, arch.context)
    hours = device_hours_for(flops, hw.gpu_peak_tflops, hw.gpu_utilisation)
    return {"flops": flops, "gpu_hours": hours, "usd": hours * hw.gpu_hour_usd, "kwh": hours * hw.gpu_watts / 1000}


def collection_arm(collect: dict, kind: str) -> dict | None:
    """The collect metrics a student of `kind` was trained on (control arm, main arm or none)."""
    arm = ARM_OF_KIND.get(kind, "main")
    if arm is None:
        return None
    if arm == "control":
        return collect.get("control", collect)
    return collect


def collection_flops(arm: dict, teacher_params: float, teacher: Architecture) -> float:
    """Teacher FLOPs to process the arm's prompts and generate its completions.

    Attention runs over half a record's tokens on average, a rough mean context.
    """
    tokens = arm["prompt_tokens"] + arm["completion_tokens"]
    mean_context = tokens / max(arm["records"], 1) / 2
    return generation_flops(teacher_params, tokens, teacher.n_layers, teacher.d_model, mean_context)


def student_cost_table(collect: dict, distill: dict, teacher: Architecture, hw: HardwareAssumptions,
                       price_point: PricePoint, teacher_cost: dict) -> pd.DataFrame:
    """Each student's quality and cost, and both as fractions of the teacher's.

    `teacher_cost` is `estimate_training(...)` for the teacher's pre-training.
    """
    distill_device = parse_device(distill["device"])
    teacher_accuracy = distill["teacher_accuracy"]
    rows = []
    for student in distill["students"]:
        arm = collection_arm(collect, student["kind"])
        arch = Architecture(*(int(student.get(key, 0)) for key in STUDENT_ARCH_KEYS))
        train = estimate_training(student["params"], student["train_tokens"], arch, hw)
        gen_flops = collection_flops(arm, collect["teacher_params"], teacher) if arm else 0.0
        api_usd = api_bill(arm["prompt_tokens"], arm["completion_tokens"], price_point) if arm else 0.0
        measured_hours = device_hours(student["wall_seconds"], distill_device)
        rows.append({
            "student": student["name"],
            "kind": student["kind"],
            "params": student["params"],
            "train_tokens": student["train_tokens"],
            "accuracy": student["accuracy"],
            "quality_fraction": student["accuracy"] / teacher_accuracy if teacher_accuracy > 0 else float("nan"),
            "collection_flops": gen_flops,
            "training_flops": train["flops"],
            "compute_fraction": (gen_flops + train["flops"]) / teacher_cost["flops"],
            "api_usd": api_usd,
            "training_usd": train["usd"],
            "usd_fraction": (api_usd + train["usd"]) / teacher_cost["usd"],
            "measured_training_usd": device_usd(measured_hours, distill_device, hw),
        })
    return pd.DataFrame(rows)


def best_student(table: pd.DataFrame) -> pd.Series | None:
    """The distilled student (not a baseline) with the highest quality fraction, if any."""
    distilled = table[table["kind"] != "baseline"].dropna(subset=["quality_fraction"])
    if distilled.empty:
        return None
    return distilled.loc[distilled["quality_fraction"].idxmax()]
