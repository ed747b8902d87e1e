import pytest

from casestudy.cost.prices import (HardwarePrice, PricePoint, api_bill, find_price, load_hardware_table,
                                   load_price_table)

POINT = PricePoint("m", "flagship", input_usd_per_1m=2.5, output_usd_per_1m=10.0, as_of="2025-01-15", source="s")


def test_api_bill_is_tokens_times_price_per_million():
    assert api_bill(1_000_000, 0, POINT) == 2.5
    assert api_bill(0, 1_000_000, POINT) == 10.0
    assert api_bill(800, 640, POINT) == pytest.approx((800 * 2.5 + 640 * 10.0) / 1e6)
    assert api_bill(0, 0, POINT) == 0.0


def test_api_bill_rejects_negative_tokens():
    with pytest.raises(ValueError, match="-1"):
        api_bill(-1, 0, POINT)


def test_shipped_table_has_dated_flagship_small_and_batch_entries():
    points = load_price_table()
    assert {"flagship", "small", "batch"} <= {p.tier for p in points}
    for p in points:
        assert len(p.as_of) == 10 and p.as_of[4] == "-" and p.source
    assert find_price(points, "gpt-4o").label == "gpt-4o (2025-01-15)"
    # the batch rate is half the flagship's
    batch, flagship = find_price(points, "gpt-4o (Batch API)"), find_price(points, "gpt-4o")
    assert batch.input_usd_per_1m == flagship.input_usd_per_1m / 2
    assert batch.output_usd_per_1m == flagship.output_usd_per_1m / 2


def test_shipped_hardware_table_covers_gpu_and_cpu():
    rows = load_hardware_table()
    assert {"gpu", "cpu"} <= {r.kind for r in rows}
    assert all(isinstance(r, HardwarePrice) and r.source for r in rows)
    h800 = next(r for r in rows if r.name.startswith("H800"))
    assert h800.usd_per_hour == 2.0


def test_find_price_names_the_known_points():
    with pytest.raises(KeyError, match="gpt-4o"):
        find_price([POINT, PricePoint("gpt-4o", "f", 1, 1, "2025-01-01", "s")], "nope")


def test_bad_price_file_values_are_named(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[[api]]\nname = "x"\ntier = "t"\ninput_usd_per_1m = -1\noutput_usd_per_1m = 1\n'
                    'as_of = "2025-01-01"\nsource = "s"\n')
    with pytest.raises(ValueError, match="input_usd_per_1m"):
        load_price_table(path)
    with pytest.raises(FileNotFoundError):
        load_price_table(tmp_path / "missing.toml")
