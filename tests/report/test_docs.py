"""The README a newcomer reads in five minutes, and the pages in docs/ it sends them to: short, no
line too long to read outside a table, every link inside the repository and alive, no history."""

import re
import subprocess
from pathlib import Path

import pytest

from casestudy.paths import REPO_ROOT
from casestudy.report import publish
from casestudy.report.spread import read_spread, spread_sentence

README = REPO_ROOT / "README.md"
DOCS = sorted((REPO_ROOT / "docs").glob("*.md"))
MAX_LINES, MAX_WIDTH = 150, 200
LINK = re.compile(r"\]\(([^)\s]+)\)")  # the target of [text](target) and ![alt](target)
HEX = re.compile(r"\b[0-9a-f]{7,40}\b")


def links(text: str) -> list[str]:
    return LINK.findall(text)


def broken(page: Path, allow_web: bool, root: Path = REPO_ROOT) -> list[str]:
    """A page's links that leave the repository (`root`), point at nothing, or show HTML as source on GitHub."""
    found = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target) or target.startswith("//"):
            if not allow_web:
                found.append(f"{target}: a link outside the repository")
            continue
        path = target.split("#", 1)[0]
        if not path:
            continue
        resolved = (page.parent / path).resolve()
        if not resolved.is_relative_to(root.resolve()):
            found.append(f"{target}: outside the repository")
        elif not resolved.exists():
            found.append(f"{target}: no such file")
        elif resolved.suffix == ".html":
            found.append(f"{target}: GitHub shows an HTML file as source")
    return found


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines (at most {MAX_LINES}): move detail to docs/"


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_no_line_outside_a_table_is_too_long_to_read(page):
    long = [n for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
            if len(line) > MAX_WIDTH and not line.lstrip().startswith("|")]
    assert not long, f"{page.name}: lines over {MAX_WIDTH} characters outside tables: {long}"


def test_every_readme_link_stays_in_the_repository_and_opens_something_github_renders():
    assert links(README.read_text(encoding="utf-8")), "the link reader found no link"
    assert broken(README, allow_web=False) == []


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_every_docs_link_inside_the_repository_is_alive(page):
    assert broken(page, allow_web=True) == []


def test_the_link_check_catches_what_it_is_for(tmp_path):
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "results" / "report").mkdir(parents=True)
    (repo / "results" / "report" / "index.html").write_text("<html>")
    (repo / "docs" / "results.md").write_text("# Results")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "x.md").write_text("outside")
    page = repo / "docs" / "page.md"
    page.write_text("[a](../../shared/x.md) [b](https://example.org) [c](nothing.md) "
                    "[d](../results/report/index.html) ![e](results.md#how-the-verdicts-are-read)\n")
    assert [b.split(":")[0] for b in broken(page, allow_web=False, root=repo)] == [
        "../../shared/x.md", "https", "nothing.md", "../results/report/index.html"]
    assert len(broken(page, allow_web=True, root=repo)) == 3


def test_the_readme_names_the_dispute_and_says_early_which_profile_gives_a_result():
    text = README.read_text(encoding="utf-8")
    opening = " ".join(text.splitlines()[:10])
    assert "OpenAI" in opening and "DeepSeek" in opening
    before_results = " ".join(text[:text.index(publish.START)].split())
    assert "`smoke`, is a plumbing check, not a result" in before_results
    assert "make report PROFILE=workshop" in before_results
    assert "make report " in text and "make test " in text  # the two commands (tests/test_ci.py checks CI runs them)
    assert "docs/workshop.md" in text


def test_the_readme_carries_no_development_history():
    text = README.read_text(encoding="utf-8")
    for phrase in ("-dirty", "git HEAD", "this round", "redesign", "the old "):
        assert phrase not in text, phrase
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout: commit ids cannot be told from other hex")
    commits = [h for h in set(HEX.findall(text))
               if subprocess.run(["git", "-C", str(REPO_ROOT), "cat-file", "-e", f"{h}^{{commit}}"],
                                 capture_output=True).returncode == 0]
    assert not commits, f"README.md names commits of the tree's own past: {commits}"


def test_the_h100_spread_in_gpu_md_is_what_its_table_gives():
    text = (REPO_ROOT / "docs" / "gpu.md").read_text(encoding="utf-8")
    quoted = re.search(r"<!-- spread -->(.*?)<!-- /spread -->", text, re.S)
    assert quoted, "docs/gpu.md lost its spread sentence"
    table = read_spread(REPO_ROOT / "benchmarks" / "device" / "h100-workshop-spread.csv")
    assert " ".join(quoted[1].split()) == spread_sentence(table)
