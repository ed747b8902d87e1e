"""The story's headline: how much of the provider's skill a distiller copied, for what it spent,
against what the provider spent.

The distiller's spend for a student is the API bill of the arm it learned from plus its
training: estimated from FLOPs at the stated MFU and price, as the teacher's pre-training
is, and measured from the device time it took. A fine-tune that trains only the top
layers runs the forward pass through all of the model and the backward pass through the
trained part only, so its FLOPs per token are 2·N + 4·N_trained (plus attention; Kaplan's
convention, see flops.py). The provider's spend is the pre-training of the model it built
on (estimated, 6·N·D) and its own post-training (measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from casestudy.cost.compute import HardwareAssumptions, device_hours, device_kwh, device_usd, parse_device
from casestudy.cost.flops import attention_flops_per_token, device_hours_for, generation_flops, training_flops
from casestudy.cost.prices import PricePoint, api_bill

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


def fine_tune_flops(params: float, trainable: float, tokens: float, arch: Architecture) -> float:
    """FLOPs to train the top `trainable` of `params` parameters on `tokens` tokens: the forward pass
    through everything (2·N), the backward pass through the trained part (4·N_trained), attention
    forward and backward over the whole depth (a slight overcount when only the top layers train)."""
    attention = attention_flops_per_token(arch.n_layers, arch.d_model, arch.context)
    return tokens * (2.0 * params + 4.0 * trainable + 3.0 * attention)


def collection_arm(collect: dict, arm: str | None) -> dict | None:
    """The collect metrics of the arm a student learned from ("main", "control"; None for any other)."""
    if arm not in ("main", "control"):
        return None  # untrained, or the honest competitor's own data: no API bill
    if arm == "control":
        return collect.get("control", collect)
    return collect


def collection_flops(arm: dict, teacher_params: float, teacher: Architecture) -> float:
    """Teacher FLOPs to process the arm's prompts and generate its completions.

    The attention term takes a record's full length as its context: Kaplan's 2·L·n_ctx·d
    already averages over the causal positions.
    """
    tokens = arm["prompt_tokens"] + arm["completion_tokens"]
    context = tokens / max(arm["records"], 1)
    return generation_flops(teacher_params, tokens, teacher.n_layers, teacher.d_model, context)


def student_cost_table(collect: dict, distill: dict, teacher: Architecture, hw: HardwareAssumptions,
                       price_point: PricePoint, teacher_cost: dict) -> pd.DataFrame:
    """Each trained student's skill, the share of the provider's skill gain it copied, and what it cost the
    distiller (API bill of its arm plus training), also as fractions of the teacher's pre-training.

    `teacher_cost` is `estimate_training(...)` for the teacher's pre-training.
    """
    distill_device = parse_device(distill["device"])
    rows = []
    for student in distill["students"]:
        if not student.get("steps"):
            continue  # an untrained start cost the distiller nothing
        arm = collection_arm(collect, student.get("arm", "main"))
        arch = Architecture(*(int(student.get(key, 0)) for key in STUDENT_ARCH_KEYS))
        trainable = student.get("trainable_params") or student["params"]
        flops = fine_tune_flops(student["params"], trainable, student["train_tokens"], arch)
        hours = device_hours_for(flops, hw.gpu_peak_tflops, hw.gpu_utilisation)
        gen_flops = collection_flops(arm, collect["teacher_params"], teacher) if arm else 0.0
        api_usd = api_bill(arm["prompt_tokens"], arm["completion_tokens"], price_point) if arm else 0.0
        skill = student.get("skill") or {}
        rows.append({
            "student": student["name"],
            "kind": student["kind"],
            "start": student.get("start", ""),
            "arm": student.get("arm", "main"),
            "params": student["params"],
            "trainable_params": trainable,
            "train_tokens": student["train_tokens"],
            "skill_accuracy": skill.get("accuracy", float("nan")),
            "copied_share": _number(skill.get("copied_share")),
            "collection_flops": gen_flops,
            "training_flops": flops,
            "compute_fraction": (gen_flops + flops) / teacher_cost["flops"],
            "api_usd": api_usd,
            "training_usd": hours * hw.gpu_hour_usd,
            "distiller_usd": api_usd + hours * hw.gpu_hour_usd,
            "usd_fraction": (api_usd + hours * hw.gpu_hour_usd) / teacher_cost["usd"],
            "measured_training_usd": device_usd(device_hours(student["wall_seconds"], distill_device), distill_device, hw),
        })
    return pd.DataFrame(rows)


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def provider_cost(collect: dict, teacher_cost: dict, hw: HardwareAssumptions) -> dict:
    """What the provider spent on its product: the base model's pre-training (estimated) and its own
    post-training (measured device time, priced like the distiller's)."""
    post = collect.get("post_training") or {}
    if post.get("seconds") and post.get("device"):
        use = parse_device(post["device"])
        hours = device_hours(post["seconds"], use)
        post_usd, post_kwh = device_usd(hours, use, hw), device_kwh(hours, use, hw)
    else:
        hours = post_usd = post_kwh = 0.0
    return {"pretraining_usd": teacher_cost["usd"], "pretraining_gpu_hours": teacher_cost["gpu_hours"],
            "post_training_device_hours": hours, "post_training_usd": post_usd, "post_training_kwh": post_kwh,
            "post_training_device": post.get("device", "none"), "post_training_seconds": post.get("seconds", 0.0)}


def best_student(table: pd.DataFrame) -> pd.Series | None:
    """The student trained on the provider's answers that copied the largest share of its skill, if any."""
    distilled = table[table["arm"] == "main"].dropna(subset=["copied_share"]) if len(table) else table
    if distilled.empty:
        return None
    return distilled.loc[distilled["copied_share"].idxmax()]
