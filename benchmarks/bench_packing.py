"""Print padded vs packed training tokens/s on this machine.

    python benchmarks/bench_packing.py                      # synthetic chat-like lengths
    python benchmarks/bench_packing.py --run smoke          # a profile's collected data
    python benchmarks/bench_packing.py --size 15m --device cuda --steps 30
"""

from __future__ import annotations

import argparse

from transformers import AutoTokenizer

from casestudy.distiller.students.bench import compare, synthetic_examples
from casestudy.distiller.students.student import student_config
from casestudy.models import embedded_model_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="profile or run dir whose collect/main records to use (default: synthetic)")
    ap.add_argument("--size", default="5m", help="student size (5m, 15m, 30m, 60m)")
    ap.add_argument("--max-len", type=int, default=256, help="tokens per packed row")
    ap.add_argument("--batch-size", type=int, default=4, help="packed rows per step")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per mode")
    ap.add_argument("--rounds", type=int, default=2, help="alternated rounds; the best of each mode is kept")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--examples", type=int, default=400, help="synthetic examples")
    args = ap.parse_args()

    tok = AutoTokenizer.from_pretrained(embedded_model_dir())
    if args.run:
        from casestudy.distiller.collect.dataset import read_records
        from casestudy.distiller.students.packing import encode_records
        from casestudy.paths import stage_dir
        records = read_records(stage_dir(args.run, "collect") / "main")
        examples = encode_records(tok, [r for r in records if r["split"] == "train"], None, args.max_len)
        source = f"{len(examples)} collected examples ({args.run})"
    else:
        examples = synthetic_examples(args.examples)
        source = f"{len(examples)} synthetic examples"
    rows = compare(examples, tok, student_config(args.size), max_len=args.max_len, batch_size=args.batch_size,
                   steps=args.steps, device=args.device, rounds=args.rounds)
    print(f"student {args.size}, {source}, device {rows[0]['device']}")
    print(f"{'mode':8s} {'tokens/s':>10s} {'padding':>8s} {'steps':>6s}  (best of {args.rounds} rounds)")
    for r in rows:
        print(f"{r['mode']:8s} {r['tokens_per_s']:10.0f} {r['padding_share']:8.1%} {r['steps']:6d}")
    print(f"packed / padded: {rows[1]['speedup']:.2f}x")


if __name__ == "__main__":
    main()
