"""Traffic features and the unsupervised detector on a synthetic ledger made in the test."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from casestudy.detection.traffic import account_features, anomaly_scores, first_flagged, opener, roc


def synthetic_ledger(seed=0):
    rng = np.random.default_rng(seed)
    rows, t0 = [], 1_700_000_000.0
    topics = ["tell me about", "how do I", "write a poem on", "summarise this", "why is", "what is the capital of"]
    for i in range(300):  # the distiller: regular, templated, logprobs, single turn
        rows.append({"time": t0 + i * 2.0, "account_name": "distiller", "status": 200,
                     "messages": [{"role": "user", "content": f"{topics[i % 6]} subject {i}"}],
                     "params": {"logprobs": True, "top_logprobs": 20, "max_tokens": 128}})
    chat = ["hi there", "can you help me plan a trip", "thanks! and what about food", "ok one more thing",
            "what's a good book", "explain that again please", "lol nice"]
    for a in range(8):  # ordinary users: few, varied, conversational, irregular
        t = t0 + rng.uniform(0, 100)
        for j in range(int(rng.integers(3, 12))):
            t += rng.exponential(20)
            turns = [{"role": "user", "content": chat[int(rng.integers(len(chat)))]}] * int(rng.integers(1, 4))
            rows.append({"time": t, "account_name": f"user{a}", "status": 200, "messages": turns,
                         "params": {"max_tokens": int(rng.choice([64, 256, 512]))}})
    rows.append({"time": t0, "account_name": None, "status": 401, "messages": None, "params": None})
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame


def test_features_by_hand():
    features = account_features(synthetic_ledger())
    assert len(features) == 9  # the refused, anonymous request is not an account
    d = features.loc["distiller"]
    assert d.requests == 300 and d.logprobs_share == 1.0 and d.single_turn_share == 1.0
    assert d.distinct_prompt_share == 1.0 and d.template_share == 1.0 and d.distinct_openers == 6
    assert d.gap_cv == pytest.approx(0.0, abs=1e-6) and d.requests_per_minute == pytest.approx(300 / (299 * 2.0 / 60))
    assert features.drop("distiller").logprobs_share.max() == 0.0
    assert opener("  How do I   bake BREAD today") == "how do i"


def test_distiller_is_the_top_anomaly_and_auc_is_one():
    scores = anomaly_scores(account_features(synthetic_ledger()))
    assert scores.idxmax() == "distiller"
    curve, auc = roc(scores, ["distiller"])
    assert auc == 1.0 and curve.tpr.iloc[-1] == 1.0


def test_replay_reports_when_the_distiller_is_first_flagged():
    replay = first_flagged(synthetic_ledger(), "distiller", checkpoints=[1, 50, 150, 300])
    assert list(replay.distiller_requests) == [50, 150, 300]  # at 1 too few accounts were seen
    assert replay.flagged.iloc[-1]


def test_roc_needs_both_classes():
    scores = pd.Series([0.1, 0.2], index=["a", "b"])
    with pytest.raises(ValueError, match="both distiller and ordinary"):
        roc(scores, [])


def test_replay_with_no_qualifying_checkpoint_keeps_its_columns():
    # checkpoints beyond the distiller's requests: nothing to replay, an empty table that can still be filtered
    replay = first_flagged(synthetic_ledger(), "distiller", checkpoints=[10**9])
    assert replay.empty and not replay[replay.flagged].distiller_requests.any()
    matplotlib.use("Agg")
    from casestudy.detection import plots
    assert len(plots.traffic(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]}), 0.5, 4, replay, "distiller").axes) == 2
