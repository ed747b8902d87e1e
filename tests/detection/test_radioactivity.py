"""Radioactivity scoring: de-duplication and prompt skipping by hand, exact p-values, keys."""

import numpy as np
import pytest
from scipy import stats

from casestudy.detection.radioactivity import (PairScorer, RadioactivityScore, binomial_p_value, calibration,
                                               distinct_pairs, p_values_by_queries, wrong_key_p_values)
from casestudy.provider.settings import WatermarkSettings
from casestudy.provider.watermark import GreenScorer

VOCAB = 1000


def test_pairs_are_counted_once_and_prompt_pairs_are_skipped():
    prompts = [[1, 2, 3], [9, 9]]
    completions = [[1, 2, 4, 1, 2, 4], [4, 1, 2, 9, 9, 5]]
    # completion 1 pairs: (1,2) in its prompt -> skipped; (2,4); (4,1); (1,2) skipped; (2,4) dup
    # completion 2 pairs: (4,1) dup; (1,2) new here (not in this prompt); (2,9); (9,9) in prompt; (9,5)
    expected = [((2,), 4), ((4,), 1), ((1,), 2), ((2,), 9), ((9,), 5)]
    assert distinct_pairs(completions, prompts, width=1) == expected


def test_two_token_contexts():
    assert distinct_pairs([[1, 2, 3, 1, 2, 3]], [[]], width=2) == [((1, 2), 3), ((2, 3), 1), ((3, 1), 2)]


@pytest.mark.parametrize("green, scored, gamma", [(0, 10, 0.25), (3, 10, 0.25), (40, 100, 0.25), (900, 3000, 0.25),
                                                  (5, 5, 0.5)])
def test_p_value_is_scipys_exact_binomial_tail(green, scored, gamma):
    expected = stats.binomtest(green, scored, gamma, alternative="greater").pvalue
    assert binomial_p_value(green, scored, gamma) == pytest.approx(expected, rel=1e-9)
    assert RadioactivityScore(scored, green, gamma).p_value == pytest.approx(expected, rel=1e-9)


def test_pair_scorer_agrees_with_the_provider_green_lists():
    settings = WatermarkSettings(key=424242, greenlist_ratio=0.25)
    rng = np.random.default_rng(0)
    pairs = [((int(c),), int(t)) for c, t in rng.integers(0, VOCAB, size=(300, 2))]
    ours = PairScorer(settings, VOCAB).verdicts(pairs)
    provider = GreenScorer(settings, VOCAB)
    assert ours.tolist() == [provider.is_green(list(c), t) for c, t in pairs]
    assert 0.15 < ours.mean() < 0.35


def watermarked_text(settings, length, seed):
    """A sequence whose every next token is drawn from the green list of its predecessor."""
    scorer = PairScorer(settings, VOCAB)
    rng = np.random.default_rng(seed)
    ids = [int(rng.integers(VOCAB))]
    for _ in range(length):
        green = scorer.green_mask((ids[-1],)).nonzero().flatten().numpy()
        ids.append(int(rng.choice(green)))
    return ids


def test_watermarked_text_is_flagged_and_wrong_keys_are_calibrated():
    settings = WatermarkSettings(key=77, greenlist_ratio=0.25)
    completions = [watermarked_text(settings, 40, seed) for seed in range(5)]
    prompts = [[] for _ in completions]
    scorer = PairScorer(settings, VOCAB)
    curve = p_values_by_queries(completions, prompts, scorer, checkpoints=[1, 3, 5])
    assert list(curve.queries) == [1, 3, 5]
    assert list(curve.scored) == [len(distinct_pairs(completions[:q], prompts[:q], 1)) for q in (1, 3, 5)]
    assert curve.p_value.is_monotonic_decreasing and curve.p_value.iloc[-1] < 1e-30
    pairs = distinct_pairs(completions, prompts, 1)
    wrong = wrong_key_p_values(pairs, settings, VOCAB, num_keys=100, seed=1)
    summary = calibration(wrong, alpha=0.01)
    assert summary["keys"] == 100 and summary["false_positive_rate"] <= 0.05
    assert summary["ks_p_value"] > 0.001  # uniform enough: no evidence against it


def test_random_text_is_not_flagged():
    rng = np.random.default_rng(3)
    completions = [rng.integers(0, VOCAB, size=60).tolist() for _ in range(5)]
    score = PairScorer(WatermarkSettings(key=5), VOCAB).score(distinct_pairs(completions, [[]] * 5, 1))
    assert score.scored > 250 and score.p_value > 0.001
