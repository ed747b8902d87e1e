"""Render executed notebooks to HTML and write the report's index page."""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
from jinja2 import Environment, PackageLoader, select_autoescape
from nbconvert import HTMLExporter

from casestudy.paths import REPO_ROOT
from casestudy.report.runner import RunResult

INDEX = "index.html"


def stage_name(notebook: str) -> str:
    """'01_collect' -> 'collect': the stage folder a notebook writes."""
    return notebook.split("_", 1)[1] if "_" in notebook else notebook


def notebook_to_html(notebook: Path) -> Path:
    """Write `<name>.html` beside an executed notebook (a partial one renders too)."""
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    out = notebook.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
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


def write_report(result: RunResult, run_dir: Path, report_dir: Path) -> Path:
    """Render every executed notebook and the index page; return the index's path."""
    rows = []
    for run in result.runs:
        html = notebook_to_html(run.output) if run.output.is_file() else None
        rows.append({
            "name": run.name,
            "html": html.name if html else None,
            "ipynb": run.output.name,
            "seconds": run.seconds,
            "error": run.error,
            "parameters": run.parameters,
            **({"headline": {}, "targets": []} if run.error else stage_summary(run_dir, run.name)),
        })
    env = Environment(loader=PackageLoader("casestudy.report"), autoescape=select_autoescape())
    page = env.get_template("index.html").render(
        profile=result.profile,
        rows=rows,
        failed=result.failed,
        total_seconds=sum(r.seconds for r in result.runs),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        commit=git_commit(),
        machine=machine_description(),
    )
    index = report_dir / INDEX
    index.write_text(page, encoding="utf-8")
    return index
