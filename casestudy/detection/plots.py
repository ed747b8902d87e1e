"""The provider's figures: the ledger, radioactivity against queries, calibration, dose, identity, traffic."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from casestudy import palette
from casestudy.formats import p_text


def ledger_timeline(timeline: pd.DataFrame):
    """Every chat request in the ledger: one row per account, coloured distiller / ordinary customer."""
    fig, ax = plt.subplots(figsize=(10, 0.45 * timeline.account_name.nunique() + 1.2))
    sns.stripplot(data=timeline, x="minutes", y="account_name", hue="who", jitter=0.15, size=3, ax=ax)
    ax.set(title="chat requests in the provider's ledger", xlabel="minutes since the first request", ylabel="")
    fig.tight_layout()
    return fig


def significant_after(curves: pd.DataFrame, alpha: float) -> str:
    """The suspects below `alpha` at the last query count, in words (the radioactivity figure's subtitle)."""
    if curves.empty:
        return "no queries"
    last = curves[curves.queries == curves.queries.max()]
    below = palette.order(last[last.p_value <= alpha].model)
    return f"after {int(last.queries.iloc[0])} queries, p ≤ alpha for: {', '.join(below) if below else 'none'}"


def radioactivity(curves: pd.DataFrame, alpha: float, target_p: float | None = None):
    """Exact binomial p-value against the number of queries sent, one line per suspect, with alpha and
    (when given) the target p-value as labelled lines."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    names = palette.order(curves.model)
    sns.lineplot(data=curves, x="queries", y="p_value", hue="model", hue_order=names, palette=palette.palette(names),
                 marker="o", ax=ax)
    ax.axhline(alpha, color="grey", ls="--", lw=1, label=f"alpha = {alpha:g}")
    if target_p:
        ax.axhline(target_p, color="black", ls=":", lw=1.2, label=f"target p = {target_p:g}")
    ax.set(xscale="log", yscale="log", xlabel="queries sent to the suspect (log scale)",
           ylabel="exact binomial p-value (log scale)",
           title=f"Watermark test on each suspect, by queries sent\n({significant_after(curves, alpha)})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="suspect", title_fontsize=8)
    fig.tight_layout()
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


def dose(dose: pd.DataFrame, alpha: float, records: int, queries: int, target_p: float | None = None):
    """p-value against the watermarked share of the training data, each point's p written beside it, with
    alpha and (when given) the target p-value as labelled lines."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(dose.watermarked_share, dose.p_value, marker="o", color=palette.color("sft"), label="dose student")
    for share, p in zip(dose.watermarked_share, dose.p_value):
        ax.annotate(f"p = {p_text(p)}", (share, p), xytext=(6, 4), textcoords="offset points", fontsize=8)
    ax.axhline(alpha, color="grey", ls="--", lw=1, label=f"alpha = {alpha:g}")
    if target_p:
        ax.axhline(target_p, color="black", ls=":", lw=1.2, label=f"target p = {target_p:g}")
    ax.set_yscale("log")
    ax.set_ylim(top=max(float(dose.p_value.max()), alpha) * 8)  # room for the labels above the points
    ax.set(xlim=(-0.05, 1.2), xticks=[0, 0.25, 0.5, 0.75, 1.0],
           xlabel="share of training data that carried the watermark",
           ylabel="p-value (log scale)",
           title=f"Watermark test by watermarked share\n({records} training records per student, {queries} queries)")
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def identity_rates(identity: pd.DataFrame, probes: int, name: str):
    """Share of probes naming the identity, with exact 95% intervals, one row per model."""
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.32 * len(identity)))
    y = range(len(identity))
    ax.hlines(y, identity.ci_low, identity.ci_high, color="gray")
    ax.scatter(identity.rate, y, color=[palette.color(m) for m in identity.index], zorder=3)
    ax.set(yticks=list(y), yticklabels=list(identity.index), xlim=(-0.02, 1.02),
           xlabel=f"share of {probes} probes naming '{name}' (exact 95% interval)",
           title=f"Identity probes: how often each model names '{name}'")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def flagged_title(replay: pd.DataFrame, distiller: str) -> str:
    """When the replay first ranks the distiller most anomalous, in words (the traffic figure's right title)."""
    if replay.empty:
        return "too little traffic to replay"
    if replay.flagged.all():
        return f"'{distiller}' ranked most anomalous from its first {int(replay.distiller_requests.min())} requests"
    if replay.flagged.any():
        first = int(replay[replay.flagged].distiller_requests.min())
        return f"'{distiller}' first ranked most anomalous after {first} requests"
    return f"'{distiller}' never ranked most anomalous at these checkpoints"


