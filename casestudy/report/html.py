"""Render executed notebooks to HTML and write the report's index page."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
from jinja2 import Environment, PackageLoader, select_autoescape
from nbconvert import HTMLExporter

from casestudy.paths import REPO_ROOT
from casestudy.report.clean import clean_notebook, notebook_figures, path_replacements, write_figures
from casestudy.report.runner import RunResult

INDEX = "index.html"
RUN_INFO = "run.json"        # when, from which commit, on which machine: the index's meta line
FIGURES = "figures"          # report/figures/<notebook>/<plot function>.png
# The figure the index shows inline for each stage (the first PNG of a notebook otherwise).
HEADLINE_FIGURES = {
    "01_collect": "throughput_and_bill",
    "02_distill": "skill",
    "03_cost": "copied_vs_cost",
    "04_detect": "radioactivity",
}


def stage_name(notebook: str) -> str:
    """'01_collect' -> 'collect': the stage folder a notebook writes."""
    return notebook.split("_", 1)[1] if "_" in notebook else notebook


def notebook_to_html(notebook: Path, nb: nbformat.NotebookNode | None = None) -> Path:
    """Write `<name>.html` beside an executed notebook (a partial one renders too)."""
    body, _ = HTMLExporter().from_notebook_node(nb if nb is not None else nbformat.read(notebook, as_version=4))
    out = notebook.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def tidy_notebook(notebook: Path, run_dir: Path | None = None) -> nbformat.NotebookNode:
    """Clean an executed notebook in place (report.clean: no progress bars, warnings, widget
    state or absolute paths) and return it."""
    nb = nbformat.read(notebook, as_version=4)
    clean_notebook(nb, path_replacements(nb, run_dir, (REPO_ROOT,)))
    nbformat.write(nb, notebook)
    return nb


def headline_figure(notebook: str, figures: list[str]) -> str | None:
    """The figure the index shows for a notebook: its HEADLINE_FIGURES entry, else its first."""
    wanted = f"{notebook}/{HEADLINE_FIGURES.get(notebook, '')}"
    return wanted if wanted in figures else (figures[0] if figures else None)


def git_commit() -> str:
    """The short commit the report's code came from, "-dirty" where the working tree differs from it."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7", "--exclude=*"], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_description() -> str:
    import torch
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} × {torch.cuda.get_device_name(0)}"
    import os
    return f"CPU only, {os.cpu_count()} cores ({platform.machine()})"


def stage_summary(run_dir: Path, notebook: str) -> dict[str, Any]:
    """A stage's headline figures and targets from its metrics.json (empty if it wrote none)."""
    path = run_dir / stage_name(notebook) / "metrics.json"
    if not path.is_file():
        return {"headline": {}, "targets": []}
    metrics = json.loads(path.read_text())
    return {"headline": metrics.get("headline", {}), "targets": metrics.get("targets", [])}


def run_info(profile: str, commit: str | None = None) -> dict[str, str]:
    """When, from which commit (`commit`, else the tree's now) and on which machine this report is written."""
    return {"profile": profile, "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit or git_commit(), "machine": machine_description()}


def write_report(result: RunResult, run_dir: Path, report_dir: Path, info: dict[str, str] | None = None,
                 source_run: Path | None = None) -> Path:
    """Tidy every executed notebook, render it to HTML, pull out its figures
    (report/figures/), and write the index page; return the index's path.

    `info` (generated, commit, machine) defaults to now and here; it is kept in
    report/run.json so that publishing the report later shows when and where it ran.
    `source_run` is the folder the notebooks ran in when it is not `run_dir` (publishing).
    """
    info = info or run_info(result.profile)
    rows = []
    for run in result.runs:
        html, figures = None, []
        if run.output.is_file():
            nb = tidy_notebook(run.output, source_run or run_dir)
            html = notebook_to_html(run.output, nb)
            found = notebook_figures(nb, run.name)
            shutil.rmtree(report_dir / FIGURES / run.name, ignore_errors=True)
            write_figures(found, report_dir / FIGURES)
            figures = list(found)
        figure = headline_figure(run.name, figures)
        rows.append({
            "name": run.name,
            "html": html.name if html else None,
            "ipynb": run.output.name,
            "seconds": run.seconds,
            "error": run.error,
            "parameters": run.parameters,
            "figure": f"{FIGURES}/{figure}.png" if figure else None,
            "figures": len(figures),
            **({"headline": {}, "targets": []} if run.error else stage_summary(run_dir, run.name)),
        })
    env = Environment(loader=PackageLoader("casestudy.report"), autoescape=select_autoescape())
    page = env.get_template("index.html").render(
        profile=result.profile,
        rows=rows,
        failed=result.failed,
        total_seconds=sum(r.seconds for r in result.runs),
        generated=info.get("generated", "unknown"),
        commit=info.get("commit", "unknown"),
        machine=info.get("machine", "unknown"),
        note=info.get("note", ""),  # what the reader should know of how it ran (set by hand, e.g. a stopped run)
    )
    (report_dir / RUN_INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    index = report_dir / INDEX
    index.write_text(page, encoding="utf-8")
    return index
