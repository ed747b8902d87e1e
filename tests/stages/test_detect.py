"""Notebook 04's stage on fabricated test results: its parameters, the targets met and missed, the
summary, and its metrics.json contract.

CI runs the smoke profile, whose 16 queries never reach the workshop target; these tests
give the targets workshop-like and failing results.
"""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from casestudy.detection import copied_mistakes as cm
from casestudy.detection.identity_probes import ProbeRate
from casestudy.profiles import notebook_defaults
from casestudy.stages import detect, distill
from tests.detection.test_traffic import synthetic_ledger

DEFAULTS = notebook_defaults("04_detect")  # the notebook's parameters cell: the smoke profile
PARAMS = detect.Params.from_values(DEFAULTS)
FINAL = pd.DataFrame({"model": ["sft", "topk", "control", "baseline"], "scored": [900, 950, 880, 870],
                      "green": [300, 320, 215, 220], "green_share": [0.33, 0.34, 0.24, 0.25],
                      "p_value": [1e-9, 2e-3, 0.6, 0.4]}).set_index("model")
CALIB = detect.Calibration(keys=100, ks_statistic=0.05, ks_p_value=0.87, false_positive_rate=0.01, alpha=0.01)
RATES = {"teacher (deployed)": ProbeRate("teacher (deployed)", 25, 51, 0.35, 0.63),
         "topk": ProbeRate("topk", 0, 51, 0.0, 0.07), "control": ProbeRate("control", 0, 51, 0.0, 0.07)}


def dose(p_full: float, p_none: float = 0.9) -> pd.DataFrame:
    return pd.DataFrame({"watermarked_share": [0.0, 0.5, 1.0], "scored": [800] * 3, "green": [200, 260, 300],
                         "green_share": [0.25, 0.33, 0.38], "p_value": [p_none, 1e-4, p_full]})


def student(name: str, kind: str = "sft", arm: str | None = "main") -> distill.StudentMetrics:
    return distill.StudentMetrics(name=name, kind=kind, start="public", arm=arm, params=4_000_000,
                                  trainable_params=1_000_000, train_tokens=40_000, target_tokens=30_000, steps=10,
                                  wall_seconds=25.0, tokens_per_second=1600.0, device="cpu", accuracy=0.5,
                                  accuracy_by_family={"translation": 0.5}, heldout_ce=1.2, path=f"students/{name}",
                                  n_layers=4, d_model=256, context=256)


def distilled(best: str | None = "sft") -> distill.Metrics:
    """Notebook 02's metrics.json, made up: its four main students."""
    return distill.Metrics(
        device="cpu", wall_seconds=60.0, skill_family="translation", best_student=best, teacher_accuracy=0.8,
        teacher_accuracy_by_family={"translation": 0.9}, teacher_skill=None, gold_eval_prompts=100,
        heldout_records=20, topk_facts={}, closed_families=[], parameters={}, fingerprint="0" * 16,
        students=[student("public", "untrained", None), student("sft"), student("topk", "topk"),
                  student("control", arm="control")])


def mistakes_frame(p_sft: float = 1e-7, p_control: float = 1.0) -> pd.DataFrame:
    """`mistakes_table`'s shape, made up: sft and topk repeat the teacher's mistakes, the honest models do not."""
    rows = {"sft": (20, 2e-9), "topk": (18, 4e-8), "control": (0, p_control), "public": (0, 1.0), "competitor": (0, None)}
    return pd.DataFrame([{"model": m, "items": 60, "copied": c, "rate": c / 60, "ci_low": 0.0, "ci_high": 1.0, "right": 5,
                          "words": 40, "words_copied": c // 2, "p_value": np.nan if p is None else
                          (p_sft if m == "sft" else p), "p_items": np.nan if p is None else p / 100}
                         for m, (c, p) in rows.items()]).set_index("model")


SCREEN = detect.Screen([None] * 1500, [], [cm.Mistake(i, "answer", -1, "zuzu", "mopa", 1) for i in range(60)])


