"""Is this laptop ready for the workshop? `make check` or `python -m casestudy.report.check`.

In under a minute it reports Python's version, the cores, the memory, the free disk; loads
the embedded teacher (`casestudy.models.load_model("embedded")`), generates a few tokens and
measures tokens/s; estimates the workshop run's time from that; and gives a verdict
(ready / slow / not supported) with advice.

The estimate. The workshop profile's notebooks are dominated by the teacher's generation
(collection, the suspects' answers) and by small training runs, both bound by the same matrix
products, so this check scales the published run's measured notebook times by the ratio of
generation speeds:

    estimate(notebook) = T_ref(notebook) × r_ref / r_here

where T_ref is the notebook's wall time in the reference run (`runs/workshop/timings.json`
of the machine that made the published run), r_ref is this check's tokens/s measured on that
same machine, and r_here is this check's tokens/s here. The reference is written by

    python -m casestudy.report.check --calibrate runs/workshop      # on the reference machine

into `data/check_reference.json`; without it the check measures but does not estimate. The
estimate is a first-order guess (memory bandwidth, thermal throttling and other programs
change the ratio), not a promise.

Portable calls only: os.cpu_count (and the affinity mask where the OS has one),
os.sysconf for the memory (psutil when sysconf cannot tell and psutil happens to be
installed), shutil.disk_usage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from casestudy.paths import DATA_DIR, REPO_ROOT

GiB = 1024 ** 3
SUPPORTED_PYTHON = ((3, 11), (3, 13))     # the versions whose pinned wheels exist (pyproject's requires-python)
MIN_MEMORY_GIB = 4.0      # the teacher twice (two deployments) + a student in training + Jupyter
GOOD_MEMORY_GIB = 8.0     # below this the run may swap: slow, not broken
MIN_FREE_DISK_GIB = 8.0   # left after the install: .cache 1.0 GiB and a smoke run 2.6 GiB (mostly students) measured
MIN_CORES = 2             # the profiles are sized for 2 cores
BUDGET_MINUTES = 60.0     # the workshop plan's slot for the run (docs/workshop.md)
FROZEN_NOTEBOOKS = ("02_distill", "03_cost", "04_detect")  # what a laptop runs with the frozen collection
REFERENCE_FILE = DATA_DIR / "check_reference.json"
BATCH, NEW_TOKENS, WARMUP_TOKENS = 4, 24, 2


@dataclass
class Machine:
    python: str
    python_ok: bool
    os: str
    cores: int | None
    usable_cores: int | None
    memory_gib: float | None
    free_disk_gib: float
    load_average: float | None = None   # 1-minute load (Unix); None where the OS has none
    bf16_training: bool | None = None   # whether students train in bf16 here (casestudy.device's rule: ~1.7x faster)


@dataclass
class Teacher:
    loaded: bool
    load_seconds: float | None = None
    tokens_per_second: float | None = None     # generated tokens / s, batch of BATCH, greedy
    sample: str = ""
    error: str = ""


@dataclass
class Verdict:
    verdict: str                              # "ready", "slow" or "not supported"
    reasons: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    estimate_minutes: float | None = None     # the workshop profile, every notebook
    frozen_estimate_minutes: float | None = None  # the same, starting from the frozen collection


def memory_bytes() -> int | None:
    """Physical memory: os.sysconf (Linux, macOS, BSDs), else psutil if installed, else unknown."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return pages * size
    except (AttributeError, ValueError, OSError):
        pass
    try:
        import psutil  # not a dependency of ours; used only when something else installed it

        return int(psutil.virtual_memory().total)
    except Exception:  # noqa: BLE001 - any failure means "unknown"
        return None


