"""4 · Traffic: the unsupervised anomaly detector over the ledger's accounts, its ROC against the
simulation's ground truth, and the replay (when the distiller is first ranked most anomalous)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from casestudy.detection.traffic import account_features, anomaly_scores, first_flagged, roc
from casestudy.scenario.deployments import DISTILLER_ACCOUNT

REPLAY_CHECKPOINTS = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]


@dataclass
class Traffic:
    """The anomaly detector over the ledger's accounts: features, scores, ROC, and the replay."""
    features: pd.DataFrame
    scores: pd.Series
    distillers: list[str]
    curve: pd.DataFrame
    auc: float
    replay: pd.DataFrame
    first: int | None      # the distiller's requests before it is first ranked most anomalous

    def table(self) -> pd.DataFrame:
        return (self.features.assign(anomaly=self.scores, distiller=self.features.index.isin(self.distillers))
                .sort_values("anomaly", ascending=False))

    def text(self) -> str:
        return (f"The distiller was first ranked the most anomalous account after **{self.first}** of its requests."
                if self.first else "The distiller was **never** ranked the most anomalous account at these checkpoints.")


def traffic(ledger: pd.DataFrame, seed: int) -> Traffic:
    """Unsupervised anomaly scores per account, checked against the simulation's ground truth."""
    features = account_features(ledger)
    scores = anomaly_scores(features, seed)
    distillers = [a for a in features.index if a.startswith(DISTILLER_ACCOUNT)]
    curve, auc = roc(scores, distillers)
    replay = first_flagged(ledger, distillers[0], REPLAY_CHECKPOINTS, seed)
    first = int(replay[replay.flagged].distiller_requests.min()) if replay.flagged.any() else None
    return Traffic(features, scores, distillers, curve, auc, replay, first)
