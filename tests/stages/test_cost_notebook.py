"""Notebook 03 as committed (structure, fast) and run end to end on a made-up run (slow)."""

import json

import nbformat
import papermill
import pytest

from casestudy.paths import NOTEBOOKS_DIR
from casestudy.profiles import get_profile, notebook_parameters
from casestudy.report.runner import declared_parameters
from tests.stages.fake_run import write_fake_run

NOTEBOOK = NOTEBOOKS_DIR / "03_cost.ipynb"
NBVAL = "# NBVAL_CHECK_OUTPUT"


def test_committed_notebook_keeps_only_the_checked_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    checked = [c for c in code if c.source.startswith(NBVAL)]
    assert len(checked) >= 4
    assert all(c.outputs for c in checked), "refresh them with: make notebooks-outputs"
    assert not any(c.outputs for c in code if not c.source.startswith(NBVAL))
    assert "matches the report (2,788K GPU-hours, $5.576M): True" in checked[0].outputs[0]["text"]


def run_notebook(tmp_path, monkeypatch, profile: str) -> dict:
    monkeypatch.setenv("CASESTUDY_RUNS", str(tmp_path))
    params = notebook_parameters(get_profile(profile), "03_cost", declared_parameters(NOTEBOOK))
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters=params,
                               kernel_name="python3", cwd=str(NOTEBOOKS_DIR), progress_bar=False)
    return json.loads((tmp_path / profile / "cost" / "metrics.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["smoke", "workshop", "full"])
def test_notebook_runs_on_a_fake_run(tmp_path, monkeypatch, profile):
    write_fake_run(tmp_path / profile)
    metrics = run_notebook(tmp_path, monkeypatch, profile)
    assert metrics["deepseek_v3"] == {"gpu_hours_k": 2788.0, "usd_m": 5.576}
    assert "Skill copied" in metrics["headline"] and len(metrics["students"]) == 3  # the trained ones: the untrained start cost nothing


@pytest.mark.slow
def test_notebook_without_earlier_stages_says_what_to_run(tmp_path, monkeypatch):
    metrics = run_notebook(tmp_path, monkeypatch, "smoke")
    assert "01_collect.ipynb" in metrics["missing"]
    assert metrics["headline"]["DeepSeek-V3, recomputed"] == "2,788K GPU-hours = $5.576M"
