"""Execute the notebooks in order with papermill, stopping at the first failing cell."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError
from tqdm.auto import tqdm

from casestudy.artifacts import write_json_atomic
from casestudy.paths import NOTEBOOKS_DIR
from casestudy.profiles import Profile, check_overrides, notebook_defaults, notebook_parameters
from casestudy.stages import check_parameters

KERNEL = "python3"
# The kernels' environment: no progress bars written to stderr (hundreds of lines in an
# executed notebook; tqdm's notebook widgets ignore this and are dropped by report.clean),
# no "Loading weights" bars, library logging at ERROR ("Removed shared tensor ... while
# saving" and the like), and no debugger warning at kernel start.
KERNEL_ENV = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "ACCELERATE_LOG_LEVEL": "ERROR",
    "TOKENIZERS_PARALLELISM": "false",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
# The kernel's own log at ERROR: ipykernel warns on every start that it "is running over
# TCP without encryption" (a local kernel, talking to its own runner).
KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]


@contextmanager
def kernel_environment(env: dict[str, str] = KERNEL_ENV):
    """Set `env` for the kernels started inside the block (they inherit os.environ); restore after."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class NotebookRun:
    name: str                     # e.g. "01_collect"
    output: Path                  # the executed (or partial) copy
    parameters: dict[str, Any]
    seconds: float = 0.0
    error: str | None = None      # "cell N: ErrorName: message" when it failed


@dataclass
class RunResult:
    profile: str
    runs: list[NotebookRun] = field(default_factory=list)

    @property
    def failed(self) -> NotebookRun | None:
        return next((run for run in self.runs if run.error), None)


def list_notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The story's notebooks, in the order they run (by their numeric prefix)."""
    return sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))


def declared_parameters(notebook: Path) -> dict[str, Any]:
    """Names and default values of a notebook's `parameters` cell."""
    return {name: spec["default"] for name, spec in papermill.inspect_notebook(str(notebook)).items()}


PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def describe_failure(executed: Path, err: PapermillExecutionError) -> str:
    """Name the failing cell as the reader sees it: its 1-based number in the source
    notebook (papermill's own inserted cells not counted), its In[] count and first line."""
    where = f"In [{err.exec_count}]"
    if executed.is_file():
        cells = [c for c in nbformat.read(executed, as_version=4).cells
                 if not PAPERMILL_TAGS & set(c.metadata.get("tags", []))]
        for number, cell in enumerate(cells, start=1):
            if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
                first_line = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
                where = f"cell {number} (In [{err.exec_count}]: {first_line[:80]!r})"
                break
    return f"{where}: {err.ename}: {err.evalue}"


def run_notebooks(
    profile: Profile,
    report_dir: Path,
    overrides: list[str] = (),
    only: list[str] | None = None,
    notebooks_dir: Path = NOTEBOOKS_DIR,
) -> RunResult:
    """Run the notebooks of one profile into `report_dir`; stop at the first failure.

    Every parameter is checked against every notebook, and each stage's `Params` checks its
    values, before anything runs, so a typo or a bad value in a profile or an override fails
    in seconds rather than after an hour.
    """
    notebooks = list_notebooks(notebooks_dir)
    if only:
        unknown = set(only) - {nb.stem for nb in notebooks}
        if unknown:
            raise ValueError(f"unknown notebook(s) {sorted(unknown)}; valid: {[nb.stem for nb in notebooks]}")
        notebooks = [nb for nb in notebooks if nb.stem in only]
    declared = {nb.stem: declared_parameters(nb) for nb in list_notebooks(notebooks_dir)}
    check_overrides(list(overrides), declared)
    plans = [(nb, notebook_parameters(profile, nb.stem, declared[nb.stem], overrides)) for nb in notebooks]
    for notebook, params in plans:  # each stage's Params checks its values (a bad one fails here, not an hour in)
        check_parameters(notebook.stem, {**notebook_defaults(notebook.stem, notebooks_dir), **params})

    report_dir.mkdir(parents=True, exist_ok=True)
    timings_path = report_dir.parent / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    result = RunResult(profile.name)
    for notebook, params in tqdm(plans, desc=f"profile {profile.name}", unit="notebook"):
        run = NotebookRun(notebook.stem, report_dir / notebook.name, params)
        result.runs.append(run)
        tqdm.write(f"▶ {notebook.name}  {params}")
        start = time.perf_counter()
        try:
            with kernel_environment():
                papermill.execute_notebook(
                    str(notebook), str(run.output), parameters=params, kernel_name=KERNEL,
                    cwd=str(notebooks_dir), progress_bar={"disable": False}, extra_arguments=KERNEL_ARGS,
                )
        except PapermillExecutionError as err:
            run.error = describe_failure(run.output, err)
        except Exception as err:  # a dead kernel or a bad notebook file, not a failing cell
            run.error = f"{type(err).__name__}: {err}"
        finally:
            run.seconds = time.perf_counter() - start
            timings[notebook.stem] = round(run.seconds, 1)
            write_json_atomic(timings_path, timings)
        if run.error:
            break
    return result
