"""The one interval on a share of successes (casestudy.intervals), used by the distiller, the provider and detection."""

import math

import pytest

from casestudy import intervals
from casestudy.distiller.students import grading
from casestudy.intervals import proportion_ci


def test_intervals_match_known_values():
    lo, hi = proportion_ci(8, 10, "wilson")
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    lo, hi = proportion_ci(0, 10, "exact")
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-6)
    assert all(math.isnan(v) for v in proportion_ci(0, 0))


def test_the_grading_name_is_the_shared_interval():
    assert grading.proportion_ci is intervals.proportion_ci
