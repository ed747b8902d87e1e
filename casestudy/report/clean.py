"""Make executed notebooks fit to publish: no progress bars, no library warnings, no widget
state, no absolute paths of the machine that ran them; and pull their figures out as PNGs.

    clean_notebook(nb, replacements)   # in place; returns nb
    notebook_figures(nb)               # {"04_detect/radioactivity": b"\\x89PNG...", ...}

The runner already starts kernels with progress bars and library logging turned down
(runner.KERNEL_ENV); this is the second line, for what gets through (tqdm's notebook
widgets ignore TQDM_DISABLE) and for notebooks executed by hand.

Figures are named after the plotting call that drew them: a cell whose source calls
`plots.radioactivity(...)` and shows one PNG gives `radioactivity.png`. The names are the
public functions of the `plots` modules that make a figure, so they survive edits to the
notebooks' text, and a notebook needs no extra line to save its figures.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import re
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}

# A tqdm bar as text: "  40%|████      | 2/5 [00:00<00:00, 95.89it/s]" or "post-training: 3it [00:01, ...]".
PROGRESS = re.compile(r"\d+%\|.*\||[\d?][a-zA-Z]+/s\]|\ds/[a-zA-Z]+\]|\[\d{2}:\d{2}(?::\d{2})?<")
# A Python warning as `warnings` prints it: "path.py:12: UserWarning: text", then the source line, indented.
WARNING = re.compile(r"^\S.*:\d+: \w*Warning: ")
# Library log lines that say nothing to a reader of the story.
NOISE = re.compile(
    r"Removed shared tensor .* while saving"
    r"|^\[IPKernelApp\]|Kernel is running over TCP"
    r"|Debugger warning: It seems that frozen modules"
    r"|PYDEVD_DISABLE_FILE_VALIDATION|-Xfrozen_modules=off|Note: Debugging will proceed"
    r"|^huggingface/tokenizers: The current process just got forked"
    r"|^To disable this warning, you can either:|^\s+- (?:Avoid using `tokenizers`|Explicitly set the environment)"
)
# Absolute paths that name a machine: temporary folders, home folders, mounts.
# Not inside a longer word or URL; after an ANSI colour code (tracebacks) is fine.
AT_START = r"(?:(?<![\w.~:/-])|(?<=\x1b\[\dm)|(?<=\x1b\[\d\dm))"
ABSOLUTE = re.compile(AT_START + r"/(?:tmp|home|root|work|Users|private|var/folders|mnt|opt|srv|scratch)"
                      r"/[^\s\"'<>`)\],;|\x1b]*")
SITE_PACKAGES = re.compile(AT_START + r"/[^\s\"'<>`\x1b]*?/(?:site|dist)-packages/")

PLOT_MODULES = ("casestudy.distiller.collect.plots", "casestudy.distiller.students.plots",
                "casestudy.cost.plots", "casestudy.detection.plots")
PLOT_CALL = re.compile(r"\b\w*plots\.(\w+)\(")


def carriage_returns(text: str) -> str:
    """What a terminal would show: on each line, only what follows the last carriage return."""
    lines = []
    for line in text.split("\n"):
        parts = [p for p in line.split("\r")]
        shown = next((p for p in reversed(parts) if p), "")
        lines.append(shown)
    return "\n".join(lines)


def quiet_stream(text: str, stderr: bool) -> str:
    """Drop progress bars from a stream; from stderr also Python warnings and library noise."""
    kept, skip_source_line = [], False
    for line in carriage_returns(text).split("\n"):
        if skip_source_line:
            skip_source_line = False
            if line.startswith("  "):
                continue
        if PROGRESS.search(line):
            continue
        if stderr and WARNING.search(line):
            skip_source_line = True
            continue
        if stderr and NOISE.search(line):
            continue
        kept.append(line)
    out = "\n".join(kept)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return "" if not out.strip() else out.lstrip("\n")


def clean_outputs(outputs: list) -> list:
    """Merge consecutive stream outputs, drop progress and noise, drop widget views."""
    merged: list = []
    for out in outputs:
        if out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream" \
                and merged[-1].get("name") == out.get("name"):
            merged[-1]["text"] += out["text"]
            continue
        if out.get("output_type") in ("display_data", "execute_result") and WIDGET_VIEW in out.get("data", {}):
            continue
        merged.append(out)
    cleaned = []
    for out in merged:
        if out.get("output_type") == "stream":
            text = quiet_stream(out["text"], out.get("name") == "stderr")
            if not text:
                continue
            out["text"] = text
        cleaned.append(out)
    return cleaned


def rewrite_paths(text: str, replacements: dict[str, str]) -> str:
    """Replace the machine's folders by run-relative names; shorten any other absolute path."""
    for old in sorted(replacements, key=len, reverse=True):
        text = text.replace(old, replacements[old])
    text = SITE_PACKAGES.sub("site-packages/", text)
    return ABSOLUTE.sub(_shorten, text)


