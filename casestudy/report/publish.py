"""Publish a finished run into results/ (committed, read on GitHub) and write the README's
"Results at a glance" from what is published there.

    python -m casestudy.report.publish runs/workshop                # -> results/workshop/
    python -m casestudy.report.publish runs/workshop results/mine/  # another destination
    python -m casestudy.report.publish --readme                     # rewrite README's section
    python -m casestudy.report.publish --check                      # exit 1 if README is stale

(`make publish RUN=runs/workshop` does the first and the third.)

A published run holds what a reader needs and nothing heavy:

    results/<profile>/
      <stage>/metrics.json       each stage's figures, headline and targets
      timings.json               each notebook's run time
      report/index.html          the report's index, each stage's headline figure inline
      report/NN_name.ipynb       the executed notebooks, cleaned (report.clean): outputs and
      report/NN_name.html        figures kept; no progress bars, warnings, widget state or
      report/notebook.css        absolute paths; the pages' shared stylesheet (nbconvert's CSS,
      report/figures/NN_name/*.png   once); and their figures as PNG files
      report/run.json            when, from which commit and on which machine it ran
      spread.csv, spread.txt     the run-to-run spread (report.spread) of this profile, when measured

No model weights, datasets, ledgers or caches. Publishing again replaces the folder, and the
same run gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat

from casestudy.paths import REPO_ROOT, RESULTS_DIR
from casestudy.report.clean import _rewrite, path_replacements
from casestudy.report.html import FIGURES, INDEX, RUN_INFO, stage_name, write_report
from casestudy.report.runner import PAPERMILL_TAGS, NotebookRun, RunResult
from casestudy.report.spread import read_spread, spread_file, spread_lines
from casestudy.scenario.frozen import started_frozen

README = REPO_ROOT / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"

# The README's key figures: (notebook, plot function, alt text). Alt texts are how the
# README (and its test) name them.
KEY_FIGURES = [
    ("03_cost", "copied_vs_cost", "The skill copied against the money spent"),
    ("04_detect", "radioactivity", "Watermark radioactivity against the number of queries"),
    ("04_detect", "dose", "Dose and response: the watermark test against the share of watermarked data"),
    ("04_detect", "identity_rates", "Identity probes: how often each model names the teacher's identity"),
]


# ---------------------------------------------------------------- publishing a run

def notebook_error(nb: nbformat.NotebookNode) -> str | None:
    """Why a notebook is incomplete: 'cell N: Name: message' where it stopped at an error,
    'cell N: did not finish ...' where the run was stopped (papermill left cells running
    or pending); None for a complete notebook."""
    cells = [c for c in nb.cells if not PAPERMILL_TAGS & set(c.metadata.get("tags", []))]
    for number, cell in enumerate(cells, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"cell {number}: {out.get('ename')}: {out.get('evalue')}"
    for number, cell in enumerate(cells, start=1):
        status = cell.metadata.get("papermill", {}).get("status")
        if cell.cell_type == "code" and status in ("running", "pending"):
            return f"cell {number}: did not finish (the run was stopped with this cell {status})"
    return None


def notebook_runs(report_dir: Path, timings: dict[str, float]) -> list[NotebookRun]:
    """The executed notebooks of a report folder as the runner described them."""
    runs = []
    for path in sorted(report_dir.glob(NOTEBOOK_GLOB)):
        nb = nbformat.read(path, as_version=4)
        pm = nb.metadata.get("papermill", {})
        seconds = timings.get(path.stem, pm.get("duration") or 0.0)
        runs.append(NotebookRun(path.stem, path, dict(pm.get("parameters", {})), float(seconds), notebook_error(nb)))
    return runs


def info_from_notebooks(runs: list[NotebookRun], profile: str) -> dict[str, str]:
    """run.json for a report written before it existed: the last notebook's end time."""
    ends = []
    for run in runs:
        end = nbformat.read(run.output, as_version=4).metadata.get("papermill", {}).get("end_time")
        if end:
            ends.append(datetime.fromisoformat(end))
    generated = max(ends).strftime("%Y-%m-%d %H:%M UTC") if ends else "unknown"
    return {"profile": profile, "generated": generated, "commit": "unknown", "machine": "unknown"}


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def run_profile(run_dir: Path) -> str:
    """The profile a run was made with (its notebooks' `profile` parameter), else the folder's name."""
    for notebook in sorted((Path(run_dir) / "report").glob(NOTEBOOK_GLOB)):
        profile = nbformat.read(notebook, as_version=4).metadata.get("papermill", {}).get("parameters", {}).get("profile")
        if profile:
            return str(profile)
    return Path(run_dir).resolve().name


