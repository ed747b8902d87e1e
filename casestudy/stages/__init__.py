"""One module per notebook: its `Params`, what it computes, its targets and verdicts, and its `Metrics`.

    contract  StageParams and StageMetrics: the typed front door every stage module follows
    story     00_story     the machine it runs on, what each profile runs
    collect/  01_collect   deployments, both arms, the harvest's metrics
    distill/  02_distill   students trained and evaluated, the verdict against the profile's target
    cost/     03_cost      the run's cost beside the teacher's and the published cases
    detect/   04_detect    radioactivity, calibration, dose, identity, traffic, evasion, the targets

Notebook cells call these modules, the `plots` module of the package a figure belongs to,
and `casestudy.targets.table` (tests/test_notebooks.py checks their imports).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

STAGE_OF_NOTEBOOK = {"01_collect": "collect", "02_distill": "distill", "03_cost": "cost", "04_detect": "detect"}


def params_class(notebook: str):
    """The `Params` dataclass of a notebook's stage (None for a notebook without a stage, as 00)."""
    stage = STAGE_OF_NOTEBOOK.get(notebook)
    return None if stage is None else import_module(f"casestudy.stages.{stage}").Params


def check_parameters(notebook: str, values: dict[str, Any]) -> None:
    """Build the notebook's `Params` from `values` (all of its parameters): a misspelt name or a bad
    value raises here, before papermill starts the notebook."""
    cls = params_class(notebook)
    if cls is not None:
        cls.from_values(values)
