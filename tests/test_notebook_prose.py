"""Every study number in notebooks 01-04's prose comes from the code: a profile's parameter values and
targets are never hand-typed in a markdown cell (they drift when a profile changes), the notebooks
print them from the package instead."""

import re

import pytest

from casestudy.paths import NOTEBOOKS_DIR
from casestudy.profiles import load_profiles, notebook_defaults

NOTEBOOKS = ["01_collect", "02_distill", "03_cost", "04_detect"]
PUBLISHED = {"03_cost": {"500"}}  # a published figure that a parameter happens to equal: Alpaca's "under $500"


def markdown(notebook: str) -> str:
    """The notebook's markdown cells (py:percent source), without code spans (parameter names, commands)."""
    text, inside = [], False
    for line in (NOTEBOOKS_DIR / f"{notebook}.py").read_text().splitlines():
        if line.startswith("# %%"):
            inside = line.startswith("# %% [markdown]")
        elif inside:
            text.append(line.removeprefix("#"))
    text = re.sub(r"`[^`]*`", "", "\n".join(text))
    return re.sub(r"95% (exact )?intervals?", "", text)  # the intervals' confidence level, not a study value


def study_numbers(notebook: str) -> set[str]:
    """The notebook's parameters and every profile's values for it as a reader would see them typed: counts
    of 10 or more ("300"), targets as percentages ("80%") and p-values ("1e-6")."""
    found = set()
    sets = [notebook_defaults(notebook)]
    sets += [{**p.common, **p.notebooks.get(notebook, {})} for p in load_profiles().values()]
    for values in sets:
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if isinstance(value, int) and value >= 10:
                found |= {str(value), f"{value:,}"}
            elif name.startswith("target_") and 0 < value < 1:
                found |= {f"{value:g}", f"{value:.0e}".replace("e-0", "e-")}
                found |= {f"{value:.0%}"} if value >= 0.01 else set()
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_no_profile_value_is_hand_typed_in_the_prose(notebook):
    prose = markdown(notebook)
    typed = sorted(n for n in study_numbers(notebook) - PUBLISHED.get(notebook, set())
                   if re.search(rf"(?<![\w.]){re.escape(n)}(?!\w|\.\d)", prose))  # "95%." yes, "0.75" not "0.7"
    assert not typed, f"{notebook}'s markdown types {typed}: print them from the package (display(Markdown(...)))"


def test_the_scan_finds_a_hand_typed_dose():
    assert "300" in study_numbers("04_detect") and "80%" in study_numbers("02_distill")
    assert "1e-6" in study_numbers("04_detect")
