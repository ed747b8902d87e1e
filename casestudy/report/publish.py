"""Publish a finished run into results/ (committed, read on GitHub) and write, from what is
published there, the README's "Results at a glance" (the study's four questions answered per run,
by report.glance) and its long version, docs/results.md (every headline, target and table).

    python -m casestudy.report.publish runs/workshop                # -> results/workshop/
    python -m casestudy.report.publish runs/workshop results/mine/  # another destination
    python -m casestudy.report.publish --readme                     # rewrite README's section and docs/results.md
    python -m casestudy.report.publish --check                      # exit 1 if either is stale

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
import os
import re
import shutil
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat

from casestudy.paths import REPO_ROOT, RESULTS_DIR
from casestudy.report import glance
from casestudy.report.clean import _rewrite, path_replacements
from casestudy.report.html import FIGURES, INDEX, RUN_INFO, stage_name, write_report
from casestudy.report.runner import PAPERMILL_TAGS, NotebookRun, RunResult
from casestudy.report.spread import read_spread, spread_file, spread_lines, spread_sentence
from casestudy.scenario.frozen import started_frozen
from casestudy.stages.cost.texts import usd_text

README = REPO_ROOT / "README.md"
RESULTS_DOC = REPO_ROOT / "docs" / "results.md"  # the long version of the README's section, generated whole
FROZEN_DIR = REPO_ROOT / "data" / "frozen"
WIDTH = 120  # generated prose lines, outside tables
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
README_FIGURES = ("copied_vs_cost", "dose")  # the two of them the README shows; docs/results.md shows all


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


# ---------------------------------------------------------------- the README's section and docs/results.md

def published(results_dir: Path = RESULTS_DIR) -> list[Path]:
    """Published runs (folders with report/index.html), by profile: smoke, workshop, full, others."""
    order = {"smoke": 0, "workshop": 1, "full": 2}
    runs = [p.parent.parent for p in Path(results_dir).glob(f"*/report/{INDEX}")]
    return sorted(runs, key=lambda p: (order.get(p.name, 3), p.name))


def cell(text: Any) -> str:
    """Text fit for a Markdown table cell (GitHub would read two dollar signs as math)."""
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("$", "\\$")
            .replace("\n", " ").strip())


def prose(text: str) -> str:
    """Generated text outside a table: dollars escaped as in cells, lines of at most WIDTH characters."""
    return "\n".join(textwrap.wrap(text.replace("$", "\\$"), WIDTH, break_long_words=False, break_on_hyphens=False))


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def collection_note(run: Path, notebook: str) -> str:
    """" (the frozen collection, unpacked)" after notebook 01's time when the run started from the
    shipped collection: its few seconds are not a collection's time."""
    return " (the frozen collection, unpacked)" if notebook == "01_collect" and started_frozen(run) else ""


def relative(path: Path, base: Path) -> str:
    """A link from a page in `base` to `path`, both inside the repository."""
    return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()


class Published:
    """What the pages say of one published run: its run.json, timings, notebooks and where any stopped."""

    def __init__(self, run: Path):
        self.run, self.report = run, run / "report"
        self.profile = run.name
        self.info = json.loads((self.report / RUN_INFO).read_text()) if (self.report / RUN_INFO).is_file() else {}
        self.timings = json.loads((run / "timings.json").read_text()) if (run / "timings.json").is_file() else {}
        self.notebooks = {nb.stem: nb for nb in sorted(self.report.glob(NOTEBOOK_GLOB))}
        self.stopped = {stem: problem for stem, nb in self.notebooks.items()
                        if (problem := notebook_error(nbformat.read(nb, as_version=4)))}

    def known(self, key: str) -> str | None:
        value = self.info.get(key, "unknown")
        return None if value == "unknown" else value

    def link(self, notebook: str, base: Path) -> str:
        return relative(self.notebooks.get(notebook, self.report), base)

    def figure(self, notebook: str, function: str) -> Path:
        return self.report / FIGURES / notebook / f"{function}.png"

    def ran(self) -> str:
        """ "the notebooks ran 72.2 min: 00 7 s, 01 8.9 min, ..." (empty without timings)."""
        if not self.timings:
            return ""
        return (f"the notebooks ran {minutes(sum(self.timings.values()))}: "
                + ", ".join(f"{k[:2]} {minutes(v)}{collection_note(self.run, k)}" for k, v in sorted(self.timings.items())))

    def caveats(self, committed: Path = FROZEN_DIR) -> list[str]:
        """What makes this run other than the study's result: a notebook stopped, an older collection or skill."""
        found = [f"{k} stopped at {v}" for k, v in self.stopped.items()]
        return found + [c for c in (glance.collection(self.run, committed), glance.skill_note(self.run)) if c]


