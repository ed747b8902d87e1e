"""Where a decoding step of the serving engine waits for the device, without a device.

For 1..64 rows in flight it counts, per steady decoding step (no row joins, ends, or
grows the cache), what `benchmarks/syncs.py` counts: reads (device -> host: the host
waits), uploads (host -> device) and the operators dispatched (on a GPU, each a kernel
launch). Work labelled "green lists" (the watermark's table refilled for previous tokens
it has not seen yet; only some steps, host work plus an upload) is shown apart.
Configurations: `greedy`, `mixed` (every other row sampled at temperature 0.8, top_p 0.95,
seeded), `marked` (mixed, the watermark and top-20 logprobs).

    python benchmarks/bench_step.py                       # the tiny model, 1..64 rows, every configuration
    python benchmarks/bench_step.py --rows 2 8 32 --configs marked --device cuda

On CUDA the counts are the same hooks (copies are then counted from the operators'
devices) and each step is also timed, synchronised, with `torch.cuda.set_sync_debug_mode`
counting the synchronising calls torch itself reports.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this checkout's casestudy

from benchmarks.syncs import Counter, Counts  # noqa: E402

REFILL = "green lists"           # Marking's record_function region
CONFIGS = {  # name -> (mixed greedy and sampled rows, top_logprobs, watermark)
    "greedy": (False, 0, False),
    "mixed": (True, 0, False),
    "mixed-top20": (True, 20, False),
    "marked-greedy": (False, 0, True),
    "marked": (True, 20, True),
}
WATERMARK_KEY = 123456789


def make_rows(tokenizer, n: int, *, mixed: bool, top_logprobs: int, max_new_tokens: int = 400):
    """`n` rows long enough not to end while counted; with `mixed`, every other row sampled."""
    from casestudy.provider.serving.rows import Row

    texts = ["Once upon a time", "Hi", "Tell me a story about a dragon.", "2 + 2 =", "The weather today"]
    rows = []
    for i in range(n):
        sampled = mixed and i % 2 == 1
        rows.append(Row(tokenizer.encode(texts[i % len(texts)]), max_new_tokens, temperature=0.8 if sampled else 0,
                        top_p=0.95 if sampled else 1.0, seed=i if sampled else None, top_logprobs=top_logprobs,
                        logprobs=bool(top_logprobs)))
    return rows


def steady_step(engine, tries: int = 20) -> Counts:
    """Counts of one steady decoding step: the rows decoding stay the same, none ends, the
    cache keeps its buffers. Steps that are not steady are run and dropped (at most `tries`)."""
    for _ in range(tries):
        before = ([id(s) for s in engine.slots], engine.cache.capacity, engine.in_flight)
        counter = Counter()
        with counter as counts:
            finished = engine.step()
        steady = (not finished and not engine.prefilling and before[0] == [id(s) for s in engine.slots]
                  and before[1] == engine.cache.capacity and before[2] == engine.in_flight)
        if steady:
            return counts
    raise RuntimeError(f"no steady step in {tries}")


def warm(engine, rows, steps: int = 3) -> None:
    """Add `rows`, step until they all decode, then `steps` more."""
    for row in rows:
        engine.add(row)
    for _ in range(50):
        engine.step()
        if not engine.prefilling and engine.decoding == len(rows):
            break
    for _ in range(steps):
        engine.step()


def measure(loaded, n: int, config: str, steps: int = 3) -> tuple[list[Counts], float]:
    """Counts of `steps` steady steps at `n` rows, and their mean synchronised wall time."""
    from casestudy.provider.serving.engine import Engine
    from casestudy.provider.settings import WatermarkSettings

    mixed, k, marked = CONFIGS[config]
    engine = Engine(loaded, WatermarkSettings(key=WATERMARK_KEY) if marked else None)
    warm(engine, make_rows(loaded.tokenizer, n, mixed=mixed, top_logprobs=k))
    counts = [steady_step(engine) for _ in range(steps)]
    sync = torch.cuda.synchronize if engine.device.type == "cuda" else (lambda: None)
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        engine.step()
    sync()
    return counts, (time.perf_counter() - started) / steps


def cuda_syncs(loaded, n: int, config: str) -> int:
    """Synchronising calls torch reports in one steady step (CUDA only)."""
    from casestudy.provider.serving.engine import Engine
    from casestudy.provider.settings import WatermarkSettings

    mixed, k, marked = CONFIGS[config]
    engine = Engine(loaded, WatermarkSettings(key=WATERMARK_KEY) if marked else None)
    warm(engine, make_rows(loaded.tokenizer, n, mixed=mixed, top_logprobs=k))
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            engine.step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="'tiny' (2 layers, width 64, random), 'embedded', or a path")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--steps", type=int, default=3, help="steady steps counted per point")
    parser.add_argument("--top", type=int, default=0, help="also print the N most dispatched operators")
    args = parser.parse_args()
    from benchmarks.bench_serving import tiny_model_dir
    from casestudy.models import load_model

    with tempfile.TemporaryDirectory() as tmp:
        source = str(tiny_model_dir(Path(tmp) / "tiny")) if args.model == "tiny" else args.model
        loaded = load_model(source, device=args.device)
    print(f"model {args.model}, device {loaded.device.torch}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; per steady step, mean of {args.steps}")
    cuda = loaded.device.torch.type == "cuda"
    print("| config | rows | reads | uploads | ops | green-list ops | green-list uploads | ms/step |"
          + (" cuda syncs |" if cuda else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|" if cuda else ""))
    for config in args.configs:
        for n in args.rows:
            counts, seconds = measure(loaded, n, config, args.steps)
            mean = lambda f: sum(f(c) for c in counts) / len(counts)   # noqa: E731
            reads = mean(lambda c: len(c.outside(c.reads, REFILL)))
            uploads = mean(lambda c: len(c.outside(c.uploads, REFILL)))
            ops = mean(lambda c: c.ops_outside(REFILL))
            refill_ops = mean(lambda c: c.by_region[REFILL])
            refill_up = mean(lambda c: len(c.uploads) - len(c.outside(c.uploads, REFILL)))
            line = (f"| {config} | {n} | {reads:g} | {uploads:g} | {ops:g} | {refill_ops:g} | {refill_up:g} "
                    f"| {1000 * seconds:.2f} |")
            if cuda:
                line += f" {cuda_syncs(loaded, n, config)} |"
            print(line, flush=True)
            if args.top:
                for event in {str(e) for c in counts for e in c.reads + c.uploads}:
                    print(f"    {event}")
                for name, count in counts[-1].by_op.most_common(args.top):
                    print(f"    {name}: {count}")


if __name__ == "__main__":
    main()
