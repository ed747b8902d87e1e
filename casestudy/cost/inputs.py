"""Read what the earlier stages wrote: collect and distill metrics, and the runner's timings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casestudy.artifacts import METRICS_FILE, read_metrics

STAGE_NOTEBOOKS = {"collect": "01_collect.ipynb", "distill": "02_distill.ipynb"}
COLLECT_KEYS = ("records", "prompt_tokens", "completion_tokens", "wall_seconds", "device", "teacher_params")
DISTILL_KEYS = ("device", "wall_seconds", "teacher_accuracy", "students")
STUDENT_KEYS = ("name", "kind", "params", "train_tokens", "wall_seconds", "accuracy")
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
