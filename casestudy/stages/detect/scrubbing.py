"""5 · Evasion: scrub the provider's identity from the fully watermarked dose student's data, train
on what is left, and test both arms (identity probes and watermark)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from casestudy.detection.identity_probes import ProbeRate, probe_rate, rate_difference_p_value
from casestudy.detection.radioactivity import radioactivity_curves
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY
from casestudy.scenario.mixes import scrub_identity, watermark_mix
from casestudy.stages import detect  # the package: calls go through its seams (see __init__)
from casestudy.stages.detect.dose import train_dose_student
from casestudy.stages.detect.metrics import EvasionRow
from casestudy.stages.detect.params import Params
from casestudy.stages.detect.queries import Queries
from casestudy.stages.detect.workspace import Workspace

EVASION_COLUMNS = {"training_data": "training data", "records": "records", "identity_rate": "identity rate",
                   "identity_p_vs_control": "identity p vs control", "watermark_p": "watermark p"}


@dataclass
class Evasion:
    """The scrubbing attempt: both arms' tests, and the records it dropped of those it scrubbed."""
    rows: list[EvasionRow]
    dropped: int
    scrubbed_from: int

    def text(self) -> str:
        return f"Scrubbing dropped **{self.dropped}** of the {self.scrubbed_from} records."

    def table(self) -> pd.DataFrame:
        return (pd.DataFrame([r.model_dump() for r in self.rows], columns=list(EVASION_COLUMNS))
                .rename(columns=EVASION_COLUMNS).set_index("training data"))


def evasion(where: Workspace, main: list[dict], control: list[dict], total: int, queries: Queries,
            control_rate: ProbeRate, params: Params) -> Evasion:
    """Scrub the identity from the fully watermarked dose student's data, train on what is left, test both."""
    full_share = watermark_mix(main, control, 1.0, total, params.seed)  # the data of the dose-1.00 student
    scrubbed, dropped = scrub_identity(full_share, PROVIDER_IDENTITY)
    rows = []
    for label, name, data in (("unscrubbed", "dose-1.00", full_share), ("scrubbed", "evasion-scrubbed", scrubbed)):
        train_dose_student(data, params, where.out, name)  # the dose-1.00 student is reused when it was trained above
        asked = detect.ask_model(name, where.out / "students" / name, queries.both(), where.out, params.seed,
                                 params.device, precision=params.suspect_precision)
        probe = probe_rate(name, asked["probes"], PROVIDER_IDENTITY)
        wm = radioactivity_curves(where.tokenizer, queries.watermark.conversations, {name: asked["watermark"]},
                                  where.scorer, [params.num_queries]).iloc[0]
        rows.append(EvasionRow(training_data=label, records=len(data), identity_rate=probe.rate,
                               identity_p_vs_control=rate_difference_p_value(probe, control_rate),
                               watermark_p=wm.p_value))
    return Evasion(rows, dropped, len(full_share))
