"""Command line for training one student from a run's collection; the same command scales out unchanged:

    python -m casestudy.distiller.students --run smoke --kind topk
    accelerate launch --multi_gpu --num_processes 4 -m casestudy.distiller.students --run full --kind topk --size 60m
    torchrun --nproc_per_node 4 -m casestudy.distiller.students --run full --kind sft

--batch-size is per process (global batch: batch size x grad accum x processes). On CPUs,
`accelerate launch --multi_gpu --num_processes N ... --device cpu` starts N gloo processes;
`--cpu --num_processes N` starts only one unless run under mpirun (--mpirun_hostfile).
Only the main process prints the result.
"""

from __future__ import annotations

import argparse
import json

from accelerate import PartialState

from casestudy.distiller.collect.dataset import read_records, read_topk
from casestudy.distiller.students.student import StudentConfig
from casestudy.distiller.students.train import TrainConfig, train_student
from casestudy.paths import stage_dir

INT_OPTIONS = ("max_steps", "batch_size", "grad_accum", "max_len", "warmup_steps", "eval_every", "ckpt_every", "seed",
               "log_every", "train_layers")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m casestudy.distiller.students", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="profile name or run directory")
    ap.add_argument("--arm", default="main", help="collection arm: main or control")
    ap.add_argument("--kind", default="sft", choices=["sft", "topk"])
    ap.add_argument("--size", default="5m", help="a scratch size (5m, 15m, 30m, 60m), public or public@<share>")
    ap.add_argument("--shape", default=None, metavar="H,L,HEADS,KV,FFN",
                    help="a scratch student of this shape instead of --size: width, layers, heads, kv heads, SwiGLU width")
    ap.add_argument("--name", default=None, help="student folder under <run>/distill/students (default: kind-size)")
    for f in INT_OPTIONS:
        ap.add_argument("--" + f.replace("_", "-"), type=int, default=getattr(TrainConfig(), f),
                        help="per process" if f == "batch_size" else None)
    for f in ("lr", "alpha"):
        ap.add_argument("--" + f, type=float, default=getattr(TrainConfig(), f))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    return ap


def main(argv: list[str] | None = None) -> int:
    """Train the student the options name into <run>/distill/students/<name>; print its summary."""
    args = parser().parse_args(argv)
    alpha = (args.alpha or 0.5) if args.kind == "topk" else 0.0  # topk without --alpha mixes half and half
    cfg = TrainConfig(**{f: getattr(args, f) for f in (*INT_OPTIONS, "lr", "device", "precision")}, alpha=alpha)
    student = StudentConfig(*(int(v) for v in args.shape.split(","))) if args.shape else args.size
    arm = stage_dir(args.run, "collect") / args.arm
    records = read_records(arm)
    name = args.name or f"{args.kind}-{args.size if not args.shape else 'x'.join(args.shape.split(','))}"
    result = train_student([r for r in records if r["split"] == "train"], read_topk(arm) if alpha else None,
                           student, cfg, stage_dir(args.run, "distill") / "students" / name,
                           eval_records=[r for r in records if r["split"] == "eval"], name=name, kind=args.kind)
    if PartialState().is_main_process:
        print(json.dumps(result.summary(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
