"""3 · Identity probes: the deployed teacher's and each suspect's answers to the probes, the share
naming the provider's identity with an exact interval, and Fisher's test against the control."""

from __future__ import annotations

import numpy as np
import pandas as pd

from casestudy.detection.identity_probes import ProbeRate, probe_rate, rate_difference_p_value
from casestudy.models import resolve_source
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY, mentions_identity
from casestudy.stages import detect  # the package: calls go through its seams (see __init__)
from casestudy.stages.detect.params import Params
from casestudy.stages.detect.queries import Queries
from casestudy.stages.detect.workspace import Workspace


def probe_answers(where: Workspace, queries: Queries, student_answers: dict[str, dict[str, list[str]]],
                  params: Params) -> dict[str, list[str]]:
    """The identity probes' answers: the deployed teacher's first (served as deployed, with its system
    prompt and precision), then each suspect's."""
    teacher = detect.ask_model("teacher", resolve_source(where.deployment.model_source), {"probes": queries.probes},
                               where.out, params.seed, params.device, where.deployment.system_prompt,
                               where.deployment.precision)["probes"]
    return {"teacher (deployed)": teacher, **{name: a["probes"] for name, a in student_answers.items()}}


def probe_rates(answers: dict[str, list[str]]) -> dict[str, ProbeRate]:
    """Each model's share of answers naming the provider's identity, with an exact interval."""
    return {name: probe_rate(name, texts, PROVIDER_IDENTITY) for name, texts in answers.items()}


def identity_table(rates: dict[str, ProbeRate]) -> pd.DataFrame:
    """Each model's identity rate with its interval, and Fisher's p against the control student."""
    return pd.DataFrame([{"model": r.model, "named": r.named, "probes": r.total, "rate": r.rate,
                          "ci_low": r.low, "ci_high": r.high,
                          "p_vs_control": rate_difference_p_value(r, rates["control"]) if r.model != "control" else np.nan}
                         for r in rates.values()]).set_index("model")


def identity_by_language(queries: Queries, answers: dict[str, list[str]]) -> pd.DataFrame:
    """Per probe language (rows) and model (columns), the share of answers naming the provider's identity."""
    return pd.DataFrame({"language": [p["language"] for p in queries.probe_rows],
                         **{name: [mentions_identity(t, PROVIDER_IDENTITY) for t in texts]
                            for name, texts in answers.items()}}).groupby("language").mean()