def figure_table(run: Published, figures: list[tuple[str, str, str]], base: Path) -> list[str]:
    """Figures two to a row, each under its caption and linked to its notebook; those the run did not
    draw are named below."""
    shown = [(nb, fn, alt) for nb, fn, alt in figures if run.figure(nb, fn).is_file()]
    missing = [alt for nb, fn, alt in figures if (nb, fn, alt) not in shown]
    lines = []
    for i in range(0, len(shown), 2):
        pair = shown[i:i + 2]
        heads = [f"{alt} ([notebook {nb[:2]}]({run.link(nb, base)}))" for nb, _, alt in pair]
        images = [f"[![{alt}]({relative(run.figure(nb, fn), base)})]({run.link(nb, base)})" for nb, fn, alt in pair]
        if len(pair) == 1:
            heads.append(" ")
            images.append(" ")
        lines += ["| " + " | ".join(heads) + " |"]
        lines += ["|---|---|"] if i == 0 else []
        lines += ["| " + " | ".join(images) + " |"]
    if shown:
        lines.append("")
    if missing:
        lines += [prose("Not drawn in this run: " + "; ".join(missing) + "."), ""]
    return lines


def answers_table(run: Published, base: Path) -> list[str]:
    """The four questions with their verdicts and figures, the targets, and the spread over seeds."""
    lines = ["| question | verdict | figures |", "|---|---|---|"]
    for answer in glance.answers(run.run, run.stopped):
        question = (f"[{answer.question}]({run.link(answer.notebook, base)})" if answer.notebook in run.notebooks
                    else answer.question)
        lines.append(f"| {question} | {cell(answer.verdict)} | {cell(answer.figures)} |")
    count, missed = glance.targets_text(run.run)
    lines.append(f"| targets | {cell(count)} | missed: {cell(missed)} |")
    if (run.run / "spread.csv").is_file():
        table = read_spread(run.run / "spread.csv")
        lines.append(f"| over seeds | {len(table)} seeds | {cell(spread_sentence(table))} |")
    else:
        lines.append(f"| over seeds | not measured | one run is one draw: `make spread PROFILE={run.profile}` "
                     "measures the spread, and `make publish` ships it |")
    return lines + [""]


def glance_lines(run: Published, base: Path, doc: Path) -> list[str]:
    """The README's lines for one published run: where and how long it ran, what makes it other than
    the study's result, the four answers and, for a result, two figures; the long version is `doc`."""
    machine = run.known("machine")
    lines = [f"### Profile `{run.profile}`" + (f": {machine}" if machine else ""), ""]
    text = f"Run {run.known('generated') or 'at an unrecorded time'}"
    if run.timings:
        text += f"; its notebooks ran {minutes(sum(run.timings.values()))}"
    text += (f". Executed notebooks: [{relative(run.report, base)}/]({relative(run.report, base)}/); every figure and "
             f"table: [{relative(doc, base)}]({relative(doc, base)}#profile-{run.profile}).")
    caveats = run.caveats()
    if caveats:
        text += " **Not this study's result**: " + "; ".join(caveats) + ". It stands as the record of that run."
    lines += [prose(text), "", *answers_table(run, base)]
    if not caveats:
        lines += figure_table(run, [f for f in KEY_FIGURES if f[1] in README_FIGURES], base)
    return lines


