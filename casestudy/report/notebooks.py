"""The notebooks' one source: each `.ipynb` in notebooks/ is paired with a jupytext py:percent file.

Edit the `.py` (or the notebook in JupyterLab, where jupytext keeps both in step), then:

    python -m casestudy.report.notebooks sync      # rewrite each .ipynb's cells from its .py
    python -m casestudy.report.notebooks outputs   # rerun 03 and keep the outputs nbval checks

The `.ipynb` files are committed without outputs, except the cells marked
`# NBVAL_CHECK_OUTPUT` (notebook 03's recomputed published figures), whose outputs nbval
compares against a fresh run. tests/test_notebooks.py fails when a pair is out of sync.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat

from casestudy.paths import NOTEBOOKS_DIR

CHECKED = "# NBVAL_CHECK_OUTPUT"


def pairs(directory: Path = NOTEBOOKS_DIR) -> list[tuple[Path, Path]]:
    """(py:percent source, .ipynb) of every notebook of the story, in order."""
    return [(ipynb.with_suffix(".py"), ipynb) for ipynb in sorted(Path(directory).glob("[0-9][0-9]_*.ipynb"))]


def cell_summary(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    """What a pair must agree on: each cell's type, source and tags."""
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def out_of_sync(py: Path, ipynb: Path) -> list[str]:
    """How the .ipynb's cells differ from those written from the .py (empty when in sync)."""
    import jupytext

    if not py.is_file():
        return [f"{py.name} is missing: every notebook needs its py:percent source"]
    want, have = cell_summary(jupytext.read(py)), cell_summary(nbformat.read(ipynb, as_version=4))
    problems = [f"{ipynb.name} has {len(have)} cells, {py.name} {len(want)}"] if len(want) != len(have) else []
    for number, (a, b) in enumerate(zip(want, have), 1):
        if a != b:
            first = next((ln for ln in a[1].splitlines() if ln.strip()), "")
            problems.append(f"cell {number} differs ({a[0]} from the .py starts {first[:60]!r})")
    return problems


def keep_checked_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop every output and execution count except those of the cells nbval checks."""
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.source.startswith(CHECKED):
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nb.metadata.pop("papermill", None)
    return nb


def sync(directory: Path = NOTEBOOKS_DIR) -> None:
    """Write each .ipynb's cells from its .py; outputs of unchanged cells are kept."""
    from jupytext.cli import jupytext as jupytext_cli

    for py, _ in pairs(directory):
        jupytext_cli(["--quiet", "--to", "ipynb", "--update", str(py)])


def refresh_outputs(ipynb: Path) -> None:
    """Run a notebook with its defaults in a scratch run folder and keep its checked cells' outputs."""
    import papermill

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CASESTUDY_RUNS"] = tmp
        executed = Path(tmp) / ipynb.name
        papermill.execute_notebook(str(ipynb), str(executed), kernel_name="python3", cwd=str(ipynb.parent),
                                   progress_bar=False)
        fresh = nbformat.read(executed, as_version=4)
    nb = nbformat.read(ipynb, as_version=4)
    ran = [c for c in fresh.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for cell, new in zip(nb.cells, ran):
        if cell.cell_type == "code" and cell.source.startswith(CHECKED):
            cell.outputs, cell.execution_count = new.outputs, new.execution_count
    nbformat.write(keep_checked_outputs(nb), ipynb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casestudy.report.notebooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["sync", "outputs"])
    args = parser.parse_args(argv)
    if args.command == "sync":
        sync()
    else:
        for _, ipynb in pairs():
            if any(c.source.startswith(CHECKED) for c in nbformat.read(ipynb, as_version=4).cells):
                refresh_outputs(ipynb)
    problems = [p for py, ipynb in pairs() for p in out_of_sync(py, ipynb)]
    print("\n".join(problems) or "every notebook is in sync with its .py")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
