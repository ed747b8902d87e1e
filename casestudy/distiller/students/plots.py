"""Notebook 02's figures: training curves, accuracy with intervals, quality against size and tokens.

Every model keeps its colour and legend place from `casestudy.palette` in every panel."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns

from casestudy import palette
from casestudy.labels import shared_labels, unclutter


def training_curves(curves: pd.DataFrame):
    """Training cross-entropy against training tokens, one line per student, and the held-out cross-entropy:
    against tokens where it was measured during training, else each student's final value."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    names = palette.order(curves.student)
    colours = palette.palette(names)
    train = curves.dropna(subset=["train_ce"]) if "train_ce" in curves else curves.iloc[:0]
    if len(train):
        sns.lineplot(train, x="train_tokens", y="train_ce", hue="student", hue_order=palette.order(train.student),
                     palette=colours, ax=axes[0], legend=False)
        axes[0].set_yscale("log")
    axes[0].set(title="training cross-entropy (completion tokens)", xlabel="training tokens",
                ylabel="nats / token (log scale)")
    held = curves.dropna(subset=["eval_ce"]) if "eval_ce" in curves else curves.iloc[:0]
    during = held[held.train_tokens > 0].groupby("student").size()
    if len(during) and during.max() > 1:  # measured along the way: curves
        sns.lineplot(held, x="train_tokens", y="eval_ce", hue="student", hue_order=palette.order(held.student),
                     palette=colours, marker="o", ax=axes[1], legend=False)
        axes[1].set(title="held-out cross-entropy on teacher completions", xlabel="training tokens",
                    ylabel="nats / token")
    else:  # one value per student: a dot per student, none hidden under another
        last = held.sort_values("train_tokens").groupby("student").eval_ce.last().reindex(palette.order(held.student))
        axes[1].scatter(last.values, range(len(last)), c=[colours[n] for n in last.index], s=50, zorder=3)
        for y, value in enumerate(last.values):
            axes[1].annotate(f"{value:.2f}", (value, y), xytext=(6, 0), textcoords="offset points", va="center",
                             fontsize=8)
        axes[1].set(yticks=list(range(len(last))), yticklabels=list(last.index), xlim=(0, max(last.max(), 0.1) * 1.2),
                    title="held-out cross-entropy on teacher completions, after training",
                    xlabel="nats / token (public: untrained)")
        axes[1].invert_yaxis()
    handles = [plt.Line2D([], [], color=colours[n], marker="o", label=n) for n in names]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(names), 8), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def point_labels(points: pd.DataFrame, close: float = 0.04, close_x: float = 0.0) -> list[tuple[float, float, str]]:
    """(params, accuracy, names) per spot: models within `close_x` decades of size (0: of one size) whose
    accuracies lie within `close` share one label ("public@0.5, control@0.5") instead of printing over
    each other."""
    ordered = points.set_index("model").loc[palette.order(points.model)]
    return shared_labels(zip(ordered.params, ordered.accuracy, ordered.index), close_x, close, log_x=True)


def skill(table: pd.DataFrame):
    """Skill accuracy per model with exact 95% intervals, and against the student's size (colour: the model;
    marker: trained or its untrained start), the teacher's accuracy as a line."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 1.2 + 0.32 * len(table)), gridspec_kw={"width_ratios": [3, 2]})
    order = table.sort_values("accuracy").model.tolist()
    data = table.set_index("model").loc[order]
    y = range(len(order))
    axes[0].hlines(y, data.ci_low, data.ci_high, color="gray")
    axes[0].scatter(data.accuracy, y, color=[palette.color(m) for m in order], zorder=3)
    axes[0].set(yticks=list(y), yticklabels=order, xlim=(-0.02, 1.02), xlabel="accuracy (exact 95% interval)",
                title="held-out skill accuracy")
    sized = data.dropna(subset=["params"]).reset_index()
    handles = []
    for trained, marker, label in ((False, "o", "untrained start"), (True, "X", "trained")):
        points = sized[sized.trained == trained]
        if len(points):
            axes[1].scatter(points.params, points.accuracy, marker=marker, s=70, zorder=3,
                            c=[palette.color(m) for m in points.model], edgecolors="black", linewidths=0.4)
            handles.append(plt.Line2D([], [], marker=marker, ls="", color="lightgrey", markeredgecolor="black",
                                      label=label))
    notes = []
    for x, y_, text in point_labels(sized, close_x=0.25):
        low = y_ < 0.5  # a label above a low point, below a high one: into the empty middle
        notes.append(axes[1].annotate(textwrap.fill(text, 30), (x, y_), fontsize=7, xytext=(4, 5 if low else -6),
                                      textcoords="offset points", va="bottom" if low else "top"))
    if "teacher" in data.index:
        handles.append(axes[1].axhline(data.loc["teacher", "accuracy"], color=palette.color("teacher"), ls="--", lw=1,
                                       label=f"teacher ({data.loc['teacher', 'accuracy']:.0%})"))
    if len(sized):  # room for the labels right of the largest model
        axes[1].set_xlim(sized.params.min() / 2, sized.params.max() * 4)
    axes[1].set(xscale="log", ylim=(-0.04, 1.08), xlabel="parameters (log scale)", ylabel="accuracy",
                title="skill against size")
    axes[1].xaxis.set_minor_formatter(mticker.NullFormatter())  # decades only: minor labels collide
    if handles:
        axes[1].legend(handles=handles, fontsize=7, loc="center left")  # the middle-left stays empty: small and bad
    fig.tight_layout()
    unclutter(fig, notes)
    return fig


def ordinary(table: pd.DataFrame):
    """Accuracy on each ordinary gold family with exact 95% intervals, the public model's as a line."""
    families = list(dict.fromkeys(table.family))
    if not families:
        return None
    models = palette.order(table.model)
    fig, axes = plt.subplots(1, len(families), figsize=(5.5 * len(families), 0.9 + 0.3 * len(models)), squeeze=False)
    for ax, family in zip(axes[0], families):
        rows = table[table.family == family].set_index("model").reindex(models).dropna(subset=["accuracy"])
        y = range(len(rows))
        ax.hlines(y, rows.ci_low, rows.ci_high, color="gray")
        ax.scatter(rows.accuracy, y, color=[palette.color(m) for m in rows.index], zorder=3)
        if "public" in rows.index:
            ax.axvline(rows.loc["public", "accuracy"], color=palette.color("public"), ls="--", lw=1)
        ax.set(yticks=list(y), yticklabels=list(rows.index), xlim=(-0.02, 1.02),
               xlabel="accuracy (exact 95% interval; dashed: the public model)",
               title=f"{family}: {int(rows.n.max())} held-out prompts")
        ax.invert_yaxis()  # the models in the same order, top to bottom, in every panel
    fig.tight_layout()
    return fig
