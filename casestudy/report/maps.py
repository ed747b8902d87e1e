"""The package's maps, read from the tree so that they cannot drift.

Every package's `__init__` docstring maps its modules and sub-packages: indented lines whose
first column names one or more of them (`collect/` for a sub-package), then two spaces and
what they do. `map_names` reads that column; tests/test_architecture.py checks it against the
files, and `layout` writes the layout block of docs/architecture.md (which the README links) from
the same docstrings (`python -m casestudy.report.maps --readme`, also run by `make publish`).
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

from casestudy.paths import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "casestudy"
LAYOUT_DOC = REPO_ROOT / "docs" / "architecture.md"  # the page that holds the layout block
START, END = "<!-- layout:start -->", "<!-- layout:end -->"
MAP_LINE = re.compile(r"^    (?P<names>[A-Za-z_][\w/]*(?:,? [A-Za-z_][\w/]*)*)(?:\s{2,}|$)")


def docstring(package: Path) -> str:
    return ast.get_docstring(ast.parse((package / "__init__.py").read_text()), clean=False) or ""


def map_names(text: str) -> list[str]:
    """The names in the first column of a docstring's map, in order ("collect/" for a sub-package)."""
    names = []
    for line in text.splitlines():
        match = MAP_LINE.match(line)
        if match and "<-" not in line:
            names += match["names"].replace(",", " ").split()
    return names


def packages(root: Path = PACKAGE_DIR) -> list[Path]:
    return sorted(p.parent for p in root.rglob("__init__.py"))


def contents(package: Path) -> set[str]:
    """The modules ("train") and sub-packages ("students/") directly inside a package."""
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    return modules | {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").is_file()}


def drift(package: Path) -> tuple[set[str], set[str]]:
    """(in the tree but not in the map, in the map but not in the tree); `__main__` may go unmapped."""
    listed, present = set(map_names(docstring(package))), contents(package)
    return present - listed - {"__main__"}, listed - present


def layout(root: Path = PACKAGE_DIR) -> str:
    """The layout block: each package and what its map lists, from the docstrings."""
    lines = []
    for package in packages(root):
        depth = len(package.relative_to(root.parent).parts) - 1
        names = [n for n in map_names(docstring(package)) if not n.endswith("/")]
        label = f"{'  ' * depth}{package.name}/"
        lines.append(f"{label:<24}{' '.join(names)}")
    return "\n".join(["```", *lines, "```"])


def rewrite_layout(doc: Path = LAYOUT_DOC) -> bool:
    """Write the layout block between the page's markers; True when it changed."""
    text = doc.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{layout()}\n{END}{tail}"
    doc.write_text(new)
    return new != text


def layout_block(doc: Path = LAYOUT_DOC) -> str:
    return doc.read_text().split(START, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casestudy.report.maps", description=__doc__)
    parser.add_argument("--readme", action="store_true",
                        help="rewrite the layout block of docs/architecture.md (the README's architecture page)")
    args = parser.parse_args(argv)
    if args.readme:
        print(f"{LAYOUT_DOC.relative_to(REPO_ROOT)}'s layout block " + ("rewritten" if rewrite_layout() else "unchanged"))
    else:
        print(layout())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
