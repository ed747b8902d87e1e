"""The study's four questions answered from a run's metrics: each verdict follows its rule."""

import json

import pytest

from casestudy.report import glance


def skill(accuracy, copied=None, p=None, n=160):
    return {"accuracy": accuracy, "copied_share": copied, "mcnemar_p": p, "n": n, "correct": round(accuracy * n)}


def distill(copied=0.99, p=7e-46):
    students = [("public", None, skill(0.0)), ("sft", "main", skill(0.94, copied, p)), ("topk", "main", skill(0.93)),
                ("control", "control", skill(0.0, 0.0)), ("competitor", "competitor", skill(0.67, 0.7))]
    return {"best_student": "sft", "skill_family": "translation", "teacher_skill": skill(0.96),
            "students": [{"name": name, "arm": arm, "skill": s} for name, arm, s in students]}


def detect(suspect_p=2.1e-4, control_p=0.6, target=1e-6):
    rows = {"public": 0.68, "sft": suspect_p, "topk": 2e-3, "control": control_p, "competitor": 0.98}
    return {"suspect": "sft", "num_queries": 200, "parameters": {"target_p": target},
            "calibration": {"alpha": 0.01, "false_positive_rate": 0.0, "keys": 100},
            "radioactivity": [{"model": m, "p_value": p} for m, p in rows.items()],
            "dose": [{"watermarked_share": 1.0, "p_value": 9.6e-7}],
            "identity": [{"model": "sft", "rate": 0.2, "probes": 51}, {"model": "control", "rate": 0.0, "probes": 51}],
            "traffic_auc": 1.0, "first_flagged_after": 50}


@pytest.mark.parametrize("copied, p, verdict", [(0.99, 7e-46, "**yes**"), (0.3, 1e-5, "**in part**"),
                                                (0.99, 0.2, "**no**"), (0.99, None, "**no**")])
def test_copied_needs_a_significant_win_over_the_control_and_most_of_the_gain(copied, p, verdict):
    answer = glance.copied(distill(copied, p))
    assert answer.verdict == verdict and answer.notebook == "02_distill"
    assert "`sft` answers 94% of 160 held-out translation prompts" in answer.figures
    assert "(the teacher 96%, the public model 0%, the control 0%)" in answer.figures
    assert "the honest competitor, without the API: 67%" in answer.figures


def test_an_answer_without_its_stage_says_not_measured_and_why():
    answer = glance.copied(None, "stopped at cell 6: did not finish")
    assert answer.verdict == "**not measured**" and answer.figures == "not measured: 02_distill stopped at cell 6: did not finish"
    assert glance.proven(None).figures == "not measured: 04_detect did not run"
    assert glance.cost(None, None).verdict == "**not measured**"


@pytest.mark.parametrize("p, verdict", [(5e-7, "**yes**"), (2.1e-4, "**evidence, not proof**"), (0.04, "**no**")])
def test_proven_means_the_main_suspect_reaches_the_profiles_target(p, verdict):
    answer = glance.proven(detect(suspect_p=p))
    assert answer.verdict == verdict
    assert f"`sft` p = {p:.1e}, proof needs p ≤ 1e-06" in answer.figures
    assert "a student trained only on watermarked answers: p = 9.6e-07" in answer.figures
    assert "0% of 100 wrong keys flagged at 0.01" in answer.figures


def test_proven_and_against_whom_follow_the_conviction_rule_where_the_run_has_it():
    """A run with notebook 04's evidence rows: every test's p against the suspect, the rule's verdict, the honest
    models cleared or flagged, the teacher's mistakes repeated."""
    row = lambda model, role, verdict, w, i, m: {"model": model, "role": role, "verdict": verdict, "watermark": w,
                                                 "identity": i, "mistakes": m, "convicted_by": "–"}
    evidence = [row("sft", "distilled", "not convicted", 0.06, 2.7e-4, 3.5e-3),
                row("control", "honest", "cleared", 0.5, None, 1.0), row("competitor", "honest", "cleared", 0.7, 1.0, None)]
    mistakes = [{"model": "sft", "items": 63, "copied": 12}, {"model": "competitor", "items": 63, "copied": 1}]
    run = detect(suspect_p=0.06) | {"evidence": evidence, "mistakes": mistakes}
    answer = glance.proven(run)
    assert answer.verdict == "**evidence, not proof**"
    assert "against `sft`: watermark p = 6.0e-02, identity probes p = 2.7e-04, copied mistakes p = 3.5e-03" in answer.figures
    convicted = glance.proven(run | {"evidence": [evidence[0] | {"verdict": "convicted"}, *evidence[1:]]})
    assert convicted.verdict == "**yes**"
    whom = glance.against_whom(run, distill()).figures
    assert "honest models (`control`, `competitor`): cleared by every test" in whom
    assert "the teacher's 63 wrong answers on fresh prompts repeated: `sft` 12, `competitor` 1" in whom
    accused = glance.against_whom(run | {"evidence": [*evidence[:2], evidence[2] | {"verdict": "flagged (false positive)"}]},
                                  distill()).figures
    assert "flagged by some test: `competitor`" in accused


