"""Where notebook 04 works: the run's folders, the provider's deployment (its secret key),
notebook 02's suspects, and the public tokenizer with the key's pair scorer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from transformers import AutoTokenizer

from casestudy.detection.radioactivity import PairScorer
from casestudy.paths import run_dir, stage_dir
from casestudy.provider.ledger import read_ledger
from casestudy.provider.settings import ProviderSettings
from casestudy.scenario.deployments import ledger_path, load_deployment
from casestudy.stages import distill
from casestudy.stages.detect.params import Params


def suspects(run: Path) -> tuple[distill.Metrics, dict[str, Path]]:
    """Notebook 02's metrics and its students' folders (name -> path)."""
    distilled = distill.Metrics.read(Path(run) / "distill")
    return distilled, {s.name: Path(run) / "distill" / s.path for s in distilled.students}


def suspects_table(distilled: distill.Metrics) -> pd.DataFrame:
    """Notebook 02's students: where each started, what it was trained on, how, and its size."""
    students = distilled.students
    return pd.DataFrame({"student": [s.name for s in students],
                         "starts from": [s.start for s in students],
                         "trained on": [s.arm or "nothing" for s in students],
                         "objective": [s.kind for s in students],
                         "parameters": [f"{s.params / 1e6:.1f}M" for s in students]})


@dataclass
class Workspace:
    """Where the stage reads and writes, the provider's deployment (it holds the secret key),
    notebook 02's suspects, and the public tokenizer with the key's pair scorer."""
    run: Path
    out: Path
    deployment: ProviderSettings
    distilled: distill.Metrics
    students: dict[str, Path]    # notebook 02's students: name -> folder
    tokenizer: Any
    scorer: PairScorer

    @property
    def skill_family(self) -> str:
        """The skill notebook 02 measured: its near-forced answers are left out of the watermark tests."""
        return self.distilled.skill_family

    def ledger(self) -> pd.DataFrame:
        """The provider's request ledger of notebook 01 (both deployments, every account)."""
        return read_ledger(ledger_path(stage_dir(self.run, "collect")))


def open_workspace(params: Params) -> Workspace:
    """The run's folders, the main deployment's settings, notebook 02's suspects, and the public
    tokenizer (the teacher's, saved with every student)."""
    run = run_dir(params.profile)
    out = stage_dir(run, "detect")
    deployment = load_deployment(stage_dir(run, "collect"))
    distilled, students = suspects(run)
    tokenizer = AutoTokenizer.from_pretrained(students["public"])
    return Workspace(run, out, deployment, distilled, students, tokenizer,
                     PairScorer(deployment.watermark, len(tokenizer)))