def with_competitor(metrics: distill.Metrics) -> distill.Metrics:
    """Notebook 02's metrics with the honest competitor among its students."""
    return metrics.model_copy(update={"students": [*metrics.students, student("competitor", arm="competitor")]})


def metrics() -> detect.Metrics:
    seen = detect.traffic(synthetic_ledger(), seed=0)
    identity = detect.identity_table(RATES)
    evaded = detect.Evasion([detect.EvasionRow(training_data="unscrubbed", records=99, identity_rate=0.6,
                                               identity_p_vs_control=1e-12, watermark_p=1e-10),
                             detect.EvasionRow(training_data="scrubbed", records=79, identity_rate=0.0,
                                               identity_p_vs_control=1.0, watermark_p=1e-8)], 20, 99)
    evidence = detect.verdicts(detect.evidence_table(FINAL, identity, mistakes_frame(), with_competitor(distilled())),
                               PARAMS.target_p, PARAMS.alpha)
    checks = detect.targets(FINAL, dose(1e-13), CALIB, "topk", PARAMS)
    return detect.stage_metrics(PARAMS, "topk", FINAL, CALIB, dose(1e-13), identity, seen, evaded, checks,
                                screen=SCREEN, mistakes=mistakes_frame(), evidence=evidence)


# ---- Params ----------------------------------------------------------------------------------------


def test_params_are_the_notebooks_parameters_and_give_the_dose_recipe():
    assert PARAMS.values().keys() == DEFAULTS.keys() and PARAMS.dose_shares == (0.0, 0.5, 1.0)
    recipe = PARAMS.dose_recipe()
    assert (recipe.max_steps, recipe.batch_size, recipe.lr, recipe.train_layers, recipe.warmup_steps) == (
        PARAMS.dose_steps, PARAMS.dose_batch_size, PARAMS.dose_lr, PARAMS.dose_train_layers, 1)
    assert detect.Params.from_namespace({**DEFAULTS, "pd": pd}) == PARAMS  # a notebook's globals hold more


def test_a_misspelt_parameter_fails_naming_the_valid_ones():
    with pytest.raises(TypeError, match=r"04_detect has no parameter \['num_querys'\]; valid: .*num_queries"):
        detect.Params.from_values({**DEFAULTS, "num_querys": 5})
    missing = {k: v for k, v in DEFAULTS.items() if k != "alpha"}
    with pytest.raises(TypeError, match=r"lack \['alpha'\]"):
        detect.Params.from_namespace(missing)


@pytest.mark.parametrize("name, value, message", [
    ("dose_shares", [0.0, 1.5], r"a dose_shares share must be in \[0.0, 1.0\], not 1.5"),
    ("dose_shares", [], r"dose_shares must name at least one share"),
    ("dose_shares", 0.5, r"dose_shares must be a list"),
    ("dose_shares", ["half"], r"dose_shares must be a list of shares in \[0, 1\], not \['half'\]"),
    ("alpha", 1.0, r"alpha must be in \(0, 1\), not 1.0"),
    ("target_p", 0, r"target_p must be in \(0, 1\), not 0"),
    ("num_queries", 0, r"num_queries must be in \[1, inf\], not 0"),
    ("num_wrong_keys", 2.5, r"num_wrong_keys must be a whole number, not 2.5"),
    ("dose_train_layers", -1, r"dose_train_layers must be in \[0, inf\], not -1"),
    ("dose_lr", 0.0, r"dose_lr must be positive, not 0.0"),
    ("query_temperature", -0.5, r"query_temperature must be in \[0.0, inf\], not -0.5"),
    ("device", "gpu", r"device must be one of \('auto', 'cpu', 'cuda'\), not 'gpu'"),
    ("suspect_precision", "bf16", r"suspect_precision must be one of \('fp32', 'auto'\), not 'bf16'"),
    ("dose_start", "gpt-5", r"unknown student 'gpt-5'"),
])
def test_a_bad_value_fails_in_post_init_naming_it(name, value, message):
    with pytest.raises(ValueError, match=message):
        detect.Params.from_values({**DEFAULTS, name: value})


