"""What the stage reads: the earlier stages' metrics and the runner's timings (`RunInputs`), the run's
folders and the dated price tables (`Workspace`), and those tables as frames."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from casestudy.artifacts import METRICS_FILE
from casestudy.cost.prices import HardwarePrice, PricePoint
from casestudy.paths import run_dir, stage_dir
from casestudy.stages.collect import Metrics as CollectMetrics
from casestudy.stages.cost.params import Params
from casestudy.stages.distill import Metrics as DistillMetrics

STAGE_NOTEBOOKS = {"collect": "01_collect.ipynb", "distill": "02_distill.ipynb"}
TIMINGS_FILE = "timings.json"


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
