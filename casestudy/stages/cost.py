"""Notebook 03's stage: recompute the published cases, read what the earlier stages wrote, measure the
run's cost, write its metrics.

The published cases (cost.published) need no run; this run's part needs collect/ and
distill/ metrics (`collect.Metrics`, `distill.Metrics`), and reads the runner's timings.json
when present. `Params` is the notebook's parameters cell: it builds the hardware
assumptions, the teacher's architecture and the R1 data assumptions the cost layer takes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ConfigDict, Field

from casestudy.artifacts import METRICS_FILE
from casestudy.cost.compute import HardwareAssumptions, stage_cost_table
from casestudy.cost.headline import (Architecture, best_student, collection_flops, estimate_training, provider_cost,
                                     student_cost_table)
from casestudy.cost.prices import (HardwarePrice, PricePoint, api_bill, find_price, load_hardware_table,
                                   load_price_table)
from casestudy.cost.published import (V3_LEFT_OUT, R1DataAssumptions, alpaca_table, as_text, deepseek_v3_checks,
                                      deepseek_v3_matches_report, deepseek_v3_table, r1_distillation_bill)
from casestudy.cost.scaling import log_range, measured_points, scaling_grid, tokens_per_sample
from casestudy.paths import REPO_ROOT, RESULTS_DIR, run_dir, stage_dir
from casestudy.stages.collect import Metrics as CollectMetrics
from casestudy.stages.contract import Record, StageMetrics, StageParams, check_choice, check_range
from casestudy.stages.distill import Metrics as DistillMetrics
from casestudy.targets import Target

STAGE_NOTEBOOKS = {"collect": "01_collect.ipynb", "distill": "02_distill.ipynb"}
TIMINGS_FILE = "timings.json"
DAVINCI = "text-davinci-003"      # Alpaca's teacher, a line of the price table
R1_PRICE, O1_PRICE = "deepseek-reasoner (R1)", "o1"
SAMPLE_MARKS = {"Alpaca 52K": 52_000}  # and R1's sample count, from the R1 data assumptions


@dataclass(frozen=True, kw_only=True)
class Params(StageParams):
    """Notebook 03's parameters (its parameters cell is the one source of their defaults)."""

    NOTEBOOK = "03_cost"

    profile: str
    price_file: str                   # empty: data/prices.toml
    headline_price: str               # API price point for the students' bill and the scaling figure
    gpu_hour_usd: float
    gpu_watts: float
    gpu_peak_tflops: float
    gpu_utilisation: float
    cpu_core_hour_usd: float
    cpu_core_watts: float
    teacher_train_tokens: float
    teacher_n_layers: int
    teacher_d_model: int
    teacher_context: int
    v3_gpu_hour_usd: float
    r1_prompt_tokens: int
    r1_reasoning_completion_tokens: int
    r1_other_completion_tokens: int
    a100_hour_usd: float
    scaling_student_params: tuple[float, ...]
    scaling_epochs: float
    scaling_max_samples: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "scaling_student_params", tuple(float(n) for n in self.scaling_student_params))
        for name in ("gpu_hour_usd", "gpu_watts", "cpu_core_hour_usd", "cpu_core_watts", "v3_gpu_hour_usd",
                     "a100_hour_usd", "teacher_n_layers", "teacher_d_model", "teacher_context", "r1_prompt_tokens",
                     "r1_reasoning_completion_tokens", "r1_other_completion_tokens"):
            check_range(name, getattr(self, name), 0)
        for name in ("gpu_peak_tflops", "gpu_utilisation", "teacher_train_tokens", "scaling_epochs"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, not {getattr(self, name)!r}")
        check_range("gpu_utilisation", self.gpu_utilisation, 0.0, 1.0)
        check_range("scaling_max_samples", self.scaling_max_samples, 1)
        if not self.scaling_student_params or min(self.scaling_student_params) <= 0:
            raise ValueError(f"scaling_student_params must be one or more sizes > 0, not "
                             f"{list(self.scaling_student_params)!r}")
        check_choice("headline_price", self.headline_price, [p.name for p in self.price_points()])

    def hardware(self) -> HardwareAssumptions:
        return HardwareAssumptions(
            gpu_hour_usd=self.gpu_hour_usd, gpu_watts=self.gpu_watts, gpu_peak_tflops=self.gpu_peak_tflops,
            gpu_utilisation=self.gpu_utilisation, cpu_core_hour_usd=self.cpu_core_hour_usd,
            cpu_core_watts=self.cpu_core_watts)

    def teacher_architecture(self) -> Architecture:
        return Architecture(self.teacher_n_layers, self.teacher_d_model, self.teacher_context)

    def r1_data(self) -> R1DataAssumptions:
        return R1DataAssumptions(self.r1_prompt_tokens, self.r1_reasoning_completion_tokens,
                                 self.r1_other_completion_tokens)

    def price_path(self) -> Path | None:
        """`price_file` (None: data/prices.toml); a relative path is read from the project's root, wherever
        the notebook's kernel or the runner that checks these parameters runs."""
        if not self.price_file:
            return None
        path = Path(self.price_file).expanduser()
        return path if path.is_absolute() else REPO_ROOT / path

    def price_points(self) -> list[PricePoint]:
        return load_price_table(self.price_path())

    def hardware_prices(self) -> list[HardwarePrice]:
        return load_hardware_table(self.price_path())

    def price_point(self, price_points: list[PricePoint]) -> PricePoint:
        """The headline price point; a KeyError listing the known ones when it is not in the table."""
        return find_price(price_points, self.headline_price)


# ---------------------------------------------------------------- metrics.json


class Assumptions(Record):
    """The hardware assumptions used for money and energy (`Params.hardware()`)."""

    gpu_hour_usd: float
    gpu_watts: float
    gpu_peak_tflops: float
    gpu_utilisation: float
    cpu_core_hour_usd: float
    cpu_core_watts: float


class PricePointRecord(Record):
    name: str
    tier: str
    input_usd_per_1m: float
    output_usd_per_1m: float
    as_of: str
    source: str


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


class Metrics(StageMetrics):
    """Notebook 03's metrics.json: the published figures always; this run's cost when 01 and 02 ran
    (else `missing` says what to run)."""

    STAGE = "cost"

    assumptions: Assumptions
    price_point: PricePointRecord
    deepseek_v3: V3Figure
    r1_distillation_usd: dict[str, float]     # price point name -> USD
    missing: str | None = None
    stages: list[StageCost] | None = None
    api_bills: list[ApiBill] | None = None
    teacher: TeacherCost | None = None
    provider: ProviderSpend | None = None
    students: list[StudentCost] | None = None
    best_student: StudentCost | None = None


# ---------------------------------------------------------------- the notebook's steps


@dataclass
class RunInputs:
    """The earlier stages' metrics (None when a stage has not run) and notebook timings."""

    collect: CollectMetrics | None
    distill: DistillMetrics | None
    timings: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    def message(self) -> str:
        """What to run first, or an empty string when everything is there."""
        return "\n".join(self.missing)


def load_run_inputs(run: str | Path) -> RunInputs:
    """Read `<run>/collect`, `<run>/distill` (each checked against its stage's contract) and
    `<run>/timings.json`, noting what is missing."""
    run = Path(run)
    readers = {"collect": CollectMetrics, "distill": DistillMetrics}
    found: dict[str, Any] = {}
    missing = []
    for stage, notebook in STAGE_NOTEBOOKS.items():
        if (run / stage / METRICS_FILE).is_file():
            found[stage] = readers[stage].read(run / stage)
        else:
            found[stage] = None
            missing.append(f"{run / stage / METRICS_FILE} is missing: run notebooks/{notebook} first.")
    timings_path = run / TIMINGS_FILE
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    return RunInputs(found["collect"], found["distill"], timings, missing)


@dataclass
class Workspace:
    """The run the stage reads, where it writes, and the dated price tables."""

    run: Path
    out: Path
    price_points: list[PricePoint]
    price_point: PricePoint              # the headline price point
    hardware_prices: list[HardwarePrice]


def open_workspace(params: Params) -> Workspace:
    run = run_dir(params.profile)
    points = params.price_points()
    return Workspace(run, stage_dir(run, "cost"), points, params.price_point(points), params.hardware_prices())


def price_table(price_points: list[PricePoint]) -> pd.DataFrame:
    return pd.DataFrame([p.__dict__ for p in price_points]).drop(columns="source")


def hardware_price_table(hardware_prices: list[HardwarePrice]) -> pd.DataFrame:
    return pd.DataFrame([p.__dict__ for p in hardware_prices]).drop(columns="source")


# The published cases: printed as text, as the cells nbval checks compare them.

def v3_table(params: Params) -> pd.DataFrame:
    """DeepSeek-V3's Table 1, recomputed at `v3_gpu_hour_usd`."""
    return deepseek_v3_table(params.v3_gpu_hour_usd)


def v3_text(v3: pd.DataFrame) -> str:
    return (as_text(v3, {"gpu_hours_k": ",.0f", "usd_m": ".3f"})
            + f"\nmatches the report (2,788K GPU-hours, $5.576M): {deepseek_v3_matches_report(v3)}")


def v3_checks_text(params: Params) -> str:
    """The V3 report's cross-checks (tokens per GPU-hour, implied utilisation) at `gpu_peak_tflops`."""
    return as_text(deepseek_v3_checks(params.gpu_peak_tflops), {"value": ".3f", "reported": ".0f"})


def v3_left_out_text() -> str:
    return as_text(pd.DataFrame(V3_LEFT_OUT, columns=["left out", "status"]), {})


def r1_bill(params: Params, price_points: list[PricePoint]) -> pd.DataFrame:
    """R1's 800K distillation samples bought at each dated price point, at the assumed lengths."""
    return r1_distillation_bill(params.r1_data(), price_points)


def r1_text(params: Params, r1: pd.DataFrame) -> str:
    return (f"samples {params.r1_data().samples:,}, prompt {params.r1_prompt_tokens}, reasoning answer "
            f"{params.r1_reasoning_completion_tokens}, other answer {params.r1_other_completion_tokens} tokens "
            "(assumed)\n" + as_text(r1, {"input_m_tokens": ",.0f", "output_m_tokens": ",.0f", "usd": ",.0f"}))


def r1_against_v3_text(r1: pd.DataFrame, v3: pd.DataFrame) -> str:
    by_name = r1.set_index("price point")["usd"]
    v3_usd = v3.set_index("stage").loc["Total", "usd_m"] * 1e6
    return (f"At these lengths the data costs {usd_text(by_name[R1_PRICE])} at R1's own price "
            f"({percent_text(by_name[R1_PRICE] / v3_usd)} of V3's {usd_text(v3_usd)}) and "
            f"{usd_text(by_name[O1_PRICE])} at o1's ({percent_text(by_name[O1_PRICE] / v3_usd)}). One caveat: o1's "
            "API bills its reasoning tokens as output but does not return them, so an o1 bill buys answers, not "
            "reasoning traces.")


def alpaca_text(params: Params, price_points: list[PricePoint]) -> str:
    """What Alpaca's "under $500" and "under $100" imply, at text-davinci-003's price and `a100_hour_usd`."""
    return as_text(alpaca_table(find_price(price_points, DAVINCI), params.a100_hour_usd), {"value": ",.2f"})


# This run.

@dataclass
class RunCost:
    """The measured and estimated cost tables of one run, and the assumptions they were made with."""

    stages: pd.DataFrame     # measured device time, USD and kWh per stage
    api_bills: pd.DataFrame  # the collection's API bill at every price point, per arm
    flops: pd.DataFrame      # generation and training FLOPs
    teacher: dict            # the teacher's pre-training, estimated from 6·N·D
    provider: dict           # what the provider spent: pre-training (estimated) and post-training (measured)
    students: pd.DataFrame   # each trained student's copied skill and what it cost the distiller
    collection_usd: float    # the main arm's API bill at the headline price point
    price_point: PricePoint  # the headline price point
    hardware: HardwareAssumptions


def api_bill_table(collect: CollectMetrics, price_points: list[PricePoint]) -> pd.DataFrame:
    """The API bill of each collection arm at each dated price point."""
    return pd.DataFrame([
        {"arm": arm_name, "price point": point.name, "as of": point.as_of, "prompt_tokens": arm.prompt_tokens,
         "completion_tokens": arm.completion_tokens, "usd": api_bill(arm.prompt_tokens, arm.completion_tokens, point)}
        for arm_name, arm in collect.arms().items() for point in price_points
    ])


def flops_table(collect: CollectMetrics, students: pd.DataFrame, teacher: Architecture) -> pd.DataFrame:
    """Generation FLOPs per collection arm and training FLOPs per student."""
    rows = [{"what": f"generation, {name} arm", "params": collect.teacher_params,
             "tokens": arm.prompt_tokens + arm.completion_tokens,
             "flops": collection_flops(arm.model_dump(), collect.teacher_params, teacher)}
            for name, arm in collect.arms().items()]
    rows += [{"what": f"training, {row.student}", "params": row.params, "tokens": row.train_tokens,
              "flops": row.training_flops}
             for row in students.itertuples()]
    return pd.DataFrame(rows)


def analyse_run(inputs: RunInputs, params: Params, price_points: list[PricePoint]) -> RunCost | None:
    """All the run's cost tables; None when an earlier stage has not run (see `inputs.message()`)."""
    if not inputs.complete:
        return None
    hw, teacher, price_point = params.hardware(), params.teacher_architecture(), params.price_point(price_points)
    # The cost layer cannot import the stages: it reads their metrics as plain mappings.
    collect, distill = inputs.collect.model_dump(), inputs.distill.model_dump()
    teacher_cost = estimate_training(inputs.collect.teacher_params, params.teacher_train_tokens, teacher, hw)
    teacher_cost.update(params=inputs.collect.teacher_params, tokens=params.teacher_train_tokens)
    students = student_cost_table(collect, distill, teacher, hw, price_point, teacher_cost)
    return RunCost(
        stages=stage_cost_table(collect, distill, hw, inputs.timings),
        api_bills=api_bill_table(inputs.collect, price_points),
        flops=flops_table(inputs.collect, students, teacher),
        teacher=teacher_cost,
        provider=provider_cost(collect, teacher_cost, hw),
        students=students,
        collection_usd=api_bill(inputs.collect.prompt_tokens, inputs.collect.completion_tokens, price_point),
        price_point=price_point,
        hardware=hw,
    )


def api_bills_by_price(cost: RunCost) -> pd.DataFrame:
    """The API bills as price points (rows) by arm (columns)."""
    return cost.api_bills.pivot_table(index=["price point", "as of"], columns="arm", values="usd", sort=False)


STUDENT_COLUMNS = ["student", "start", "arm", "params", "trainable_params", "skill_accuracy", "copied_share",
                   "api_usd", "training_usd", "measured_training_usd", "distiller_usd"]


def students_table(cost: RunCost) -> pd.DataFrame:
    return cost.students[STUDENT_COLUMNS]


def provider_table(cost: RunCost) -> pd.DataFrame:
    return pd.Series(cost.provider, name="the provider's spend").to_frame()


def teacher_text(cost: RunCost, params: Params) -> str:
    t = cost.teacher
    return (f"Pre-training the teacher: {t['flops']:.3g} FLOPs, {t['gpu_hours']:,.0f} GPU-hours at "
            f"{params.gpu_peak_tflops:g} TFLOP/s and MFU {params.gpu_utilisation:g}, {usd_text(t['usd'])} at "
            f"${params.gpu_hour_usd:g}/GPU-hour, {t['kwh']:,.0f} kWh at {params.gpu_watts:g} W per GPU "
            f"(sequence length {params.teacher_context} assumed for the attention term).")


@dataclass
class Scaling:
    grid: pd.DataFrame             # cost per sample count and student size
    points: pd.DataFrame           # our students
    marks: dict[str, float]        # published sample counts marked on the figure


def scaling(cost: RunCost, inputs: RunInputs, params: Params) -> Scaling:
    """What collection plus distillation would cost as samples and the student grow, at our measured
    tokens per sample, the headline price point and `scaling_epochs` of training."""
    records = inputs.collect.records
    prompt_per_sample, completion_per_sample = tokens_per_sample(inputs.collect.main.model_dump())
    grid = scaling_grid(log_range(min(100, records), params.scaling_max_samples), params.scaling_student_params,
                        prompt_per_sample, completion_per_sample, params.scaling_epochs, cost.price_point,
                        cost.hardware)
    return Scaling(grid, measured_points(cost.students, records),
                   {**SAMPLE_MARKS, "R1 800K": params.r1_data().samples})


# The run-to-run spread: report.spread reruns notebooks 02 to 04 under other seeds and writes the
# table of figures per seed; report.publish ships it as results/<profile>/spread.csv; notebook 03 shows it.

def read_spread(csv: Path) -> pd.DataFrame:
    return pd.read_csv(csv, index_col="seed")


def published_spread(profile: str, results_dir: Path = RESULTS_DIR) -> pd.DataFrame | None:
    """The spread published with the profile's results (report.publish copies it), if any."""
    csv = Path(results_dir) / profile / "spread.csv"
    return read_spread(csv) if csv.is_file() else None


def is_p_value(figure: str) -> bool:
    return " p" in figure


def spread_value(figure: str, value: float) -> str:
    return f"{value:.1e}" if is_p_value(figure) else f"{value:.0%}"


def seeds_and_devices(table: pd.DataFrame, unknown: str) -> tuple[str, str]:
    seeds = ", ".join(str(s) for s in table.index)
    return seeds, (", ".join(sorted(set(table["device"].dropna()))) if "device" in table else unknown)


def spread_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per numeric figure: min, median, max over seeds; p-values also as log10 (their spread is in orders)."""
    rows = []
    for column in table.columns:
        values = pd.to_numeric(table[column], errors="coerce").dropna()
        if values.empty:
            continue
        row = {"figure": column, "seeds": len(values), "min": values.min(), "median": values.median(),
               "max": values.max()}
        row["log10 range"] = (f"{math.log10(values.min()):.1f} to {math.log10(values.max()):.1f}"
                              if is_p_value(column) and (values > 0).all() else "")  # blank, not NaN, elsewhere
        rows.append(row)
    return pd.DataFrame(rows).set_index("figure")


def spread_sentence(table: pd.DataFrame) -> str:
    """One sentence for a notebook: the range of each headline figure over the seeds that measured it."""
    rows = spread_summary(table)
    seeds, devices = seeds_and_devices(table, "an unrecorded device")
    parts = [f"{figure} {spread_value(figure, r['min'])} to {spread_value(figure, r['max'])} ({int(r['seeds'])} "
             "seeds)" for figure, r in rows.iterrows()
             if figure not in ("teacher skill accuracy", "public model skill accuracy")]
    missing = [c for c in table.columns if c != "device" and c not in rows.index and c != "best student"]
    text = f"Over seeds {seeds}, run on {devices}: " + "; ".join(parts) + "."
    if missing:
        text += " Not measured over seeds: " + ", ".join(missing) + "."
    return text


def spread_text(profile: str, table: pd.DataFrame | None) -> str:
    """Notebook 03's paragraph on the published spread of `profile` (`published_spread`; None: none)."""
    return (f"No spread has been published for the `{profile}` profile yet." if table is None
            else spread_sentence(table))


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


def headline_text(cost: RunCost) -> str:
    """The story's headline in words: the share of the provider's skill the best student copied, for what."""
    best = best_student(cost.students)
    if best is None:
        return "No student was trained on the provider's answers in this run: nothing to compare."
    provider = cost.provider
    return (f"**{best['student']}** copied **{percent_text(best['copied_share'])}** of the skill the provider added "
            f"(held-out accuracy {best['skill_accuracy']:.0%}) for **{usd_text(best['distiller_usd'])}**: "
            f"{usd_text(best['api_usd'])} of API calls at {cost.price_point.label} prices and "
            f"{usd_text(best['training_usd'])} of training at the stated GPU price and MFU "
            f"({usd_text(best['measured_training_usd'])} for the device time it really took). The provider's "
            f"post-training took {provider['post_training_device_hours']:.3g} device-hours "
            f"({usd_text(provider['post_training_usd'])}) on {provider['post_training_device']}, on top of a base "
            f"model whose pre-training is estimated at {usd_text(provider['pretraining_usd'])}.")


def caveats(cost: RunCost, inputs: RunInputs) -> str:
    """The caveats of the headline, as Markdown."""
    n_eval = inputs.distill.teacher_skill.n if inputs.distill.teacher_skill else None
    return "\n".join([
        "- The distiller's cost leaves out the base model's, as R1's distilled models' costs leave out Qwen's and "
        "Llama's: the public model was free to both sides, and what was copied is what the provider added on top.",
        "- Accuracy is measured on " + (f"{n_eval} " if n_eval else "a few ") + "held-out skill prompts; the exact "
        "intervals of notebook 02 say how coarse that is, and the copied share inherits that uncertainty.",
        f"- Training money is estimated at MFU {cost.hardware.gpu_utilisation:g} on a GPU; small models rarely reach "
        "it, so `measured_training_usd` (our device time at its price) is the other end of the range.",
        f"- The API bill prices our small teacher's tokens as if they came from {cost.price_point.label}: it is what "
        "the same collection would cost against that API, not what serving our teacher costs.",
    ])


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
        assumptions=hw.__dict__, price_point=price_point.__dict__,
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
    metrics.headline = headline
    return metrics