def traffic(curve: pd.DataFrame, auc: float, accounts: int, replay: pd.DataFrame, distiller: str):
    """ROC of the anomaly detector over accounts, and, as the distiller's requests accumulate, how far its
    anomaly score lies above the most anomalous other account's (above 0: it is ranked first, flagged)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].plot(curve.fpr, curve.tpr, drawstyle="steps-post", color=palette.color("sft"))
    axes[0].plot([0, 1], [0, 1], "k--", lw=1)
    axes[0].set(xlabel="false-positive rate", ylabel="true-positive rate",
                title=f"ROC over {accounts} accounts, AUC = {auc:.2f}")
    if replay.empty:  # a short run: too few accounts had been seen at every checkpoint
        axes[1].text(0.5, 0.5, "too little traffic to replay", ha="center", va="center", transform=axes[1].transAxes)
    else:
        axes[1].plot(replay.distiller_requests, replay.margin, color=palette.color("sft"), zorder=2)
        flagged = replay[replay.flagged]
        axes[1].scatter(flagged.distiller_requests, flagged.margin, color=palette.color("sft"), zorder=3,
                        label="ranked most anomalous (flagged)")
        missed = replay[~replay.flagged]
        axes[1].scatter(missed.distiller_requests, missed.margin, facecolors="white", edgecolors="black", zorder=3,
                        label="not ranked first (its rank beside)")
        for row in missed.itertuples():
            axes[1].annotate(f"rank {row.rank}", (row.distiller_requests, row.margin), xytext=(4, -10),
                             textcoords="offset points", fontsize=7)
        axes[1].axhline(0, color="grey", ls="--", lw=1, label="the most anomalous other account")
        top = max(float(replay.margin.abs().max()), 0.01) * 1.3
        axes[1].set(xscale="log", ylim=(min(-top / 3, float(replay.margin.min()) * 1.3), top))
        axes[1].legend(fontsize=7, loc="lower right")
    axes[1].set(xlabel=f"requests made by '{distiller}' (log scale)",
                ylabel="its anomaly score minus the\nhighest other account's", title=flagged_title(replay, distiller))
    fig.tight_layout()
    return fig


def copied_mistakes(table: pd.DataFrame, screened: int):
    """Share of the teacher's wrong answers each model repeats word for word, with exact 95% intervals."""
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.32 * len(table)))
    y = range(len(table))
    ax.hlines(y, table.ci_low, table.ci_high, color="gray")
    ax.scatter(table.rate, y, color=[palette.color(m) for m in table.index], zorder=3)
    items = int(table["items"].max()) if len(table) else 0
    ax.set(yticks=list(y), yticklabels=list(table.index), xlim=(-0.02, 1.02),
           xlabel=f"share of the teacher's {items} wrong answers (of {screened:,} fresh prompts) repeated word for "
                  "word (exact 95% interval)",
           title="Copied mistakes: who repeats the teacher's exact errors")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def evidence(table: pd.DataFrame, tests: dict[str, str], alpha: float, target_p: float):
    """-log10 p of every suspect (rows) on every test (columns), each cell annotated with its p; a test's
    reference (no p of its own) is a grey cell saying so."""
    p = table[[f"{t} p" for t in tests]].astype(float).set_axis(list(tests), axis=1)
    strength = -np.log10(p.clip(lower=1e-300))
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.45 * len(p)))
    labels = p.map(lambda x: "reference" if np.isnan(x) else p_text(x, 2))
    ax.set_facecolor("0.85")   # where the heatmap leaves a reference cell empty
    sns.heatmap(strength, annot=labels, fmt="", cmap="Reds", vmin=0, vmax=max(-np.log10(target_p), 1.0) * 1.5,
                cbar_kws={"label": "-log10 p"}, linewidths=0.5, ax=ax)
    ax.grid(False)
    for (i, j) in zip(*np.where(p.isna().to_numpy())):   # the heatmap writes nothing in an empty cell
        ax.text(j + 0.5, i + 0.5, "reference", ha="center", va="center", color="0.3", fontsize=9)
    ax.set_xticklabels([tests[t].replace(" ", "\n", 1) for t in p.columns], rotation=0)
    ax.set(ylabel="", yticklabels=[f"{m} ({r})" for m, r in zip(p.index, table.role)])
    target = f"{target_p:.0e}".replace("e-0", "e-")
    ax.set_title(f"Every suspect through every test: a test convicts at p ≤ {target}\n"
                 f"only while every honest model on it stays above {alpha:g}")
    ax.tick_params(axis="y", rotation=0)
    fig.tight_layout()
    return fig
