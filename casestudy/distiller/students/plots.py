"""Notebook 02's figures: training curves, accuracy with intervals, quality against size and tokens."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from casestudy.distiller.students.grading import chance_level


def training_curves(curves: pd.DataFrame):
    """Training and held-out cross-entropy against training tokens, one line per student."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    if "train_ce" in curves:
        sns.lineplot(curves.dropna(subset=["train_ce"]), x="train_tokens", y="train_ce", hue="student", ax=axes[0])
    axes[0].set(title="training cross-entropy (completion tokens)", xlabel="training tokens", ylabel="nats / token")
    sns.lineplot(curves.dropna(subset=["eval_ce"]), x="train_tokens", y="eval_ce", hue="student", marker="o", ax=axes[1])
    axes[1].set(title="held-out cross-entropy on teacher completions", xlabel="training tokens", ylabel="nats / token")
    fig.tight_layout()
    return fig


def accuracy(acc: pd.DataFrame, order: list[str]):
    """Accuracy per gold family and model, with Wilson intervals and the chance level."""
    plot = acc[acc.family != "all"]
    g = sns.catplot(plot, x="accuracy", y="model", col="family", kind="point", linestyle="none", order=order,
                    height=3, aspect=1.3)
    for ax, fam in zip(g.axes.flat, g.col_names):
        sub = plot[plot.family == fam].set_index("model").reindex(order)
        ax.hlines(range(len(order)), sub.ci_low, sub.ci_high, color="gray")
        ax.axvline(chance_level(fam), ls="--", color="red", lw=1)
        ax.set_xlim(-0.02, 1.02)
    g.fig.suptitle("accuracy on held-out gold prompts (95% Wilson intervals; dashed: chance)", y=1.05)
    return g.fig


def quality_vs_size(quality: pd.DataFrame, curves: pd.DataFrame):
    """Held-out CE against student size (sft students), and top-k against SFT at equal tokens."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    sns.scatterplot(quality[quality.kind == "sft"], x="params", y="heldout_ce", hue="student", s=80, ax=axes[0])
    axes[0].set(xscale="log", title="held-out CE against student size (sft)", xlabel="parameters", ylabel="nats / token")
    per_tokens = curves.dropna(subset=["eval_ce"])
    sns.lineplot(per_tokens[per_tokens.student.isin(["sft", "topk", "control"])], x="train_tokens", y="eval_ce",
                 hue="student", marker="o", ax=axes[1])
    axes[1].set(title="top-k against plain SFT at equal tokens", xlabel="training tokens", ylabel="held-out CE")
    fig.tight_layout()
    return fig
