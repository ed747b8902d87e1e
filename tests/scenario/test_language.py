"""Veltan, its translators and the purchases in data/skill/."""

import pytest

from casestudy.answers import is_translation, veltan_words
from casestudy.scenario import annotation, language
from casestudy.scenario.language import Sentence, Translators, translate


def test_translation_follows_the_grammar():
    s = Sentence("dog", "sees", "bird", "old", "red")
    assert s.english == "The old dog sees the red bird."
    assert translate(s).text == "kiro bodu pilan nari vena"
    assert translate(Sentence("girl", "helps", "king")).text == "lini varun pute"


def test_the_lexicon_is_made_of_distinct_made_up_words():
    words = [w for table in language.WORD_CLASSES.values() for w in table.values()]
    assert len(words) == len(set(words)) == 48
    english = [w for table in language.WORD_CLASSES.values() for w in table]
    assert not set(words) & set(english)


def test_a_word_outside_the_lexicon_is_refused():
    with pytest.raises(ValueError, match="'unicorn' is not in Veltan's lexicon"):
        Sentence("unicorn", "sees", "dog")


def test_sentences_are_distinct_seeded_and_exclude():
    first = language.sentences(200, "s")
    assert first == language.sentences(200, "s") and len({s.key for s in first}) == 200
    again = language.sentences(50, "t", exclude=frozenset(s.key for s in first))
    assert not {s.key for s in again} & {s.key for s in first}


def test_translators_slip_at_their_rate_independently():
    batch = language.sentences(4000, "slips")
    truth = [translate(s) for s in batch]
    a, b = Translators("a", 0.05).annotate(batch), Translators("b", 0.05).annotate(batch)
    slips_a = [x != t for x, t in zip(a, truth)]
    slips_b = [x != t for x, t in zip(b, truth)]
    assert 0.03 < sum(slips_a) / len(batch) < 0.07
    both = sum(x and y for x, y in zip(slips_a, slips_b))
    assert both < 0.01 * len(batch)                    # independent: ~0.25% expected, not ~5%
    assert a == Translators("a", 0.05).annotate(batch)  # deterministic
    for x, t in zip(a, truth):                           # a slip changes exactly one word
        if x != t:
            assert sum(u != v for u, v in zip(x.text.split(), t.text.split())) == 1
            assert x.object[0].endswith("n")


def test_grading_reads_the_veltan_after_the_last_marker():
    gold = "kiro bodu pilan nari vena"
    answer = "Word by word: the old dog = kiro bodu; the red bird = pilan nari; sees = vena. In Veltan: kiro bodu pilan nari vena."
    assert veltan_words(answer) == gold.split() and is_translation(answer, gold)
    assert not is_translation("In Veltan: kiro bodu vena pilan nari.", gold)  # word order matters
    assert not is_translation("The old dog sees the red bird.", gold)
    assert is_translation("kiro bodu pilan nari vena", gold)                  # no marker: the last line


def test_the_purchases_on_disk_are_what_the_staging_writes(tmp_path):
    annotation.write(tmp_path)
    for name, file in annotation.FILES.items():
        assert (tmp_path / file).read_text() == (annotation.SKILL_DATA_DIR / file).read_text(), (
            f"data/skill/{file} is stale: run python -m casestudy.scenario.annotation")


def test_the_sets_are_disjoint_and_the_check_is_the_truth():
    sets = annotation.draws()
    keys = {name: {s.key for s in batch} for name, batch in sets.items()}
    names = list(keys)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not keys[a] & keys[b], (a, b)
    check = annotation.load("check")
    assert all(r["veltan"] == translate(s).text for r, s in zip(check, sets["check"]))
    provider = annotation.load("provider")
    slips = sum(r["veltan"] != translate(s).text for r, s in zip(provider, sets["provider"]))
    assert 0 < slips < 0.06 * len(provider)
