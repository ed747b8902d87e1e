"""The cost notebook's figures (seaborn, log scales)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

def copied_vs_cost(students: pd.DataFrame, provider: dict):
    """The share of the provider's skill gain each student copied against what it cost the distiller
    (estimated and measured, log x), with the provider's own post-training cost for scale."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    shown = students.dropna(subset=["copied_share"])
    shown = shown[shown["distiller_usd"] > 0]
    sns.scatterplot(data=shown, x="distiller_usd", y="copied_share", hue="arm", style="kind", s=90, ax=ax)
    for _, row in shown.iterrows():
        ax.annotate(row["student"], (row["distiller_usd"], row["copied_share"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
        measured = row["api_usd"] + row["measured_training_usd"]
        if measured > 0:
            ax.plot([row["distiller_usd"], measured], [row["copied_share"]] * 2, color="grey", lw=0.8, ls=":")
    if provider.get("post_training_usd"):
        ax.axvline(provider["post_training_usd"], color="C3", ls="--", lw=1)
        ax.text(provider["post_training_usd"], 0.5, " provider's post-training (measured device time)", color="C3",
                fontsize=8, rotation=90, va="center", transform=ax.get_xaxis_transform())
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())  # decades only: minor labels collide
    ax.legend(loc="center", fontsize=8)
    ax.set(xlabel="distiller's spend, USD (API bill + training at the stated MFU; dotted: measured device time)",
           ylabel="share of the provider's skill gain copied", title="What the distiller copied, for what it paid")
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


def routes(table: pd.DataFrame):
    """Three routes to the same skill: what each one's data and compute cost (log x, side by side: a stacked
    bar would hide the smaller part on a log scale), the total, and the skill it reached."""
    fig, (cost_ax, skill_ax) = plt.subplots(1, 2, figsize=(11, 3.0), gridspec_kw={"width_ratios": [3, 1.2]},
                                            sharey=True)
    y = np.arange(len(table))
    parts = {"data (translations: modelled; API: its bill)": "data USD", "compute (measured)": "compute USD (measured)"}
    for offset, (label, column) in zip((-0.2, 0.2), parts.items()):
        cost_ax.barh(y + offset, table[column], height=0.38, label=label)
    for i, total in enumerate(table["total USD"]):
        cost_ax.annotate(f"total ${total:,.2f}" if total >= 1 else f"total ${total:.2g}", (table["data USD"].iloc[i], i - 0.2),
                         xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    values = table[list(parts.values())].to_numpy().ravel()
    values = values[values > 0]
    cost_ax.set(xscale="log", yticks=y, yticklabels=table.index, xlabel="USD (log scale)",
                title="what each route to the skill cost", xlim=(values.min() / 5, values.max() * 30))
    cost_ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    skill_ax.barh(y, table["skill accuracy"], color=["C3", "C0", "C2"][:len(table)])
    for i, accuracy in enumerate(table["skill accuracy"]):
        skill_ax.annotate(f"{accuracy:.0%}", (accuracy, i), xytext=(4, 0), textcoords="offset points", va="center",
                          fontsize=8)
    skill_ax.set(xlim=(0, 1.15), xlabel="held-out skill accuracy", title="the skill it reached")
    cost_ax.invert_yaxis()
    fig.tight_layout()
    return fig
