"""Notebook 03's metrics.json: the typed records (stage costs, bills, students), `Metrics`, the stage's
targets and `stage_metrics` with its headline. The hardware assumptions and the price point are the
cost layer's own dataclasses (`HardwareAssumptions`, `PricePoint`): pydantic validates them as fields,
rejects keys they do not declare, and writes them as their fields."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
from pydantic import ConfigDict, Field

from casestudy.cost.compute import HardwareAssumptions
from casestudy.cost.headline import best_student
from casestudy.cost.prices import AnnotationPrice, PricePoint
from casestudy.cost.sides import break_even, ratios
from casestudy.cost.published import deepseek_v3_matches_report
from casestudy.stages.contract import Record, StageMetrics
from casestudy.stages.cost.params import Params
from casestudy.stages.cost.tables import RunCost
from casestudy.stages.cost.texts import percent_text, usd_text
from casestudy.targets import Target


class V3Figure(Record):
    gpu_hours_k: float
    usd_m: float


class StageCost(Record):
    """One row of the measured stage-cost table (cost.compute.stage_cost_table); the last is the total."""

    stage: str
    device: str
    devices: float             # NaN on the total row
    wall_s: float
    device_s: float
    device_hours: float
    usd_per_device_hour: float  # NaN on the total row
    usd: float
    watts_per_device: float     # NaN on the total row
    kwh: float
    notebook_s: float           # the runner's time for the notebook (NaN without timings.json)


class ApiBill(Record):
    """One arm's API bill at one dated price point (its keys, with spaces, are the table's columns)."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    arm: str
    price_point: str = Field(alias="price point")
    as_of: str = Field(alias="as of")
    prompt_tokens: int
    completion_tokens: int
    usd: float


class TeacherCost(Record):
    """The teacher's pre-training, estimated from 6·N·D plus attention."""

    flops: float
    gpu_hours: float
    usd: float
    kwh: float
    params: int
    tokens: float


class ProviderSpend(Record):
    """What the provider spent: pre-training (estimated) and post-training (measured)."""

    pretraining_usd: float
    pretraining_gpu_hours: float
    post_training_device_hours: float
    post_training_usd: float
    post_training_kwh: float
    post_training_device: str
    post_training_seconds: float


class StudentCost(Record):
    """One trained student's copied skill and what it cost the distiller (cost.headline.student_cost_table)."""

    student: str
    kind: str
    start: str
    arm: str
    params: int
    trainable_params: int
    train_tokens: int
    skill_accuracy: float       # NaN without a skill row
    copied_share: float         # NaN where the teacher is not above the public model
    collection_flops: float
    training_flops: float
    compute_fraction: float
    api_usd: float
    training_usd: float
    distiller_usd: float
    usd_fraction: float
    measured_training_usd: float


class RouteCost(Record):
    """One route to the skill (created, copied, built): its data and compute cost and the skill it reached."""

    who: str
    data: str
    data_usd: float
    data_basis: str
    compute_usd: float
    skill_accuracy: float
    words: int
    model: str = ""   # the model that reached it


class Metrics(StageMetrics):
    """Notebook 03's metrics.json: the published figures always; this run's cost when 01 and 02 ran
    (else `missing` says what to run)."""

    STAGE = "cost"

    assumptions: HardwareAssumptions          # used for money and energy (`Params.hardware()`)
    price_point: PricePoint                   # the headline price point
    deepseek_v3: V3Figure
    r1_distillation_usd: dict[str, float]     # price point name -> USD
    missing: str | None = None
    stages: list[StageCost] | None = None
    api_bills: list[ApiBill] | None = None
    teacher: TeacherCost | None = None
    provider: ProviderSpend | None = None
    students: list[StudentCost] | None = None
    best_student: StudentCost | None = None
    annotation_price: AnnotationPrice | None = None   # the modelled translation price (source, date)
    routes: list[RouteCost] | None = None             # created, copied, built
    ratios: dict[str, float] | None = None            # copy / create, copy / build
    break_even: dict[str, float] | None = None        # where copying stops paying


