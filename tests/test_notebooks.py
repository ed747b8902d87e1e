"""Each notebook has one source: its py:percent file; the committed .ipynb agrees with it."""

import nbformat
import pytest

from casestudy.report.notebooks import CHECKED, out_of_sync, pairs


@pytest.mark.parametrize("py, ipynb", pairs(), ids=lambda p: p.name)
def test_pair_is_in_sync(py, ipynb):
    assert not out_of_sync(py, ipynb), "run: python -m casestudy.report.notebooks sync"


@pytest.mark.parametrize("py, ipynb", pairs(), ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs_but_the_checked_ones(py, ipynb):
    nb = nbformat.read(ipynb, as_version=4)
    with_outputs = [c.source.splitlines()[0] for c in nb.cells
                    if c.cell_type == "code" and c.outputs and not c.source.startswith(CHECKED)]
    assert not with_outputs


def test_a_changed_source_is_out_of_sync(tmp_path):
    py, ipynb = pairs()[0]
    (tmp_path / py.name).write_text(py.read_text() + "\n# %%\nprint('new cell')\n")
    (tmp_path / ipynb.name).write_bytes(ipynb.read_bytes())
    assert out_of_sync(tmp_path / py.name, tmp_path / ipynb.name)


def test_every_notebook_has_one_source():
    assert len(pairs()) == 5 and all(py.is_file() for py, _ in pairs())


NOTEBOOK_MAY_IMPORT = ("casestudy.stages", "casestudy.targets", "casestudy.formats")  # and any package's `plots`


def notebook_imports(py) -> set[str]:
    import ast

    tree = ast.parse("\n".join(line for line in py.read_text().splitlines() if not line.lstrip().startswith("%")))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("casestudy"):
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("casestudy")}
    return found


@pytest.mark.parametrize("py", [py for py, _ in pairs()], ids=lambda p: p.stem)
def test_notebook_cells_call_stages_and_plots_only(py):
    """What a notebook decides lives in its stage module (tested); the notebook shows it."""
    other = sorted(m for m in notebook_imports(py)
                   if not m.startswith(NOTEBOOK_MAY_IMPORT) and not m.endswith(".plots"))
    assert not other, f"{py.name} imports {other}: call them through casestudy/stages/"
