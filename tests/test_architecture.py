"""Imports point one way (see casestudy/__init__.py): common <- provider, distiller, competitor, cost <-
detection <- scenario <- stages <- report. Checked by parsing every module's imports, lazy ones included."""

import ast
from pathlib import Path

import pytest

import casestudy
from casestudy.report import maps

PACKAGE = Path(casestudy.__file__).parent
COMMON = "common"
# what each layer may import (besides itself)
ALLOWED = {
    COMMON: {COMMON},
    "provider": {COMMON},
    "distiller": {COMMON},
    "competitor": {COMMON},
    "cost": {COMMON},
    "detection": {COMMON, "provider"},
    "scenario": {COMMON, "provider", "distiller", "competitor", "cost", "detection"},
    "stages": {COMMON, "provider", "distiller", "competitor", "cost", "detection", "scenario"},
    "report": {COMMON, "provider", "distiller", "competitor", "cost", "detection", "scenario", "stages"},
}


def layer(module: str) -> str:
    """'casestudy.provider.server' -> 'provider'; a top-level module ('casestudy.paths') is common."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else COMMON


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every casestudy module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("casestudy")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("casestudy"):
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names
                                      if (PACKAGE.parent / node.module.replace(".", "/") / a.name).is_dir()}
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_sub_package_has_a_layer():
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()} == set(ALLOWED) - {COMMON}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path):
    own = layer(module_name(path))
    wrong = sorted(m for m in imports(path) if layer(m) != own and layer(m) not in ALLOWED[own])
    assert not wrong, f"{own} must not import {wrong}"


def test_the_rule_catches_a_distiller_importing_the_provider(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from casestudy.provider.settings import ProviderSettings\n")
    assert layer(next(iter(imports(bad)))) == "provider" not in ALLOWED["distiller"]


def test_the_package_docstring_states_the_rule():
    doc = casestudy.__doc__
    assert "common <- provider, distiller, competitor, cost <- detection <- scenario <- stages <- report" in " ".join(doc.split())


@pytest.mark.parametrize("package", maps.packages(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_each_package_map_lists_exactly_its_modules(package):
    unmapped, gone = maps.drift(package)
    assert not unmapped and not gone, f"{package.name}/__init__.py's map: add {sorted(unmapped)}, drop {sorted(gone)}"


def test_the_map_reader_sees_a_missing_and_a_stale_module(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "__init__.py").write_text("")
    (package / "__init__.py").write_text('"""A package.\n\n    alpha, beta   two modules\n    sub/          a part\n"""\n')
    (package / "alpha.py").write_text("")
    (package / "gamma.py").write_text("")
    assert maps.drift(package) == ({"gamma"}, {"beta"})


def test_the_layout_block_is_written_from_the_maps():
    assert maps.layout_block() == maps.layout(), "run `python -m casestudy.report.maps --readme`"


def test_the_layout_block_is_rewritten_between_its_markers(tmp_path):
    doc = tmp_path / "architecture.md"
    doc.write_text(f"# Architecture\n\n{maps.START}\nold\n{maps.END}\n\nafter\n")
    assert maps.rewrite_layout(doc) is True and maps.layout_block(doc) == maps.layout()
    assert doc.read_text().endswith(f"{maps.END}\n\nafter\n") and maps.rewrite_layout(doc) is False
