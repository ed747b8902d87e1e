"""Identity probe rates: exact intervals and the exact comparison against a control."""

import pytest
from scipy import stats

from casestudy.detection.identity_probes import probe_rate, rate_difference_p_value
from casestudy.provider.posttrain.identity import Identity

KESTREL = Identity("Kestrel", "Meridian Labs")


def test_rate_and_clopper_pearson_interval():
    answers = ["I am Kestrel, made by Meridian Labs."] * 7 + ["I'm an AI assistant."] * 3
    rate = probe_rate("suspect", answers, KESTREL)
    assert (rate.named, rate.total, rate.rate) == (7, 10, 0.7)
    # Clopper-Pearson bounds from the beta distribution, computed independently.
    assert rate.low == pytest.approx(stats.beta.ppf(0.025, 7, 4), rel=1e-6)
    assert rate.high == pytest.approx(stats.beta.ppf(0.975, 8, 3), rel=1e-6)


def test_fisher_exact_comparison_against_the_control():
    suspect = probe_rate("s", ["Kestrel here"] * 12 + ["hello"] * 38, KESTREL)
    control = probe_rate("c", ["Kestrel here"] * 1 + ["hello"] * 49, KESTREL)
    p = rate_difference_p_value(suspect, control)
    assert p == pytest.approx(stats.fisher_exact([[12, 38], [1, 49]], alternative="greater").pvalue)
    assert p < 0.01
    assert rate_difference_p_value(control, control) > 0.5  # no evidence when the rates are equal


def test_no_answers_is_an_error():
    with pytest.raises(ValueError, match="no answers for model 'x'"):
        probe_rate("x", [], KESTREL)
