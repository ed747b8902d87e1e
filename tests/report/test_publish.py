"""Publishing a run into results/, and the README's "Results at a glance" and docs/results.md generated from it."""

import base64
import hashlib
import json

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from casestudy.report import publish as pub

SHARED = "Removed shared tensor {'lm_head.weight'} while saving. This should be OK\n"
TQDM = "".join(f"\r{p:3d}%|{'#' * (p // 10):<10}| {p}/100 [00:00<00:01, 9.5it/s]" for p in range(0, 101, 10))


def png(tag: str) -> str:
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + tag.encode()).decode()


def figure(tag: str):
    return new_output("display_data", data={"image/png": png(tag), "text/plain": "<Figure size 7x4>"})


def executed(path, run, cells, profile="smoke", end="2026-11-26T15:33:39+00:00"):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"x": {}}}}
    nb.metadata["papermill"] = {"input_path": f"/work/elsewhere/notebooks/{path.name}", "output_path": str(path),
                                "parameters": {"profile": profile}, "end_time": end, "duration": 1.5,
                                "exception": None}
    nbformat.write(nbformat.from_dict(nb), path)


@pytest.fixture
def run(tmp_path):
    """A finished smoke run as the runner leaves it, weights and all, in a folder of this machine."""
    run = tmp_path / "machine" / "runs" / "smoke"
    report = run / "report"
    report.mkdir(parents=True)
    detect = new_code_cell("from casestudy.detection import plots\nplots.radioactivity(curves, alpha)\nplt.show()")
    detect.outputs = [
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"},
                                         "text/plain": "wrong keys:   0%|          | 0/100"}),
        new_output("stream", name="stderr", text=TQDM + "\n" + SHARED),
        new_output("stream", name="stderr", text="/tmp/ipykernel_1/2.py:6: FutureWarning: old\n  x = f()\n"),
        new_output("stream", name="stdout", text=f"run directory: {run}/detect\n"),
        figure("radioactivity"),
    ]
    dose = new_code_cell("plots.dose(dose, alpha, total, num_queries)\nplt.show()\n"
                         "plots.identity_rates(identity, 51, 'Kestrel')\nplt.show()")
    dose.outputs = [figure("dose"), figure("identity")]
    executed(report / "04_detect.ipynb", run, [new_markdown_cell("# 04"), detect, dose])
    cost = new_code_cell("plots.copied_vs_cost(cost.students, cost.provider);")
    cost.outputs = [figure("copied")]
    executed(report / "03_cost.ipynb", run, [cost])
    story = new_code_cell("print('hello')")
    story.outputs = [new_output("stream", name="stdout", text="hello\n")]
    executed(report / "00_story.ipynb", run, [story])
    (report / "index.html").write_text("old index")
    (report / "00_story.html").write_text("old html")
    for stage, headline, targets in [
        ("cost", {"Collection at gpt-4o": "$0.019", "This run | measured": f"0.06 device-hours in {run}"},
         [{"check": "a", "measured": "1", "met": True}, {"check": "b", "measured": "2", "met": None}]),
        ("detect", {"watermark p-value": "p = 1.7e-13 (200 queries)"}, [{"check": "c", "measured": "3", "met": False}]),
    ]:
        (run / stage).mkdir()
        (run / stage / "metrics.json").write_text(json.dumps({"headline": headline, "targets": targets, "n": 1}))
    weights = run / "distill" / "students" / "sft"
    weights.mkdir(parents=True)
    (weights / "model.safetensors").write_bytes(b"\0" * 1024)
    (run / "collect" / "main").mkdir(parents=True)
    (run / "collect" / "main" / "records.jsonl").write_text("{}\n")
    (run / "timings.json").write_text(json.dumps({"00_story": 5.8, "03_cost": 4.1, "04_detect": 156.0, "gone": 1}))
    return run


