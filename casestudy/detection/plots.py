"""The provider's figures: the ledger, radioactivity against queries, calibration, dose, identity, traffic."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def ledger_timeline(timeline: pd.DataFrame):
    """Every chat request in the ledger: one row per account, coloured distiller / ordinary customer."""
    fig, ax = plt.subplots(figsize=(10, 0.45 * timeline.account_name.nunique() + 1.2))
    sns.stripplot(data=timeline, x="minutes", y="account_name", hue="who", jitter=0.15, size=3, ax=ax)
    ax.set(title="chat requests in the provider's ledger", xlabel="minutes since the first request", ylabel="")
    fig.tight_layout()
    return fig


def radioactivity(curves: pd.DataFrame, alpha: float):
    """Exact binomial p-value against the number of queries sent, one line per suspect."""
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.lineplot(data=curves, x="queries", y="p_value", hue="model", marker="o", ax=ax)
    ax.axhline(alpha, color="grey", ls="--", lw=1, label=f"alpha = {alpha}")
    ax.set(xscale="log", yscale="log", xlabel="queries sent to the suspect", ylabel="exact binomial p-value",
           title="Watermark radioactivity: evidence grows with queries")
    ax.legend(fontsize=8)
    return fig


def calibration(wrong: np.ndarray):
    """p-values under wrong keys: a histogram against the uniform density, and a QQ plot."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    sns.histplot(wrong, bins=10, binrange=(0, 1), stat="density", ax=axes[0])
    axes[0].axhline(1, color="grey", ls="--")
    axes[0].set(xlabel="p-value under a wrong key", title=f"{len(wrong)} wrong keys")
    axes[1].plot(np.linspace(0, 1, len(wrong)), np.sort(wrong), "o", ms=3)
    axes[1].plot([0, 1], [0, 1], "k--", lw=1)
    axes[1].set(xlabel="uniform quantile", ylabel="sorted p-values", title="QQ plot against Uniform(0, 1)")
    fig.tight_layout()
    return fig


def dose(dose: pd.DataFrame, alpha: float, records: int, queries: int):
    """p-value against the watermarked share of the training data."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    sns.lineplot(data=dose, x="watermarked_share", y="p_value", marker="o", ax=ax)
    ax.axhline(alpha, color="grey", ls="--", lw=1)
    ax.set(yscale="log", xlabel="share of training data that carried the watermark", ylabel="p-value",
           title=f"Dose and response ({records} training records, {queries} queries)")
    return fig


def identity_rates(identity: pd.DataFrame, probes: int, name: str):
    """Share of probes naming the identity, with exact 95% intervals, one row per model."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.errorbar(identity.rate, identity.index, fmt="o", capsize=4,
                xerr=[identity.rate - identity.ci_low, identity.ci_high - identity.rate])
    ax.set(xlim=(-0.02, 1.02), xlabel=f"share of {probes} probes naming '{name}' (95% CI)", title="Identity probes")
    ax.invert_yaxis()
    return fig


def traffic(curve: pd.DataFrame, auc: float, accounts: int, replay: pd.DataFrame, distiller: str):
    """ROC of the anomaly detector over accounts, and the distiller's rank as its requests accumulate."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    axes[0].plot(curve.fpr, curve.tpr, drawstyle="steps-post")
    axes[0].plot([0, 1], [0, 1], "k--", lw=1)
    axes[0].set(xlabel="false-positive rate", ylabel="true-positive rate", title=f"ROC over {accounts} accounts, AUC = {auc:.2f}")
    if replay.empty:  # a short run: too few accounts had been seen at every checkpoint
        axes[1].text(0.5, 0.5, "too little traffic to replay", ha="center", va="center", transform=axes[1].transAxes)
    else:
        sns.lineplot(data=replay, x="distiller_requests", y="rank", marker="o", ax=axes[1])
        axes[1].set(xscale="log")
    axes[1].set(xlabel=f"requests made by '{distiller}'", ylabel="anomaly rank (1 = flagged)",
                title="When is the distiller first flagged?")
    fig.tight_layout()
    return fig
