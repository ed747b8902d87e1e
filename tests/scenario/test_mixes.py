"""Dose mixes and the identity-scrubbing evasion."""

import pytest

from casestudy.scenario.mixes import scrub_identity, watermark_mix
from casestudy.provider.posttrain.identity import Identity

MARKED = [{"id": f"m{i}", "completion": "x"} for i in range(20)]
CLEAN = [{"id": f"c{i}", "completion": "y"} for i in range(20)]


@pytest.mark.parametrize("share, marked", [(0.0, 0), (0.1, 1), (0.5, 5), (1.0, 10)])
def test_mix_has_the_asked_share(share, marked):
    mix = watermark_mix(MARKED, CLEAN, share, total=10, seed=0)
    assert len(mix) == 10 and len({r["id"] for r in mix}) == 10
    assert sum(r["id"].startswith("m") for r in mix) == marked


def test_mixes_are_nested():
    small = {r["id"] for r in watermark_mix(MARKED, CLEAN, 0.2, 10) if r["id"].startswith("m")}
    large = {r["id"] for r in watermark_mix(MARKED, CLEAN, 0.8, 10) if r["id"].startswith("m")}
    assert small < large


def test_mix_too_large_or_bad_share_is_an_error():
    with pytest.raises(ValueError, match="needs 30 watermarked"):
        watermark_mix(MARKED, CLEAN, 1.0, total=30)
    with pytest.raises(ValueError, match="share must be between 0 and 1, not 1.5"):
        watermark_mix(MARKED, CLEAN, 1.5, total=10)


def test_scrub_drops_records_naming_the_model_or_its_maker():
    identity = Identity("Kestrel", "Meridian Labs")
    records = [{"completion": "I am Kestrel."}, {"completion": "Made by meridian labs!"},
               {"completion": "Kestrels are birds."}, {"completion": "Paris."}]
    kept, dropped = scrub_identity(records, identity)
    assert dropped == 2 and [r["completion"] for r in kept] == ["Kestrels are birds.", "Paris."]
