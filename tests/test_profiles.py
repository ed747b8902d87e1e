"""Profiles are data; bad names are errors that list the valid ones."""

import re

import pytest

from casestudy.profiles import (PROFILES_FILE, Profile, ProfileError, check_overrides, get_profile, load_profiles,
                                notebook_defaults, notebook_parameters, parse_override)
from casestudy.report.runner import declared_parameters, list_notebooks


def test_the_three_profiles_exist():
    assert {"smoke", "workshop", "full"} <= set(load_profiles())


def test_a_profile_extends_an_earlier_one_value_by_value(tmp_path):
    path = tmp_path / "profiles.toml"
    path.write_text('[a]\n[a.common]\nseed = 1\n[a.nb]\nx = 1\ny = 2\n'
                    '[b]\nextends = "a"\n[b.nb]\ny = 3\n[b.other]\nz = 4\n')
    a, b = load_profiles(path)["a"], load_profiles(path)["b"]
    assert b.common == {"seed": 1} and b.notebooks == {"nb": {"x": 1, "y": 3}, "other": {"z": 4}}
    assert a.notebooks == {"nb": {"x": 1, "y": 2}}  # the base is not changed
    path.write_text('[b]\nextends = "a"\n[a]\n')
    with pytest.raises(ProfileError, match="extends 'a', which is not defined above it"):
        load_profiles(path)


def test_the_gpu_profile_is_the_workshops_collection_with_the_full_students():
    workshop, gpu, full = (get_profile(name) for name in ("workshop", "gpu", "full"))
    assert {k: v for k, v in gpu.notebooks["01_collect"].items() if k != "source"} == workshop.notebooks["01_collect"]
    assert gpu.notebooks["04_detect"] == workshop.notebooks["04_detect"]
    for name in ("size_curve", "curve_controls", "scratch_size", "train_layers", "target_share"):
        assert gpu.notebooks["02_distill"][name] == full.notebooks["02_distill"][name]


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ProfileError, match="valid profiles: smoke, workshop, full"):
        get_profile("huge")


def test_every_profile_key_is_a_parameter_of_its_notebook():
    declared = {nb.stem: declared_parameters(nb) for nb in list_notebooks()}
    for profile in load_profiles().values():
        assert set(profile.notebooks) <= set(declared), f"{profile.name} names an unknown notebook"
        for notebook, params in declared.items():
            notebook_parameters(profile, notebook, params)  # raises on an unknown key


def test_smoke_is_the_notebooks_own_parameters():
    """So that "Run all" in JupyterLab, nbval and `--profile smoke` run the same thing."""
    smoke = get_profile("smoke")
    assert not smoke.common and not smoke.notebooks
    for nb in list_notebooks():
        assert notebook_parameters(smoke, nb.stem, declared_parameters(nb)) in ({}, {"profile": "smoke"})


def test_profiles_list_only_what_they_change():
    for profile in load_profiles().values():
        for notebook, params in profile.notebooks.items():
            defaults = notebook_defaults(notebook)
            same = {k: v for k, v in params.items() if defaults.get(k) == v}
            assert not same, f"{profile.name}.{notebook} repeats the notebook's defaults: {same}"


def test_every_value_carries_its_reason():
    """As nanoGPT's config files do: a short reason beside each value."""
    section = None
    for number, line in enumerate(PROFILES_FILE.read_text().splitlines(), 1):
        if line.startswith("["):
            section = line
        elif re.match(r"^\w+\s*=", line) and not line.startswith("description"):
            assert "#" in line, f"profiles.toml:{number} ({section}) has no reason: {line!r}"


def test_targets_are_profile_values():
    assert notebook_defaults("02_distill")["target_share"] is None  # smoke: no target
    assert get_profile("workshop").notebooks["02_distill"]["target_share"] == 0.8
    assert get_profile("full").notebooks["02_distill"]["target_share"] == 0.95
    assert notebook_defaults("04_detect")["target_p"] == 1e-6  # every profile: the radioactivity target


def test_unknown_parameter_in_a_profile_is_an_error():
    profile = Profile("p", "", notebooks={"01_collect": {"num_promts": 3}})
    with pytest.raises(ProfileError, match=r"no parameter 'num_promts'; valid: num_prompts, seed"):
        notebook_parameters(profile, "01_collect", {"num_prompts": "1", "seed": "0"})


@pytest.mark.parametrize("text, expected", [
    ("02_distill.max_steps=50", ("02_distill", "max_steps", 50)),
    ("seed=3", (None, "seed", 3)),
    ("01_collect.teacher=HuggingFaceTB/SmolLM2-360M-Instruct", ("01_collect", "teacher", "HuggingFaceTB/SmolLM2-360M-Instruct")),
    ("03_cost.gpu_hour_usd=2.5", ("03_cost", "gpu_hour_usd", 2.5)),
    ('01_collect.teacher="embedded"', ("01_collect", "teacher", "embedded")),
    ("04_detect.families=['a','b']", ("04_detect", "families", ["a", "b"])),
])
def test_override_values_are_toml_literals_or_strings(text, expected):
    assert parse_override(text) == expected


def test_overrides_reach_only_their_notebook():
    profile = Profile("p", "", common={"seed": 0}, notebooks={"a": {"x": 1}})
    declared = {"a": {"x": "1", "seed": "0"}, "b": {"seed": "0", "y": "2"}}
    overrides = ["a.x=5", "seed=7"]
    check_overrides(overrides, declared)
    assert notebook_parameters(profile, "a", declared["a"], overrides) == {"x": 5, "seed": 7}
    assert notebook_parameters(profile, "b", declared["b"], overrides) == {"seed": 7}


@pytest.mark.parametrize("override, message", [
    ("c.x=1", "unknown notebook 'c'"),
    ("a.y=1", "no notebook has parameter 'y'"),
    ("zzz=1", "no notebook has parameter 'zzz'"),
    ("novalue", "is not of the form"),
])
def test_bad_overrides_are_errors(override, message):
    with pytest.raises(ProfileError, match=message):
        check_overrides([override], {"a": {"x": "1"}, "b": {"y": "2"}})


@pytest.mark.parametrize("name", sorted(load_profiles()))
def test_every_profile_builds_each_stages_params(name):
    """Each stage's Params checks every profile's values (names and ranges) without running anything."""
    from casestudy.stages import check_parameters, params_class

    profile = get_profile(name)
    for nb in list_notebooks():
        values = {**notebook_defaults(nb.stem), **notebook_parameters(profile, nb.stem, declared_parameters(nb))}
        check_parameters(nb.stem, values)
        cls = params_class(nb.stem)
        if cls is not None:
            assert set(cls.__dataclass_fields__) == set(values), f"{nb.stem}'s Params and parameters cell differ"


def test_a_bad_value_in_an_override_fails_before_any_notebook_runs(tmp_path):
    from casestudy.report.runner import run_notebooks

    with pytest.raises(ValueError, match="topk_alpha must be in"):
        run_notebooks(get_profile("smoke"), tmp_path / "report", overrides=["02_distill.topk_alpha=2.0"])
    assert not (tmp_path / "report" / "00_story.ipynb").exists()
