"""The cost notebook's figures (seaborn, log scales)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def quality_vs_cost(students: pd.DataFrame, cost_column: str = "compute_fraction"):
    """Each student's quality fraction against its cost fraction (log x), one marker per kind."""
    shown = students[(students[cost_column] > 0) & students["quality_fraction"].notna()]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sns.scatterplot(data=shown, x=cost_column, y="quality_fraction", hue="kind", style="kind", s=80, ax=ax)
    for _, row in shown.iterrows():
        ax.annotate(row["student"], (row[cost_column], row["quality_fraction"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.text(ax.get_xlim()[0], 1.0, " teacher", va="bottom", fontsize=8, color="grey")
    ax.set_xlabel(f"cost as a fraction of the teacher's ({cost_column.replace('_', ' ')}, log)")
    ax.set_ylabel("accuracy as a fraction of the teacher's")
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    return fig


def scaling(grid: pd.DataFrame, points: pd.DataFrame, marks: dict[str, float]):
    """Total cost against sample count per student size (log-log), our students on top.

    `marks` maps a label (e.g. "R1 distillation") to a sample count drawn as a vertical line.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lines = grid.assign(student=[_size_label(p) for p in grid["student_params"]])
    sns.lineplot(data=lines, x="samples", y="total_usd", hue="student", ax=ax, palette="viridis")
    if not points.empty:
        ax.scatter(points["samples"], points["estimated_usd"], color="black", zorder=3,
                   label="our students, estimated as the lines")
        ax.scatter(points["samples"], points["measured_usd"], facecolors="none", edgecolors="red", zorder=3,
                   label="our students, measured device time")
    for label, samples in marks.items():
        ax.axvline(samples, color="grey", lw=0.8, ls=":")
        ax.text(samples, ax.get_ylim()[1], f" {label}", rotation=90, va="top", fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("collected samples (log)")
    ax.set_ylabel("collection + distillation, USD (log)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _size_label(params: float) -> str:
    exponent = int(np.floor(np.log10(params)))
    if exponent >= 9:
        return f"{params / 1e9:g}B student"
    return f"{params / 1e6:g}M student"