def results_section(results_dir: Path = RESULTS_DIR, base: Path = REPO_ROOT, doc: Path = RESULTS_DOC) -> str:
    """The README's section, markers included, from the runs published in `results_dir`: per run, the
    four questions answered; the long version is `doc` (docs/results.md)."""
    lines = [START, "## Results at a glance", "",
             "<!-- Written by `python -m casestudy.report.publish --readme` from results/; "
             "do not edit by hand. -->", ""]
    runs = [Published(run) for run in published(results_dir)]
    if not runs:
        lines += [prose("No run has been published yet. After `make report PROFILE=workshop`, "
                        "`make publish RUN=runs/workshop` copies the run into `results/workshop/` "
                        "(executed notebooks, metrics, figures, the HTML report) and rewrites this "
                        "section from it."), ""]
    else:
        lines += [prose("Each published run answers the study's four questions. The verdicts follow fixed rules "
                        f"([{relative(doc, base)}]({relative(doc, base)}#how-the-verdicts-are-read)); every figure "
                        "is read from the run's `metrics.json` files."), ""]
    for run in runs:
        lines += glance_lines(run, base, doc)
    lines.append(END)
    return "\n".join(lines)


def students_table(run: Published) -> list[str]:
    """Notebook 02's models: how each was trained and how it did on the skill and the other families."""
    distill = glance.metrics(run.run, "distill") or {}
    rows = distill.get("students", [])
    if not rows:
        return []
    skill_family = distill.get("skill_family", "skill")
    families = sorted({f for r in rows for f in (r.get("accuracy_by_family") or {}) if f != skill_family})
    items = {r["family"]: r["n"] for r in distill.get("closed_families", []) + distill.get("ordinary", [])
             if r.get("model") == "public" and "n" in r}
    heads = ["model", "starts from", "data", "parameters", "steps", "training tokens", "training time", "tokens/s",
             f"{skill_family} [95% CI]", "skill gain copied", "McNemar p vs its control", "held-out CE (nats/token)",
             *[f"{f} ({items[f]} items)" if f in items else f for f in families]]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    teacher = distill.get("teacher_skill")
    if teacher:
        by_family = distill.get("teacher_accuracy_by_family") or {}
        lines.append("| teacher | the provider's | | | | | | | " + accuracy_cell(teacher) + " | | | | "
                     + " | ".join(glance.share(by_family.get(f)) for f in families) + " |")
    for r in rows:
        skill = r.get("skill") or {}
        trained = bool(r.get("steps"))
        cells = [f"`{r.get('name')}`", str(r.get("start", "")), str(r.get("arm") or "untrained"),
                 f"{r['params'] / 1e6:.1f}M" if r.get("params") else "",
                 str(r.get("steps", "")) if trained else "",
                 f"{r['train_tokens']:,}" if trained and r.get("train_tokens") else "",
                 minutes(r["wall_seconds"]) if trained and r.get("wall_seconds") else "",
                 f"{r['tokens_per_second']:,.0f}" if trained and r.get("tokens_per_second") else "",
                 accuracy_cell(skill),
                 glance.share(skill["copied_share"]) if skill.get("copied_share") is not None else "",
                 glance.p_text(skill["mcnemar_p"]) if skill.get("mcnemar_p") is not None else "",
                 f"{r['heldout_ce']:.2f}" if r.get("heldout_ce") is not None else "",
                 *[glance.share((r.get("accuracy_by_family") or {}).get(f)) for f in families]]
        lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return lines + [""]


def accuracy_cell(skill: dict[str, Any]) -> str:
    if skill.get("accuracy") is None:
        return ""
    text = f"{skill.get('correct', '?')}/{skill.get('n', '?')} = {skill['accuracy']:.0%}"
    if skill.get("ci_low") is not None and skill.get("ci_high") is not None:
        text += f" [{skill['ci_low']:.0%}, {skill['ci_high']:.0%}]"
    return text