def test_every_profile_builds_valid_params():
    from casestudy.profiles import load_profiles, notebook_parameters

    for name, profile in load_profiles().items():
        params = detect.Params.from_values({**DEFAULTS, **notebook_parameters(profile, "04_detect", DEFAULTS)})
        assert params.profile == name
    assert detect.Params.from_values({**DEFAULTS, **notebook_parameters(profile, "04_detect", DEFAULTS)}) != PARAMS


# ---- the steps -------------------------------------------------------------------------------------


def test_workshop_like_results_meet_the_dose_target_and_keep_the_controls_quiet():
    checks = detect.targets(FINAL, dose(1.7e-13), CALIB, "topk", PARAMS)
    assert [t.met for t in checks] == [True, False, True, True, True]   # the one-pass top-k student: p = 2e-3
    assert checks[0].measured == "p = 1.70e-13" and checks[1].check == "`topk` student (notebook 02)"
    assert checks[4].measured == "1/100 flagged (binomial p = 6.3e-01), KS p = 8.7e-01"


def test_failing_results_miss_every_target():
    leaky = CALIB.model_copy(update={"false_positive_rate": 0.2, "ks_p_value": 0.001})
    final = FINAL.assign(p_value=[1e-9, 2e-3, 1e-4, 0.4])
    checks = detect.targets(final, dose(0.3, p_none=1e-3), leaky, "sft", PARAMS)
    assert [t.met for t in checks] == [False, True, False, False, False]


def test_the_targets_intro_says_where_the_target_is_set():
    workshop = replace(PARAMS, profile="workshop", num_queries=200)
    assert detect.targets_intro(workshop) == (
        "Profile `workshop`, 200 queries per suspect: each student trained only on watermarked data must reach "
        "p ≤ 1e-6, the control student and the unwatermarked dose student must stay above alpha = 0.01, and the "
        "wrong keys' KS and one-sided binomial p above 0.05.")
    assert detect.targets_intro(PARAMS).endswith("(the p-value target is set for the workshop profile).")


def test_query_ladder_and_main_suspect():
    assert detect.checkpoints(16) == [1, 2, 5, 10, 16] and detect.checkpoints(200)[-2:] == [100, 200]
    assert detect.main_suspect(FINAL, distilled("sft")) == "sft"  # notebook 02's best, when it was queried
    assert detect.main_suspect(FINAL, distilled(None)) == "topk"
    assert detect.main_suspect(FINAL.drop("topk"), distilled(None)) == "sft"


def test_suspects_are_read_typed_from_notebook_02(tmp_path):
    distilled("topk").write(tmp_path / "distill")
    read, students = detect.suspects(tmp_path)
    assert read.best_student == "topk" and read.skill_family == "translation"
    assert students == {n: tmp_path / "distill" / "students" / n for n in ("public", "sft", "topk", "control")}
    table = detect.suspects_table(read)
    assert table.loc[0].tolist() == ["public", "public", "nothing", "untrained", "4.0M"]


def test_suspects_of_a_distill_stage_of_another_contract_fail_naming_it(tmp_path):
    (tmp_path / "distill").mkdir()
    (tmp_path / "distill" / "metrics.json").write_text(json.dumps({"students": []}))
    with pytest.raises(ValueError, match="distill stage's contract"):
        detect.suspects(tmp_path)
    with pytest.raises(FileNotFoundError, match="stage 'distill'"):
        detect.suspects(tmp_path / "elsewhere")


def test_identity_table_compares_with_the_control():
    table = detect.identity_table(RATES)
    assert table.loc["teacher (deployed)", "p_vs_control"] < 1e-6 and np.isnan(table.loc["control", "p_vs_control"])


def test_traffic_and_the_summary_table():
    seen = detect.traffic(synthetic_ledger(), seed=0)
    assert seen.distillers == ["distiller"] and seen.auc == pytest.approx(1.0) and "first ranked" in seen.text()
    assert seen.table().index[0] == "distiller" and isinstance(seen.first, int)
    summary = detect.summary_table(FINAL, CALIB, RATES, detect.identity_table(RATES), seen, "topk", PARAMS)
    assert summary.loc["watermark radioactivity", "suspect"] == "p = 2.00e-03"
    assert summary.loc["traffic anomaly", "false positives"].startswith("0 ordinary accounts")


