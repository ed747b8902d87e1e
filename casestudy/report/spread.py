"""Run-to-run spread of the headline figures: the same profile under several seeds.

    python -m casestudy.report.spread --profile workshop --seeds 0 1 2

Seed 0 is the profile's own run (`runs/<profile>/`, run first if missing); every other seed
runs into `runs/seed<N>/<profile>/`. With `--reuse-collection` (the default) the other seeds
copy seed 0's collection and rerun notebooks 02 to 04 only: what varies is the students'
initialisation and data order, the investigator's queries and the dose mixes, which is where
the spread of the p-values came from; `--fresh-collection` reruns notebook 01 too (the
prompts chosen, the answers sampled and the watermark key change with the seed).
`--set 01_collect.source=frozen` starts seed 0 from the shipped frozen collection, and
`--jobs 3` runs the seeds at once, each in its own process (on a GPU; each child's output
goes to its run folder's `spread.log`). The table of figures per seed and its summary go to
`runs/<profile>-spread.csv` and `.txt`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from casestudy.paths import run_dir, runs_dir
from casestudy.profiles import get_profile
from casestudy.report.runner import run_notebooks
from casestudy.stages.cost import (is_p_value, published_spread, read_spread, seeds_and_devices,  # noqa: F401
                                   spread_sentence, spread_summary as summary, spread_value)

AFTER_COLLECTION = ["02_distill", "03_cost", "04_detect"]


def seed_run(profile: str, seed: int) -> Path:
    return run_dir(profile) if seed == 0 else seed_runs_dir(seed) / profile


def seed_runs_dir(seed: int) -> Path:
    return runs_dir() / f"seed{seed}"


def headline_figures(run: Path) -> dict[str, Any]:
    """The figures a claim rests on, read from one run's typed metrics (notebook 04's when it ran)."""
    from casestudy.stages import detect as detect_stage, distill as distill_stage

    distill = distill_stage.Metrics.read(run / "distill")
    detect = detect_stage.Metrics.read(run / "detect") if (run / "detect" / "metrics.json").is_file() else None
    skill = lambda name: getattr((distill.student(name) or SimpleNamespace(skill=None)).skill, "accuracy", None)
    best = distill.student(distill.best_student)
    best_skill = best.skill if best else None
    return {
        "device": best.device if best else distill.device,  # the students' names their precision
        "teacher skill accuracy": distill.teacher_skill.accuracy if distill.teacher_skill else None,
        "public model skill accuracy": skill("public"),
        "best student": distill.best_student,
        "best student skill accuracy": best_skill.accuracy if best_skill else None,
        "sft skill accuracy": skill("sft"),
        "topk skill accuracy": skill("topk"),
        "copied share": best_skill.copied_share if best_skill else None,
        "control skill accuracy": skill("control"),
        "McNemar p vs control": best_skill.mcnemar_p if best_skill else None,
        "watermark p, main suspect": detect.p_value(detect.suspect) if detect else None,
        "watermark p, fully watermarked dose": detect.dose_p_value(1.0) if detect else None,
        "watermark p, control": detect.p_value("control") if detect else None,
    }


def spread_table(figures: dict[int, dict[str, Any]]) -> pd.DataFrame:
    """One row per seed, one column per figure."""
    return pd.DataFrame.from_dict(figures, orient="index").rename_axis("seed")


def spread_file(runs: Path, profile: str) -> Path:
    """Where the spread of `profile` is written (add .csv or .txt): beside the runs."""
    return Path(runs) / f"{profile}-spread"


def spread_lines(table: pd.DataFrame) -> list[str]:
    """Markdown: the spread's summary (min, median, max per figure) and where the seeds ran."""
    rows = summary(table)
    seeds, devices = seeds_and_devices(table, "not recorded")
    lines = ["#### Run-to-run spread", "",
             f"Seeds {seeds} (`python -m casestudy.report.spread`), run on: {devices}.", "",
             "| figure | seeds | min | median | max |", "|---|---|---|---|---|"]
    lines += [f"| {figure} | {int(r['seeds'])} | {spread_value(figure, r['min'])} | {spread_value(figure, r['median'])} | "
              f"{spread_value(figure, r['max'])} |" for figure, r in rows.iterrows()]
    return lines + [""]


def prepare_seed(profile: str, seed: int, reuse_collection: bool) -> None:
    """Make the seed's run folder; with `reuse_collection`, a copy of seed 0's collection."""
    target = seed_run(profile, seed)
    if reuse_collection and seed != 0 and not (target / "collect").is_dir():
        source = run_dir(profile) / "collect"
        if not (source / "metrics.json").is_file():
            raise FileNotFoundError(f"seed 0's collection {source} is missing: run the profile first")
        shutil.copytree(source, target / "collect")