def _shorten(match: re.Match) -> str:
    """'/tmp/tmpab12/server.sqlite.' -> '…/server.sqlite.' (a sentence's full stop stays)."""
    path = match.group(0)
    core = path.rstrip(".:")
    return "…/" + PurePosixPath(core.rstrip("/")).name + path[len(core):]


def _rewrite(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        return rewrite_paths(value, replacements)
    if isinstance(value, list):
        return [_rewrite(v, replacements) for v in value]
    if isinstance(value, dict):
        return value.__class__({k: (v if k.startswith("image/") and k != "image/svg+xml" else _rewrite(v, replacements))
                                for k, v in value.items()})
    return value


def path_replacements(nb: nbformat.NotebookNode, run_dir: Path | None = None,
                      repo_roots: tuple[Path, ...] = ()) -> dict[str, str]:
    """Absolute folders -> what to write instead: the run folder -> runs/<profile>, the
    repository -> a relative path. The run's own folders come from papermill's metadata, so
    a run copied elsewhere after it ran is rewritten too."""
    pm = nb.metadata.get("papermill", {})
    profile = pm.get("parameters", {}).get("profile")
    runs, roots = [], list(repo_roots)
    if pm.get("output_path"):
        runs.append(Path(pm["output_path"]).parent.parent)  # <run>/report/<nb>.ipynb
    if pm.get("input_path"):
        roots.append(Path(pm["input_path"]).parent.parent)  # <repo>/notebooks/<nb>.ipynb
    if run_dir is not None:
        runs.append(Path(run_dir))
    out: dict[str, str] = {}
    for root in roots:
        if root.is_absolute() and str(root) != "/":
            out[str(root) + "/"] = ""
            out[str(root)] = "."
    for run in runs:
        if run.is_absolute() and str(run) != "/":
            out[str(run)] = f"runs/{profile or run.name}"
    return out


def clean_notebook(nb: nbformat.NotebookNode, replacements: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """Clean an executed notebook in place (see the module's docstring) and return it."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = clean_outputs(cell.outputs)
    if replacements is not None:
        nb.cells = _rewrite(nb.cells, replacements)
        nb.metadata = _rewrite(nb.metadata, replacements)
    return nb


def _makes_figure(func) -> bool:
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    return "plt.subplots(" in source or "plt.figure(" in source


@lru_cache(maxsize=1)
def figure_functions() -> frozenset[str]:
    """Names of the public functions of the plots modules that draw a figure."""
    names = set()
    for module_name in PLOT_MODULES:
        module = importlib.import_module(module_name)
        names |= {name for name, f in inspect.getmembers(module, inspect.isfunction)
                  if not name.startswith("_") and f.__module__ == module_name and _makes_figure(f)}
    return frozenset(names)


def notebook_figures(nb: nbformat.NotebookNode, notebook: str = "") -> dict[str, bytes]:
    """Each PNG a notebook shows, named `<notebook>/<plot function>`: a cell's PNGs are
    matched in order with its calls of plot functions; a cell where the numbers differ
    (a plot skipped by an `if`, a figure drawn by hand) keeps numbered names."""
    known = figure_functions()
    figures: dict[str, bytes] = {}
    unnamed = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or PAPERMILL_TAGS & set(cell.metadata.get("tags", [])):
            continue
        pngs = [out["data"]["image/png"] for out in cell.get("outputs", [])
                if out.get("output_type") in ("display_data", "execute_result") and "image/png" in out.get("data", {})]
        if not pngs:
            continue
        calls = [name for name in PLOT_CALL.findall(cell.source) if name in known]
        if len(calls) != len(pngs):
            calls = []
            for _ in pngs:
                unnamed += 1
                calls.append(f"figure-{unnamed}")
        for name, data in zip(calls, pngs):
            key, n = f"{notebook}/{name}" if notebook else name, 2
            while key in figures:
                key = f"{notebook}/{name}-{n}" if notebook else f"{name}-{n}"
                n += 1
            figures[key] = base64.b64decode(data if isinstance(data, str) else "".join(data))
    return figures


def write_figures(figures: dict[str, bytes], folder: Path) -> list[Path]:
    """Write `<folder>/<name>.png` for each figure; return the paths."""
    paths = []
    for name, data in figures.items():
        path = Path(folder) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths
