"""A made-up run directory with collect and distill metrics, for the cost tests only."""

from __future__ import annotations

import json
from pathlib import Path

from casestudy.artifacts import write_metrics

FAKE_COLLECT = {
    "records": 16, "prompt_tokens": 800, "completion_tokens": 640, "wall_seconds": 30.0,
    "device": "cpu (2 threads, float32)", "teacher_params": 134_515_008,
    "control": {"records": 16, "prompt_tokens": 800, "completion_tokens": 600, "wall_seconds": 20.0,
                "device": "cpu (2 threads, float32)", "teacher_params": 134_515_008},
    "post_training": {"seconds": 600.0, "device": "cpu (2 threads, float32)", "examples": 1400},
}
SKILL = lambda acc, share: {"accuracy": acc, "copied_share": share, "n": 100}
FAKE_DISTILL = {
    "device": "cpu (2 threads, float32)", "wall_seconds": 60.0, "teacher_accuracy": 0.8,
    "teacher_skill": {"accuracy": 0.9, "n": 100},
    "students": [
        {"name": "public", "kind": "untrained", "start": "public", "arm": None, "params": 4_000_000, "steps": 0,
         "train_tokens": 0, "wall_seconds": 0.0, "accuracy": 0.2, "skill": SKILL(0.1, None)},
        {"name": "sft", "kind": "sft", "start": "public", "arm": "main", "params": 4_000_000, "steps": 10,
         "trainable_params": 1_000_000, "train_tokens": 40_000, "wall_seconds": 25.0, "accuracy": 0.5,
         "skill": SKILL(0.6, 0.625)},
        {"name": "topk", "kind": "topk", "start": "public", "arm": "main", "params": 4_000_000, "steps": 10,
         "trainable_params": 4_000_000, "train_tokens": 40_000, "wall_seconds": 30.0, "accuracy": 0.6,
         "n_layers": 4, "d_model": 256, "context": 128, "skill": SKILL(0.8, 0.875)},
        {"name": "control", "kind": "sft", "start": "public", "arm": "control", "params": 4_000_000, "steps": 10,
         "trainable_params": 1_000_000, "train_tokens": 40_000, "wall_seconds": 5.0, "accuracy": 0.3,
         "skill": SKILL(0.12, 0.025)},
    ],
}
FAKE_TIMINGS = {"01_collect": 45.0, "02_distill": 80.0}


def write_fake_run(run: Path, timings: bool = True) -> Path:
    """Write `<run>/collect`, `<run>/distill` metrics (and timings.json) with made-up values."""
    write_metrics(run / "collect", FAKE_COLLECT, {"records": "16"})
    write_metrics(run / "distill", FAKE_DISTILL, {"students": "4"})
    if timings:
        (run / "timings.json").write_text(json.dumps(FAKE_TIMINGS))
    return run

