"""Notebook 02's figures: training curves, accuracy with intervals, quality against size and tokens."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns



MODEL_COLORS = {"teacher": "C3", "competitor": "C2", "program": "gray", "public": "gray"}


def training_curves(curves: pd.DataFrame):
    """Training and held-out cross-entropy against training tokens, one line per student."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    if "train_ce" in curves:
        sns.lineplot(curves.dropna(subset=["train_ce"]), x="train_tokens", y="train_ce", hue="student", ax=axes[0],
                     legend=False)
    axes[0].set(title="training cross-entropy (completion tokens)", xlabel="training tokens", ylabel="nats / token")
    sns.lineplot(curves.dropna(subset=["eval_ce"]), x="train_tokens", y="eval_ce", hue="student", marker="o", ax=axes[1])
    axes[1].set(title="held-out cross-entropy on teacher completions", xlabel="training tokens", ylabel="nats / token")
    # One legend, beside the curves: with a size curve there are a dozen students.
    sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title_fontsize=8)
    fig.tight_layout()
    return fig


def point_labels(points: pd.DataFrame, close: float = 0.04) -> list[tuple[float, float, str]]:
    """(params, accuracy, names) per spot: models of one size whose accuracies lie within `close`
    share one label ("public@0.5, control@0.5") instead of printing over each other."""
    clusters: list[list] = []
    for row in points.sort_values(["params", "accuracy"]).itertuples():
        last = clusters[-1][-1] if clusters else None
        if last is not None and last.params == row.params and row.accuracy - last.accuracy <= close:
            clusters[-1].append(row)
        else:
            clusters.append([row])
    return [(c[0].params, c[-1].accuracy, ", ".join(r.model for r in c)) for c in clusters]


def skill(table: pd.DataFrame):
    """Skill accuracy per model with exact 95% intervals, and against the student's size."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.9 + 0.32 * len(table)), gridspec_kw={"width_ratios": [3, 2]})
    order = table.sort_values("accuracy").model.tolist()
    data = table.set_index("model").loc[order]
    y = range(len(order))
    axes[0].hlines(y, data.ci_low, data.ci_high, color="gray")
    axes[0].scatter(data.accuracy, y, color=[MODEL_COLORS.get(m, "C0") for m in order], zorder=3)
    axes[0].set(yticks=list(y), yticklabels=order, xlim=(-0.02, 1.02), xlabel="accuracy (exact 95% interval)",
                title="held-out skill accuracy")
    sized = data.dropna(subset=["params"]).reset_index()
    if len(sized):
        sized["student"] = sized.trained.map({True: "trained", False: "untrained start"})
        sns.scatterplot(sized, x="params", y="accuracy", hue="student", style="student", s=70, ax=axes[1])
        for x, y_, text in point_labels(sized):
            axes[1].annotate(text, (x, y_), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if "teacher" in data.index:
        axes[1].axhline(data.loc["teacher", "accuracy"], color="C3", ls="--", lw=1, label="teacher")
    axes[1].set(xscale="log", ylim=(-0.02, 1.02), xlabel="parameters", ylabel="accuracy", title="skill against size")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def ordinary(table: pd.DataFrame):
    """Accuracy on each ordinary gold family with exact 95% intervals, the public model's as a line."""
    families = list(dict.fromkeys(table.family))
    if not families:
        return None
    models = list(dict.fromkeys(table.model))
    fig, axes = plt.subplots(1, len(families), figsize=(5.5 * len(families), 0.9 + 0.3 * len(models)), squeeze=False)
    for ax, family in zip(axes[0], families):
        rows = table[table.family == family].set_index("model").reindex(models).dropna(subset=["accuracy"])
        y = range(len(rows))
        ax.hlines(y, rows.ci_low, rows.ci_high, color="gray")
        ax.scatter(rows.accuracy, y, color=[MODEL_COLORS.get(m, "C0") for m in rows.index], zorder=3)
        if "public" in rows.index:
            ax.axvline(rows.loc["public", "accuracy"], color="gray", ls="--", lw=1)
        ax.set(yticks=list(y), yticklabels=list(rows.index), xlim=(-0.02, 1.02),
               xlabel="accuracy (exact 95% interval; dashed: the public model)",
               title=f"{family}: {int(rows.n.max())} held-out prompts")
        ax.invert_yaxis()  # the models in the same order, top to bottom, in every panel
    fig.tight_layout()
    return fig
