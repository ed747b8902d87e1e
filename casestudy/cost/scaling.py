"""What collection plus distillation would cost as the number of samples and the student grow.

Cost = API bill for the samples (our measured tokens per sample, one price point) plus
training the student on them for some epochs (6·N·D at the stated MFU and GPU price).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from casestudy.cost.compute import HardwareAssumptions
from casestudy.cost.headline import Architecture, estimate_training
from casestudy.cost.prices import PricePoint, api_bill


def tokens_per_sample(collect: dict) -> tuple[float, float]:
    """Mean prompt and completion tokens per collected record."""
    records = collect["records"]
    if records <= 0:
        raise ValueError(f"collect metrics have records = {records!r}: nothing was collected")
    return collect["prompt_tokens"] / records, collect["completion_tokens"] / records


def distillation_cost(samples: float, student_params: float, prompt_tokens: float, completion_tokens: float,
                      epochs: float, price_point: PricePoint, hw: HardwareAssumptions) -> dict:
    """API bill, training USD and their sum for one (samples, student size) point."""
    api = api_bill(samples * prompt_tokens, samples * completion_tokens, price_point)
    train_tokens = samples * (prompt_tokens + completion_tokens) * epochs
    train = estimate_training(student_params, train_tokens, Architecture(), hw)["usd"]
    return {"samples": samples, "student_params": student_params, "api_usd": api, "training_usd": train,
            "total_usd": api + train}


def scaling_grid(sample_counts, student_sizes, prompt_tokens: float, completion_tokens: float, epochs: float,
                 price_point: PricePoint, hw: HardwareAssumptions) -> pd.DataFrame:
    """`distillation_cost` over every sample count and student size, one row each."""
    return pd.DataFrame([
        distillation_cost(float(n), float(size), prompt_tokens, completion_tokens, epochs, price_point, hw)
        for size in student_sizes for n in sample_counts
    ])


def log_range(low: float, high: float, per_decade: int = 4) -> np.ndarray:
    """Log-spaced sample counts from `low` to `high`."""
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, got {low!r}, {high!r}")
    decades = np.log10(high) - np.log10(low)
    return np.logspace(np.log10(low), np.log10(high), int(round(decades * per_decade)) + 1)


def measured_points(students: pd.DataFrame, records: int) -> pd.DataFrame:
    """Our distilled students as points for the scaling figure: estimated and measured USD.

    `students` is `headline.student_cost_table(...)`, trained students only.
    """
    distilled = students
    return pd.DataFrame({
        "student": distilled["student"],
        "samples": float(records),
        "student_params": distilled["params"],
        "estimated_usd": distilled["api_usd"] + distilled["training_usd"],
        "measured_usd": distilled["api_usd"] + distilled["measured_training_usd"],
        "estimated_training_usd": distilled["training_usd"],
        "measured_training_usd": distilled["measured_training_usd"],
    })
