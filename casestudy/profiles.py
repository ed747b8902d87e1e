"""Profiles: named parameter sets for the notebooks, kept as data in data/profiles.toml.

A notebook's `parameters` cell is the smoke profile; the other profiles list only the
values they change (see the file's header).
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casestudy.paths import DATA_DIR, NOTEBOOKS_DIR

PROFILES_FILE = DATA_DIR / "profiles.toml"


class ProfileError(ValueError):
    """A profile name, parameter name or override that does not exist or does not parse."""


@dataclass
class Profile:
    name: str
    description: str
    common: dict[str, Any] = field(default_factory=dict)
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_profiles(path: Path = PROFILES_FILE) -> dict[str, Profile]:
    """Read every profile from the TOML file; `extends = "<name>"` starts from an earlier profile's values."""
    raw = tomllib.loads(Path(path).read_text())
    profiles: dict[str, Profile] = {}
    for name, body in raw.items():
        body = dict(body)
        description = body.pop("description", "")
        base_name = body.pop("extends", None)
        if base_name is not None and base_name not in profiles:
            raise ProfileError(f"profile {name!r} extends {base_name!r}, which is not defined above it")
        base = profiles.get(base_name, Profile(base_name or "", ""))
        common = {**base.common, **body.pop("common", {})}
        notebooks = {nb: dict(v) for nb, v in base.notebooks.items()}
        for nb, values in body.items():
            notebooks[nb] = {**notebooks.get(nb, {}), **values}
        profiles[name] = Profile(name, description, common, notebooks)
    return profiles


def get_profile(name: str, path: Path = PROFILES_FILE) -> Profile:
    profiles = load_profiles(path)
    if name not in profiles:
        raise ProfileError(f"unknown profile {name!r}; valid profiles: {', '.join(profiles)}")
    return profiles[name]


def notebook_defaults(notebook: str, directory: Path = NOTEBOOKS_DIR) -> dict[str, Any]:
    """A notebook's `parameters` cell as values (`notebook` without .ipynb): the smoke profile."""
    import papermill

    spec = papermill.inspect_notebook(str(Path(directory) / f"{notebook}.ipynb"))
    return {name: ast.literal_eval(param["default"]) for name, param in spec.items()}


def parse_override(text: str) -> tuple[str | None, str, Any]:
    """Parse `[notebook.]name=value`; the value is read as a TOML literal, else kept as a string."""
    if "=" not in text:
        raise ProfileError(f"override {text!r} is not of the form [notebook.]name=value")
    key, value = (part.strip() for part in text.split("=", 1))
    notebook, _, name = key.rpartition(".")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return (notebook or None), name, parsed


def notebook_parameters(
    profile: Profile,
    notebook: str,
    declared: dict[str, Any],
    overrides: list[str] = (),
) -> dict[str, Any]:
    """The parameters one notebook gets: common ones it declares, its own section, overrides.

    `declared` maps the notebook's parameter names to their defaults (from papermill's
    `inspect_notebook`). A name in the notebook's own section or a targeted override that
    the notebook does not declare is an error listing the valid names.
    """
    def check(name: str, origin: str) -> None:
        if name not in declared:
            raise ProfileError(
                f"{origin}: {notebook} has no parameter {name!r}; valid: {', '.join(sorted(declared))}"
            )

    params = {"profile": profile.name} if "profile" in declared else {}
    params.update({k: v for k, v in profile.common.items() if k in declared})
    for name, value in profile.notebooks.get(notebook, {}).items():
        check(name, f"profile {profile.name!r}")
        params[name] = value
    for text in overrides:
        target, name, value = parse_override(text)
        if target is None:
            if name in declared:
                params[name] = value
        elif target == notebook:
            check(name, f"override {text!r}")
            params[name] = value
    return params


def check_overrides(overrides: list[str], declared_by_notebook: dict[str, dict[str, Any]]) -> None:
    """Every override must name a known notebook and a parameter that some notebook declares."""
    for text in overrides:
        target, name, _ = parse_override(text)
        if target is not None and target not in declared_by_notebook:
            raise ProfileError(
                f"override {text!r}: unknown notebook {target!r}; valid: {', '.join(declared_by_notebook)}"
            )
        scope = [declared_by_notebook[target]] if target else declared_by_notebook.values()
        if not any(name in declared for declared in scope):
            valid = sorted({n for d in scope for n in d})
            raise ProfileError(f"override {text!r}: no notebook has parameter {name!r}; valid: {', '.join(valid)}")