STYLESHEET = "notebook.css"
STYLE_BLOCK = re.compile(r"<style[^>]*>.*?</style>\n?", re.S)


def share_stylesheet(report: Path) -> None:
    """Move the <style> blocks that every notebook page repeats (nbconvert's ~265 KB of CSS)
    into one stylesheet the pages link, where the first of them stood."""
    pages = sorted(report.glob("[0-9][0-9]_*.html"))
    texts = {page: page.read_text(encoding="utf-8") for page in pages}
    common = [b for b in STYLE_BLOCK.findall(texts[pages[0]]) if all(b in t for t in texts.values())] if pages else []
    if not common:
        return
    css = "\n".join(re.sub(r"^<style[^>]*>|</style>\n?$", "", block) for block in common)
    (report / STYLESHEET).write_text(css, encoding="utf-8")
    for page, text in texts.items():
        first = text.index(common[0])
        for block in common:
            text = text.replace(block, "", 1)
        page.write_text(text[:first] + f'<link rel="stylesheet" href="{STYLESHEET}">\n' + text[first:],
                        encoding="utf-8")


class IncompleteRun(ValueError):
    """A notebook of the run failed or did not finish."""


def publish(run_dir: Path, dest: Path, allow_incomplete: bool = False) -> Path:
    """Copy a finished run's report, metrics, timings and figures into `dest` (replaced).

    A run with a failed or unfinished notebook is refused unless `allow_incomplete`; its
    index and the README then say which notebook stopped, and where."""
    run_dir, dest = Path(run_dir).resolve(), Path(dest).resolve()
    report = run_dir / "report"
    notebooks = sorted(report.glob(NOTEBOOK_GLOB))
    if not notebooks:
        raise FileNotFoundError(f"{report} holds no executed notebooks: run `make report` first")
    if dest == run_dir or run_dir in dest.parents:
        raise ValueError(f"the destination {dest} must not be inside the run {run_dir}")
    incomplete = {nb.stem: problem for nb in notebooks
                  if (problem := notebook_error(nbformat.read(nb, as_version=4)))}
    if incomplete and not allow_incomplete:
        raise IncompleteRun("the run is incomplete (" + "; ".join(f"{k}: {v}" for k, v in incomplete.items())
                            + "): rerun it, or publish it anyway with --allow-incomplete")
    staging = dest.with_name(dest.name + ".publishing")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "report").mkdir(parents=True)

    replacements = path_replacements(nbformat.read(notebooks[0], as_version=4), run_dir, (REPO_ROOT,))
    for notebook in notebooks:
        shutil.copyfile(notebook, staging / "report" / notebook.name)
        metrics = run_dir / stage_name(notebook.stem) / "metrics.json"
        if metrics.is_file():
            write_json(staging / stage_name(notebook.stem) / "metrics.json",
                       _rewrite(json.loads(metrics.read_text()), replacements))
    timings_path = run_dir / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    timings = {k: v for k, v in timings.items() if k in {n.stem for n in notebooks}}
    write_json(staging / "timings.json", timings)

    runs = notebook_runs(staging / "report", timings)
    info_path = report / RUN_INFO
    info = json.loads(info_path.read_text()) if info_path.is_file() else info_from_notebooks(runs, run_profile(run_dir))
    result = RunResult(info.get("profile", run_profile(run_dir)), runs)
    write_report(result, staging, staging / "report", info=info, source_run=run_dir)
    share_stylesheet(staging / "report")
    for suffix in (".csv", ".txt"):  # the profile's seed spread, written next to the run by report.spread
        measured = spread_file(run_dir.parent, result.profile).with_suffix(suffix)
        if measured.is_file():
            shutil.copyfile(measured, staging / f"spread{suffix}")

    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(dest)
    return dest


