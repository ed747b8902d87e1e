"""2 · Dose and response: students trained on a growing watermarked share of their data, and each
one's watermark test (the evasion students are trained by the same `train_dose_student`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from casestudy.detection.radioactivity import radioactivity_curves
from casestudy.capped import Capped, capped
from casestudy.distiller.collect.dataset import read_records
from casestudy.paths import stage_dir
from casestudy.scenario.mixes import watermark_mix
from casestudy.stages import detect  # the package: calls go through its seams (see __init__)
from casestudy.stages.detect.params import Params
from casestudy.stages.detect.queries import Queries
from casestudy.stages.detect.workspace import Workspace


def train_splits(where: Workspace) -> tuple[list[dict], list[dict]]:
    """The train split of the watermarked (main) and clean (control) collections, open prompts only
    (notebook 02's skill family left out: its near-forced answers carry next to no watermark, so a dose
    is measured in the text where the watermark lives)."""
    split = lambda arm: [r for r in read_records(stage_dir(where.run, "collect") / arm)
                         if r["split"] == "train" and r["family"] != where.skill_family]
    return split("main"), split("control")


def train_dose_student(records: list[dict], params: Params, out: Path, name: str) -> None:
    """Train (or reuse) one dose or evasion student under `<out>/students/<name>` by `params.dose_recipe()`."""
    detect.train_student(records, config=params.dose_start, train=params.dose_recipe(),
                         out_dir=out / "students" / name, name=name, kind="dose", progress=False)


def dose_size(params: Params, main: list[dict], control: list[dict]) -> Capped:
    """The training records per dose student: `dose_records`, or fewer when either arm's train split holds
    fewer open-prompt records (each student's mix draws from both)."""
    return capped("dose_records", params.dose_records, "training records per dose student",
                  {"the main arm's train split (open prompts)": len(main),
                   "the control arm's train split (open prompts)": len(control)})


def dose_answers(where: Workspace, main: list[dict], control: list[dict], queries: Queries,
                 params: Params) -> tuple[dict[float, list[str]], Capped]:
    """Train one student per watermarked share and ask it the watermark queries; also the records each
    student trained on (`dose_size`: what was used, and why, when it is fewer than `dose_records`)."""
    size = dose_size(params, main, control)
    total = size.used
    answers = {}
    for share in params.dose_shares:
        name = f"dose-{share:.2f}"
        train_dose_student(watermark_mix(main, control, share, total, params.seed), params, where.out, name)
        answers[share] = detect.ask_model(name, where.out / "students" / name, {"watermark": queries.watermark},
                                          where.out, params.seed, params.device,
                                          precision=params.suspect_precision)["watermark"]
    return answers, size


def dose_table(where: Workspace, queries: Queries, answers: dict[float, list[str]], params: Params) -> pd.DataFrame:
    """Each dose student's watermark test after all queries, significant or not at alpha."""
    dose = (radioactivity_curves(where.tokenizer, queries.watermark.conversations,
                                 {f"{s:.2f}": a for s, a in answers.items()}, where.scorer, [params.num_queries])
            .rename(columns={"model": "watermarked_share"}))
    dose["watermarked_share"] = dose["watermarked_share"].astype(float)
    dose["significant"] = dose.p_value <= params.alpha
    return dose
