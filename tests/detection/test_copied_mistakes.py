"""Copied mistakes: fresh probes, the teacher's mistakes in both units, the copies, Fisher's test,
and its calibration on synthetic models whose truth is known (one copied the teacher, one did not)."""

import random

import numpy as np
import pytest
from scipy import stats

from casestudy.detection import copied_mistakes as cm

# A toy grammar: "The <noun> runs." -> "<word>"; the key is the noun's word.
LEXICON = {"dog": "kiro", "cat": "mesu", "bird": "pila", "fish": "toku", "horse": "vadi"}
TEMPLATES = ("Translate into Veltan: {x}", 'What is the Veltan for "{x}"?')


def toy_draw(rng: random.Random) -> tuple[str, str]:
    noun, other = rng.sample(sorted(LEXICON), 2)
    return f"The {noun} sees the {other}.", f"{LEXICON[noun]} {LEXICON[other]}n vena"


def probe(key: str) -> cm.Probe:
    return cm.Probe("The dog sees the cat.", "Translate into Veltan: The dog sees the cat.", key)


def test_the_sentence_and_the_phrasings_of_skill_prompts():
    prompts = ["Translate into Veltan: The old dog sees the red bird.",
               'How would you say "The cat holds the fish." in Veltan?',
               "Translate into Veltan: The cat likes the dog."]
    assert cm.english_sentence(prompts[1]) == "The cat holds the fish."
    assert cm.skill_templates(prompts) == ('How would you say "{x}" in Veltan?', "Translate into Veltan: {x}")
    with pytest.raises(ValueError, match="expected one English sentence"):
        cm.english_sentence("Translate this please.")


def test_the_repository_skill_prompts_have_six_phrasings_and_every_used_sentence_is_known():
    templates = cm.skill_templates(cm.skill_prompts())
    assert len(templates) == 6 and all(t.count("{x}") == 1 for t in templates)
    used = cm.used_sentences()
    assert len(used) == 2500 + 1600 + 200 + 2500 + 3   # prompts, provider, check, competitor, advertised


def test_fresh_probes_are_distinct_seeded_and_avoid_the_excluded_sentences():
    exclude = frozenset({"The dog sees the cat.", "The cat sees the dog."})
    probes = cm.fresh_probes(10, 1, toy_draw, TEMPLATES, exclude)
    assert len({p.english for p in probes}) == 10 and not exclude & {p.english for p in probes}
    assert all(p.prompt in {t.format(x=p.english) for t in TEMPLATES} for p in probes)
    assert probes == cm.fresh_probes(10, 1, toy_draw, TEMPLATES, exclude)
    assert probes != cm.fresh_probes(10, 2, toy_draw, TEMPLATES, exclude)
    assert probes[0].messages == [{"role": "user", "content": probes[0].prompt}]
    with pytest.raises(ValueError, match="only 20 fresh sentences"):   # 5 x 4 ordered pairs exist
        cm.fresh_probes(21, 1, toy_draw, TEMPLATES, max_draws=10_000)


def test_the_teacher_mistakes_in_both_units():
    probes = [probe("kiro mesun vena"), probe("kiro mesun vena"), probe("kiro mesun vena"), probe("kiro mesun vena")]
    teacher = ["Word by word: ... In Veltan: kiro mesun vena.",       # right: no item
               "In Veltan: kiro mesu vena.",                          # one wrong word
               "Veltan: toku mesu vena",                              # two wrong words
               "In Veltan: kiro vena."]                               # shorter than the key: answer item only
    found = cm.mistakes(probes, teacher)
    assert [(m.probe, m.unit, m.position, m.wrong) for m in found] == [
        (1, "answer", -1, "kiro mesu vena"), (1, "word", 1, "mesu"),
        (2, "answer", -1, "toku mesu vena"), (2, "word", 0, "toku"), (2, "word", 1, "mesu"),
        (3, "answer", -1, "kiro vena")]
    assert cm.mistakes([probe("kiro")], ["I cannot translate that."]) == []    # no translation stated
    assert cm.mistakes([probe("kiro")], ["Veltan: The dog sees the cat."]) == []   # the question echoed
    assert cm.mistakes([probe("kiro")], ["Veltan: kiro mesu"])[0].wrong == "kiro mesu"
    assert cm.mistakes([probe("kiro")], [""]) == []    # no Veltan at all: nothing to copy
    with pytest.raises(ValueError, match="2 probes but 1"):
        cm.mistakes(probes[:2], teacher[:1])


