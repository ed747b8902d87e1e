"""Notebook 02's decisions on fabricated graded answers: the students planned, the skill table
(intervals, copied share, McNemar against the control, the teacher's format), and the verdict
under each profile's targets (CI's smoke run sets none, so these tests run the others)."""

from types import SimpleNamespace

import pytest

from casestudy.stages import distill

WORKSHOP = dict(max_steps=40, lr=5e-4, train_layers=12, size_curve=[], scratch_size="", target_share=0.8,
                target_margin=0.2, target_p=0.01, profile="workshop")


def params(**changes) -> distill.Params:
    return distill.Params.defaults(**{**WORKSHOP, **changes})
WORKED = "Word by word: the dog = kiro; sees = vena. In Veltan: {}"


def test_plans_name_every_student_with_its_start_data_and_objective():
    plans = distill.plans(params(size_curve=[0.5], curve_kind="topk", curve_controls=True, scratch_size="5m"))
    assert list(plans) == ["public", "sft", "topk", "control", "competitor", "public@0.5", "topk@0.5", "control@0.5",
                           "scratch-5m"]
    competitor = plans["competitor"]  # the honest competitor: the distillers' recipe on its own data
    assert (competitor.arm, competitor.kind, competitor.train) == ("competitor", "sft", plans["sft"].train)
    assert not plans["public"].trained and plans["public"].train.max_steps == 0
    assert (plans["topk"].train.alpha, plans["sft"].train.alpha, plans["control"].arm) == (0.5, 0.0, "control")
    assert plans["topk@0.5"].train.train_layers == 0 and plans["sft"].train.train_layers == 12  # a cut model heals whole
    assert str(plans["scratch-5m"].start) == "scratch-5m" and plans["scratch-5m"].train.lr == 3e-3
    with pytest.raises(ValueError, match="a training objective must be one of .* not 'kl'"):
        params(kinds=["kl"])


def test_each_student_is_compared_with_its_own_start_and_control():
    plans = distill.plans(params(size_curve=[0.75, 0.5], curve_controls=False, scratch_size="5m"))
    assert distill.untrained_start("topk", plans) == "public" and distill.untrained_start("topk@0.5", plans) == "public@0.5"
    assert distill.untrained_start("scratch-5m", plans) is None and distill.untrained_start("public", plans) is None
    assert distill.control_of("topk", plans) == "control" and distill.control_of("topk@0.75", plans) == "control"
    assert distill.control_of("scratch-5m", plans) is None and distill.control_of("control", plans) is None


def graded(right: dict[str, int], n: int = 40, formats: dict[str, str] | None = None) -> list[dict]:
    """`right[model]` correct answers of `n` held-out translations, the first ones; answers in the teacher's
    worked format unless `formats[model]` says otherwise."""
    rows = []
    for model, k in right.items():
        for i in range(n):
            gold = f"kiro pila{'n' * (i + 1)} vena"
            answer = gold if i < k else "kiro vena"
            text = (formats or {}).get(model, WORKED).format(answer)
            rows.append({"model": model, "prompt_id": f"translation-{i}", "family": "translation", "gold": [gold],
                         "completion": text, "correct": i < k})
    return rows


def skill_of(right, formats=None, **plan_args):
    plans = distill.plans(params(**plan_args))
    results = {name: SimpleNamespace(params=134_515_008) for name in plans}
    evals = {name: {"heldout_ce": 1.5} for name in plans}
    return distill.skill_table(graded(right, formats=formats), plans, results, evals), plans


def test_skill_table_measures_the_copied_share_against_the_start_and_the_control():
    skill, _ = skill_of({"teacher": 36, "public": 4, "sft": 32, "topk": 34, "control": 6},
                        formats={"public": "The sum is {}.", "control": "The sum is {}."})
    rows = skill.set_index("model")
    assert rows.loc["topk", "accuracy"] == pytest.approx(34 / 40)
    assert rows.loc["topk", "ci_low"] < 34 / 40 < rows.loc["topk", "ci_high"]
    assert rows.loc["topk", "copied_share"] == pytest.approx((34 - 4) / (36 - 4))
    assert rows.loc["topk", "vs_control"] == "control"
    # the first 6 are right for both; 28 discordant pairs all favour topk: p = 2 * 0.5**28
    assert rows.loc["topk", "mcnemar_p"] == pytest.approx(2 * 0.5**28)
    assert rows.loc["topk", "teacher_format"] == 1.0 and rows.loc["control", "teacher_format"] == 0.0
    assert pd_isnan(rows.loc["public", "copied_share"]) and pd_isnan(rows.loc["teacher", "mcnemar_p"])
    assert rows.loc["topk", "heldout_ce"] == 1.5 and pd_isnan(rows.loc["teacher", "heldout_ce"])


