"""What the stage collected or restored, arm by arm, before its metrics are written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casestudy.distiller.collect.collector import CollectSummary
from casestudy.scenario.customers import TrafficSummary
from casestudy.stages.collect.metrics import Metrics, PostTraining


@dataclass
class ArmResult:
    name: str
    arm_dir: Path
    summary: CollectSummary | None   # None when the arm was already complete
    manifest: dict[str, Any]


@dataclass
class StageResult:
    arms: dict[str, ArmResult] = field(default_factory=dict)
    post_training: PostTraining | None = None   # the provider's own tune, as it recorded it
    traffic: TrafficSummary | None = None
    device: str = "unknown"
    endpoint: str = ""
    frozen: dict[str, Any] | None = None        # the frozen archive used (its manifest), None when live
    frozen_metrics: Metrics | None = None       # the archive's metrics.json, None when live