def test_against_whom_names_the_flagged_models_and_an_innocent_one_among_them():
    fair = glance.against_whom(detect(), distill())
    assert fair.verdict == "**the distiller's students**"
    assert "the watermark flags `sft`, `topk` at 0.01, not `public`, `control`, `competitor`" in fair.figures
    assert "`sft` 20%, `control` 0%" in fair.figures and "AUC 1.00, first after 50 of its requests" in fair.figures
    wrong = glance.against_whom(detect(control_p=0.001), distill())
    assert wrong.verdict == "**also innocent models**: `control`"
    assert glance.against_whom(detect(suspect_p=0.5) | {"radioactivity": []}, distill()).verdict == "**not measured**"


def test_cost_compares_the_copy_with_creating_and_building_the_skill():
    routes = [{"who": "provider (created)", "data": "960 sentences translated", "data_usd": 697.32, "compute_usd": 0.011,
               "skill_accuracy": 0.96},
              {"who": "distiller (copied)", "data": "1,240 API answers", "data_usd": 0.646, "compute_usd": 0.019,
               "skill_accuracy": 0.94},
              {"who": "honest competitor (built)", "data": "640 sentences translated", "data_usd": 465.84,
               "compute_usd": 0.003, "skill_accuracy": 0.67}]
    metrics = {"routes": routes, "ratios": {"copy / create": 0.000953}, "price_point": {"name": "gpt-4o", "as_of": "2025-01-15"},
               "break_even": {"per-word price at break-even (USD)": 0.00017, "API price factor at break-even": 721.2}}
    answer = glance.cost(metrics, None)
    assert answer.verdict == "**$0.67**, 0.095% of creating the skill"
    assert "copying cost $0.67 to reach 94%, from 1,240 API answers at gpt-4o (2025-01-15) prices" in answer.figures
    assert "creating it cost $697 to reach 96%" in answer.figures and "building it honestly cost $466" in answer.figures
    assert "below $0.00017 per translated word, or at 721x the API's prices" in answer.figures
    # an older run without the routes: the bill and what it bought
    older = glance.cost({"best_student": {"student": "topk", "distiller_usd": 0.6, "copied_share": 1.04}}, {"records": 1040})
    assert older.verdict == "**$0.6**" and "for 1,040 answers" in older.figures and "not measured" in older.figures


def test_targets_are_counted_and_the_missed_ones_named(tmp_path):
    for stage, targets in [("distill", [{"check": "a", "measured": "1", "met": True}]),
                           ("detect", [{"check": "b", "measured": "p = 2e-4", "met": False},
                                       {"check": "c", "measured": "x", "met": None}])]:
        (tmp_path / stage).mkdir()
        (tmp_path / stage / "metrics.json").write_text(json.dumps({"targets": targets}))
    assert glance.targets_text(tmp_path) == ("1 met, 1 missed, 1 without a target", "detect: b (p = 2e-4)")


def test_a_run_on_another_collection_or_skill_says_so(tmp_path):
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    (frozen / "workshop-collect.tar.xz.sha256").write_text("b" * 64 + "  workshop-collect.tar.xz\n")
    run = tmp_path / "run"
    (run / "collect").mkdir(parents=True)
    (run / "distill").mkdir()
    source = {"kind": "frozen", "archive": "workshop-collect.tar.xz", "sha256": "a" * 64}
    (run / "collect" / "metrics.json").write_text(json.dumps({"source": source}))
    (run / "distill" / "metrics.json").write_text(json.dumps({"skill_family": "arithmetic"}))
    assert glance.collection(run, frozen) == "it trained on an older frozen collection (SHA-256 aaaaaaaaaaaa…, " \
                                             "not the committed bbbbbbbbbbbb…)"
    assert glance.skill_note(run) == f"its skill is arithmetic, not the {glance.SKILL_FAMILY} the provider sells now"
    (run / "collect" / "metrics.json").write_text(json.dumps({"source": {**source, "sha256": "b" * 64}}))
    assert glance.collection(run, frozen) is None
