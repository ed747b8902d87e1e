"""Grading against gold answers and the 95% intervals."""

import math

import pytest

from casestudy.distiller.grading import accuracy_table, chance_level, grade, normalize, proportion_ci


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


def test_intervals_match_known_values():
    lo, hi = proportion_ci(8, 10, "wilson")
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    lo, hi = proportion_ci(0, 10, "exact")
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-6)
    assert all(math.isnan(v) for v in proportion_ci(0, 0))


def test_accuracy_table_groups_and_adds_all():
    rows = [{"model": "a", "family": "sentiment", "correct": c} for c in (True, True, False)]
    rows += [{"model": "a", "family": "factual", "correct": False}, {"model": "a", "family": "x", "correct": None}]
    t = accuracy_table(rows).set_index("family")
    assert t.loc["sentiment", "accuracy"] == pytest.approx(2 / 3) and t.loc["sentiment", "n"] == 3
    assert t.loc["all", "n"] == 4 and t.loc["all", "correct"] == 2
    assert t.loc["sentiment", "ci_low"] < 2 / 3 < t.loc["sentiment", "ci_high"]
    assert "x" not in t.index and normalize("  Hello,  World! ") == "hello world"