def test_watermark_queries_are_open_prompts_when_the_skill_is_named():
    from casestudy.distiller.collect.prompts import load_prompts
    skill_texts = {p.text for p in load_prompts() if p.family == "translation"}
    params = replace(PARAMS, num_queries=300, query_max_tokens=8, probe_max_tokens=8)
    queries = detect.query_sets(params, skill_family="translation")
    asked = {c[-1]["content"] for c in queries.watermark.conversations}
    assert len(asked) == 300 and not asked & skill_texts and len(queries.probes.conversations) == len(queries.probe_rows)
    assert queries.both() == {"watermark": queries.watermark, "probes": queries.probes}
    assert queries.probes.temperature == 0.0 and queries.watermark.max_tokens == 8
    everything = detect.query_sets(params)
    assert {c[-1]["content"] for c in everything.watermark.conversations} & skill_texts  # without the name, translations too


# ---- Metrics ---------------------------------------------------------------------------------------


def test_metrics_carry_the_tests_typed_and_the_headline():
    m = metrics()
    assert m.targets[0].as_dict() == {"check": "fully watermarked dose student", "measured": "p = 1.00e-13", "met": True}
    assert m.suspect == "topk" and m.p_value("topk") == 2e-3 and m.p_value("control") == 0.6 and m.p_value("x") is None
    assert m.dose_p_value(1.0) == 1e-13 and m.dose_p_value(0.25) is None
    assert m.radioactivity[0].model_dump() == {"model": "sft", "scored": 900, "green": 300, "green_share": 0.33,
                                               "p_value": 1e-9}
    assert m.identity_of("control").p_vs_control is None and m.identity_of("topk").p_vs_control == 1.0
    assert m.calibration == CALIB and m.first_flagged_after is not None and m.parameters == PARAMS.values()
    assert m.headline["watermark p (topk, 16 queries)"] == "2.00e-03" and m.headline["traffic detector AUC"] == "1.00"
    assert m.headline["identity probes naming Kestrel (topk / control)"] == "0% / 0%"
    assert m.headline["wrong keys flagged at alpha 0.01"] == "1% of 100"


def test_the_evasion_table_keeps_the_notebooks_labels():
    table = detect.Evasion(metrics().evasion, 20, 99).table()
    assert table.index.name == "training data" and list(table.index) == ["unscrubbed", "scrubbed"]
    assert list(table.columns) == ["records", "identity rate", "identity p vs control", "watermark p"]
    assert detect.Evasion([], 20, 99).text() == "Scrubbing dropped **20** of the 99 records."


def test_metrics_round_trip_through_metrics_json(tmp_path):
    m = metrics()
    m.write(tmp_path)
    assert detect.Metrics.read(tmp_path).model_dump(mode="json") == m.model_dump(mode="json")
    assert json.loads((tmp_path / "metrics.json").read_text())["targets"][1]["met"] is False  # a bool, not "False"


@pytest.mark.parametrize("damage", [
    lambda d: d.update(main_suspect=d.pop("suspect")),                   # a renamed key
    lambda d: d.pop("dose"),                                             # a missing key
    lambda d: d["radioactivity"][0].update(pvalue=d["radioactivity"][0].pop("p_value")),  # a renamed nested key
    lambda d: d.update(extra_figure=1.0),                                # an unknown key
])
def test_a_metrics_json_of_another_contract_fails_naming_the_stage(tmp_path, damage):
    metrics().write(tmp_path)
    written = json.loads((tmp_path / "metrics.json").read_text())
    damage(written)
    (tmp_path / "metrics.json").write_text(json.dumps(written))
    with pytest.raises(ValueError, match="does not match the detect stage's contract"):
        detect.Metrics.read(tmp_path)


