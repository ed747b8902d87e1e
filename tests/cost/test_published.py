import pandas as pd
import pytest

from casestudy.cost.prices import PricePoint, find_price, load_price_table
from casestudy.cost.published import (R1DataAssumptions, alpaca_table, as_text, deepseek_v3_checks,
                                      deepseek_v3_matches_report, deepseek_v3_table, r1_distillation_bill)


def test_deepseek_v3_table_comes_out_exactly():
    table = deepseek_v3_table(2.0).set_index("stage")
    assert table["gpu_hours_k"].to_dict() == {"Pre-training": 2664, "Context extension": 119, "Post-training": 5,
                                              "Total": 2788}
    assert table["usd_m"].round(6).to_dict() == {"Pre-training": 5.328, "Context extension": 0.238,
                                                 "Post-training": 0.01, "Total": 5.576}
    assert deepseek_v3_matches_report(table.reset_index())


def test_deepseek_v3_at_another_price_no_longer_matches():
    assert not deepseek_v3_matches_report(deepseek_v3_table(3.0))


def test_deepseek_v3_checks_recover_180k_hours_per_trillion_tokens():
    checks = deepseek_v3_checks(989.0).set_index("check")["value"]
    assert checks.iloc[0] == pytest.approx(180.0)
    assert checks.iloc[1] == pytest.approx(6 * 37e9 * 14.8e12 / 1e24)
    assert 0.3 < checks.iloc[2] < 0.4


def test_r1_bill_sums_800k_samples():
    data = R1DataAssumptions(prompt_tokens=100, reasoning_completion_tokens=1000, other_completion_tokens=10)
    assert data.samples == 800_000
    assert data.input_tokens == 80_000_000 and data.output_tokens == 600_000_000 + 2_000_000
    bill = r1_distillation_bill(data, [PricePoint("p", "t", 1.0, 2.0, "2025-01-01", "s")])
    assert bill["usd"].iloc[0] == pytest.approx(80 * 1.0 + 602 * 2.0)


def test_alpaca_bounds():
    davinci = find_price(load_price_table(), "text-davinci-003")
    table = alpaca_table(davinci, a100_hour_usd=1.5).set_index("item")["value"]
    assert table["data: tokens the bound buys, millions"] == 25.0
    assert table["data: tokens per instruction at most"] == pytest.approx(25e6 / 52_000)
    assert table["training: A100-hours (8 GPUs x 3 h)"] == 24.0
    assert table["training: USD per A100-hour at most"] == pytest.approx(100 / 24)
    assert table["training: USD at $1.5 per A100-hour"] == 36.0


def test_as_text_formats_columns_and_blanks_missing_values():
    text = as_text(pd.DataFrame({"a": ["x", "y"], "v": [1234.5, float("nan")]}), {"v": ",.1f"})
    assert "1,234.5" in text and "nan" not in text
