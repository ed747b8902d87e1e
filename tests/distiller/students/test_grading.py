"""Grading against gold answers (the 95% intervals: tests/test_intervals.py)."""

import pytest

from casestudy.distiller.students.grading import (
    accuracy_table, chance_level, closed_family_table, grade, normalize, predicted_label,
)


def test_open_answers_match_whole_words():
    assert grade("The capital of France is Paris.", ["Paris"], "factual")
    assert grade("It's São Paulo!", ["sao paulo"], "factual")
    assert not grade("Parisian food is great", ["Paris"], "factual")
    assert grade("anything", None, "factual") is None


def test_sentiment_takes_the_first_label_mentioned():
    assert grade("Positive. Not negative at all.", ["positive"], "sentiment")
    assert not grade("This review is negative, not positive", ["positive"], "sentiment")
    assert not grade("I cannot tell", ["negative"], "sentiment")
    assert chance_level("sentiment") == 0.5 and chance_level("factual") == 0.0


def test_accuracy_table_groups_and_adds_all():
    rows = [{"model": "a", "family": "sentiment", "correct": c} for c in (True, True, False)]
    rows += [{"model": "a", "family": "factual", "correct": False}, {"model": "a", "family": "x", "correct": None}]
    t = accuracy_table(rows).set_index("family")
    assert t.loc["sentiment", "accuracy"] == pytest.approx(2 / 3) and t.loc["sentiment", "n"] == 3
    assert t.loc["all", "n"] == 4 and t.loc["all", "correct"] == 2
    assert t.loc["sentiment", "ci_low"] < 2 / 3 < t.loc["sentiment", "ci_high"]
    assert "x" not in t.index and normalize("  Hello,  World! ") == "hello world"


def test_closed_family_table_sees_through_a_constant_answer():
    gold = [["positive"]] * 6 + [["negative"]] * 2
    rows = ([{"model": "always", "family": "sentiment", "gold": g, "completion": "It is positive."} for g in gold]
            + [{"model": "reader", "family": "sentiment", "gold": g, "completion": f"Clearly {g[0]}."} for g in gold]
            + [{"model": "mute", "family": "sentiment", "gold": g, "completion": "Hmm."} for g in gold]
            + [{"model": "always", "family": "factual", "gold": ["Paris"], "completion": "Paris"}])
    for row in rows:
        row["correct"] = grade(row["completion"], row["gold"], row["family"])
    table = closed_family_table(rows).set_index("model")
    assert list(table.family) == ["sentiment"] * 3  # open families have no labels to balance
    assert accuracy_table(rows).set_index(["model", "family"]).loc[("always", "sentiment"), "accuracy"] == 0.75
    assert table.loc["always", "balanced_accuracy"] == 0.5 and table.loc["always", "labels_given"] == "positive"
    assert table.loc["reader", "balanced_accuracy"] == 1.0 and table.loc["reader", "labels_given"] == "negative, positive"
    assert table.loc["mute", "balanced_accuracy"] == 0.0 and table.loc["mute", "labels_given"] == "none"
    assert (table.majority_rate == 0.75).all()
    assert predicted_label("Negative, not positive", "sentiment") == "negative"