def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_publish_copies_what_a_reader_needs_cleaned_and_nothing_heavy(run, tmp_path):
    dest = pub.publish(run, tmp_path / "repo" / "results" / "smoke")
    files = set(digest(dest))
    assert files == {
        "cost/metrics.json", "detect/metrics.json", "timings.json",
        "report/index.html", "report/run.json", "report/notebook.css",
        "report/00_story.ipynb", "report/00_story.html", "report/03_cost.ipynb", "report/03_cost.html",
        "report/04_detect.ipynb", "report/04_detect.html",
        "report/figures/03_cost/copied_vs_cost.png", "report/figures/04_detect/radioactivity.png",
        "report/figures/04_detect/dose.png", "report/figures/04_detect/identity_rates.png",
    }
    assert (dest / "report/figures/04_detect/dose.png").read_bytes() == base64.b64decode(png("dose"))
    for path in dest.rglob("*"):
        if path.suffix in {".ipynb", ".html", ".json"}:
            text = path.read_text()
            assert str(tmp_path) not in text and "/tmp/" not in text and "/work/" not in text, path
    nb = nbformat.read(dest / "report/04_detect.ipynb", as_version=4)
    assert "widgets" not in nb.metadata
    outputs = nb.cells[1].outputs
    assert [o.output_type for o in outputs] == ["stream", "display_data"]
    assert outputs[0].text == "run directory: runs/smoke/detect\n"
    assert nb.metadata.papermill.input_path == "notebooks/04_detect.ipynb"
    assert nb.metadata.papermill.output_path == "runs/smoke/report/04_detect.ipynb"
    metrics = json.loads((dest / "cost/metrics.json").read_text())
    assert metrics["headline"]["This run | measured"] == "0.06 device-hours in runs/smoke"
    assert json.loads((dest / "timings.json").read_text()) == {"00_story": 5.8, "03_cost": 4.1, "04_detect": 156.0}
    index = (dest / "report/index.html").read_text()
    assert '<img src="figures/04_detect/radioactivity.png"' in index and '<img src="figures/03_cost/copied_vs_cost.png"' in index
    assert "2026-11-26 15:33 UTC" in index and "p = 1.7e-13" in index
    assert json.loads((dest / "report/run.json").read_text())["profile"] == "smoke"
    # the run itself is untouched
    assert (run / "report/index.html").read_text() == "old index"
    assert "widgets" in nbformat.read(run / "report/04_detect.ipynb", as_version=4).metadata


def test_publishing_again_replaces_the_folder_with_the_same_bytes(run, tmp_path):
    dest = tmp_path / "results" / "smoke"
    first = digest(pub.publish(run, dest))
    (dest / "stale.txt").write_text("left from an older run")
    assert digest(pub.publish(run, dest)) == first


def test_publish_refuses_a_run_without_notebooks_and_a_destination_inside_the_run(run, tmp_path):
    with pytest.raises(FileNotFoundError, match="make report"):
        pub.publish(tmp_path / "nothing", tmp_path / "out")
    with pytest.raises(ValueError, match="must not be inside"):
        pub.publish(run, run / "published")
    with pytest.raises(SystemExit):
        pub.main([])
    assert pub.main([str(tmp_path / "nothing")]) == 2


def flat(text: str) -> str:
    """Generated prose is wrapped: compare it with its line breaks as spaces."""
    return " ".join(text.split())


def test_a_note_on_how_the_run_ran_reaches_the_index_and_the_results_page_not_the_readme(run, tmp_path):
    info = json.loads((run / "report" / "run.json").read_text()) if (run / "report" / "run.json").is_file() else {}
    (run / "report").mkdir(parents=True, exist_ok=True)
    (run / "report" / "run.json").write_text(json.dumps({**info, "commit": "abc1234-dirty",
                                                         "note": "notebook 03 was rerun later"}))
    out = pub.publish(run, tmp_path / "repo" / "results" / "smoke")
    assert "notebook 03 was rerun later." in (out / "report" / "index.html").read_text()
    repo = tmp_path / "repo"
    doc = pub.results_doc(repo / "results", repo / "docs" / "results.md")
    assert "How it ran: notebook 03 was rerun later." in flat(doc) and "from commit `abc1234-dirty`" in flat(doc)
    section = pub.results_section(repo / "results", repo, repo / "docs" / "results.md")
    assert "rerun later" not in section and "abc1234" not in section  # the README carries no history