def detection_tables(run: Published) -> list[str]:
    """Notebook 04's per-model tests (watermark, identity), its dose students and its evasion."""
    detect = glance.metrics(run.run, "detect")
    if not detect:
        return []
    identity = {r["model"]: r for r in detect.get("identity", [])}
    lines = ["| model | watermark p | green share (scored) | identity probes naming the teacher's identity | "
             "Fisher p vs the control |", "|---|---|---|---|---|"] if detect.get("radioactivity") else []
    for r in detect.get("radioactivity", []):
        probe = identity.get(r["model"], {})
        named = f"{probe['named']}/{probe['probes']} = {probe['rate']:.0%}" if "named" in probe else ""
        fisher = glance.p_text(probe["p_vs_control"]) if probe.get("p_vs_control") is not None else ""
        lines.append(f"| `{r['model']}` | {glance.p_text(r['p_value'])} | {r['green_share']:.1%} ({r['scored']:,}) | "
                     f"{named} | {fisher} |")
    lines += [""] if lines else []
    if detect.get("dose"):
        lines += ["| dose student: watermarked share of its data | watermark p | green share (scored) |", "|---|---|---|"]
        lines += [f"| {d['watermarked_share']:.0%} | {glance.p_text(d['p_value'])} | "
                  f"{d['green'] / d['scored']:.1%} ({d['scored']:,}) |" for d in detect["dose"] if d.get("scored")]
        lines.append("")
    if detect.get("evasion"):
        lines += ["| evasion: training data | records | identity rate | watermark p |", "|---|---|---|---|"]
        lines += [f"| {e['training_data']} | {e['records']} | {e['identity_rate']:.0%} | {glance.p_text(e['watermark_p'])} |"
                  for e in detect["evasion"]]
        lines.append("")
    return lines


def routes_table(run: Published) -> list[str]:
    """Notebook 03's three routes to the skill, priced alike."""
    routes = (glance.metrics(run.run, "cost") or {}).get("routes", [])
    if not routes:
        return []
    lines = ["| route | data | priced as | data cost | compute cost | skill reached |", "|---|---|---|---|---|---|"]
    lines += [f"| {cell(r.get('who'))} | {cell(r.get('data'))} | {cell(r.get('data_basis'))} | "
              f"{cell(usd_text(r.get('data_usd') or 0))} | {cell(usd_text(r.get('compute_usd') or 0))} | "
              f"{glance.share(r.get('skill_accuracy'))} |" for r in routes]
    return lines + [""]


def run_section(run: Published, base: Path) -> list[str]:
    """docs/results.md's section for one published run; links relative to `base` (the page's folder)."""
    lines = [f"## Profile `{run.profile}`", ""]
    meta = [f"run {run.known('generated') or 'at an unrecorded time'}"]
    if run.known("commit"):
        meta.append(f"from commit `{run.info['commit']}`")
    if run.known("machine"):
        meta.append(f"on {run.info['machine']}")
    text = f"From `{relative(run.run, base)}/`: {', '.join(meta)}."
    if run.timings:
        text += f" {run.ran()[0].upper()}{run.ran()[1:]}."
    if run.info.get("note"):
        text += f" How it ran: {run.info['note']}."
    index = relative(run.report / INDEX, run.run.parent.parent)  # from the repository's root
    text += f" On GitHub, read the executed notebooks; from a clone, open `{index}` in a browser for the HTML report."
    lines += [prose(text), ""]
    caveats = run.caveats()
    if caveats:
        lines += [prose("**Not this study's result:** " + "; ".join(caveats) + "."), ""]
    lines += ["### The four questions", "", *answers_table(run, base)]
    lines += ["### Key figures", "", *figure_table(run, KEY_FIGURES, base)]
    rows = []
    for stem, nb in run.notebooks.items():
        metrics = glance.metrics(run.run, stage_name(stem))
        if metrics is None:
            continue
        link = f"[{stem}]({relative(nb, base)})"
        for label, value in metrics.get("headline", {}).items():
            rows.append(f"| {link} | {cell(label)} | {cell(value)} |")
            link = ""
    if rows:
        lines += ["### Headline figures", "", "| notebook | headline | value |", "|---|---|---|", *rows, ""]
    checks = glance.targets(run.run)
    if checks:
        verdict = {True: "met", False: "**missed**", None: "no target"}
        lines += ["### Targets", "", "| stage | check | measured | |", "|---|---|---|---|"]
        lines += [f"| {stage} | {cell(t.get('check'))} | {cell(t.get('measured'))} | {verdict[t.get('met')]} |"
                  for stage, t in checks]
        lines.append("")
    for title, table in [("Students (notebook 02)", students_table(run)), ("Routes to the skill (notebook 03)",
                         routes_table(run)), ("Detection, per model (notebook 04)", detection_tables(run))]:
        if table:
            lines += [f"### {title}", "", *table]
    if (run.run / "spread.csv").is_file():
        lines += spread_lines(read_spread(run.run / "spread.csv"))
    return lines