def collected(run: Path) -> bool:
    return (run / "collect" / "metrics.json").is_file()


def run_seed(profile: str, seed: int, reuse_collection: bool, overrides: list[str] = (),
             only: list[str] | None = None) -> bool:
    """Run one seed's notebooks (with `overrides`, as `--set` takes them); True when every notebook succeeded.

    With `reuse_collection`, a seed whose run already holds a collection runs notebooks 02 to 04 only.
    """
    prepare_seed(profile, seed, reuse_collection)
    base = runs_dir()
    if seed != 0:  # the kernels papermill starts inherit this, so the notebooks write there
        os.environ["CASESTUDY_RUNS"] = str(seed_runs_dir(seed).resolve())
    try:
        if only is None and reuse_collection and collected(run_dir(profile)):
            only = AFTER_COLLECTION
        result = run_notebooks(get_profile(profile), run_dir(profile) / "report", [f"seed={seed}", *overrides], only)
    finally:
        os.environ["CASESTUDY_RUNS"] = str(base.resolve())
    return result.failed is None


def run_seeds_at_once(profile: str, seeds: list[int], reuse_collection: bool, overrides: list[str],
                      jobs: int) -> list[int]:
    """Seed 0's collection first when the others copy it, then every seed in its own process, `jobs` at a
    time (a GPU has room for several small runs); each child's output goes to `<run>/spread.log`.
    Returns the seeds that failed."""
    if reuse_collection and not collected(run_dir(profile)):
        if not run_seed(profile, 0, reuse_collection, overrides, only=["01_collect"]):
            return [0]
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // jobs))}
    collection = "--reuse-collection" if reuse_collection else "--fresh-collection"

    def child(seed: int) -> int:
        run = seed_run(profile, seed)
        run.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "casestudy.report.spread", "--profile", profile, "--seeds", str(seed),
                   collection, "--no-summary", *[arg for o in overrides for arg in ("--set", o)]]
        with open(run / "spread.log", "w") as log:
            return subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT).returncode

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        codes = list(pool.map(child, seeds))
    return [seed for seed, code in zip(seeds, codes) if code != 0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casestudy.report.spread", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="workshop")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--reuse-collection", dest="reuse", action="store_true", default=True)
    group.add_argument("--fresh-collection", dest="reuse", action="store_false")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="[NOTEBOOK.]NAME=VALUE",
                        help="override a parameter in every seed, e.g. 01_collect.source=frozen; repeatable")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run at once, each in its own process (a GPU)")
    parser.add_argument("--summarise-only", action="store_true", help="only gather the seeds' finished runs")
    parser.add_argument("--no-summary", action="store_true", help="run the seeds, write no table (the children of --jobs)")
    args = parser.parse_args(argv)
    base = runs_dir()
    finished = lambda seed: (seed_run(args.profile, seed) / "detect" / "metrics.json").is_file()
    pending = [] if args.summarise_only else [seed for seed in args.seeds if not finished(seed)]
    if args.jobs > 1 and len(pending) > 1:
        failed = run_seeds_at_once(args.profile, pending, args.reuse, args.overrides, args.jobs)
        for seed in failed:
            print(f"seed {seed} failed: see {seed_run(args.profile, seed) / 'spread.log'}", file=sys.stderr)
        if failed:
            return 1
    for seed in pending:
        if not finished(seed) and not run_seed(args.profile, seed, args.reuse, args.overrides):
            print(f"seed {seed} failed: see {seed_run(args.profile, seed) / 'report'}", file=sys.stderr)
            return 1
    if args.no_summary:
        return 0
    # A seed whose notebook 04 did not finish still gives its skill figures (its p-values stay empty).
    distilled = lambda seed: (seed_run(args.profile, seed) / "distill" / "metrics.json").is_file()
    figures = {seed: headline_figures(seed_run(args.profile, seed)) for seed in args.seeds if distilled(seed)}
    if not figures:
        print("no finished run to summarise", file=sys.stderr)
        return 1
    table = spread_table(figures)
    out = spread_file(base, args.profile)
    table.to_csv(out.with_suffix(".csv"))
    text = ("Run-to-run spread\n\n" + table.to_string(float_format="{:.3g}".format) + "\n\n"
            + summary(table).to_string(float_format="{:.3g}".format) + "\n")
    out.with_suffix(".txt").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