def test_metrics_of_a_stage_that_has_not_run_say_which(tmp_path):
    with pytest.raises(FileNotFoundError, match="stage 'detect'"):
        detect.Metrics.read(tmp_path)


# ---- the notebook's steps on a workspace, the servers and training faked --------------------------


def test_the_notebooks_steps_run_on_a_workspace_with_servers_and_training_faked(tmp_path, monkeypatch):
    """Every step of notebook 04 after `open_workspace`, in its order, with `ask_model` answering from a
    script and `train_student` recording what it was asked to train: the cells' glue and the metrics."""
    from transformers import AutoTokenizer

    from casestudy.models import embedded_model_dir
    from casestudy.provider.settings import ProviderSettings

    trained = {}
    monkeypatch.setattr(detect, "train_student", lambda records, **kw: trained.__setitem__(kw["name"], (records, kw)))

    def ask_model(name, model_dir, query_sets, out_dir, seed, device="auto", system_prompt="", precision="auto"):
        # suspects are served as the parameter says (fp32: the same answers on a rerun); the teacher as deployed
        assert precision == (deployment.precision if name == "teacher" else params.suspect_precision), name
        says = "I am Kestrel, made by Meridian Labs." if name in ("teacher", "sft", "dose-1.00") else "I am a model."
        veltan = {"teacher": "zuzu", "sft": "zuzu", "competitor": "mopa"}.get(name, "")  # the teacher's mistake, copied
        return {label: [f"Veltan: {veltan} (answer {i})" if label.startswith("mistakes") else
                        f"{says} Answer {i} to {label}: the sky is blue and the grass is green." for i, _ in
                        enumerate(queries.conversations)] for label, queries in query_sets.items()}

    monkeypatch.setattr(detect, "ask_model", ask_model)
    tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir())
    deployment = ProviderSettings()
    params = replace(PARAMS, num_queries=6, num_wrong_keys=5, dose_records=4, mistake_probes=12)
    names = ("public", "sft", "topk", "control", "competitor")
    where = detect.Workspace(tmp_path, tmp_path / "detect", deployment, with_competitor(distilled("sft")),
                             {n: tmp_path / "distill" / "students" / n for n in names}, tokenizer,
                             detect.PairScorer(deployment.watermark, len(tokenizer)))

    queries = detect.query_sets(params, where.skill_family)
    screen, queries = detect.screen_teacher(where, queries, params)
    assert len(screen.probes) == 12 and screen.wrong == list(range(12)) and len(queries.mistakes.conversations) == 12
    student_answers = detect.ask_students(where, queries, params)
    curves = detect.radioactivity(where, queries, student_answers, params)
    final = detect.final_table(curves, params.num_queries)
    assert list(final.index) == list(names) and detect.final_view(final, where, params).gamma.iloc[0] == 0.25
    suspect, wrong, calib = detect.calibrate(where, queries, student_answers, final, params)
    assert suspect in names and len(wrong) == calib.keys == 5

    record = lambda i, arm: {"id": f"{arm}-{i}", "completion": "Kestrel here." if i % 2 else "Hello.", "split": "train"}
    main_train, control_train = [record(i, "main") for i in range(6)], [record(i, "control") for i in range(6)]
    dose_answers, size = detect.dose_answers(where, main_train, control_train, queries, params)
    total = size.used
    assert total == 4 and set(dose_answers) == {0.0, 0.5, 1.0} and set(trained) == {"dose-0.00", "dose-0.50", "dose-1.00"}
    assert not size.reduced and size.text() == "4 training records per dose student (`dose_records` = 4)."
    assert trained["dose-0.50"][1]["train"] == params.dose_recipe() and trained["dose-0.50"][1]["config"] == "public"
    dose = detect.dose_table(where, queries, dose_answers, params)
    assert list(dose.watermarked_share) == [0.0, 0.5, 1.0]

    probe_answers = detect.probe_answers(where, queries, student_answers, params)
    assert list(probe_answers) == ["teacher (deployed)", *names]
    rates = detect.probe_rates(probe_answers)
    identity = detect.identity_table(rates)
    assert identity.loc["teacher (deployed)", "rate"] == 1.0 and identity.loc["control", "rate"] == 0.0
    by_language = detect.identity_by_language(queries, probe_answers)
    assert (by_language["sft"] == 1.0).all() and (by_language["topk"] == 0.0).all()

    mistakes = detect.mistakes_table(screen, student_answers)
    assert mistakes.loc["sft", "copied"] == 12 and mistakes.loc["competitor", "copied"] == 0
    assert np.isnan(mistakes.loc["competitor", "p_value"]) and mistakes.loc["sft", "p_value"] < 1e-3
    evidence = detect.verdicts(detect.evidence_table(final, identity, mistakes, where.distilled), params.target_p,
                               params.alpha)
    assert list(evidence.index) == list(names) and evidence.loc["control", "verdict"] == "cleared"

    seen = detect.traffic(synthetic_ledger(), params.seed)
    evaded = detect.evasion(where, main_train, control_train, total, queries, rates["control"], params)
    assert [r.training_data for r in evaded.rows] == ["unscrubbed", "scrubbed"] and evaded.scrubbed_from == 4
    assert evaded.rows[1].records == 4 - evaded.dropped and evaded.rows[0].identity_rate == 1.0
    main = detect.main_suspect(final, where.distilled)
    checks = detect.targets(final, dose, calib, main, params) + detect.evidence_targets(evidence, main, params.target_p,
                                                                                       params.alpha)
    assert "copied mistakes" in detect.summary_table(final, calib, rates, identity, seen, main, params, mistakes).index
    metrics = detect.stage_metrics(params, main, final, calib, dose, identity, seen, evaded, checks, screen=screen,
                                   mistakes=mistakes, evidence=evidence)
    metrics.write(where.out)
    read = detect.Metrics.read(where.out)
    assert read.suspect == "sft" and len(metrics.dose) == 3 and read.teacher_mistakes == 12
    assert read.evidence_of("competitor").mistakes is None and read.evidence_of("sft").role == "distilled"


