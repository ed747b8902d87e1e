"""Published cases, recomputed from their stated inputs.

DeepSeek-V3 technical report (arXiv:2412.19437), Table 1: H800 GPU-hours per training
stage at $2 per GPU-hour; 671B parameters (37B activated per token), 14.8T tokens.
DeepSeek-R1 (arXiv:2501.12948): distilled students fine-tuned (SFT only) on about 800K
samples curated with R1 (about 600K reasoning, 200K other); token lengths not stated.
Stanford Alpaca (crfm.stanford.edu, 2023-03-13): 52K instructions from text-davinci-003
for under $500; LLaMA-7B fine-tuned in 3 hours on 8 80GB A100s, under $100.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from casestudy.cost.flops import implied_utilisation, training_flops
from casestudy.cost.prices import PricePoint, api_bill

V3_GPU_HOURS_K = {"Pre-training": 2664, "Context extension": 119, "Post-training": 5}
V3_REPORTED_TOTAL_GPU_HOURS_K = 2788
V3_REPORTED_TOTAL_USD_M = 5.576
V3_REPORTED_GPU_HOUR_USD = 2.0
V3_ACTIVATED_PARAMS = 37e9
V3_TOTAL_PARAMS = 671e9
V3_PRETRAIN_TOKENS = 14.8e12
V3_REPORTED_K_GPU_HOURS_PER_T_TOKENS = 180
V3_LEFT_OUT = [
    ("prior research and ablation experiments (architectures, algorithms, data)", "excluded, says the report"),
    ("buying or building the cluster (2,048 H800 GPUs): $2/GPU-hour is a rental price", "not in the figure"),
    ("data acquisition, cleaning and the R1 reasoning data used in post-training", "not in the figure"),
    ("staff, failed runs, inference and serving", "not in the figure"),
]

R1_REASONING_SAMPLES = 600_000
R1_OTHER_SAMPLES = 200_000

ALPACA_INSTRUCTIONS = 52_000
ALPACA_DATA_USD_BOUND = 500.0
ALPACA_TRAIN_GPUS = 8
ALPACA_TRAIN_HOURS = 3.0
ALPACA_TRAIN_USD_BOUND = 100.0


def deepseek_v3_table(usd_per_gpu_hour: float = V3_REPORTED_GPU_HOUR_USD) -> pd.DataFrame:
    """DeepSeek-V3's Table 1 recomputed: GPU-hours per stage times the price, with a total."""
    rows = [{"stage": stage, "gpu_hours_k": hours} for stage, hours in V3_GPU_HOURS_K.items()]
    rows.append({"stage": "Total", "gpu_hours_k": sum(V3_GPU_HOURS_K.values())})
    table = pd.DataFrame(rows)
    table["usd_m"] = table["gpu_hours_k"] * 1000 * usd_per_gpu_hour / 1e6
    return table


def deepseek_v3_matches_report(table: pd.DataFrame) -> bool:
    """True when the recomputed total is the report's 2,788K GPU-hours and $5.576M."""
    total = table.set_index("stage").loc["Total"]
    return int(total["gpu_hours_k"]) == V3_REPORTED_TOTAL_GPU_HOURS_K and round(total["usd_m"], 6) == V3_REPORTED_TOTAL_USD_M


def deepseek_v3_checks(peak_tflops: float) -> pd.DataFrame:
    """Cross-checks of the pre-training figure: GPU-hours per trillion tokens and implied MFU.

    MFU counts 6·N·D with N the 37B activated parameters and no attention term, against
    `peak_tflops` (the report trained in FP8, whose peak is twice the BF16 one).
    """
    hours = V3_GPU_HOURS_K["Pre-training"] * 1000
    flops = training_flops(V3_ACTIVATED_PARAMS, V3_PRETRAIN_TOKENS)
    return pd.DataFrame([
        {"check": "pre-training K GPU-hours per trillion tokens", "value": hours / 1000 / (V3_PRETRAIN_TOKENS / 1e12),
         "reported": float(V3_REPORTED_K_GPU_HOURS_PER_T_TOKENS)},
        {"check": "pre-training FLOPs (6·N·D, N = 37B activated), 1e24", "value": flops / 1e24, "reported": float("nan")},
        {"check": f"implied utilisation at {peak_tflops:g} TFLOP/s per GPU", "value": implied_utilisation(flops, hours, peak_tflops),
         "reported": float("nan")},
    ])


@dataclass(frozen=True)
class R1DataAssumptions:
    """Token lengths per sample for R1's distillation data: the paper does not state them."""

    prompt_tokens: int
    reasoning_completion_tokens: int
    other_completion_tokens: int
    reasoning_samples: int = R1_REASONING_SAMPLES
    other_samples: int = R1_OTHER_SAMPLES

    @property
    def samples(self) -> int:
        return self.reasoning_samples + self.other_samples

    @property
    def input_tokens(self) -> int:
        return self.samples * self.prompt_tokens

    @property
    def output_tokens(self) -> int:
        return self.reasoning_samples * self.reasoning_completion_tokens + self.other_samples * self.other_completion_tokens


def r1_distillation_bill(assumptions: R1DataAssumptions, price_points: list[PricePoint]) -> pd.DataFrame:
    """What collecting R1's ~800K distillation samples would cost at each API price point."""
    return pd.DataFrame([
        {"price point": point.name, "as of": point.as_of, "input_m_tokens": assumptions.input_tokens / 1e6,
         "output_m_tokens": assumptions.output_tokens / 1e6,
         "usd": api_bill(assumptions.input_tokens, assumptions.output_tokens, point)}
        for point in price_points
    ])


def alpaca_table(davinci: PricePoint, a100_hour_usd: float) -> pd.DataFrame:
    """Stanford Alpaca's two bounds recomputed: the token budget $500 buys and the A100 price $100 allows."""
    budget_tokens = ALPACA_DATA_USD_BOUND * 1e6 / max(davinci.input_usd_per_1m, davinci.output_usd_per_1m)
    gpu_hours = ALPACA_TRAIN_GPUS * ALPACA_TRAIN_HOURS
    return pd.DataFrame([
        {"item": "data: instructions", "value": float(ALPACA_INSTRUCTIONS)},
        {"item": f"data: {davinci.name} USD per 1M tokens ({davinci.as_of})", "value": davinci.output_usd_per_1m},
        {"item": "data: reported bound, USD", "value": ALPACA_DATA_USD_BOUND},
        {"item": "data: tokens the bound buys, millions", "value": budget_tokens / 1e6},
        {"item": "data: tokens per instruction at most", "value": budget_tokens / ALPACA_INSTRUCTIONS},
        {"item": "training: A100-hours (8 GPUs x 3 h)", "value": gpu_hours},
        {"item": "training: reported bound, USD", "value": ALPACA_TRAIN_USD_BOUND},
        {"item": "training: USD per A100-hour at most", "value": ALPACA_TRAIN_USD_BOUND / gpu_hours},
        {"item": f"training: USD at ${a100_hour_usd:g} per A100-hour", "value": gpu_hours * a100_hour_usd},
    ])


def as_text(table: pd.DataFrame, formats: dict[str, str]) -> str:
    """A byte-stable plain-text table: each listed column formatted with its format spec."""
    shown = table.copy()
    for column, spec in formats.items():
        shown[column] = [("" if pd.isna(v) else format(v, spec)) for v in shown[column]]
    return shown.to_string(index=False)
