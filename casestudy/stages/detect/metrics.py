"""Notebook 04's metrics.json contract: its typed rows, `Metrics`, building it from the stage's
tables (`stage_metrics`), and its headline in the report index."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from casestudy.formats import p_text
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY
from casestudy.stages.contract import Record, StageMetrics
from casestudy.stages.detect.params import Params
from casestudy.targets import Target

if TYPE_CHECKING:
    from casestudy.stages.detect.anomaly import Traffic
    from casestudy.stages.detect.mistakes import Screen
    from casestudy.stages.detect.scrubbing import Evasion


class RadioactivityRow(Record):
    """One suspect's watermark test after all queries (`final_table`)."""

    model: str
    scored: int                  # distinct (context, token) pairs scored
    green: int                   # of which green under the provider's key
    green_share: float
    p_value: float               # exact binomial tail at the key's green-list ratio


class Calibration(Record):
    """The main suspect's answers scored under wrong keys (detection.radioactivity.calibration)."""

    keys: int
    ks_statistic: float
    ks_p_value: float            # KS test of the wrong keys' p-values against Uniform(0, 1)
    false_positive_rate: float   # share of wrong keys with p <= alpha
    alpha: float


class DoseRow(Record):
    """One dose student: its watermarked share of the training data and its watermark test."""

    watermarked_share: float
    scored: int
    green: int
    p_value: float


class IdentityRow(Record):
    """One model's identity-probe rate with its exact 95% interval (`identity_table`)."""

    model: str
    named: int                   # answers naming the provider's identity
    probes: int
    rate: float
    ci_low: float
    ci_high: float
    p_vs_control: float | None   # one-sided Fisher against the control student; None for the control itself


class EvasionRow(Record):
    """One arm of the evasion attempt (`evasion`)."""

    training_data: str           # "unscrubbed" (the dose-1.00 student) or "scrubbed"
    records: int
    identity_rate: float
    identity_p_vs_control: float
    watermark_p: float


class MistakeRow(Record):
    """One suspect's copies of the teacher's mistakes (`mistakes_table`)."""

    model: str
    items: int                   # the teacher's wrong answers it was asked
    copied: int                  # of which it repeated word for word
    rate: float | None           # None when the teacher made no stated mistake to repeat
    words: int                   # the words the teacher gets wrong behind them (the test's items)
    words_copied: int
    p_value: float | None        # Fisher, per word, against the honest competitor; None for the competitor
    p_items: float | None        # the same per answer (assumes independent answers: too bold)


class EvidenceRow(Record):
    """One suspect through every test, and the verdict of the conviction rule (`verdicts`)."""

    model: str
    role: str                    # "distilled" or "honest"
    watermark: float | None
    identity: float | None       # None for the control: the reference
    mistakes: float | None       # None for the competitor: the reference
    convicted_by: str
    verdict: str


class Metrics(StageMetrics):
    """Notebook 04's metrics.json (the spread reads `suspect`, `radioactivity` and `dose`)."""

    STAGE = "detect"

    num_queries: int
    suspect: str                 # notebook 02's main suspect (`main_suspect`)
    radioactivity: list[RadioactivityRow]
    calibration: Calibration
    dose: list[DoseRow]
    identity: list[IdentityRow]
    traffic_auc: float
    first_flagged_after: int | None  # the distiller's requests before it is first ranked most anomalous
    evasion: list[EvasionRow]
    mistake_probes: int          # fresh prompts the teacher answered
    teacher_mistakes: int        # of which it got wrong (each suspect was asked these)
    mistakes: list[MistakeRow]
    evidence: list[EvidenceRow]
    parameters: dict[str, Any]   # the notebook's parameters (Params.values())

    def p_value(self, model: str | None) -> float | None:
        """A suspect's watermark p-value after all queries (None when it was not queried)."""
        return next((r.p_value for r in self.radioactivity if r.model == model), None)

    def dose_p_value(self, share: float) -> float | None:
        """The dose student's watermark p-value at a watermarked share (None when none was trained)."""
        return next((d.p_value for d in self.dose if d.watermarked_share == share), None)

    def evidence_of(self, model: str) -> EvidenceRow | None:
        """A suspect's p-values on every test and its verdict (None when it was not a suspect)."""
        return next((r for r in self.evidence if r.model == model), None)

    def identity_of(self, model: str) -> IdentityRow | None:
        """A model's identity-probe row (None when it was not probed)."""
        return next((r for r in self.identity if r.model == model), None)


