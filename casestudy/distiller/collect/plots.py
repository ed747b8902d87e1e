"""Notebook 01's tables and figures of the harvest: records per family, logprobs, throughput, the bill."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from casestudy.distiller.collect.dataset import TopK


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per record with the columns the figures use."""
    columns = ["id", "prompt_id", "sample", "family", "split", "prompt_tokens", "completion_tokens",
               "finish_reason", "latency_s", "finished_at", "completion"]
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in records], columns=columns)
    frame["prompt"] = [r["messages"][-1]["content"] for r in records]
    return frame


def family_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Records, prompts and tokens per family."""
    table = frame.groupby("family").agg(
        prompts=("prompt_id", "nunique"), records=("id", "size"), eval_records=("split", lambda s: int((s == "eval").sum())),
        prompt_tokens=("prompt_tokens", "sum"), completion_tokens=("completion_tokens", "sum"),
        mean_completion_tokens=("completion_tokens", "mean"),
        cut_at_max_tokens=("finish_reason", lambda s: float((s == "length").mean())),
    )
    return table.sort_values("completion_tokens", ascending=False)


def throughput_frame(frame: pd.DataFrame, bin_s: float = 10.0) -> pd.DataFrame:
    """Completion tokens per second in `bin_s`-second bins since the first record finished.

    Records of a resumed collection keep their own finish times, so each run of the
    collector shows as its own stretch.
    """
    if frame.empty or frame["finished_at"].isna().all():
        return pd.DataFrame(columns=["seconds", "tokens_per_second", "cumulative_tokens"])
    done = frame.dropna(subset=["finished_at"]).sort_values("finished_at")
    seconds = done["finished_at"] - done["finished_at"].min()
    bins = (seconds // bin_s) * bin_s
    per_bin = done.groupby(bins)["completion_tokens"].sum()
    return pd.DataFrame({
        "seconds": per_bin.index + bin_s / 2,
        "tokens_per_second": per_bin.to_numpy() / bin_s,
        "cumulative_tokens": per_bin.cumsum().to_numpy(),
    })


def topk_table(record: dict[str, Any], topk: TopK, tokenizer, positions: int = 6, alternatives: int = 5) -> pd.DataFrame:
    """The first sampled tokens of a record beside the teacher's top alternatives and their probabilities."""
    rows = []
    for t in range(min(positions, len(topk))):
        alts = [
            f"{tokenizer.decode([int(i)])!r} {np.exp(lp):.2f}" if i >= 0 else f"? {np.exp(lp):.2f}"
            for i, lp in zip(topk.top_ids[t, :alternatives], topk.top_logprobs[t, :alternatives]) if np.isfinite(lp)
        ]
        sampled = int(topk.token_ids[t])
        rows.append({
            "position": t,
            "sampled": repr(tokenizer.decode([sampled])) if sampled >= 0 else "?",
            "p(sampled)": float(np.exp(topk.token_logprobs[t])),
            "top alternatives (p)": ", ".join(alts),
        })
    return pd.DataFrame(rows).set_index("position")


def topk_mass(topk: dict[str, TopK]) -> pd.Series:
    """Per position, the probability mass the returned top-k covers (how much of the distribution a student sees)."""
    masses = [np.exp(t.top_logprobs).sum(axis=1) for t in topk.values() if len(t)]
    return pd.Series(np.concatenate(masses) if masses else np.array([]), name="top-k mass")


def example_table(frame: pd.DataFrame, per_family: int = 1, seed: int = 0, width: int | None = None) -> pd.DataFrame:
    """A few prompts and completions per family, whole (or cut at `width` characters)."""
    picks = frame.sample(frac=1.0, random_state=seed).groupby("family").head(per_family).sort_values("family")
    short = lambda text: text if width is None or len(text) <= width else text[: width - 1] + "…"
    return pd.DataFrame({
        "family": picks["family"], "prompt": picks["prompt"].map(short), "completion": picks["completion"].map(short),
        "tokens": picks["completion_tokens"],
    }).reset_index(drop=True)


def families(frame: pd.DataFrame, table: pd.DataFrame, max_tokens: int):
    """Completion tokens per family, and the spread of answer lengths against the cap."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    sns.barplot(data=table.reset_index(), y="family", x="completion_tokens", color="C0", ax=axes[0])
    axes[0].set(title="completion tokens per family", xlabel="tokens", ylabel="")
    sns.boxplot(data=frame, y="family", x="completion_tokens", order=table.index, color="C1", ax=axes[1])
    axes[1].axvline(max_tokens, color="k", ls="--", lw=1)
    axes[1].set(title=f"answer length (dashed: max_tokens = {max_tokens})", xlabel="tokens", ylabel="")
    fig.tight_layout()
    return fig


def topk_mass_histogram(mass: pd.Series, k: int):
    """How much of the teacher's distribution the returned top-k covers, per position."""
    fig, ax = plt.subplots(figsize=(6, 3))
    sns.histplot(mass, bins=40, ax=ax)
    ax.set(xlabel=f"probability covered by the top {k} tokens", ylabel="token positions")
    fig.tight_layout()
    return fig


def throughput_and_bill(speed: pd.DataFrame, bills: pd.DataFrame):
    """Completion tokens per second over the main arm's collection, and its bill at each price point."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    sns.lineplot(data=speed, x="seconds", y="tokens_per_second", marker="o", ax=axes[0])
    axes[0].set(title="collection throughput (main arm)", xlabel="seconds since the first answer",
                ylabel="completion tokens / s")
    sns.barplot(data=bills, y="price point", x="main", color="C2", ax=axes[1])
    axes[1].set(xscale="log", title="what the main arm would cost", xlabel="USD (log scale)", ylabel="")
    fig.tight_layout()
    return fig
