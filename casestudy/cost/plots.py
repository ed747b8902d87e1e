"""The cost notebook's figures (seaborn, log scales)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

COST_FRACTIONS = {"compute_fraction": "compute (FLOPs)", "usd_fraction": "money (USD)"}


def quality_vs_cost(students: pd.DataFrame):
    """Quality fraction against cost fraction (log x), in FLOPs and in USD, one marker per kind.

    The teacher is the star at (1, 1). Students with zero cost (an untrained baseline) cannot sit on a log axis and are left out.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, (column, label) in zip(axes, COST_FRACTIONS.items()):
        shown = students[(students[column] > 0) & students["quality_fraction"].notna()]
        sns.scatterplot(data=shown, x=column, y="quality_fraction", hue="kind", style="kind", s=80, ax=ax,
                        legend=ax is axes[-1])
        for _, row in shown.iterrows():
            ax.annotate(row["student"], (row[column], row["quality_fraction"]), fontsize=8,
                        xytext=(4, 4), textcoords="offset points")
        ax.scatter([1.0], [1.0], marker="*", s=200, color="black", zorder=3)
        ax.annotate("teacher", (1.0, 1.0), fontsize=8, xytext=(-10, 8), textcoords="offset points", ha="right")
        ax.set_xscale("log")
        low = shown[column].min() if not shown.empty else 1e-3
        ax.set_xlim(10 ** np.floor(np.log10(low) - 0.5), 10)   # whole decades, the teacher at 1
        ax.xaxis.set_major_locator(mticker.LogLocator(base=10, numticks=12))
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(f"{label} as a fraction of the teacher's (log)")
        ax.set_ylabel("accuracy as a fraction of the teacher's")
        ax.set_ylim(0, max(1.1, float(shown["quality_fraction"].max() * 1.1) if not shown.empty else 1.1))
    fig.tight_layout()
    return fig


def scaling(grid: pd.DataFrame, points: pd.DataFrame, marks: dict[str, float]):
    """Total and training-only cost against sample count per student size (log-log), our students on top.

    `marks` maps a label (e.g. "R1 800K") to a sample count drawn as a vertical line.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    lines = grid.assign(student=[_size_label(p) for p in grid["student_params"]])
    panels = [("total_usd", "estimated_usd", "measured_usd", "collection + distillation, USD (log)"),
              ("training_usd", "estimated_training_usd", "measured_training_usd", "training alone, USD (log)")]
    for ax, (column, estimated, measured, ylabel) in zip(axes, panels):
        sns.lineplot(data=lines, x="samples", y=column, hue="student", ax=ax, palette="viridis",
                     legend=ax is axes[0])
        if column == "total_usd":
            api = grid.drop_duplicates("samples")
            ax.plot(api["samples"], api["api_usd"], color="black", ls="--", lw=1, label="API bill alone")
        if not points.empty:
            ax.scatter(points["samples"], points[estimated], color="black", zorder=3, label="our students, as the lines")
            ax.scatter(points["samples"], points[measured], facecolors="none", edgecolors="red", zorder=3,
                       label="our students, measured device time")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for label, samples in marks.items():
            ax.axvline(samples, color="grey", lw=0.8, ls=":")
            ax.text(samples, ax.get_ylim()[1], f" {label}", rotation=90, va="top", fontsize=8, color="grey")
        ax.set_xlabel("collected samples (log)")
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _size_label(params: float) -> str:
    if np.log10(params) >= 9:
        return f"{params / 1e9:g}B student"
    return f"{params / 1e6:g}M student"