def pd_isnan(value) -> bool:
    return value != value


def judge(right, target_share=0.8, target_margin=0.2, target_p=0.01, profile="workshop", formats=None):
    skill, plans = skill_of(right, formats=formats)
    return distill.verdict(skill, plans, params(target_share=target_share, target_margin=target_margin,
                                                target_p=target_p, profile=profile))


def test_workshop_targets_met_by_the_best_student():
    result = judge({"teacher": 36, "public": 4, "sft": 30, "topk": 34, "control": 6})
    assert result.best == "topk" and [t.met for t in result.targets][:3] == [True, True, True]
    assert result.targets[0].measured == "`topk`: 85% of 90% = 94%"
    assert "**94% of the teacher's accuracy**" in result.texts[0]


def test_full_target_missed_by_a_student_below_95_percent():
    result = judge({"teacher": 36, "public": 4, "sft": 30, "topk": 32, "control": 6}, target_share=0.95, profile="full")
    assert [t.met for t in result.targets][:3] == [False, True, True]


def test_a_control_as_good_as_the_student_fails_the_margin_and_the_test():
    # the skill was already in the public model's answers: nothing was copied from the provider
    result = judge({"teacher": 36, "public": 4, "sft": 30, "topk": 34, "control": 33})
    assert [t.met for t in result.targets][:3] == [True, False, False]


def test_a_student_that_copied_the_format_only_is_named():
    result = judge({"teacher": 36, "public": 0, "sft": 3, "topk": 2, "control": 0},
                   formats={"public": "The sum is {}.", "control": "The sum is {}."})
    assert any("Copied the format, not the skill" in t and "`sft`" in t for t in result.texts)
    assert result.targets[0].met is False


def test_the_teacher_and_the_free_routes_are_judged_and_the_honest_competitor_is_reported():
    skill, plans = skill_of({"teacher": 36, "public": 0, "sft": 34, "topk": 33, "control": 2, "competitor": 30,
                             "program": 1})
    result = distill.verdict(skill, plans, params(target_share=0.8, target_margin=0.2, target_p=0.01,
                                                  target_teacher=0.85, target_free_share=0.2, profile="workshop"))
    teacher, free = result.targets[3:]
    assert (teacher.measured, teacher.met) == ("90%", True)
    assert (free.measured, free.met) == ("`control`: 6%", True)  # the control: 2 of 40 against the teacher's 36
    assert any("honest competitor" in t and "**75%**" in t for t in result.texts)
    assert any("the program written from the provider's advertised examples 2%" in t for t in result.texts)
    weak_skill, weak_plans = skill_of({"teacher": 30, "public": 0, "sft": 28, "control": 8})
    weak = distill.verdict(weak_skill, weak_plans, params(target_teacher=0.85, target_free_share=0.2))
    assert [t.met for t in weak.targets[3:]] == [False, False]  # 75% < 85%; the control's 27% > 20%


def test_smoke_has_no_target_and_nothing_is_met_or_missed():
    result = judge({"teacher": 1, "public": 0, "sft": 0, "topk": 0, "control": 0}, None, None, None, "smoke")
    assert all(t.met is None for t in result.targets)
    assert any("No targets for profile `smoke`" in t for t in result.texts)


def test_no_skill_answers_gives_no_verdict():
    plans = distill.plans(params(kinds=["sft"]))
    result = distill.verdict(distill.skill_table([], plans, {}), plans, params())
    assert result.best is None and result.targets == [] and "nothing to compare" in result.texts[0]


def skill_row(model, accuracy, copied_share=None, n=40):
    return distill.SkillRow(model=model, start="public", params=1e6, trained=True, n=n, correct=round(accuracy * n),
                            accuracy=accuracy, ci_low=0.0, ci_high=1.0, copied_share=copied_share, vs_control="",
                            mcnemar_p=None, teacher_format=None, heldout_ce=None)


def student(name, accuracy, copied_share=None):
    return distill.StudentMetrics(name=name, kind="sft", start="public", arm="main", params=1, trainable_params=1,
                                  train_tokens=1, target_tokens=1, steps=1, wall_seconds=1.0, tokens_per_second=1.0,
                                  device="cpu", accuracy=accuracy, accuracy_by_family={}, heldout_ce=None,
                                  path=f"students/{name}", n_layers=1, d_model=1, context=1,
                                  skill=skill_row(name, accuracy, copied_share))