def as_records(frame: pd.DataFrame, cls: type[Record]) -> list:
    """A table's rows as `cls` records (its declared columns; NaN as None)."""
    rows = frame[list(cls.model_fields)].to_dict("records")
    return [cls(**{k: None if isinstance(v, float) and np.isnan(v) else v for k, v in row.items()}) for row in rows]


def stage_metrics(params: Params, suspect: str, final: pd.DataFrame, calib: Calibration, dose: pd.DataFrame,
                  identity: pd.DataFrame, seen: Traffic, evaded: Evasion, checks: list[Target], *, screen: Screen,
                  mistakes: pd.DataFrame, evidence: pd.DataFrame) -> Metrics:
    """The metrics.json of the detect stage (read by the spread), its headline set."""
    metrics = Metrics(
        mistake_probes=len(screen.probes), teacher_mistakes=len(screen.wrong),
        mistakes=as_records(mistakes.reset_index(), MistakeRow),
        evidence=as_records(evidence.rename(columns={"convicted by": "convicted_by", "watermark p": "watermark",
                                                     "identity p": "identity", "mistakes p": "mistakes"})
                            .rename_axis("model").reset_index(), EvidenceRow),
        num_queries=params.num_queries, suspect=suspect, radioactivity=as_records(final.reset_index(), RadioactivityRow),
        calibration=calib, dose=as_records(dose, DoseRow), identity=as_records(identity.reset_index(), IdentityRow),
        traffic_auc=seen.auc, first_flagged_after=seen.first, evasion=evaded.rows, parameters=params.values(),
        targets=[Target(**t.as_dict()) for t in checks],  # met as a plain bool (a numpy one would be written "True")
    )
    metrics.headline = headline(metrics)
    return metrics


def headline(metrics: Metrics) -> dict[str, str]:
    """The report index's lines for this stage."""
    suspect, calib = metrics.suspect, metrics.calibration
    dose_full = metrics.dose_p_value(1.0)
    identity = lambda model: metrics.identity_of(model).rate
    return {
        f"watermark p ({suspect}, {metrics.num_queries} queries)": p_text(metrics.p_value(suspect), 3),
        "watermark p (fully watermarked dose student)": p_text(dose_full, 3),
        "watermark p (control student)": p_text(metrics.p_value('control'), 3),
        f"wrong keys flagged at alpha {calib.alpha}": f"{calib.false_positive_rate:.0%} of {calib.keys}",
        f"identity probes naming {PROVIDER_IDENTITY.name} ({suspect} / control)":
            f"{identity(suspect):.0%} / {identity('control'):.0%}",
        "traffic detector AUC": f"{metrics.traffic_auc:.2f}",
        **mistakes_headline(metrics), **verdict_headline(metrics),
    }


def mistakes_headline(metrics: Metrics) -> dict[str, str]:
    """The copied-mistakes line: the main suspect's copies against the competitor's, and p."""
    rows = {r.model: r for r in metrics.mistakes}
    suspect, competitor = rows.get(metrics.suspect), rows.get("competitor")
    if suspect is None or competitor is None:
        return {}
    return {f"copied mistakes of the teacher ({metrics.suspect} / competitor)":
            f"{suspect.copied}/{suspect.items} / {competitor.copied}/{competitor.items}; "
            f"p = {p_text(suspect.p_value, 3)} per word ({suspect.words_copied}/{suspect.words} words)"}


def verdict_headline(metrics: Metrics) -> dict[str, str]:
    """The conviction rule's verdict on the main suspect, and on the honest models."""
    main = metrics.evidence_of(metrics.suspect)
    honest = [r for r in metrics.evidence if r.role == "honest"]
    if main is None:
        return {}
    flagged = [r.model for r in honest if r.verdict != "cleared"]
    return {f"verdict ({metrics.suspect})": main.verdict + (f" by {main.convicted_by}" if main.verdict == "convicted"
                                                            else ""),
            f"honest models ({', '.join(r.model for r in honest)})":
                "flagged: " + ", ".join(flagged) if flagged else "cleared by every test"}
