"""Notebook 02's decisions on fabricated graded answers: the verdict under each profile's target.

CI runs the smoke profile, where no target is set; these tests run the workshop (0.75)
and full (0.90) branches: met, missed, a student that only guesses, an open family.
"""

import pandas as pd
import pytest

from casestudy.distiller.students.grading import accuracy_table, closed_family_table
from casestudy.stages.distill import accuracy_ratios, headline, verdict


def answers(model, family, right, wrong, gold=None, wrong_text=None):
    """Graded rows: `right` correct answers and `wrong` wrong ones for one model and family."""
    rows = []
    for i in range(right + wrong):
        ok = i < right
        label = (gold or ["positive", "negative"])[i % 2] if family == "sentiment" else "Paris"
        text = label if ok else (wrong_text(label) if wrong_text else "no idea")
        rows.append({"model": model, "prompt_id": f"{family}-{i}", "family": family, "gold": [label],
                     "completion": text, "correct": ok})
    return rows


def graded(sft_right: int, teacher_right: int = 20, n: int = 20, baseline_right: int = 0, sft_text=None):
    rows = answers("teacher", "factual", teacher_right, n - teacher_right)
    rows += answers("sft", "factual", sft_right, n - sft_right, wrong_text=sft_text)
    for model, right in (("topk", 0), ("control", 0), ("baseline", baseline_right)):
        rows += answers(model, "factual", right, n - right)
    return rows


def judge(rows, target, profile="workshop"):
    return verdict(accuracy_table(rows), closed_family_table(rows), target, profile)


def test_workshop_target_met_on_an_open_family():
    result = judge(graded(sft_right=16), 0.75)   # 80% of the teacher's accuracy
    assert result.ratios.loc["sft", "factual"] == pytest.approx(0.8)
    assert "target 75% **met**" in result.texts[0] and "above chance" in result.texts[0]
    assert [t.met for t in result.targets] == [True, True, True]
    assert result.targets[0].measured == "`sft` on factual: 0.80"


def test_full_target_missed_by_the_gap():
    result = judge(graded(sft_right=16), 0.90, "full")
    assert "target 90% **missed** by 10% of the teacher's accuracy" in result.texts[0]
    assert [t.met for t in result.targets] == [False, True, True]


def test_a_baseline_far_above_chance_fails_its_check():
    result = judge(graded(sft_right=16, baseline_right=15), 0.75)
    assert result.targets[2].check == "baseline near chance" and result.targets[2].met is False


def test_smoke_has_no_target_and_nothing_is_met_or_missed():
    result = judge(graded(sft_right=16), None, "smoke")
    assert "no target for profile `smoke`" in result.texts[0]
    assert all(t.met is None for t in result.targets) and "(no target)" in result.targets[0].check


def test_a_student_that_always_says_positive_has_not_learned_the_task():
    rows = answers("teacher", "sentiment", 18, 2)
    rows += [{**r, "model": "sft", "completion": "positive", "correct": r["gold"] == ["positive"]}
             for r in answers("x", "sentiment", 20, 0)]  # right on the 10 positive reviews only
    for model in ("topk", "control", "baseline"):
        rows += answers(model, "sentiment", 0, 20, wrong_text=lambda label: "")
    result = judge(rows, 0.75)
    assert result.ratios.loc["sft", "sentiment"] == pytest.approx(10 / 18)
    assert len(result.texts) == 2 and "has **not** learned the task" in result.texts[1]
    assert "the target is not met in substance" in result.texts[1]
    assert result.targets[-1].check == "balanced accuracy above any constant answer" and result.targets[-1].met is False
    assert "labels given: positive" in result.targets[-1].measured


def test_no_family_the_teacher_answers_gives_no_targets():
    result = judge(graded(sft_right=0, teacher_right=0), 0.75)
    assert result.targets == [] and result.ratios.empty


def test_ratios_skip_families_the_teacher_never_answers():
    fam_acc = pd.DataFrame({"factual": [0.5, 0.25, 0.0, 0.0, 0.0], "sentiment": [0.0] * 5, "all": [0.5] * 5},
                           index=["teacher", "sft", "topk", "control", "baseline"])
    assert list(accuracy_ratios(fam_acc).columns) == ["factual"]


def test_headline_names_every_student_and_the_packing_gain():
    metrics = {"teacher_accuracy": 0.5, "gold_eval_prompts": 8,
               "students": [{"name": "sft", "accuracy": 0.25, "params": 5_100_000, "train_tokens": 1234}]}
    packing = pd.DataFrame({"tokens_per_s": [100.0, 150.0]})
    assert headline(metrics, packing) == {"teacher accuracy (held-out gold)": "50% of 8",
                                          "sft accuracy": "25% (5.1M params, 1,234 tokens)",
                                          "packed vs padded tokens/s": "1.50x"}
