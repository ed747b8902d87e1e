"""The seed-spread command gathers the headline figures of finished runs and summarises them."""

import pytest

from casestudy.report import spread
from tests.stages.fake_run import fake_collect, fake_detect, fake_distill, skill, student


def fake_run(run, best_acc, suspect_p, dose_p):
    best = skill("sft", best_acc, (best_acc - 0.05) / 0.85).model_copy(update={"mcnemar_p": 1e-20})
    fake_distill(best_student="sft", teacher_skill=skill("teacher", 0.9, None, trained=False), students=[
        student("public", "untrained", None, 0, 4_000_000, 0.0, 0.2, skill("public", 0.05, None, trained=False)),
        student("sft", "sft", "main", 10, 1_000_000, 25.0, 0.5, best),
        student("control", "sft", "control", 10, 1_000_000, 5.0, 0.3, skill("control", 0.06, 0.0)),
    ]).write(run / "distill")
    fake_detect("sft", suspect_p, dose_p).write(run / "detect")


def test_figures_per_seed_and_their_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("CASESTUDY_RUNS", str(tmp_path))
    for seed, (acc, p, dose) in enumerate([(0.8, 1e-3, 1e-12), (0.75, 1e-5, 1e-9), (0.85, 1e-4, 1e-13)]):
        fake_run(spread.seed_run("workshop", seed), acc, p, dose)
    assert spread.seed_run("workshop", 0) == tmp_path / "workshop"
    assert spread.seed_run("workshop", 2) == tmp_path / "seed2" / "workshop"
    figures = {s: spread.headline_figures(spread.seed_run("workshop", s)) for s in range(3)}
    assert figures[1]["best student skill accuracy"] == 0.75 and figures[2]["watermark p, fully watermarked dose"] == 1e-13
    assert figures[0]["copied share"] == pytest.approx(0.75 / 0.85) and figures[0]["watermark p, control"] == 0.4
    table = spread.summary(spread.spread_table(figures))
    assert table.loc["best student skill accuracy", "min"] == 0.75 and table.loc["best student skill accuracy", "max"] == 0.85
    assert table.loc["watermark p, main suspect", "log10 range"] == "-5.0 to -3.0"
    assert table.loc["best student skill accuracy", "log10 range"] == ""  # blank, not NaN
    assert "best student" not in table.index  # a name, not a figure


def test_the_device_is_the_best_students_which_names_its_precision(tmp_path):
    made = fake_distill(best_student="sft")
    made.students[1] = made.students[1].model_copy(update={"device": "cpu (2 threads, float32, bf16 training)"})
    made.write(tmp_path / "distill")
    assert spread.headline_figures(tmp_path)["device"] == "cpu (2 threads, float32, bf16 training)"


def test_a_run_written_by_another_contract_fails_naming_its_stage(tmp_path):
    fake_distill().write(tmp_path / "distill")
    path = tmp_path / "distill" / "metrics.json"
    path.write_text(path.read_text().replace('"best_student"', '"best"'))
    with pytest.raises(ValueError, match="does not match the distill stage's contract"):
        spread.headline_figures(tmp_path)


def test_summarise_only_writes_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CASESTUDY_RUNS", str(tmp_path))
    fake_run(spread.seed_run("workshop", 0), 0.8, 1e-3, 1e-12)
    assert spread.main(["--profile", "workshop", "--seeds", "0", "1", "--summarise-only"]) == 0
    assert (tmp_path / "workshop-spread.csv").is_file() and "copied share" in capsys.readouterr().out


def test_a_reused_collection_needs_seed_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("CASESTUDY_RUNS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="run the profile first"):
        spread.prepare_seed("workshop", 1, reuse_collection=True)
    fake_collect().write(tmp_path / "workshop" / "collect")
    spread.prepare_seed("workshop", 1, reuse_collection=True)
    assert (tmp_path / "seed1" / "workshop" / "collect" / "metrics.json").is_file()


def test_overrides_reach_every_seed_and_later_seeds_skip_the_collection(tmp_path, monkeypatch):
    monkeypatch.setenv("CASESTUDY_RUNS", str(tmp_path))
    calls = []

    def fake_run_notebooks(profile, report_dir, overrides, only):
        calls.append((list(overrides), only))
        return type("Result", (), {"failed": None})()

    monkeypatch.setattr(spread, "run_notebooks", fake_run_notebooks)
    assert spread.run_seed("workshop", 0, True, ["01_collect.source=frozen"])
    fake_collect().write(tmp_path / "workshop" / "collect")
    assert spread.run_seed("workshop", 1, True, ["01_collect.source=frozen"])
    assert calls[0] == (["seed=0", "01_collect.source=frozen"], None)
    assert calls[1] == (["seed=1", "01_collect.source=frozen"], spread.AFTER_COLLECTION)


def test_seeds_at_once_collect_first_then_run_as_children(tmp_path, monkeypatch):
    monkeypatch.setenv("CASESTUDY_RUNS", str(tmp_path))
    ran, children = [], []

    def fake_run_notebooks(profile, report_dir, overrides, only):
        ran.append(only)
        fake_collect().write(tmp_path / "workshop" / "collect")
        return type("Result", (), {"failed": None})()

    def fake_subprocess_run(command, env, stdout, stderr):
        children.append(command)
        return type("Done", (), {"returncode": 0 if "1" not in command else 3})()

    monkeypatch.setattr(spread, "run_notebooks", fake_run_notebooks)
    monkeypatch.setattr(spread.subprocess, "run", fake_subprocess_run)
    failed = spread.run_seeds_at_once("workshop", [0, 1, 2], True, ["01_collect.source=frozen"], jobs=3)
    assert ran == [["01_collect"]]  # seed 0's collection, once, before the children
    assert failed == [1] and len(children) == 3
    assert all("--no-summary" in c and c[-2:] == ["--set", "01_collect.source=frozen"] for c in children)
    assert (tmp_path / "seed2" / "workshop" / "spread.log").is_file()


def test_a_seed_without_notebook_04_gives_its_skill_figures_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CASESTUDY_RUNS", str(tmp_path))
    fake_run(spread.seed_run("workshop", 0), 0.8, 1e-3, 1e-12)
    fake_run(spread.seed_run("workshop", 1), 0.7, 1e-3, 1e-12)
    (spread.seed_run("workshop", 1) / "detect" / "metrics.json").unlink()
    figures = spread.headline_figures(spread.seed_run("workshop", 1))
    assert figures["best student skill accuracy"] == 0.7 and figures["watermark p, main suspect"] is None
    assert spread.main(["--profile", "workshop", "--seeds", "0", "1", "--summarise-only"]) == 0
    table = spread.summary(spread.spread_table({0: spread.headline_figures(spread.seed_run("workshop", 0)), 1: figures}))
    assert table.loc["best student skill accuracy", "seeds"] == 2 and table.loc["watermark p, main suspect", "seeds"] == 1