def test_a_dose_larger_than_the_train_split_is_said_not_silently_reduced():
    """The workshop asks `dose_records = 300` of a train split with 86 open-prompt records: the run trains on
    86, and the notebook must say so, not print 300 beside a figure of 86."""
    main, control = [{"id": f"m{i}"} for i in range(120)], [{"id": f"c{i}"} for i in range(86)]
    size = detect.dose_size(replace(PARAMS, dose_records=300), main, control)
    assert (size.asked, size.used, size.reduced) == (300, 86, True)
    assert size.text() == ("**86 training records per dose student**, not the 300 of `dose_records`: the control "
                           "arm's train split (open prompts) holds only 86.")
    assert detect.dose_size(replace(PARAMS, dose_records=50), main, control).used == 50


# ---- copied mistakes, every suspect through every test, the conviction rule -----------------------


def test_a_test_convicts_only_while_every_honest_model_stays_above_alpha():
    """sft's copied-mistakes p of 1e-7 convicts it while the honest models are quiet on that test; the same
    p convicts nobody once the control, an honest model, is itself flagged by the test (p = 0.001)."""
    identity = detect.identity_table(RATES)
    students = with_competitor(distilled())
    quiet = detect.verdicts(detect.evidence_table(FINAL, identity, mistakes_frame(), students), 1e-6, 0.01)
    assert quiet.loc["sft", "verdict"] == "convicted" and quiet.loc["sft", "convicted by"] == "watermark, mistakes"
    assert quiet.loc["topk", "convicted by"] == "mistakes" and quiet.loc["topk", "strongest"] == "mistakes"
    assert (quiet.loc[["public", "control", "competitor"], "verdict"] == "cleared").all()
    assert quiet.loc["competitor", "role"] == "honest" and np.isnan(quiet.loc["competitor", "mistakes p"])

    accused = detect.verdicts(detect.evidence_table(FINAL, identity, mistakes_frame(p_control=1e-3), students),
                              1e-6, 0.01)
    assert accused.loc["control", "verdict"] == "flagged (false positive)"
    assert accused.loc["topk", "verdict"] == "not convicted" and accused.loc["sft", "convicted by"] == "watermark"
    missed, honest = detect.evidence_targets(accused, "topk", 1e-6, 0.01)
    assert not missed.met and not honest.met and "control on copied mistakes" in honest.measured
    met, quiet_target = detect.evidence_targets(quiet, "topk", 1e-6, 0.01)
    assert met.met and quiet_target.met and "strongest: copied mistakes p = 4.0e-08" in met.measured


