"""Which accounts look like a distiller? Per-account features from the request ledger.

The provider sees only its own ledger: who asked what, when, with which parameters. A
distiller's traffic differs from ordinary use in volume, in templated single-turn
prompts covering many topics, in asking for logprobs, and in machine-regular timing.
The detector is unsupervised (scikit-learn's IsolationForest): the provider has no
labelled distillers to learn from, only the assumption that they are rare.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.preprocessing import StandardScaler

FEATURES = ["requests", "distinct_prompt_share", "template_share", "logprobs_share", "mean_max_tokens",
            "single_turn_share", "gap_cv", "requests_per_minute", "distinct_openers"]


def last_user_text(messages) -> str:
    users = [m.get("content", "") for m in (messages or []) if isinstance(m, dict) and m.get("role") == "user"]
    return str(users[-1]) if users else ""


def opener(text: str, words: int = 3) -> str:
    """The first few words of a prompt, lower-cased: templated prompts share them."""
    return " ".join(text.lower().split()[:words])


def account_features(ledger: pd.DataFrame) -> pd.DataFrame:
    """One row of traffic features per account (answered chat requests only)."""
    rows = ledger[(ledger["status"] == 200) & ledger["account_name"].notna()]
    out = {}
    for account, group in rows.groupby("account_name"):
        prompts = group["messages"].map(last_user_text)
        openers = prompts.map(opener)
        opener_counts = openers.value_counts()
        params = group["params"].map(lambda p: p or {})
        times = group["time"].sort_values().astype("int64").to_numpy() / 1e9
        gaps = np.diff(times)
        span_minutes = max((times[-1] - times[0]) / 60, 1 / 60) if len(times) else 1.0
        out[account] = {
            "requests": len(group),
            "distinct_prompt_share": prompts.nunique() / len(group),
            "template_share": float(openers.map(opener_counts).gt(1).mean()),
            "logprobs_share": float(params.map(lambda p: bool(p.get("logprobs"))).mean()),
            "mean_max_tokens": float(params.map(
                lambda p: p.get("max_tokens") or p.get("max_completion_tokens") or 0).mean()),
            "single_turn_share": float(group["messages"].map(
                lambda m: sum(1 for x in (m or []) if x.get("role") == "user") <= 1).mean()),
            "gap_cv": float(gaps.std() / gaps.mean()) if len(gaps) > 1 and gaps.mean() > 0 else 0.0,
            "requests_per_minute": len(group) / span_minutes,
            "distinct_openers": int(openers.nunique()),
        }
    return pd.DataFrame.from_dict(out, orient="index")[FEATURES].rename_axis("account")


def anomaly_scores(features: pd.DataFrame, seed: int = 0) -> pd.Series:
    """Higher = more unusual. IsolationForest on standardised, log-scaled features."""
    x = features[FEATURES].astype(float).copy()
    for column in ("requests", "mean_max_tokens", "requests_per_minute", "distinct_openers"):
        x[column] = np.log1p(x[column])
    scaled = StandardScaler().fit_transform(x)
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(scaled)
    return pd.Series(-forest.score_samples(scaled), index=features.index, name="anomaly")


def roc(scores: pd.Series, distillers: Iterable[str]) -> tuple[pd.DataFrame, float]:
    """ROC curve and AUC of the anomaly score against the simulation's ground truth."""
    labels = scores.index.isin(list(distillers)).astype(int)
    if labels.min() == labels.max():
        raise ValueError("ROC needs both distiller and ordinary accounts in the ledger")
    fpr, tpr, thresholds = roc_curve(labels, scores.to_numpy())
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds}), float(roc_auc_score(labels, scores))


def first_flagged(ledger: pd.DataFrame, distiller: str, checkpoints: Iterable[int], seed: int = 0) -> pd.DataFrame:
    """Replay the ledger: after the distiller's k-th request, is it the most anomalous account?

    At each checkpoint only the traffic seen so far (every account) is used.
    """
    answered = ledger[(ledger["status"] == 200) & ledger["account_name"].notna()].sort_values("time")
    own_times = answered.loc[answered["account_name"] == distiller, "time"].reset_index(drop=True)
    rows = []
    for k in checkpoints:
        if k > len(own_times) or k < 1:
            continue
        seen = answered[answered["time"] <= own_times[k - 1]]
        features = account_features(seen)
        if len(features) < 3:
            continue
        scores = anomaly_scores(features, seed)
        rank = int((scores > scores[distiller]).sum()) + 1
        rows.append({"distiller_requests": k, "accounts": len(features), "rank": rank,
                     "flagged": rank == 1, "margin": float(scores[distiller] - scores.drop(distiller).max())})
    # No checkpoint may qualify (a short run: fewer than 3 accounts when the distiller's k-th
    # request came): the columns stay, so callers can still filter on them.
    columns = {"distiller_requests": int, "accounts": int, "rank": int, "flagged": bool, "margin": float}
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)


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


def ledger_timeline(ledger: pd.DataFrame, distiller_prefix: str) -> pd.DataFrame:
    """Chat requests over time, labelled distiller (account names starting with
    `distiller_prefix`, the simulation's ground truth) or simulated ordinary customer."""
    chat = ledger[(ledger["endpoint"] == "/v1/chat/completions") & ledger["account_name"].notna()].copy()
    start = chat["time"].min()
    chat["minutes"] = (chat["time"] - start).dt.total_seconds() / 60
    chat["who"] = np.where(chat["account_name"].str.startswith(distiller_prefix), "distiller", "ordinary customer (simulated)")
    return chat[["minutes", "account_name", "who", "status", "completion_tokens"]]