# ---------------------------------------------------------------- the README's section

def published(results_dir: Path = RESULTS_DIR) -> list[Path]:
    """Published runs (folders with report/index.html), by profile: smoke, workshop, full, others."""
    order = {"smoke": 0, "workshop": 1, "full": 2}
    runs = [p.parent.parent for p in Path(results_dir).glob(f"*/report/{INDEX}")]
    return sorted(runs, key=lambda p: (order.get(p.name, 3), p.name))


def cell(text: Any) -> str:
    """Text fit for a Markdown table cell (GitHub would read two dollar signs as math)."""
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("$", "\\$")
            .replace("\n", " ").strip())


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def collection_note(run: Path, notebook: str) -> str:
    """" (the frozen collection, unpacked)" after notebook 01's time when the run started from the
    shipped collection: its few seconds are not a collection's time."""
    return " (the frozen collection, unpacked)" if notebook == "01_collect" and started_frozen(run) else ""


def run_section(run: Path, base: Path) -> list[str]:
    """The Markdown for one published run; links relative to `base` (the README's folder)."""
    def rel(path: Path) -> str:
        return path.relative_to(base).as_posix() if path.is_relative_to(base) else path.as_posix()

    report = run / "report"
    info = json.loads((report / RUN_INFO).read_text()) if (report / RUN_INFO).is_file() else {}
    timings = json.loads((run / "timings.json").read_text()) if (run / "timings.json").is_file() else {}
    notebooks = sorted(report.glob(NOTEBOOK_GLOB))
    by_stem = {nb.stem: nb for nb in notebooks}
    lines = [f"### Profile `{run.name}`", ""]
    meta = [f"run {info.get('generated', 'unknown')}"]
    if info.get("commit", "unknown") != "unknown":
        meta.append(f"commit `{info['commit']}`")
    if info.get("machine", "unknown") != "unknown":
        meta.append(info["machine"])
    lines += [f"From [`{rel(run)}/`]({rel(run)}/): {', '.join(meta)}. "
              f"[The report's index]({rel(report / INDEX)}) and each executed notebook are there."]
    if timings:
        lines[-1] += (f" The notebooks ran {minutes(sum(timings.values()))}: "
                      + ", ".join(f"{k[:2]} {minutes(v)}{collection_note(run, k)}" for k, v in sorted(timings.items()))
                      + ".")
    if info.get("note"):
        lines[-1] += f" How it ran: {info['note']}."
    lines.append("")

    stopped = {nb.stem: problem for nb in notebooks
               if (problem := notebook_error(nbformat.read(nb, as_version=4)))}
    if stopped:
        lines += ["**This run is incomplete:** " + "; ".join(f"{k} stopped at {v}" for k, v in stopped.items())
                  + ".", ""]
    shown = [(nb, fn, alt) for nb, fn, alt in KEY_FIGURES if (report / FIGURES / nb / f"{fn}.png").is_file()]
    missing = [alt for nb, fn, alt in KEY_FIGURES if (nb, fn, alt) not in shown]
    if shown:
        for i in range(0, len(shown), 2):
            pair = shown[i:i + 2]
            heads = [f"{alt} ([notebook {nb[:2]}]({rel(by_stem[nb]) if nb in by_stem else rel(report)}))"
                     for nb, _, alt in pair]
            images = [f"[![{alt}]({rel(report / FIGURES / nb / f'{fn}.png')})]"
                      f"({rel(by_stem[nb]) if nb in by_stem else rel(report)})" for nb, fn, alt in pair]
            if len(pair) == 1:
                heads.append(" ")
                images.append(" ")
            lines += ["| " + " | ".join(heads) + " |"]
            lines += ["|---|---|"] if i == 0 else []
            lines += ["| " + " | ".join(images) + " |"]
        lines.append("")
    if missing:
        lines += ["Not drawn in this run: " + "; ".join(missing) + ".", ""]

    rows = []
    for nb in notebooks:
        metrics_path = run / stage_name(nb.stem) / "metrics.json"
        if not metrics_path.is_file():
            continue
        metrics = json.loads(metrics_path.read_text())
        link = f"[{nb.stem}]({rel(nb)})"
        for label, value in metrics.get("headline", {}).items():
            rows.append(f"| {link} | {cell(label)} | {cell(value)} |")
            link = ""
        targets = metrics.get("targets", [])
        if targets:
            met = sum(t.get("met") is True for t in targets)
            missed = sum(t.get("met") is False for t in targets)
            none = sum(t.get("met") is None for t in targets)
            rows.append(f"| {link} | targets | {met} met, {missed} missed, {none} without a target |")
    if rows:
        lines += ["| notebook | headline | value |", "|---|---|---|", *rows, ""]
    if (run / "spread.csv").is_file():
        lines += spread_lines(read_spread(run / "spread.csv"))
    return lines