def results_doc(results_dir: Path = RESULTS_DIR, doc: Path = RESULTS_DOC) -> str:
    """docs/results.md, whole: the verdicts' rules, then every published run's figures, tables and targets."""
    base = doc.parent
    runs = [Published(run) for run in published(results_dir)]
    lines = ["# Published results", "",
             "<!-- Written by `python -m casestudy.report.publish --readme` from results/; do not edit by hand. -->", "",
             prose("Every figure on this page is read from a run published in `results/` (`make publish`); the "
                   "README's \"Results at a glance\" is the short version. `tests/report/test_publish.py` fails when "
                   "this page is not what `results/` gives."), "",
             "## How the verdicts are read", "", "| question | verdict |", "|---|---|",
             *[f"| {question} | {cell(rule)} |" for question, rule in glance.RULES], ""]
    if not runs:
        lines += ["No run has been published yet (`make publish RUN=runs/workshop`).", ""]
    for run in runs:
        lines += run_section(run, base)
    return "\n".join(lines).rstrip("\n") + "\n"


# The markers count on lines of their own only (prose may quote them).
SECTION = re.compile(r"^" + re.escape(START) + r"$.*?^" + re.escape(END) + r"$", re.S | re.M)


def readme_section(text: str) -> str:
    """The section between the markers (each alone on its line), markers included; a clear
    error if there is not exactly one."""
    found = SECTION.findall(text)
    if len(found) != 1:
        raise ValueError(f"README must hold exactly one {START} ... {END} section, found {len(found)}")
    return found[0]


def update_readme(readme: Path = README, results_dir: Path = RESULTS_DIR, doc: Path | None = None) -> bool:
    """Rewrite the README's section from results/ (its long version is `doc`, by default
    docs/results.md beside the README); True if it changed."""
    doc = doc or readme.parent / "docs" / "results.md"
    text = readme.read_text(encoding="utf-8")
    readme_section(text)
    new = SECTION.sub(lambda _: results_section(results_dir, readme.parent.resolve(), doc.resolve()), text)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def update_doc(doc: Path = RESULTS_DOC, results_dir: Path = RESULTS_DIR) -> bool:
    """Rewrite docs/results.md from results/; True if it changed."""
    new = results_doc(results_dir, doc.resolve())
    old = doc.read_text(encoding="utf-8") if doc.is_file() else None
    if new != old:
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(new, encoding="utf-8")
    return new != old


def stale(readme: Path = README, doc: Path = RESULTS_DOC, results_dir: Path = RESULTS_DIR) -> list[str]:
    """The generated texts that are not what results/ gives: README.md's section, docs/results.md."""
    found = []
    if readme_section(readme.read_text(encoding="utf-8")) != results_section(results_dir, readme.parent, doc):
        found.append(f"{readme.name}'s results section")
    if not doc.is_file() or doc.read_text(encoding="utf-8") != results_doc(results_dir, doc):
        found.append(relative(doc, readme.parent))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casestudy.report.publish", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", type=Path, help="a finished run, e.g. runs/workshop")
    parser.add_argument("dest", nargs="?", type=Path, help="default: results/<the run folder's name>/")
    parser.add_argument("--allow-incomplete", action="store_true",
                        help="publish a run whose notebooks failed or did not finish (the index and README say so)")
    parser.add_argument("--readme", action="store_true",
                        help="rewrite README.md's results section and docs/results.md")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if README.md's section or docs/results.md is stale")
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
        print("docs/results.md: " + ("rewritten" if update_doc() else "already up to date"))
    if args.check:
        found = stale()
        if found:
            print(" and ".join(found) + " stale: run `python -m casestudy.report.publish --readme`", file=sys.stderr)
            return 1
        print("README.md's results section and docs/results.md match results/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