def usable_cores() -> int | None:
    """Cores this process may use: the affinity mask where the OS has one, else all of them."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return len(os.sched_getaffinity(0))
        except OSError:
            pass
    return os.cpu_count()


def python_supported(version: tuple[int, int]) -> bool:
    low, high = SUPPORTED_PYTHON
    return low <= tuple(version[:2]) <= high


def machine(path: Path = REPO_ROOT) -> Machine:
    memory = memory_bytes()
    return Machine(
        python=platform.python_version(), python_ok=python_supported(sys.version_info[:2]),
        os=f"{platform.system()} {platform.release()} ({platform.machine()})",
        cores=os.cpu_count(), usable_cores=usable_cores(),
        memory_gib=round(memory / GiB, 1) if memory else None,
        free_disk_gib=round(shutil.disk_usage(path).free / GiB, 1),
        load_average=load_average(),
        bf16_training=native_bf16(),
    )


def native_bf16() -> bool | None:
    """Whether students will train in bf16 here (casestudy.device's rule); None when torch does not import."""
    try:
        from casestudy.device import pick_device, native_precision
    except Exception:  # noqa: BLE001 - a broken torch is reported by the teacher check
        return None
    return native_precision(pick_device()) == "bf16"


def load_average() -> float | None:
    """The 1-minute load average where the OS keeps one (not on Windows)."""
    try:
        return round(os.getloadavg()[0], 1)
    except (AttributeError, OSError):
        return None


def measure_teacher(batch: int = BATCH, new_tokens: int = NEW_TOKENS) -> Teacher:
    """Load the embedded teacher on the CPU and time a batched greedy generation (after a warm-up)."""
    try:
        import torch

        from casestudy.chat import chat_text
        from casestudy.models import load_model

        start = time.perf_counter()
        loaded = load_model("embedded", device="cpu", precision="auto")  # as the deployments serve it
        load_s = time.perf_counter() - start
        tok = loaded.tokenizer
        prompts = [chat_text(tok, [{"role": "user", "content": f"Add {100 + i} and {250 + i}."}])
                   for i in range(batch)]
        inputs = tok(prompts, return_tensors="pt", padding=True)
        gen = dict(do_sample=False, pad_token_id=tok.pad_token_id)
        with torch.inference_mode():
            loaded.model.generate(**inputs, max_new_tokens=WARMUP_TOKENS, min_new_tokens=WARMUP_TOKENS, **gen)
            start = time.perf_counter()
            out = loaded.model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, **gen)
            seconds = time.perf_counter() - start
        generated = out[:, inputs["input_ids"].shape[1]:]
        sample = tok.decode(generated[0], skip_special_tokens=True).strip()
        return Teacher(True, round(load_s, 1), round(generated.numel() / seconds, 1), sample[:80])
    except Exception as err:  # noqa: BLE001 - the verdict reports any failure
        return Teacher(False, error=f"{type(err).__name__}: {err}"[:300])


def read_reference(path: Path = REFERENCE_FILE) -> dict[str, Any] | None:
    """The reference run's notebook times and this check's tokens/s on its machine (None: not calibrated)."""
    if not Path(path).is_file():
        return None
    data = json.loads(Path(path).read_text())
    return data if data.get("tokens_per_second") and data.get("timings") else None


def estimate_minutes(reference: dict[str, Any] | None, tokens_per_second: float | None,
                     notebooks: tuple[str, ...] | None = None) -> float | None:
    """sum over notebooks of T_ref × r_ref / r_here, in minutes (None without a reference or a measurement)."""
    if not reference or not tokens_per_second:
        return None
    times = reference["timings"]
    chosen = [name for name in times if notebooks is None or name in notebooks]
    return round(sum(times[name] for name in chosen) * reference["tokens_per_second"] / tokens_per_second / 60, 1)


def decide(m: Machine, t: Teacher, reference: dict[str, Any] | None = None,
           budget_minutes: float = BUDGET_MINUTES) -> Verdict:
    """The verdict from the measured figures: not supported > slow > ready."""
    blocked, slow, advice = [], [], []
    if not m.python_ok:
        low, high = SUPPORTED_PYTHON
        blocked.append(f"Python {m.python} (supported: {low[0]}.{low[1]} to {high[0]}.{high[1]})")
        advice.append("install Python 3.11 (pyenv, python.org or conda) and rerun `make check`")
    if not t.loaded:
        blocked.append(f"the embedded teacher did not load or generate: {t.error}")
        advice.append("reinstall the environment: `rm -rf .venv && make check` (needs the internet once)")
    if m.memory_gib is not None and m.memory_gib < MIN_MEMORY_GIB:
        blocked.append(f"{m.memory_gib} GiB of memory (at least {MIN_MEMORY_GIB:g} GiB)")
        advice.append("pair with a neighbour, or follow the instructor's run")
    elif m.memory_gib is not None and m.memory_gib < GOOD_MEMORY_GIB:
        slow.append(f"{m.memory_gib} GiB of memory (below {GOOD_MEMORY_GIB:g} GiB the run may swap)")
        advice.append("close the browser tabs and other programs you do not need")
    if m.free_disk_gib < MIN_FREE_DISK_GIB:
        blocked.append(f"{m.free_disk_gib} GiB free on disk (at least {MIN_FREE_DISK_GIB:g} GiB)")
        advice.append("free some disk, or clone the repository onto a larger disk")
    cores = m.usable_cores or m.cores
    if cores is not None and cores < MIN_CORES:
        slow.append(f"{cores} usable core(s) (the profiles are sized for {MIN_CORES})")
    if m.load_average is not None and cores and m.load_average > cores:
        slow.append(f"the CPU is busy (load {m.load_average:g} on {cores} cores): other programs share it")
        advice.append("close other programs (and other notebooks' kernels), then rerun `make check`: "
                      "a busy CPU measures slow")
    reference_bf16 = ((reference or {}).get("machine") or {}).get("bf16_training")
    if reference_bf16 and m.bf16_training is False:
        slow.append("this CPU has no native bf16: students train in fp32, about 1.7x slower than on the reference "
                    "machine (the estimate scales by generation speed only and does not include this)")
        advice.append("start from the frozen collection, or shorten training: SET=\"02_distill.max_steps=40\"")
    full = estimate_minutes(reference, t.tokens_per_second)
    lite = estimate_minutes(reference, t.tokens_per_second, FROZEN_NOTEBOOKS)
    if full is not None and full > budget_minutes:
        slow.append(f"the workshop run is estimated at {full:g} min (the slot is {budget_minutes:g} min)")
        if lite is not None and lite <= budget_minutes:
            advice.append(f"start from the frozen collection (about {lite:g} min): "
                          "make report PROFILE=workshop SET=\"01_collect.source=frozen\"")
        else:
            advice.append("start from the frozen collection and follow 04 on the instructor's screen, "
                          "or pair with a faster laptop")
    if reference is None and t.loaded:
        advice.append("no reference run is recorded (data/check_reference.json): the time is not estimated")
    if blocked:
        return Verdict("not supported", blocked + slow, advice, full, lite)
    if slow:
        return Verdict("slow", slow, advice, full, lite)
    return Verdict("ready", [], advice or ["nothing to do: `make report PROFILE=workshop` when the instructor "
                                           "says so"], full, lite)


