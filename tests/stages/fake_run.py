"""A made-up run directory with collect and distill metrics, for the cost tests.

The metrics are built through the stages' typed contracts (`collect.Metrics`,
`distill.Metrics`), so made-up data must satisfy what notebooks 01 and 02 write.
`FAKE_COLLECT` and `FAKE_DISTILL` are their plain mappings, as the cost layer reads them.
"""

from __future__ import annotations

import json
from pathlib import Path

from casestudy.stages import collect, distill
from casestudy.targets import Target

CPU = "cpu (2 threads, float32)"
BILL = {"p (2025-01-15)": 0.0084}


def arm(records: int, prompt_tokens: int, completion_tokens: int, wall_seconds: float) -> collect.ArmMetrics:
    return collect.ArmMetrics(records=records, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                              wall_seconds=wall_seconds, tokens_per_second=round(completion_tokens / wall_seconds, 2),
                              complete=True, device=CPU, records_hash="0" * 16, bill_usd=BILL)


def fake_collect(**changes) -> collect.Metrics:
    """A collect stage's metrics.json: 16 records per arm, the provider's post-training on the CPU."""
    values = dict(
        **dict(arm(16, 800, 640, 30.0)), teacher_params=134_515_008, endpoint="local provider",
        control=arm(16, 800, 600, 20.0),
        traffic=[collect.TrafficRow(account="customer-01", conversations=2, requests=3, completion_tokens=90)],
        source=collect.LiveSource(),
        post_training=collect.PostTraining(seconds=600.0, cpu_seconds=1100.0, device=CPU, examples=1400, steps=0,
                                           skill_examples=960, batch_size=16, train_layers=12, lr=3e-4, recipe=7,
                                           optimizer_steps=88),
        parameters=collect.Params.defaults().values(), stage_wall_seconds=55.0,
        targets=[Target("main arm complete", "16 records", True)], headline={"records": "16"},
    )
    return collect.Metrics(**{**values, **changes})


def skill(model: str, accuracy: float, share: float | None, trained: bool = True) -> distill.SkillRow:
    return distill.SkillRow(model=model, start="public", params=4e6, trained=trained, n=100,
                            correct=round(100 * accuracy), accuracy=accuracy, ci_low=max(accuracy - 0.1, 0.0),
                            ci_high=min(accuracy + 0.1, 1.0), copied_share=share, vs_control="",
                            mcnemar_p=None, teacher_format=None, heldout_ce=None)


def student(name: str, kind: str, arm: str | None, steps: int, trainable_params: int, wall_seconds: float,
            accuracy: float, skill_row: distill.SkillRow, arch: tuple[int, int, int] = (0, 0, 0)
            ) -> distill.StudentMetrics:
    """One student; arch (n_layers, d_model, context) zeros count 6·N·D alone in the cost tests."""
    n_layers, d_model, context = arch
    train_tokens = 40_000 if steps else 0
    return distill.StudentMetrics(
        name=name, kind=kind, start="public", arm=arm, params=4_000_000, trainable_params=trainable_params,
        train_tokens=train_tokens, target_tokens=train_tokens // 2, steps=steps, wall_seconds=wall_seconds,
        tokens_per_second=train_tokens / wall_seconds if wall_seconds else 0.0, device=CPU, accuracy=accuracy,
        accuracy_by_family={"translation": skill_row.accuracy}, heldout_ce=None, path=f"students/{name}",
        n_layers=n_layers, d_model=d_model, context=context, skill=skill_row)


def fake_distill(**changes) -> distill.Metrics:
    """A distill stage's metrics.json: the public start, two main students and a control."""
    values = dict(
        device=CPU, wall_seconds=60.0, skill_family="translation", best_student="topk", teacher_accuracy=0.8,
        teacher_accuracy_by_family={"translation": 0.9}, teacher_skill=skill("teacher", 0.9, None, trained=False),
        gold_eval_prompts=100, heldout_records=20, topk_facts={}, closed_families=[],
        students=[
            student("public", "untrained", None, 0, 4_000_000, 0.0, 0.2, skill("public", 0.1, None, trained=False)),
            student("sft", "sft", "main", 10, 1_000_000, 25.0, 0.5, skill("sft", 0.6, 0.625)),
            student("topk", "topk", "main", 10, 4_000_000, 30.0, 0.6, skill("topk", 0.8, 0.875), (4, 256, 128)),
            student("control", "sft", "control", 10, 1_000_000, 5.0, 0.3, skill("control", 0.12, 0.025)),
        ],
        parameters={}, fingerprint="0123456789abcdef", headline={"students": "4"},
    )
    return distill.Metrics(**{**values, **changes})


COLLECT = fake_collect()
DISTILL = fake_distill()
FAKE_COLLECT = COLLECT.model_dump()
FAKE_DISTILL = DISTILL.model_dump()
FAKE_TIMINGS = {"01_collect": 45.0, "02_distill": 80.0}


def write_fake_run(run: Path, timings: bool = True) -> Path:
    """Write `<run>/collect`, `<run>/distill` metrics (and timings.json) with made-up values."""
    COLLECT.write(run / "collect")
    DISTILL.write(run / "distill")
    if timings:
        (run / "timings.json").write_text(json.dumps(FAKE_TIMINGS))
    return run


def fake_detect(suspect: str = "sft", suspect_p: float = 1e-3, dose_p: float = 1e-12,
                control_p: float = 0.4) -> "detect.Metrics":
    """A detect stage's metrics.json: the suspect's and the control's watermark tests, two dose students."""
    from casestudy.stages import detect

    row = lambda model, p: detect.RadioactivityRow(model=model, scored=900, green=240, green_share=0.27, p_value=p)
    dose = lambda share, p: detect.DoseRow(watermarked_share=share, scored=800, green=220, p_value=p)
    return detect.Metrics(
        num_queries=16, suspect=suspect, radioactivity=[row(suspect, suspect_p), row("control", control_p)],
        calibration=detect.Calibration(keys=100, ks_statistic=0.05, ks_p_value=0.9, false_positive_rate=0.01,
                                       alpha=0.01),
        dose=[dose(0.0, 0.5), dose(1.0, dose_p)], identity=[], traffic_auc=1.0, first_flagged_after=None,
        evasion=[], mistake_probes=0, teacher_mistakes=0, mistakes=[], evidence=[], parameters={})
