"""Training benchmark: tokens/s and MFU by student, through the study's own training loop.

Each student takes `--steps` optimizer steps of `train_student` (packed rows, gradient
accumulation, bf16 autocast and fused AdamW on CUDA) on chat records built from the
project's prompts, with answers long enough to fill the rows. The first logging window
holds the warm-up (allocation, kernel selection); the figures are the median of the later
windows. MFU uses the Kaplan FLOPs per token of `train.flops_per_token` against the GPU's
dense bf16 peak (none on a CPU).

    python benchmarks/bench_training.py                                  # CPU: small shapes
    python benchmarks/bench_training.py --device cuda --students public public@0.5 scratch-30m \\
        --batch-size 16 --grad-accum 2 --max-len 512 --steps 20          # the full profile's shape
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from casestudy.distiller.collect.prompts import load_prompts  # noqa: E402
from casestudy.distiller.students.train import TrainConfig, train_student  # noqa: E402


def bench_records(n: int, words: int = 180) -> list[dict]:
    """Chat records: project prompts with a long answer (the prompt's words, repeated)."""
    prompts = load_prompts()[:n]
    records = []
    for i, p in enumerate(prompts):
        text = " ".join((p.text.split() * words)[:words])
        records.append({"id": f"bench-{i}", "messages": [{"role": "user", "content": p.text}], "completion": text,
                        "finish_reason": "stop", "split": "train", "family": p.family})
    return records


def measure(student: str, records: list[dict], recipe: TrainConfig) -> dict:
    with tempfile.TemporaryDirectory() as out:
        result = train_student(records, None, student, recipe, Path(out) / "s", name=student, reuse=False,
                               progress=False)
    windows = [h for h in result.history if "tokens_per_s" in h][1:] or [h for h in result.history if "tokens_per_s" in h]
    mfu = [h["mfu"] for h in windows if "mfu" in h]
    return {"student": student, "params": result.params, "trainable": result.trainable_params,
            "device": result.device, "steps": result.steps,
            "tokens_per_s": statistics.median(h["tokens_per_s"] for h in windows),
            "mfu": statistics.median(mfu) if mfu else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", nargs="+", default=["public", "scratch-5m"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--max-len", type=int, default=256)
    parser.add_argument("--train-layers", type=int, default=0, help="0: every layer trains")
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args(argv)
    recipe = TrainConfig(max_steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum,
                         max_len=args.max_len, lr=5e-4, warmup_steps=1, train_layers=args.train_layers,
                         device=args.device, log_every=max(1, args.steps // 4))
    records = bench_records(args.records, words=args.max_len // 3)  # ~3/4 of a row per answer
    rows = []
    for student in args.students:
        lr = 3e-3 if student.startswith("scratch") else recipe.lr
        rows.append(measure(student, records, replace(recipe, lr=lr)))
        r = rows[-1]
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
        print(f"{r['student']:14s} {r['params'] / 1e6:7.1f}M params  {r['tokens_per_s']:10.0f} tokens/s  MFU {mfu}"
              f"  ({r['device']}, {args.batch_size}x{args.grad_accum} rows of {args.max_len})", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