def targets(cost: RunCost | None, v3: pd.DataFrame, message: str = "") -> list[Target]:
    """The published V3 figure is reproduced from its inputs, and this run's cost is measured."""
    v3_total = v3.set_index("stage").loc["Total"]
    return [
        Target("DeepSeek-V3 recomputed: 2,788K GPU-hours, $5.576M",
               f"{v3_total['gpu_hours_k']:,.0f}K GPU-hours, ${v3_total['usd_m']:.3f}M",
               bool(deepseek_v3_matches_report(v3))),
        Target("this run's cost measured", "yes" if cost is not None else (message.splitlines() or ["not measured"])[0], cost is not None),
    ]


def stage_metrics(params: Params, price_point: PricePoint, cost: RunCost | None, v3: pd.DataFrame,
                  r1: pd.DataFrame, message: str = "") -> Metrics:
    """The cost stage's metrics.json, its targets and its 3-5 headline texts set."""
    v3_total = v3.set_index("stage").loc["Total"]
    hw = params.hardware()
    metrics = Metrics(
        assumptions=asdict(hw), price_point=asdict(price_point),  # validated (ints as floats), as read back
        deepseek_v3=V3Figure(gpu_hours_k=float(v3_total["gpu_hours_k"]), usd_m=float(v3_total["usd_m"])),
        r1_distillation_usd=dict(zip(r1["price point"], r1["usd"].astype(float))),
        targets=targets(cost, v3, message),
    )
    headline = {"DeepSeek-V3, recomputed": f"{v3_total['gpu_hours_k']:,.0f}K GPU-hours = {usd_text(v3_total['usd_m'] * 1e6)}"}
    if cost is None:
        metrics.missing = message
        headline["This run"] = "not measured: " + message.splitlines()[0]
        metrics.headline = headline
        return metrics
    total = cost.stages.set_index("stage").loc["total"]
    metrics.stages = [StageCost(**row) for row in cost.stages.to_dict(orient="records")]
    metrics.api_bills = [ApiBill(**row) for row in cost.api_bills.to_dict(orient="records")]
    metrics.teacher = TeacherCost(**cost.teacher)
    metrics.provider = ProviderSpend(**cost.provider)
    metrics.students = [StudentCost(**row) for row in cost.students.to_dict(orient="records")]
    headline["This run, measured"] = f"{total['device_hours']:.3g} device-hours, {usd_text(total['usd'])}, {total['kwh']:.2g} kWh"
    headline[f"Collection at {price_point.label}"] = usd_text(cost.collection_usd)
    best = best_student(cost.students)
    if best is not None:
        metrics.best_student = StudentCost(**best.to_dict())
        headline["Skill copied"] = (f"{best['student']}: {percent_text(best['copied_share'])} of the provider's skill "
                                    f"gain for {usd_text(best['distiller_usd'])} (API + training)")
    headline["What the provider spent"] = (
        f"pre-training ~{cost.teacher['gpu_hours']:,.0f} GPU-hours ({usd_text(cost.teacher['usd'])} at MFU "
        f"{hw.gpu_utilisation:g}), post-training {cost.provider['post_training_device_hours']:.2g} device-hours "
        f"({usd_text(cost.provider['post_training_usd'])})")
    if cost.routes:
        create, copy, build = cost.routes
        metrics.annotation_price = asdict(cost.annotation)
        metrics.routes = [RouteCost(**asdict(r)) for r in cost.routes]
        metrics.ratios = ratios(copy, create, build)
        metrics.break_even = break_even(copy, build)
        headline["Created / copied / built"] = " / ".join(
            f"{usd_text(r.total_usd)} ({r.skill_accuracy:.0%})" for r in cost.routes)
        headline["Copying costs"] = (f"{percent_text(metrics.ratios['copy / create'])} of creating the skill, "
                                     f"{percent_text(metrics.ratios['copy / build'])} of building it honestly")
        headline["Copying stops paying"] = (
            f"below ${metrics.break_even['per-word price at break-even (USD)']:.2g} per translated word, or at "
            f"{metrics.break_even['API price factor at break-even']:,.0f}x the API's prices")
    metrics.headline = headline
    return metrics

