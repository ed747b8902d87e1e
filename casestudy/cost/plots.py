"""The cost notebook's figures (seaborn, log scales)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from casestudy import palette
from casestudy.labels import shared_labels, unclutter

SIDE_MARKERS = {"provider": ("s", "created it: the provider's translations + post-training"),
                "distiller": ("o", "copied it: a student's API bill + training"),
                "competitor": ("D", "built it: the competitor's translations + training")}


def copied_vs_cost(spent: pd.DataFrame, pretraining_usd: float = 0.0):
    """What each side spent (log y) against the share of the provider's skill gain it reached: the provider's
    translations and post-training, each distilled student's API bill and training, the honest competitor's
    translations and training (`sides.spending`), with the public model's pre-training as a line for scale."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for side, (marker, _) in SIDE_MARKERS.items():
        rows = spent[spent.side == side]
        ax.scatter(rows.share, rows.usd, marker=marker, s=80, c=[palette.color(m) for m in rows.model],
                   edgecolors="black", linewidths=0.5, zorder=3)
    names = spent.side.where(spent.side != "distiller", spent.model)
    notes = []
    for share, usd, text in shared_labels(zip(spent.share, spent.usd, names), 0.05, 0.15, log_y=True):
        above, left = text == "provider", share > 0.85  # the provider's square sits at 100%, above the students
        notes.append(ax.annotate(f"{text}: {_usd(usd)}", (share, usd), textcoords="offset points",
                                 xytext=(0, 9) if above else (-8 if left else 8, 0), va="bottom" if above else "center",
                                 ha="center" if above else "right" if left else "left", fontsize=8))
    if pretraining_usd:
        ax.axhline(pretraining_usd, color="grey", ls="--", lw=1)
        ax.annotate(f"the public model's pre-training, estimated: {_usd(pretraining_usd)} (paid by none of them)",
                    (0.0, pretraining_usd), xytext=(0, 4), textcoords="offset points", fontsize=8, color="dimgrey")
    values = [v for v in [*spent.usd, pretraining_usd] if v > 0]
    if values:
        ax.set_ylim(min(values) / 5, max(values) * 8)
    ax.set_yscale("log")
    ax.set(xlim=(-0.08, 1.12), xlabel="share of the skill the provider added, reached on held-out prompts",
           ylabel="spent, USD (log scale)", title="What each side spent, and how much of the skill it got")
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    handles = [plt.Line2D([], [], marker=m, ls="", color="lightgrey", markeredgecolor="black", label=text)
               for m, text in SIDE_MARKERS.values()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    unclutter(fig, notes)
    return fig


def _usd(value: float) -> str:
    return f"${value:,.0f}" if value >= 100 else f"${value:,.2f}" if value >= 0.1 else f"${value:.2g}"


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
    fig, (cost_ax, skill_ax) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [3, 1.2]},
                                            sharey=True)
    y = np.arange(len(table))
    parts = {"data (translations: modelled; API: its bill)": "data USD", "compute (measured)": "compute USD (measured)"}
    for offset, shade, (label, column) in zip((-0.2, 0.2), ("dimgrey", "silver"), parts.items()):  # grey: not a model
        cost_ax.barh(y + offset, table[column], height=0.38, label=label, color=shade)
    for i, total in enumerate(table["total USD"]):
        cost_ax.annotate(f"total ${total:,.2f}" if total >= 1 else f"total ${total:.2g}", (table["data USD"].iloc[i], i - 0.2),
                         xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    values = table[list(parts.values())].to_numpy().ravel()
    values = values[values > 0]
    cost_ax.set(xscale="log", yticks=y, yticklabels=table.index, xlabel="USD (log scale)",
                title="what each route to the skill cost", xlim=(values.min() / 5, values.max() * 30))
    cost_ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
    models = table["model"] if "model" in table else ["teacher", "sft", "competitor"][:len(table)]
    skill_ax.barh(y, table["skill accuracy"], color=[palette.color(m) for m in models])
    for i, accuracy in enumerate(table["skill accuracy"]):
        skill_ax.annotate(f"{accuracy:.0%}", (accuracy, i), xytext=(4, 0), textcoords="offset points", va="center",
                          fontsize=8)
    skill_ax.set(xlim=(0, 1.15), xlabel="held-out skill accuracy", title="the skill it reached")
    cost_ax.invert_yaxis()
    fig.tight_layout()
    return fig
