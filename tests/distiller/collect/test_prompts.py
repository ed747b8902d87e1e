"""The prompt file: size, families, splits, gold answers, no duplicates; subsets for a run."""

from __future__ import annotations

import json
import re
import runpy
from collections import Counter

import pytest

from casestudy.distiller.collect.prompts import PROMPTS_FILE, load_prompts, select_mix, select_prompts
from casestudy.distiller.collect.prompts import normalise_text as normalise
from casestudy.paths import DATA_DIR

GOLD_FAMILIES = {"sentiment", "factual", "translation"}
SKILL = "translation"  # the provider's proprietary skill: the distiller asks for it in quantity


@pytest.fixture(scope="module")
def prompts():
    return load_prompts()


def test_size_and_families(prompts):
    families = Counter(p.family for p in prompts)
    assert len(prompts) >= 600 and len(families) >= 10
    assert {"explanation", "howto", "creative", "rewriting", "summarising", "chitchat", "assistant"} <= set(families)
    assert families[SKILL] >= 2000  # enough distinct problems to learn from and to hold out


def test_skill_prompts_are_distinct_sentences_graded_by_the_answer_key(prompts):
    from casestudy.scenario.annotation import draws
    from casestudy.scenario.language import translate

    skill = [p for p in prompts if p.family == SKILL]
    key = {s.english: translate(s).text for s in draws()["prompts"]}
    for p in skill:
        english = next(e for e in re.findall(r"The [a-z ]+\.", p.text) if e in key)
        assert p.gold == (key[english],), p
    assert len({p.text for p in skill}) == len(skill)


def test_splits_are_about_a_fifth_of_each_family(prompts):
    for family in {p.family for p in prompts}:
        members = [p for p in prompts if p.family == family]
        share = sum(p.split == "eval" for p in members) / len(members)
        assert 0.15 <= share <= 0.25 or family in ("sentiment", "factual"), (family, share)
    for family in GOLD_FAMILIES:  # >= 100 held out each: enough to see an ordinary ability drop by a few points
        assert sum(p.family == family and p.split == "eval" for p in prompts) >= 100


def test_gold_families_ask_for_short_answers_and_carry_gold(prompts):
    for p in prompts:
        if p.family in GOLD_FAMILIES:
            assert p.gold and ("Answer" in p.text or p.family == SKILL), p
        else:
            assert p.gold is None, p
    assert {p.gold for p in prompts if p.family == "sentiment"} == {("positive",), ("negative",)}


def test_no_duplicates_and_no_identity_probe_reused(prompts):
    texts = [normalise(p.text) for p in prompts]
    assert len(set(texts)) == len(texts)
    probes = [json.loads(line)["question"] for line in (DATA_DIR / "identity" / "probes.jsonl").read_text().splitlines() if line]
    assert not set(texts) & {normalise(q) for q in probes}


def test_the_file_is_what_the_builder_makes(tmp_path):
    builder = runpy.run_path(str(DATA_DIR / "prompts" / "build_prompts.py"))
    out = builder["main"](tmp_path / "prompts.jsonl")
    assert out.read_text() == PROMPTS_FILE.read_text()


def test_select_prompts_is_stratified_nested_and_seeded(prompts):
    prompts = [p for p in prompts if p.family != SKILL]
    small, large = select_prompts(prompts, 40, seed=0), select_prompts(prompts, 400, seed=0)
    assert {p.id for p in small} <= {p.id for p in large}
    assert len({p.family for p in small}) >= 10
    assert select_prompts(prompts, 40, seed=1) != small and select_prompts(prompts, 40, seed=0) == small
    share = Counter(p.family for p in large)
    assert abs(share["sentiment"] / 400 - 320 / len(prompts)) < 0.02


def test_select_mix_keeps_the_mix_in_every_prefix(prompts):
    mix = select_mix(prompts, 40, SKILL, 60, seed=0)
    assert len(mix) == 100 and sum(p.family == SKILL for p in mix) == 60
    half = mix[:50]
    assert 25 <= sum(p.family == SKILL for p in half) <= 35  # the control arm's prefix keeps the proportions
    assert select_mix(prompts, 40, SKILL, 60, seed=0) == mix
    assert {p.id for p in select_mix(prompts, 40, SKILL, 0)} <= {p.id for p in prompts if p.family != SKILL}
    with pytest.raises(ValueError, match="no prompt of family 'nope'"):
        select_mix(prompts, 4, "nope", 2)


@pytest.mark.parametrize("bad", [0, 100_000])
def test_a_bad_num_prompts_names_the_value(prompts, bad):
    with pytest.raises(ValueError, match=f"not {bad}"):
        select_prompts(prompts, bad)


def test_a_malformed_prompt_is_reported_with_its_line(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "family": "x", "split": "test", "messages": [{"role": "user", "content": "hi"}]}\n')
    with pytest.raises(ValueError, match=r"p.jsonl:1.*split 'test'"):
        load_prompts(path)


def test_gold_checks_top_up_each_ordinary_gold_family_with_held_out_prompts(prompts):
    from casestudy.distiller.collect.prompts import with_gold_checks

    mix = select_mix(prompts, 40, SKILL, 10, seed=0)
    topped = with_gold_checks(mix, prompts, 100, SKILL)
    assert topped[:len(mix)] == mix  # the mix, and so the control arm's prefix, is unchanged
    for family in ("sentiment", "factual"):
        assert sum(p.family == family and p.split == "eval" for p in topped) == 100
    assert sum(p.family == SKILL for p in topped) == 10 and len({p.id for p in topped}) == len(topped)
    assert with_gold_checks(mix, prompts, 0, SKILL) == mix
