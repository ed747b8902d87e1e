"""The published cases, recomputed: DeepSeek-V3's training bill, R1's distillation data at dated
prices, Alpaca's budget; printed as text, as the cells nbval checks compare them."""

from __future__ import annotations

import pandas as pd

from casestudy.cost.prices import PricePoint, find_price
from casestudy.cost.published import (V3_LEFT_OUT, alpaca_table, as_text, deepseek_v3_checks,
                                      deepseek_v3_matches_report, deepseek_v3_table, r1_distillation_bill)
from casestudy.stages.cost.params import Params
from casestudy.stages.cost.texts import percent_text, usd_text

DAVINCI = "text-davinci-003"      # Alpaca's teacher, a line of the price table
R1_PRICE, O1_PRICE = "deepseek-reasoner (R1)", "o1"


def v3_table(params: Params) -> pd.DataFrame:
    """DeepSeek-V3's Table 1, recomputed at `v3_gpu_hour_usd`."""
    return deepseek_v3_table(params.v3_gpu_hour_usd)


def v3_text(v3: pd.DataFrame) -> str:
    return (as_text(v3, {"gpu_hours_k": ",.0f", "usd_m": ".3f"})
            + f"\nmatches the report (2,788K GPU-hours, $5.576M): {deepseek_v3_matches_report(v3)}")


def v3_checks_text(params: Params) -> str:
    """The V3 report's cross-checks (tokens per GPU-hour, implied utilisation) at `gpu_peak_tflops`."""
    return as_text(deepseek_v3_checks(params.gpu_peak_tflops), {"value": ".3f", "reported": ".0f"})


def v3_left_out_text() -> str:
    return as_text(pd.DataFrame(V3_LEFT_OUT, columns=["left out", "status"]), {})


def r1_bill(params: Params, price_points: list[PricePoint]) -> pd.DataFrame:
    """R1's 800K distillation samples bought at each dated price point, at the assumed lengths."""
    return r1_distillation_bill(params.r1_data(), price_points)


def r1_text(params: Params, r1: pd.DataFrame) -> str:
    return (f"samples {params.r1_data().samples:,}, prompt {params.r1_prompt_tokens}, reasoning answer "
            f"{params.r1_reasoning_completion_tokens}, other answer {params.r1_other_completion_tokens} tokens "
            "(assumed)\n" + as_text(r1, {"input_m_tokens": ",.0f", "output_m_tokens": ",.0f", "usd": ",.0f"}))


def r1_against_v3_text(r1: pd.DataFrame, v3: pd.DataFrame) -> str:
    by_name = r1.set_index("price point")["usd"]
    v3_usd = v3.set_index("stage").loc["Total", "usd_m"] * 1e6
    return (f"At these lengths the data costs {usd_text(by_name[R1_PRICE])} at R1's own price "
            f"({percent_text(by_name[R1_PRICE] / v3_usd)} of V3's {usd_text(v3_usd)}) and "
            f"{usd_text(by_name[O1_PRICE])} at o1's ({percent_text(by_name[O1_PRICE] / v3_usd)}). One caveat: o1's "
            "API bills its reasoning tokens as output but does not return them, so an o1 bill buys answers, not "
            "reasoning traces.")


def alpaca_text(params: Params, price_points: list[PricePoint]) -> str:
    """What Alpaca's "under $500" and "under $100" imply, at text-davinci-003's price and `a100_hour_usd`."""
    return as_text(alpaca_table(find_price(price_points, DAVINCI), params.a100_hour_usd), {"value": ",.2f"})
