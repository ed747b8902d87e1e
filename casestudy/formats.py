"""How the notebooks show numbers: p-values in scientific notation, tables rounded, long text whole.

`p_text(3.2e-7)` is "3.2e-07" wherever a p-value is written (a table, a sentence, a figure), so a
McNemar p of 1e-5 never shows as `0.0`. `shown(table)` is a table as a notebook displays it: its
p-value columns (`is_p_column`) in that notation, its other floats rounded. `wrapped(table)` shows
long text (answers side by side) whole, wrapped in its cells, instead of cut at a column width.
"""

from __future__ import annotations

import math
from numbers import Number

import pandas as pd
from pandas.io.formats.style import Styler


def p_text(p: float | None, digits: int = 2) -> str:
    """A p-value in scientific notation with `digits` significant digits ("3.2e-07"); "n/a" for none."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return f"{float(p):.{digits - 1}e}"


def is_p_column(name: object) -> bool:
    """Whether a column holds p-values: "p", "p_value", "mcnemar_p", "p_vs_control", "ks_p_value",
    "watermark p", ... (not "p(sampled)", a probability, nor "params" or the sampler's "top_p")."""
    text = str(name).lower().replace("-", "_").replace(" ", "_")
    return text != "top_p" and (text in ("p", "p_value") or text.endswith("_p") or text.startswith("p_")
                                or "_p_" in text or "p_value" in text)


def shown(table: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """The table as a notebook shows it: p-value columns in scientific notation, other floats rounded."""
    out = table.copy()
    for column in out.columns:
        if is_p_column(column):
            out[column] = [p_text(v) if v is None or (isinstance(v, Number) and not isinstance(v, bool)) else v
                           for v in out[column]]
        elif pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(decimals)
    return out


def wrapped(table: pd.DataFrame, width: str = "22em") -> Styler:
    """The table with every cell's text whole, wrapped at `width` (line breaks kept), left-aligned."""
    cells = {"white-space": "pre-wrap", "text-align": "left", "vertical-align": "top", "max-width": width,
             "min-width": "6em"}
    return table.style.set_properties(**cells).set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
