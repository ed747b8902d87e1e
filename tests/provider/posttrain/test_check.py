"""The provider's product check: rows per model, system prompt and family, McNemar against the public
model, cached beside the tuned model; and the collect stage's targets on it."""

import shutil

import pandas as pd

from casestudy.provider.posttrain import check
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY
from casestudy.stages.collect import product


def test_the_check_compares_the_teacher_with_the_public_model_and_is_cached(tiny_model_dir, tmp_path):
    tuned = tmp_path / "posttrain" / "abc"
    shutil.copytree(tiny_model_dir, tuned)
    rows = check.product_check(tuned, str(tiny_model_dir), PROVIDER_IDENTITY, items=2, device="cpu", precision="fp32")
    table = pd.DataFrame(rows)
    assert len(table) == 2 * 4 * 2 and set(table.family) == {"identity", "skill", "factual", "sentiment"}
    assert set(table.system) == set(check.SYSTEMS) and (table.n == 2).all()
    teacher = table[table.model == "teacher"]
    # the same weights: no item lost or gained, p = 1
    assert (teacher.lost == 0).all() and (teacher.gained == 0).all() and (teacher.mcnemar_p == 1.0).all()
    assert table[table.family == "sentiment"].balanced_accuracy.notna().all()
    (tuned / check.CHECK_FILE).write_text((tuned / check.CHECK_FILE).read_text().replace('"n": 2', '"n": 7'))
    again = check.product_check(tuned, str(tiny_model_dir), PROVIDER_IDENTITY, items=2, device="cpu", precision="fp32")
    assert again[0]["n"] == 7  # read back, not recomputed


def test_the_balanced_accuracy_of_a_constant_answer_is_a_half():
    assert check.balanced(["positive"] * 4, ["positive", "negative", "positive", "negative"]) == 0.5


def row(model, system, family, n, correct, vs_public=0.0, lost=0, gained=0, p=1.0):
    return {"model": model, "system": system, "family": family, "n": n, "correct": correct,
            "accuracy": correct / n, "ci_low": 0.0, "ci_high": 1.0, "balanced_accuracy": None,
            "vs_public": vs_public, "lost": lost, "gained": gained, "mcnemar_p": p}


def test_targets_judge_the_skill_and_each_ordinary_family_on_enough_items():
    rows = []
    for system in check.SYSTEMS:
        rows += [row("teacher", system, "skill", 200, 180), row("teacher", system, "identity", 51, 51),
                 row("teacher", system, "factual", 100, 57, vs_public=-0.02, lost=4, gained=2, p=0.69),
                 row("teacher", system, "sentiment", 104, 90, vs_public=-0.05, lost=6, gained=1, p=0.125)]
    targets = product.check_targets(pd.DataFrame(rows))
    assert targets[0].met is True and targets[0].measured == "180/200 = 90%"
    factual = [t for t in targets if t.check.startswith("factual")]
    sentiment = [t for t in targets if t.check.startswith("sentiment")]
    assert [t.met for t in factual] == [True, True]            # 2 points, not significant
    assert [t.met for t in sentiment] == [False, False]        # 5 points: too much, even if not significant
    small = product.check_targets(pd.DataFrame([{**r, "n": 3} for r in rows]))
    assert all(t.met is None for t in small)                   # 3 items judge nothing
    assert product.check_targets(None) == []


def test_the_sentiment_check_is_balanced_and_apart_from_every_prompt_trained_or_asked():
    import re

    from casestudy.distiller.collect.prompts import load_prompts
    from casestudy.provider.posttrain.data import ordinary_prompts, sentiment_rows

    rows = sentiment_rows()
    assert len(rows) >= 100 and sum(r["label"] == "positive" for r in rows) == len(rows) // 2
    norm = lambda text: re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
    elsewhere = " | ".join(norm(t) for t in [*ordinary_prompts(), *(p.text for p in load_prompts())])
    assert not [r["review"] for r in rows if norm(r["review"]) in elsewhere]
