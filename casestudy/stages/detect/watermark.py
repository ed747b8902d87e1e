"""1 · Watermark radioactivity: each suspect's p-value under the provider's key against the number
of queries, the final table, the main suspect, and the calibration under wrong keys."""

from __future__ import annotations

import numpy as np
import pandas as pd

from casestudy.detection.radioactivity import calibration, radioactivity_curves, suspect_pairs, wrong_key_p_values
from casestudy.stages import distill
from casestudy.stages.detect.metrics import Calibration
from casestudy.stages.detect.params import Params
from casestudy.stages.detect.queries import Queries
from casestudy.stages.detect.workspace import Workspace

QUERY_CHECKPOINTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def checkpoints(num_queries: int) -> list[int]:
    """Query counts at which the p-value is read: a log-spaced ladder up to `num_queries`."""
    return sorted({q for q in QUERY_CHECKPOINTS if q < num_queries} | {num_queries})


def radioactivity(where: Workspace, queries: Queries, student_answers: dict[str, dict[str, list[str]]],
                  params: Params) -> pd.DataFrame:
    """Each suspect's exact binomial p-value under the provider's key against the number of queries."""
    answers = {name: a["watermark"] for name, a in student_answers.items()}
    return radioactivity_curves(where.tokenizer, queries.watermark.conversations, answers, where.scorer,
                                checkpoints(params.num_queries))


def final_table(curves: pd.DataFrame, num_queries: int) -> pd.DataFrame:
    """Each suspect's test after all queries."""
    return curves[curves.queries == num_queries].set_index("model")[["scored", "green", "green_share", "p_value"]]


def final_view(final: pd.DataFrame, where: Workspace, params: Params) -> pd.DataFrame:
    """The final table with the key's green-list ratio (the share expected without the watermark) and
    whether each suspect is significant at alpha."""
    return final.assign(gamma=where.deployment.watermark.greenlist_ratio, significant=final.p_value <= params.alpha)


def calibrate(where: Workspace, queries: Queries, student_answers: dict[str, dict[str, list[str]]],
              final: pd.DataFrame, params: Params) -> tuple[str, np.ndarray, Calibration]:
    """Score the most suspicious student's answers under `num_wrong_keys` random keys that are not the
    provider's: the suspect, the wrong keys' p-values, and their KS test and false-positive rate at alpha."""
    suspect = final.p_value.idxmin()
    pairs = suspect_pairs(where.tokenizer, queries.watermark.conversations, student_answers[suspect]["watermark"],
                          where.scorer.width)
    wrong = wrong_key_p_values(pairs, where.deployment.watermark, len(where.tokenizer), params.num_wrong_keys,
                               params.seed)
    return suspect, wrong, Calibration(**calibration(wrong, params.alpha))


def main_suspect(final: pd.DataFrame, distilled: distill.Metrics) -> str:
    """Notebook 02's best distilled student when it was queried, else its top-k student, else the most
    significant suspect."""
    for name in (distilled.best_student, "topk"):
        if name in final.index:
            return name
    return final.p_value.idxmin()
