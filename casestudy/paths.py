"""Where things live: the repository's data/, the cache and the run directories."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
RESULTS_DIR = REPO_ROOT / "results"    # published runs, committed (report.publish)


def cache_dir() -> Path:
    """Converted models and other reusable artifacts (`CASESTUDY_CACHE` overrides)."""
    path = Path(os.environ.get("CASESTUDY_CACHE", REPO_ROOT / ".cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Parent of every profile's run directory (`CASESTUDY_RUNS` overrides)."""
    return Path(os.environ.get("CASESTUDY_RUNS", REPO_ROOT / "runs"))


def run_dir(profile: str) -> Path:
    """The run directory of one profile: one sub-folder per stage, plus report/."""
    return runs_dir() / profile


def stage_dir(run: str | Path, stage: str) -> Path:
    """Create and return `<run>/<stage>/`; `run` is a profile name or a path."""
    base = Path(run) if os.sep in str(run) or Path(run).is_absolute() else run_dir(str(run))
    path = base / stage
    path.mkdir(parents=True, exist_ok=True)
    return path