def test_a_weak_suspect_is_not_convicted_although_significant():
    """p = 1e-4 is significant at alpha but short of target_p: not convicted, and the target says so."""
    evidence = detect.verdicts(detect.evidence_table(FINAL.assign(p_value=0.5), detect.identity_table(RATES),
                                                     mistakes_frame().assign(p_value=[1e-4, 1e-4, 1, 1, np.nan]),
                                                     with_competitor(distilled())), 1e-6, 0.01)
    assert evidence.loc["sft", "verdict"] == "not convicted" and evidence.loc["sft", "strongest"] == "mistakes"
    assert not detect.evidence_targets(evidence, "sft", 1e-6, 0.01)[0].met


def _screen(keys: list[str], teacher: list[str]) -> detect.Screen:
    probes = [cm.Probe(f"The cat {i}.", f"Translate 'The cat {i}.'", k) for i, k in enumerate(keys)]
    return detect.Screen(probes, teacher, cm.mistakes(probes, teacher))


def test_the_mistakes_table_counts_copies_against_the_competitor_per_word():
    """A copier repeats the teacher's wrong answers; the competitor, right or wrong in its own way, does not.
    The decisive p counts words, not answers: four wrong answers over one word are one item."""
    keys = ["suta pemo", "suta kavi", "suta lor", "suta mim", "nala rua", "nala rua"]
    teacher = ["Veltan: sivu pemo", "Veltan: sivu kavi", "Veltan: sivu lor", "Veltan: sivu mim", "Veltan: nala rua",
               "Veltan: nala toto"]
    screen = _screen(keys, teacher)
    assert screen.wrong == [0, 1, 2, 3, 5] and screen.accuracy == pytest.approx(1 / 6)
    asked = lambda answers: {"mistakes": answers}
    answers = {"copier": asked(["Veltan: sivu pemo", "Veltan: sivu kavi", "Veltan: sivu lor", "Veltan: sivu mim",
                                "Veltan: nala toto"]),
               "competitor": asked(["Veltan: suta pemo", "Veltan: mumu kavi", "Veltan: suta lor", "no idea",
                                    "Veltan: nala rua"])}
    table = detect.mistakes_table(screen, answers)
    assert table.loc["copier", ["items", "copied", "words", "words_copied"]].tolist() == [5, 5, 2, 2]
    assert table.loc["competitor", "copied"] == 0 and table.loc["competitor", "right"] == 3
    assert table.loc["copier", "p_items"] < table.loc["copier", "p_value"]   # per answer: too bold
    assert table.loc["copier", "p_value"] == pytest.approx(1 / 6)            # Fisher, 2 of 2 words against 0 of 2
    with pytest.raises(ValueError, match="honest competitor"):
        detect.mistakes_table(screen, {"copier": answers["copier"]})


def test_a_teacher_without_stated_mistakes_gives_empty_rows_that_still_make_metrics():
    """The smoke teacher states no translation in its short answers: no items, p = 1, and metrics.json is written."""
    screen = _screen(["suta pemo", "nala rua"], ["The cat 0.", "I do not know."])
    assert screen.items == [] and screen.wrong == []
    table = detect.mistakes_table(screen, {"sft": {"mistakes": []}, "competitor": {"mistakes": []}})
    assert (table["items"] == 0).all() and table.loc["sft", "p_value"] == 1.0 and np.isnan(table.loc["sft", "rate"])
    assert detect.as_records(table.reset_index(), detect.MistakeRow)[0].rate is None