def test_a_copy_repeats_the_whole_answer_or_the_word_in_the_same_position():
    [answer, word] = cm.mistakes([probe("kiro mesun vena")], ["In Veltan: kiro mesu vena."])
    assert cm.repeats(answer, "Translation notes: ... Veltan: Kiro mesu vena!")
    assert not cm.repeats(answer, "In Veltan: kiro mesun vena.")
    assert cm.repeats(word, "In Veltan: toku mesu vena.")                 # another error elsewhere: the word copied
    assert not cm.repeats(word, "In Veltan: mesu kiro vena.")             # the word elsewhere
    assert not cm.repeats(word, "In Veltan: kiro mesu bodu vena.")        # not aligned with the key
    assert not cm.repeats(word, "I do not know.")
    c = cm.copies("s", [answer, word], {0: "In Veltan: toku mesu vena."}, "word")
    assert (c.items, c.hits, c.rate, c.probes) == (1, 1, 1.0, (0,))
    assert cm.copies("s", [answer, word], ["In Veltan: toku mesu vena."], "answer").hits == 0
    with pytest.raises(ValueError, match="unit must be one of"):
        cm.copies("s", [answer], ["x"], "sentence")


def test_fisher_p_is_scipy_one_sided_exact_test():
    suspect = cm.Copies("s", "answer", tuple(range(20)), (True,) * 14 + (False,) * 6)
    competitor = cm.Copies("c", "answer", tuple(range(20)), (True,) * 2 + (False,) * 18)
    assert cm.fisher_p(suspect, competitor) == pytest.approx(
        stats.fisher_exact([[14, 6], [2, 18]], alternative="greater").pvalue)
    assert cm.fisher_p(competitor, suspect) > 0.99
    assert cm.fisher_p(cm.Copies("e", "answer", (), ()), competitor) == 1.0


def test_the_vectorised_half_test_is_fishers():
    for a, n, hits, items in [(3, 10, 5, 20), (0, 7, 2, 15), (6, 6, 6, 12)]:
        ours = cm._half_p(np.array([a]), np.array([n]), hits, items)[0]
        theirs = stats.fisher_exact([[a, n - a], [hits - a, items - n - (hits - a)]], alternative="greater").pvalue
        assert ours == pytest.approx(theirs)


def synthetic(model: str, copy_rate: float, probes: int, words: int, cluster: bool, seed: int) -> cm.Copies:
    """A model's copies of `words` items per probe: independent items, or all of a probe's together."""
    rng = np.random.default_rng(seed)
    per_probe = rng.random(probes) < copy_rate
    copied = np.repeat(per_probe, words) if cluster else rng.random(probes * words) < copy_rate
    return cm.Copies(model, "word", tuple(np.repeat(np.arange(probes), words).tolist()), tuple(bool(x) for x in copied))


def test_the_test_convicts_a_model_that_copied_and_clears_one_that_did_not():
    # the truth is known: the distilled model repeats 70% of the teacher's mistakes, the honest
    # competitor 5% (shared by chance or by the base model), the skill-less models none
    models = {"distilled": synthetic("distilled", 0.7, 60, 1, False, 1),
              "competitor": synthetic("competitor", 0.05, 60, 1, False, 2),
              "control": synthetic("control", 0.0, 60, 1, False, 3),
              "public": synthetic("public", 0.0, 60, 1, False, 4)}
    results = {r.model: r for r in cm.compare(models, "competitor", ["control", "public"])}
    assert results["distilled"].p_vs_reference < 1e-6
    assert results["control"].p_vs_reference == 1.0 and np.isnan(results["competitor"].p_vs_reference)
    assert np.isnan(results["control"].p_vs_skill_less) and results["competitor"].p_vs_skill_less < 0.05
    assert cm.convicts(list(results.values()), "distilled", ["competitor", "control", "public"])
    assert not cm.convicts(list(results.values()), "competitor", ["control", "public"])   # its p is nan: no
    # an honest model below alpha blocks every conviction
    flagged = [cm.Result("control", "word", 60, 30, 0.5, 1e-3, float("nan")), results["distilled"]]
    assert not cm.convicts(flagged, "distilled", ["control"])