def results_section(results_dir: Path = RESULTS_DIR, base: Path = REPO_ROOT) -> str:
    """The README's section, markers included, from the runs published in `results_dir`."""
    lines = [START, "## Results at a glance", "",
             "<!-- Written by `python -m casestudy.report.publish --readme` from results/; "
             "do not edit by hand. -->", ""]
    runs = published(results_dir)
    if not runs:
        lines += ["No run has been published yet. After `make report PROFILE=workshop`, "
                  "`make publish RUN=runs/workshop` copies the run into `results/workshop/` "
                  "(executed notebooks, metrics, figures, the HTML report) and rewrites this "
                  "section from it.", ""]
    for run in runs:
        lines += run_section(run, base)
    lines.append(END)
    return "\n".join(lines)


# The markers count on lines of their own only (prose may quote them).
SECTION = re.compile(r"^" + re.escape(START) + r"$.*?^" + re.escape(END) + r"$", re.S | re.M)


def readme_section(text: str) -> str:
    """The section between the markers (each alone on its line), markers included; a clear
    error if there is not exactly one."""
    found = SECTION.findall(text)
    if len(found) != 1:
        raise ValueError(f"README must hold exactly one {START} ... {END} section, found {len(found)}")
    return found[0]


def update_readme(readme: Path = README, results_dir: Path = RESULTS_DIR) -> bool:
    """Rewrite the README's section from results/; True if it changed."""
    text = readme.read_text(encoding="utf-8")
    readme_section(text)
    new = SECTION.sub(lambda _: results_section(results_dir, readme.parent.resolve()), text)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casestudy.report.publish", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", type=Path, help="a finished run, e.g. runs/workshop")
    parser.add_argument("dest", nargs="?", type=Path, help="default: results/<the run folder's name>/")
    parser.add_argument("--allow-incomplete", action="store_true",
                        help="publish a run whose notebooks failed or did not finish (the index and README say so)")
    parser.add_argument("--readme", action="store_true", help="rewrite README.md's results section")
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md's section is stale")
    args = parser.parse_args(argv)
    if not (args.run_dir or args.readme or args.check):
        parser.error("give a run folder, --readme or --check")
    if args.run_dir:
        dest = args.dest or RESULTS_DIR / run_profile(args.run_dir)
        try:
            out = publish(args.run_dir, dest, allow_incomplete=args.allow_incomplete)
        except (FileNotFoundError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        count, size = folder_size(out)
        print(f"published {args.run_dir} -> {out}: {count} files, {size / 1e6:.1f} MB")
    if args.readme:
        print("README.md: results section " + ("rewritten" if update_readme() else "already up to date"))
    if args.check:
        want = results_section(RESULTS_DIR, README.parent)
        if readme_section(README.read_text(encoding="utf-8")) != want:
            print("README.md's results section is stale: run `python -m casestudy.report.publish --readme`",
                  file=sys.stderr)
            return 1
        print("README.md's results section matches results/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
