"""The runner on small notebooks made in the test: success, failure, the index page."""

import json
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from casestudy.profiles import Profile, ProfileError
from casestudy.report.html import write_report
from casestudy.report.runner import run_notebooks


def write_notebook(path, *sources, params="profile = 'smoke'\nsteps = 1"):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell] + [new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


# Kernels get the runner's environment: a plain tqdm bar prints nothing, nor does accelerate's logger.
QUIET_KERNEL = ("import os, tqdm\nfrom accelerate import PartialState\nfrom accelerate.logging import get_logger\n"
                "PartialState(cpu=True)\n"
                "for _ in tqdm.tqdm(range(3), mininterval=0): pass\n"
                "get_logger('casestudy.test').warning('Removed shared tensor x while saving')\n"
                "print('TQDM_DISABLE =', os.environ.get('TQDM_DISABLE'))")
# A figure drawn by a function named like one of the plots modules' (the report names it after the call).
A_FIGURE = ("import base64\nfrom IPython.display import Image, display\n"
            "class plots:\n    @staticmethod\n    def radioactivity():\n"
            "        display(Image(data=base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=='), format='png'))\n"
            "plots.radioactivity()")


@pytest.fixture
def notebooks(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_first.ipynb",
                   "from casestudy.artifacts import write_metrics\nimport os, pathlib\n"
                   "out = pathlib.Path(os.environ['CASESTUDY_RUNS']) / profile / 'first'\n"
                   "targets = [{'check': 'steps done', 'measured': str(steps), 'met': steps > 2},\n"
                   "           {'check': 'no target here', 'measured': 'x', 'met': None}]\n"
                   "write_metrics(out, {'steps': steps, 'targets': targets}, {'steps run': str(steps)})",
                   QUIET_KERNEL, A_FIGURE)
    write_notebook(folder / "02_second.ipynb", "x = 1", "raise ValueError('boom at second')", "y = 2")
    write_notebook(folder / "03_third.ipynb", "z = 3")
    return folder


def test_runs_in_order_stops_at_the_failing_cell_and_keeps_the_partial_notebook(notebooks, tmp_path, monkeypatch):
    monkeypatch.setenv("CASESTUDY_RUNS", str(tmp_path / "runs"))
    profile = Profile("smoke", "", notebooks={"01_first": {"steps": 4}})
    report = tmp_path / "runs" / "smoke" / "report"
    result = run_notebooks(profile, report, notebooks_dir=notebooks)
    assert [r.name for r in result.runs] == ["01_first", "02_second"]  # the third never ran
    failed = result.failed
    assert failed.name == "02_second" and failed.error.startswith("cell 3 (In [4]: \"raise ValueError") and "boom at second" in failed.error
    partial = nbformat.read(failed.output, as_version=4)
    errors = [out for c in partial.cells if c.cell_type == "code" for out in c.outputs if out.output_type == "error"]
    assert [e.ename for e in errors] == ["ValueError"]
    assert partial.cells[-1].source == "y = 2" and not partial.cells[-1].outputs  # kept, never run
    index = write_report(result, report.parent, report).read_text()
    assert "02_second failed at cell 3 (In [4]" in index and "steps run" in index and ">4<" in index
    assert "steps done" in index and '<td class="met">met</td>' in index and '<td class="none">no target</td>' in index
    assert (report / "01_first.html").is_file() and (report / "02_second.html").is_file()
    first = nbformat.read(report / "01_first.ipynb", as_version=4)
    printed = [out for c in first.cells if c.cell_type == "code" for out in c.outputs if out.output_type == "stream"]
    assert [(out.name, out.text) for out in printed] == [("stdout", "TQDM_DISABLE = 1\n")]
    assert (report / "figures" / "01_first" / "radioactivity.png").read_bytes().startswith(b"\x89PNG")
    assert '<img src="figures/01_first/radioactivity.png"' in index
    assert json.loads((report / "run.json").read_text())["profile"] == "smoke"
    assert set(json.loads((report.parent / "timings.json").read_text())) == {"01_first", "02_second"}


def test_parameters_are_checked_before_anything_runs(notebooks, tmp_path):
    profile = Profile("smoke", "", notebooks={"03_third": {"stepz": 2}})
    with pytest.raises(ProfileError, match="03_third has no parameter 'stepz'; valid: profile, steps"):
        run_notebooks(profile, tmp_path / "report", notebooks_dir=notebooks)
    assert not (tmp_path / "report" / "01_first.ipynb").exists()


def test_command_line_rejects_an_unknown_profile():
    proc = subprocess.run([sys.executable, "-m", "casestudy.report", "--profile", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "valid profiles: smoke, workshop, full" in proc.stderr
