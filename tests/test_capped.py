"""A count parameter the run cannot use in full is said, not silently reduced."""

import ast
from pathlib import Path

import pytest

import casestudy
from casestudy.capped import Capped, caps_text, capped

STAGES = Path(casestudy.__file__).parent / "stages"


def test_a_capped_count_says_what_held_fewer():
    size = capped("dose_records", 300, "training records per dose student",
                  {"the main arm's train split": 120, "the control arm's train split": 86})
    assert size == Capped("dose_records", 300, 86, "training records per dose student", "the control arm's train split")
    assert size.reduced and size.text() == ("**86 training records per dose student**, not the 300 of "
                                            "`dose_records`: the control arm's train split holds only 86.")
    whole = capped("dose_records", 50, "training records per dose student", {"the main arm's train split": 120})
    assert not whole.reduced and whole.text() == "50 training records per dose student (`dose_records` = 50)."
    assert caps_text([whole, size]).startswith("**86 training records")  # the reduced first


def parameter_caps(path: Path) -> list[str]:
    """`min(params.x, ...)` and `seq[: params.x]` in a module: a parameter cut down where nobody sees it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        cut = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "min":
            cut = node.args
        elif isinstance(node, ast.Slice):
            cut = [node.lower, node.upper]
        found += [f"{path.name}:{node.lineno if hasattr(node, 'lineno') else '?'} params.{a.attr}" for a in cut
                  if isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name) and a.value.id == "params"]
    return found


@pytest.mark.parametrize("path", sorted(STAGES.rglob("*.py")), ids=lambda p: str(p.relative_to(STAGES)))
def test_no_stage_cuts_a_parameter_without_saying_so(path):
    """Each cap goes through `casestudy.capped.capped`, whose sentence the notebook prints."""
    assert not parameter_caps(path), "use casestudy.capped.capped and print its text in the notebook"


def test_the_scan_sees_a_silent_cap(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(params, rows):\n    n = min(params.dose_records, len(rows))\n    return rows[: params.k]\n")
    assert [c.split(" ")[1] for c in parameter_caps(bad)] == ["params.dose_records", "params.k"]
