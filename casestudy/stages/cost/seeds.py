"""The run-to-run spread: report.spread reruns notebooks 02 to 04 under other seeds and writes the
table of figures per seed; report.publish ships it as results/<profile>/spread.csv; notebook 03 shows it."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from casestudy.paths import RESULTS_DIR


def read_spread(csv: Path) -> pd.DataFrame:
    return pd.read_csv(csv, index_col="seed")


def published_spread(profile: str, results_dir: Path = RESULTS_DIR) -> pd.DataFrame | None:
    """The spread published with the profile's results (report.publish copies it), if any."""
    csv = Path(results_dir) / profile / "spread.csv"
    return read_spread(csv) if csv.is_file() else None


def is_p_value(figure: str) -> bool:
    return " p" in figure


def spread_value(figure: str, value: float) -> str:
    return f"{value:.1e}" if is_p_value(figure) else f"{value:.0%}"


def seeds_and_devices(table: pd.DataFrame, unknown: str) -> tuple[str, str]:
    seeds = ", ".join(str(s) for s in table.index)
    return seeds, (", ".join(sorted(set(table["device"].dropna()))) if "device" in table else unknown)


def spread_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per numeric figure: min, median, max over seeds; p-values also as log10 (their spread is in orders)."""
    rows = []
    for column in table.columns:
        values = pd.to_numeric(table[column], errors="coerce").dropna()
        if values.empty:
            continue
        row = {"figure": column, "seeds": len(values), "min": values.min(), "median": values.median(),
               "max": values.max()}
        row["log10 range"] = (f"{math.log10(values.min()):.1f} to {math.log10(values.max()):.1f}"
                              if is_p_value(column) and (values > 0).all() else "")  # blank, not NaN, elsewhere
        rows.append(row)
    return pd.DataFrame(rows).set_index("figure")


def spread_sentence(table: pd.DataFrame) -> str:
    """One sentence for a notebook: the range of each headline figure over the seeds that measured it."""
    rows = spread_summary(table)
    seeds, devices = seeds_and_devices(table, "an unrecorded device")
    parts = [f"{figure} {spread_value(figure, r['min'])} to {spread_value(figure, r['max'])} ({int(r['seeds'])} "
             "seeds)" for figure, r in rows.iterrows()
             if figure not in ("teacher skill accuracy", "public model skill accuracy")]
    missing = [c for c in table.columns if c != "device" and c not in rows.index and c != "best student"]
    text = f"Over seeds {seeds}, run on {devices}: " + "; ".join(parts) + "."
    if missing:
        text += " Not measured over seeds: " + ", ".join(missing) + "."
    return text


def spread_text(profile: str, table: pd.DataFrame | None) -> str:
    """Notebook 03's paragraph on the published spread of `profile` (`published_spread`; None: none)."""
    return (f"No spread has been published for the `{profile}` profile yet." if table is None
            else spread_sentence(table))