def test_split_half_holds_alpha_for_independent_items_and_shows_clustering():
    independent = cm.split_half(synthetic("i", 0.3, 200, 3, False, 5), splits=4000, seed=1, alpha=0.05)
    assert independent.item_share <= 0.05 + 0.01 and independent.cluster_share <= 0.05 + 0.015
    clustered = cm.split_half(synthetic("c", 0.3, 200, 3, True, 6), splits=4000, seed=1, alpha=0.05)
    assert clustered.item_share <= 0.05 + 0.01
    assert clustered.cluster_share > 2 * 0.05     # three items copied together: the item-level test is too bold
    none = cm.split_half(cm.Copies("n", "word", (0, 0, 1), (False, False, False)), splits=10)
    assert (none.cluster_share, none.item_share) == (0.0, 0.0)
    assert np.isnan(cm.split_half(cm.Copies("one", "word", (0,), (True,))).cluster_share)


def test_design_effect_is_one_for_independent_items_and_larger_for_clusters():
    assert cm.design_effect(synthetic("i", 0.3, 400, 1, False, 7)) == pytest.approx(1.0, abs=0.15)
    assert cm.design_effect(synthetic("c", 0.3, 400, 3, True, 8)) == pytest.approx(3.0, rel=0.2)
    assert np.isnan(cm.design_effect(cm.Copies("z", "word", (0, 1), (False, False))))


def test_pooled_needs_one_unit():
    a = cm.Copies("a", "word", (0,), (True,))
    assert cm.pooled("ab", [a, a]).items == 2
    with pytest.raises(ValueError, match="share a unit"):
        cm.pooled("ab", [a, cm.Copies("b", "answer", (0,), (True,))])


def test_clusters_by_a_label_across_probes():
    # six probes, the same mistranslated word in probes 0-2 copied together: clustered by word, not by probe
    c = cm.Copies("m", "word", (0, 1, 2, 3, 4, 5), (True, True, True, False, True, False))
    hits, items = cm._clusters(c, ["toku", "toku", "toku", "kiro", "mesu", "pila"])
    assert (hits.tolist(), items.tolist()) == ([3, 0, 1, 0], [3, 1, 1, 1])
    with pytest.raises(ValueError, match="2 group labels for 6 items"):
        cm.split_half(c, groups=["a", "b"])
    clustered = synthetic("c", 0.3, 200, 3, True, 9)
    as_probes = cm.split_half(clustered, splits=2000, seed=2, alpha=0.05)
    by_label = cm.split_half(clustered, splits=2000, seed=2, alpha=0.05, groups=list(clustered.probes))
    assert as_probes == by_label


def test_lexical_groups_name_the_key_words_the_teacher_got_wrong():
    items = cm.mistakes([probe("kiro mesun vena"), probe("kiro mesun vena")],
                        ["In Veltan: toku mesu vena.", "In Veltan: kiro vena."])
    assert cm.lexical_groups(items, "word") == ["kiro", "mesun"]
    assert cm.lexical_groups(items, "answer") == ["kiro mesun", "mesun"]
    doubled = cm.mistakes([probe("kiro mesun vena")], ["In Veltan: kiro mesun mesun vena."])
    assert cm.lexical_groups(doubled, "answer") == ["+mesun"]     # nothing missing: the word it adds


def test_by_cluster_makes_one_item_of_each_cluster():
    c = cm.Copies("m", "word", (0, 1, 2, 3, 4), (True, True, False, False, True))
    clustered = cm.by_cluster(c, ["suta", "suta", "suta", "kiro", "pemo"])
    assert (clustered.unit, clustered.items, clustered.copied) == ("word-cluster", 3, (True, False, True))
