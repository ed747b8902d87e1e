"""Tables for notebook 01: the collected records, throughput, logprobs and the provider's ledger view."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from casestudy.distiller.dataset import TopK


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


def example_table(frame: pd.DataFrame, per_family: int = 1, seed: int = 0, width: int = 160) -> pd.DataFrame:
    """A few prompts and completions per family, shortened for display."""
    picks = frame.sample(frac=1.0, random_state=seed).groupby("family").head(per_family).sort_values("family")
    short = lambda text: text if len(text) <= width else text[: width - 1] + "…"
    return pd.DataFrame({
        "family": picks["family"], "prompt": picks["prompt"].map(short), "completion": picks["completion"].map(short),
        "tokens": picks["completion_tokens"],
    }).reset_index(drop=True)


def user_turns(messages) -> int:
    return sum(1 for m in (messages or []) if isinstance(m, dict) and m.get("role") == "user")


def ledger_accounts(ledger: pd.DataFrame) -> pd.DataFrame:
    """The provider's view: per account, its requests, tokens, logprob use and conversation depth."""
    chat = ledger[ledger["endpoint"] == "/v1/chat/completions"].copy()
    chat["logprobs"] = chat["params"].map(lambda p: bool((p or {}).get("logprobs")))
    chat["turns"] = chat["messages"].map(user_turns)
    chat["ok"] = chat["status"] == 200
    table = chat.groupby("account_name").agg(
        model=("model", lambda s: ", ".join(sorted(set(s.dropna())))),
        requests=("id", "size"), refused=("ok", lambda s: int((~s).sum())),
        completion_tokens=("completion_tokens", "sum"), logprobs_share=("logprobs", "mean"),
        mean_user_turns=("turns", "mean"), first=("time", "min"), last=("time", "max"),
    )
    table["active_minutes"] = (table["last"] - table["first"]).dt.total_seconds() / 60
    return table.drop(columns=["first", "last"]).sort_values("requests", ascending=False)


def ledger_timeline(ledger: pd.DataFrame) -> pd.DataFrame:
    """Answered chat requests over time, labelled distiller / ordinary customer."""
    chat = ledger[(ledger["endpoint"] == "/v1/chat/completions") & ledger["account_name"].notna()].copy()
    start = chat["time"].min()
    chat["minutes"] = (chat["time"] - start).dt.total_seconds() / 60
    chat["who"] = np.where(chat["account_name"].str.startswith("distiller"), "distiller", "ordinary customer (simulated)")
    return chat[["minutes", "account_name", "who", "status", "completion_tokens"]]