def test_readme_section_answers_the_four_questions_and_links_its_long_version(run, tmp_path):
    repo = tmp_path / "repo"
    pub.publish(run, repo / "results" / "smoke")
    doc = repo / "docs" / "results.md"
    section = pub.results_section(repo / "results", repo, doc)
    assert section.startswith(pub.START) and section.endswith(pub.END)
    for question, notebook in (("What did it cost?", "03_cost"), ("Proven?", "04_detect"), ("Against whom?", "04_detect")):
        assert f"| [{question}](results/smoke/report/{notebook}.ipynb) |" in section
    # this run's metrics hold no students, routes or watermark tests: each answer says so
    assert "| Copied? | **not measured** | not measured: 02_distill did not run |" in section
    assert "| [Proven?](results/smoke/report/04_detect.ipynb) | **not measured** |" in section
    assert "| targets | 1 met, 1 missed, 1 without a target | missed: detect: c (3) |" in section
    assert "| over seeds | not measured | one run is one draw: `make spread PROFILE=smoke`" in section
    for notebook, function, alt in pub.KEY_FIGURES:
        image = f"[![{alt}](results/smoke/report/figures/{notebook}/{function}.png)](results/smoke/report/{notebook}.ipynb)"
        assert (image in section) == (function in pub.README_FIGURES), function
    assert "[docs/results.md](docs/results.md#profile-smoke)" in flat(section)
    assert "[results/smoke/report/](results/smoke/report/)" in flat(section)
    assert "index.html" not in section  # GitHub would show the page as source
    assert "its notebooks ran 2.8 min" in flat(section)
    assert "/tmp/" not in section and str(tmp_path) not in section
    assert all(len(line) <= 200 for line in section.splitlines() if not line.startswith("|"))

    readme = repo / "README.md"
    readme.write_text(f"# Title\n\nbefore\n\n{pub.START}\nold text\n{pub.END}\n\nafter\n")
    assert pub.update_readme(readme, repo / "results") is True
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert pub.readme_section(text) == section
    assert pub.update_readme(readme, repo / "results") is False
    assert pub.update_doc(doc, repo / "results") is True and pub.update_doc(doc, repo / "results") is False
    assert pub.stale(readme, doc, repo / "results") == []
    doc.write_text(doc.read_text().replace("0.06 device-hours", "0.05 device-hours"))
    assert pub.stale(readme, doc, repo / "results") == ["docs/results.md"]


def test_the_results_page_holds_every_figure_headline_and_target(run, tmp_path):
    repo = tmp_path / "repo"
    pub.publish(run, repo / "results" / "smoke")
    doc = pub.results_doc(repo / "results", repo / "docs" / "results.md")
    assert doc.startswith("# Published results\n") and "## How the verdicts are read" in doc
    assert "## Profile `smoke`" in doc
    for notebook, function, alt in pub.KEY_FIGURES:
        link = f"../results/smoke/report/{notebook}.ipynb"
        assert f"[![{alt}](../results/smoke/report/figures/{notebook}/{function}.png)]({link})" in doc
    assert "| [03_cost](../results/smoke/report/03_cost.ipynb) | Collection at gpt-4o | \\$0.019 |" in doc
    assert "|  | This run \\| measured | 0.06 device-hours in runs/smoke |" in doc
    assert "| [04_detect](../results/smoke/report/04_detect.ipynb) | watermark p-value | p = 1.7e-13 (200 queries) |" in doc
    assert "| cost | a | 1 | met |" in doc and "| cost | b | 2 | no target |" in doc and "| detect | c | 3 | **missed** |" in doc
    assert "The notebooks ran 2.8 min: 00 6 s, 03 4 s, 04 2.6 min." in flat(doc)
    assert "open `results/smoke/report/index.html` in a browser" in flat(doc) and "](../results/smoke/report/index.html)" not in doc
    assert "/tmp/" not in doc and str(tmp_path) not in doc

    # a run that started from the shipped collection says so beside notebook 01's few seconds
    (repo / "results" / "smoke" / "collect").mkdir(exist_ok=True)
    (repo / "results" / "smoke" / "collect" / "metrics.json").write_text(json.dumps({"source": {"kind": "frozen"}}))
    (repo / "results" / "smoke" / "timings.json").write_text(json.dumps({"01_collect": 14.0, "02_distill": 60.0}))
    frozen = flat(pub.results_doc(repo / "results", repo / "docs" / "results.md"))
    assert "The notebooks ran 1.2 min: 01 14 s (the frozen collection, unpacked), 02 1.0 min." in frozen


def test_a_key_figure_the_run_did_not_draw_is_named_not_linked(run, tmp_path):
    repo = tmp_path / "repo"
    dest = pub.publish(run, repo / "results" / "smoke")
    (dest / "report/figures/04_detect/dose.png").unlink()
    for text in (pub.results_section(repo / "results", repo), pub.results_doc(repo / "results", repo / "docs" / "r.md")):
        assert "Not drawn in this run: Dose and response" in flat(text) and "dose.png" not in text


def test_readme_section_without_a_published_run_says_how_to_publish(tmp_path):
    section = pub.results_section(tmp_path / "results", tmp_path)
    assert "No run has been published yet" in section and "make publish RUN=runs/workshop" in flat(section)
    assert "No run has been published yet" in pub.results_doc(tmp_path / "results", tmp_path / "docs" / "results.md")
    with pytest.raises(ValueError, match="exactly one"):
        pub.readme_section("no markers here")
    quoted = f"prose quoting `{pub.START}` and `{pub.END}`\n{section}\n"
    assert pub.readme_section(quoted) == section


def test_the_readme_has_one_results_section():
    pub.readme_section(pub.README.read_text())


