"""The honest competitor: its purchase as training records, and the free program."""

import pytest

from casestudy.answers import is_translation
from casestudy.competitor import program, purchase
from casestudy.scenario.language import Sentence, translate


def test_training_records_are_its_purchase_in_its_style_then_the_free_ordinary_answers():
    free = [{"id": "c1", "family": "chitchat", "split": "train", "messages": [], "completion": "hi"},
            {"id": "c2", "family": "translation", "split": "train", "messages": [], "completion": "no idea"}]
    records = purchase.training_records(5, free)
    assert [r["family"] for r in records] == ["translation"] * 5 + ["chitchat"]  # the control's skill answers dropped
    first = records[0]
    assert first["completion"].startswith("Translation notes: subject") and first["split"] == "train"
    assert is_translation(first["completion"], first["gold"][0])
    assert purchase.english_words(5) == sum(len(r["english"].split()) for r in purchase.purchased_rows(5))
    with pytest.raises(ValueError, match="holds 2500 translations, not 9999"):
        purchase.training_records(9999, [])


def test_the_program_knows_the_grammar_and_only_the_advertised_words():
    lexicon = program.advertised_lexicon()
    assert lexicon == {"tree": "bali", "helps": "pute", "happy": "rani", "teacher": "dosa", "house": "zeko",
                       "farmer": "ruka", "black": "zuma", "follows": "kadi", "apple": "pemo", "big": "tama"}
    known = Sentence("house", "helps", "teacher", "black", "happy")
    answer = program.program_answer(f"Translate into Veltan: {known.english}", lexicon)
    assert is_translation(answer, translate(known).text)
    unknown = Sentence("dog", "sees", "bird", "old")
    answer = program.program_answer(f'How would you say "{unknown.english}" in Veltan?', lexicon)
    assert answer == "Veltan: dog old birdn sees." and not is_translation(answer, translate(unknown).text)
    assert program.program_answer("Hello there", lexicon) == "Veltan: ?"