def metrics(best, teacher, students, n=40):
    return distill.Metrics(device="cpu", wall_seconds=1.0, skill_family="translation", best_student=best,
                           teacher_accuracy=teacher, teacher_accuracy_by_family={},
                           teacher_skill=skill_row("teacher", teacher, n=n), gold_eval_prompts=n, heldout_records=n,
                           topk_facts={}, closed_families=[], students=students, parameters={}, fingerprint="0")


def test_headline_names_the_teacher_the_best_student_and_the_control():
    made = metrics("topk", 0.9, [student("public", 0.1), student("topk", 0.85, 0.94), student("control", 0.15)])
    assert distill.headline(made) == {"translation: teacher / public model": "90% / 10% of 40 held-out prompts",
                                      "best student (topk)": "85%, 94% of the skill gain copied",
                                      "control student": "15%"}


def test_headline_when_the_teacher_has_no_gain_to_copy():
    made = metrics("sft", 0.0, [student("public", 0.0), student("sft", 0.0)], n=2)
    assert distill.headline(made)["best student (sft)"] == "0%, no skill gain to copy (teacher not above the public model)"


def test_metrics_round_trip_and_a_renamed_key_fails_at_read(tmp_path):
    made = metrics("topk", 0.9, [student("public", 0.1), student("topk", 0.85, 0.94)])
    made.write(tmp_path)
    assert distill.Metrics.read(tmp_path) == made
    text = (tmp_path / "metrics.json").read_text()
    (tmp_path / "metrics.json").write_text(text.replace('"best_student"', '"best"'))
    with pytest.raises(ValueError, match="distill stage's contract(.|\\n)*best_student"):
        distill.Metrics.read(tmp_path)


def test_a_misspelt_or_bad_parameter_fails_before_any_work():
    with pytest.raises(TypeError, match="no parameter \\['max_step'\\]; valid: .*max_steps"):
        distill.Params.defaults(max_step=10)
    with pytest.raises(ValueError, match="topk_alpha must be in"):
        params(topk_alpha=1.5)
    with pytest.raises(ValueError, match="unknown student size '7q'"):
        params(scratch_size="7q")


def test_params_fields_are_the_notebooks_parameters():
    from casestudy.profiles import notebook_defaults

    assert set(distill.Params.__dataclass_fields__) == set(notebook_defaults("02_distill"))


def test_harvest_table_counts_records_and_tokens_per_family_arm_and_split():
    record = lambda family, split, tokens: {"id": f"{family}-{split}-{tokens}", "family": family, "split": split,
                                            "completion_tokens": tokens,
                                            "gold": None, "messages": [], "completion": ""}
    main = [record("translation", "train", 40), record("translation", "eval", 30), record("factual", "train", 5)]
    control = [record("translation", "train", 20)]
    table = distill.Harvest(main, control, topk={}).table()
    assert list(table.index) == ["factual", "translation", "total"]
    assert table.loc["translation", ("records", "main", "train")] == 1
    assert table.loc["total", ("completion tokens", "main", "train")] == 45
    assert table.loc["factual", ("records", "control", "eval")] == 0  # a family an arm never got stays at 0


def harvest(main_topk: bool, control_topk: bool = True) -> distill.Harvest:
    """Six records an arm; each record's top-k logprobs when its arm has them."""
    from casestudy.distiller.collect.dataset import TopK

    record = lambda arm, i: {"id": f"{arm}{i}:0", "family": "chat", "split": "train", "completion_tokens": 2,
                             "gold": None, "messages": [], "completion": "hi"}
    topk = lambda arm: {f"{arm}{i}:0": TopK([1, 2], [-0.1, -0.2], [[1, 3], [2, 4]], [[-0.1, -2.0], [-0.2, -3.0]])
                        for i in range(6)}
    return distill.Harvest([record("m", i) for i in range(6)], [record("c", i) for i in range(6)],
                           topk("m") if main_topk else {}, topk("c") if control_topk else {})


def test_without_topk_logprobs_the_topk_students_are_left_out_in_one_sentence():
    asked = params(size_curve=[0.5], curve_kind="topk", curve_controls=False, scratch_size="5m")
    plans = distill.plans(asked, harvest(main_topk=False))
    assert list(plans) == ["public", "sft", "control", "competitor", "scratch-5m"]  # no `topk`, no curve, no orphan start
    assert all(plan.kind != "topk" for plan in plans.values())
    sentence = distill.skipped_students(harvest(main_topk=False), asked)
    assert sentence.startswith("The harvest holds no top-k logprobs (arm `main`: 0 of 6 records carry them")
    assert "`topk`, `public@0.5`, `topk@0.5` are left out" in sentence
    with pytest.raises(ValueError, match="student 'topk' distils top-k logprobs, but arm 'main' holds none"):
        distill.train_all(distill.plans(asked), harvest(main_topk=False), None, asked)