def test_the_readme_section_and_the_results_page_are_what_the_committed_results_generate():
    if not pub.published(pub.RESULTS_DIR):
        pytest.skip("no run published in results/ yet (make publish RUN=runs/workshop)")
    assert pub.stale() == [], "run `python -m casestudy.report.publish --readme`"


def test_an_incomplete_run_is_refused_unless_allowed_and_then_says_so(run, tmp_path):
    path = run / "report" / "04_detect.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].metadata["papermill"] = {"status": "completed"}
    nb.cells[2].metadata["papermill"] = {"status": "running"}
    nb.cells[2].outputs = []
    nbformat.write(nb, path)
    with pytest.raises(pub.IncompleteRun, match="04_detect: cell 3: did not finish"):
        pub.publish(run, tmp_path / "results" / "smoke")
    assert not (tmp_path / "results").exists()
    assert pub.main([str(run), str(tmp_path / "results" / "smoke")]) == 2
    dest = pub.publish(run, tmp_path / "results" / "smoke", allow_incomplete=True)
    assert "04_detect failed at cell 3: did not finish" in (dest / "report" / "index.html").read_text()
    section = flat(pub.results_section(tmp_path / "results", tmp_path))
    assert "**Not this study's result**: 04_detect stopped at cell 3: did not finish" in section
    assert "It stands as the record of that run." in section and "figures/03_cost" not in section
    doc = flat(pub.results_doc(tmp_path / "results", tmp_path / "docs" / "results.md"))
    assert "**Not this study's result:** 04_detect stopped at cell 3: did not finish" in doc


def test_the_key_and_headline_figures_are_drawn_by_the_notebooks_as_they_are():
    """A renamed plot function or a notebook that stops drawing a key figure fails here, not in the README."""
    import jupytext

    from casestudy.paths import NOTEBOOKS_DIR
    from casestudy.report.clean import PLOT_CALL, figure_functions
    from casestudy.report.html import HEADLINE_FIGURES

    wanted = {(nb, fn) for nb, fn, _ in pub.KEY_FIGURES} | set(HEADLINE_FIGURES.items())
    for notebook, function in sorted(wanted):
        assert function in figure_functions(), function
        cells = jupytext.read(NOTEBOOKS_DIR / f"{notebook}.py").cells
        assert any(function in PLOT_CALL.findall(c.source) for c in cells if c.cell_type == "code"), (notebook, function)


def test_the_profiles_spread_is_published_with_the_run_and_summarised_in_the_section(run, tmp_path):
    from casestudy.report import spread
    table = pd.DataFrame({"device": ["cpu", "cuda"], "best student skill accuracy": [0.62, 0.81],
                          "McNemar p vs control": [1e-30, 1e-40], "watermark p, control": [0.3, None]},
                         index=pd.Index([0, 1], name="seed"))
    table.to_csv(spread.spread_file(run.parent, "smoke").with_suffix(".csv"))
    repo = tmp_path / "repo"
    out = pub.publish(run, repo / "results" / "smoke")
    assert spread.read_spread(out / "spread.csv").equals(spread.read_spread(run.parent / "smoke-spread.csv"))
    section = pub.results_section(repo / "results", repo)
    assert "| over seeds | 2 seeds | Over seeds 0, 1, run on cpu, cuda: best student skill accuracy 62% to 81% (2 seeds)" \
        in section
    doc = pub.results_doc(repo / "results", repo / "docs" / "results.md")
    assert "Seeds 0, 1 (`python -m casestudy.report.spread`), run on: cpu, cuda." in doc
    assert "| best student skill accuracy | 2 | 62% | 72% | 81% |" in doc
    assert "| McNemar p vs control | 2 | 1.0e-40 | 5.0e-31 | 1.0e-30 |" in doc
    sentence = spread.spread_sentence(spread.published_spread("smoke", repo / "results"))
    assert "best student skill accuracy 62% to 81% (2 seeds)" in sentence and "watermark p, control 3.0e-01" in sentence


def test_the_notebook_pages_share_one_stylesheet(run, tmp_path):
    dest = pub.publish(run, tmp_path / "repo" / "results" / "smoke")
    css = (dest / "report/notebook.css").read_text()
    assert len(css) > 10_000 and "<style" not in css
    for page in dest.glob("report/[0-9][0-9]_*.html"):
        text = page.read_text()
        assert text.count('<link rel="stylesheet" href="notebook.css">') == 1
        assert text.index("notebook.css") < text.index("<body")
        assert all(len(block) < 1_000 for block in pub.STYLE_BLOCK.findall(text))  # nbconvert's big blocks are gone
        assert len(text) < len(css), page  # the page itself is small once the CSS is shared