def calibrate(run: Path, teacher: Teacher, path: Path = REFERENCE_FILE) -> Path:
    """Record the reference: `run`'s notebook times and this machine's tokens/s (run it where `run` was made).

    A run that unpacked the frozen collection has no collection time of its own: notebook 01
    keeps the previous reference's time (a live collection), and the file says so."""
    from casestudy.scenario.frozen import started_frozen

    timings = json.loads((Path(run) / "timings.json").read_text())
    if not teacher.loaded:
        raise RuntimeError(f"cannot calibrate: {teacher.error}")
    notes = []
    previous = read_reference(path)
    if started_frozen(run) and previous and "01_collect" in previous["timings"]:
        timings["01_collect"] = previous["timings"]["01_collect"]
        notes.append(f"01_collect from the previous reference ({previous.get('measured_at', 'unknown')}, run "
                     f"{previous.get('run', 'unknown')}): this run unpacked the frozen collection")
    payload = {"run": Path(run).name, "timings": timings, "tokens_per_second": teacher.tokens_per_second,
               "machine": asdict(machine()), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "formula": "estimate(notebook) = T_ref(notebook) * r_ref / r_here", "notes": notes}
    Path(path).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return Path(path)


def report(m: Machine, t: Teacher, v: Verdict) -> str:
    unknown = "unknown"
    lines = [
        f"Python        {m.python} ({'supported' if m.python_ok else 'NOT supported'}) on {m.os}",
        f"cores         {m.cores} ({m.usable_cores} usable), load {m.load_average if m.load_average is not None else unknown}",
        f"memory        {m.memory_gib if m.memory_gib is not None else unknown} GiB",
        f"free disk     {m.free_disk_gib} GiB",
        f"bf16 training {'native (students train in bf16)' if m.bf16_training else 'not native (students train in fp32)'}",
        (f"teacher       loaded in {t.load_seconds} s; {t.tokens_per_second} tokens/s "
         f"(batch of {BATCH}, {NEW_TOKENS} tokens); it wrote: {t.sample!r}" if t.loaded
         else f"teacher       FAILED: {t.error}"),
        "estimate      " + (f"{v.estimate_minutes} min for the workshop run; {v.frozen_estimate_minutes} min from the "
                            "frozen collection (T_ref × r_ref / r_here)" if v.estimate_minutes is not None
                            else "not available (no reference run recorded)"),
        "",
        f"VERDICT: {v.verdict.upper()}",
        *(f"  - {reason}" for reason in v.reasons),
        "advice:",
        *(f"  - {line}" for line in v.advice),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casestudy.report.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibrate", type=Path, metavar="RUN",
                        help="record RUN's timings.json and this machine's tokens/s as the reference")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    m, t = machine(), measure_teacher()
    if args.calibrate:
        print(f"reference written: {calibrate(args.calibrate, t)} ({t.tokens_per_second} tokens/s)")
        return 0
    v = decide(m, t, read_reference())
    print(json.dumps({"machine": asdict(m), "teacher": asdict(t), "verdict": asdict(v)}, indent=2) if args.json
          else report(m, t, v))
    return 2 if v.verdict == "not supported" else 0


if __name__ == "__main__":
    sys.exit(main())