def test_with_topk_logprobs_the_plan_is_unchanged_and_nothing_is_said():
    asked = params(size_curve=[0.5], curve_kind="topk", curve_controls=True, scratch_size="5m")
    assert distill.plans(asked, harvest(main_topk=True)) == distill.plans(asked)
    assert distill.skipped_students(harvest(main_topk=True), asked) == ""
    kept = distill.plans(params(size_curve=[0.5], curve_kind="topk", curve_controls=True), harvest(main_topk=False))
    assert list(kept) == ["public", "sft", "control", "competitor", "public@0.5", "control@0.5"]  # its control still needs the start


def test_a_topk_control_without_control_logprobs_is_left_out_and_a_harvest_of_topk_only_has_no_verdict():
    asked = params(kinds=["topk"], control_kind="topk")
    data = harvest(main_topk=False, control_topk=False)
    assert list(distill.plans(asked, data)) == ["public", "competitor"]
    assert "arm `main`: 0 of 6 records carry them; arm `control`: 0 of 6" in distill.skipped_students(data, asked)
    plans = distill.plans(asked, data)
    judged = distill.verdict(distill.skill_table(graded({"teacher": 30, "public": 5}), plans, {}), plans, asked)
    assert judged.best is None and "No distilled student of the whole public model was trained" in judged.texts[0]


def ordinary_graded(right: dict[str, int], family: str = "factual", n: int = 100) -> list[dict]:
    """`right[model]` of `n` held-out `family` prompts right, the first ones."""
    return [{"model": model, "prompt_id": f"{family}-{i}", "family": family, "gold": ["Paris"],
             "completion": "Paris" if i < k else "Lyon", "correct": i < k}
            for model, k in right.items() for i in range(n)]


def test_ordinary_table_sets_every_model_against_the_public_model_on_the_same_prompts():
    answers = ordinary_graded({"public": 60, "teacher": 58, "sft": 50}) + graded({"teacher": 30, "public": 1})
    table = distill.ordinary_table(answers).set_index("model")
    assert list(table.index) == ["public", "teacher", "sft"] and (table.family == "factual").all()  # no skill rows
    teacher = table.loc["teacher"]
    assert (teacher.n, teacher.correct, teacher.lost, teacher.gained) == (100, 58, 2, 0)
    assert teacher.vs_public == pytest.approx(-0.02) and teacher.mcnemar_p == 0.5
    assert table.loc["sft", "mcnemar_p"] < 0.01 and table.loc["public", "vs_public"] == 0
    texts = distill.ordinary_texts(distill.ordinary_table(answers))
    assert texts == ["**factual** (100 held-out prompts): the public model 60%; `teacher` 58% (-2%, p = 5.0e-01); "
                     "`sft` 50% (-10%, p = 2.0e-03)."]


def test_the_teacher_keeps_an_ordinary_family_when_it_loses_two_points_at_most_on_100_prompts():
    kept = distill.teacher_kept(distill.ordinary_table(ordinary_graded({"public": 60, "teacher": 58})), 0.02)
    assert [t.met for t in kept] == [True]
    lost = distill.teacher_kept(distill.ordinary_table(ordinary_graded({"public": 60, "teacher": 55})), 0.02)
    assert [t.met for t in lost] == [False] and lost[0].measured.startswith("-5.0% on 100 prompts (5 lost")
    few = distill.teacher_kept(distill.ordinary_table(ordinary_graded({"public": 6, "teacher": 6}, n=12)), 0.02)
    assert [t.met for t in few] == [False]  # 12 prompts cannot show a 2-point loss
    assert [t.met for t in distill.teacher_kept(distill.ordinary_table(ordinary_graded({"public": 6, "teacher": 6})),
                                                None)] == [None]


def test_the_targets_line_gives_this_profiles_values_and_every_profiles_share():
    from casestudy.profiles import get_profile, notebook_parameters

    defaults = distill.Params.defaults().values()
    line = distill.targets_intro(distill.Params.defaults(**notebook_parameters(get_profile("workshop"), "02_distill",
                                                                                defaults)))
    assert line.startswith("Profile `workshop`: the best distilled student reaches 80% of the teacher's held-out")
    assert "at least 20 points above" in line and "McNemar p below 0.01" in line and "at most 2 points" in line
    assert line.endswith("The best student's target share, by profile: `workshop` 80%, `full` 95%, `gpu` 95%.")
    assert distill.targets_intro(distill.Params.defaults()).startswith("Profile `smoke` sets no targets")
    partial = distill.targets_intro(params(target_teacher=None, target_free_share=None, target_ordinary_loss=None))
    assert partial.count(";") == 2  # only the targets this profile sets
