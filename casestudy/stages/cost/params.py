"""Notebook 03's parameters: the hardware assumptions, the teacher's architecture, the R1 data
assumptions and the dated price tables they make for the cost layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from casestudy.cost.compute import HardwareAssumptions
from casestudy.cost.headline import Architecture
from casestudy.cost.prices import (AnnotationPrice, HardwarePrice, PricePoint, find_price, load_annotation_table,
                                   load_hardware_table, load_price_table)
from casestudy.cost.published import R1DataAssumptions
from casestudy.paths import REPO_ROOT
from casestudy.stages.contract import StageParams, check_choice, check_range


@dataclass(frozen=True, kw_only=True)
class Params(StageParams):
    """Notebook 03's parameters (its parameters cell is the one source of their defaults)."""

    NOTEBOOK = "03_cost"

    profile: str
    price_file: str                   # empty: data/prices.toml
    headline_price: str               # API price point for the students' bill and the scaling figure
    annotation_price: str             # translation price (data/prices.toml [[annotation]]) for the skill's data
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
        check_choice("annotation_price", self.annotation_price, [p.name for p in self.annotation_prices()])

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

    def annotation_prices(self) -> list[AnnotationPrice]:
        return load_annotation_table(self.price_path())

    def annotation(self) -> AnnotationPrice:
        return find_price(self.annotation_prices(), self.annotation_price)

    def hardware_prices(self) -> list[HardwarePrice]:
        return load_hardware_table(self.price_path())

    def price_point(self, price_points: list[PricePoint]) -> PricePoint:
        """The headline price point; a KeyError listing the known ones when it is not in the table."""
        return find_price(price_points, self.headline_price)
