"""End to end: the smoke profile through papermill, as `make report` runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from markupsafe import escape  # what jinja2 uses for the index page

from casestudy.paths import REPO_ROOT
from casestudy.report.publish import folder_size, publish, results_doc, results_section
from casestudy.report.runner import list_notebooks

STAGES = ["collect", "distill", "cost", "detect"]


@pytest.mark.slow
def test_smoke_profile_produces_the_report(tmp_path):
    runs = Path(os.environ["CASESTUDY_RUNS"])  # a fresh folder per test session (conftest.py)
    proc = subprocess.run([sys.executable, "-m", "casestudy.report", "--profile", "smoke"],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = runs / "smoke" / "report"
    index = (report / "index.html").read_text()
    for notebook in list_notebooks():
        assert (report / notebook.name).is_file()
        assert (report / f"{notebook.stem}.html").is_file()
        assert f'href="{notebook.stem}.html"' in index
    for stage in STAGES:
        metrics = json.loads((runs / "smoke" / stage / "metrics.json").read_text())
        assert metrics["headline"], f"{stage} has no headline figures"
        for label, value in metrics["headline"].items():
            assert label in index and str(escape(str(value))) in index
    timings = json.loads((runs / "smoke" / "timings.json").read_text())
    assert set(timings) == {nb.stem for nb in list_notebooks()}
    # each stage's headline figure inline; executed notebooks without widgets, progress walls or this machine's paths
    for figure in ["01_collect/throughput_and_bill", "02_distill/skill", "04_detect/radioactivity"]:
        assert f'<img src="figures/{figure}.png"' in index and (report / "figures" / f"{figure}.png").is_file()
    for notebook in report.glob("*.ipynb"):
        text = notebook.read_text()
        assert "widget-view+json" not in text and "it/s]" not in text, notebook.name
        assert str(runs) not in text and str(REPO_ROOT) not in text, notebook.name
    # and it publishes: a few MB, the README section answering the questions, docs/results.md naming its figures
    dest = publish(runs / "smoke", tmp_path / "results" / "smoke")
    count, size = folder_size(dest)
    assert size < 10e6, f"published smoke run is {size / 1e6:.1f} MB"
    section = results_section(tmp_path / "results", tmp_path, tmp_path / "docs" / "results.md")
    assert "| [Copied?](results/smoke/report/02_distill.ipynb) |" in section
    assert "04_detect/radioactivity.png" in results_doc(tmp_path / "results", tmp_path / "docs" / "results.md")


@pytest.mark.slow
def test_notebook_01_from_a_frozen_collection_of_the_smoke_run(tmp_path):
    """Pack the smoke run's collect stage, run notebook 01 with `source` = the archive into
    another run folder: no server, the data says where it came from, 02's inputs are unchanged."""
    from casestudy.artifacts import fingerprint
    from casestudy.scenario import frozen
    from casestudy.stages.distill import Harvest

    run = Path(os.environ["CASESTUDY_RUNS"]) / "smoke"
    if not (run / "collect" / "metrics.json").is_file():
        pytest.skip("needs the smoke run of test_smoke_profile_produces_the_report")
    archive = frozen.pack(run, tmp_path / "smoke-collect.tar.xz")
    other = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-m", "casestudy.report", "--profile", "smoke", "--runs-dir", str(other),
                           "--only", "01_collect", "--set", f"01_collect.source={archive}"],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    collect = other / "smoke" / "collect"
    metrics = json.loads((collect / "metrics.json").read_text())
    assert metrics["source"]["kind"] == "frozen" and metrics["source"]["archive"] == archive.name
    assert metrics["records"] == json.loads((run / "collect" / "metrics.json").read_text())["records"]
    assert "frozen collection" in (other / "smoke" / "report" / "index.html").read_text()
    params = {"any": "parameters"}
    assert (fingerprint(params, Harvest.input_files(None, collect))
            == fingerprint(params, Harvest.input_files(None, run / "collect")))
