"""Evaluation: held-out CE on teacher text, graded generation, the cached evaluation of a saved student."""

import json
import math

import pytest
import torch
from transformers import AutoTokenizer

from casestudy.distiller.students.evaluate import evaluate_saved, evaluate_student, gold_rows, mean_ce
from casestudy.distiller.students.packing import encode_records, prompt_ids
from casestudy.distiller.students.student import StudentConfig, make_student
from casestudy.models import embedded_model_dir


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(embedded_model_dir())


@pytest.fixture(scope="module")
def model(tok):
    return make_student(StudentConfig(32, 2, 2, 1, 64, 256), tok, seed=3).eval()


MSGS = [[{"role": "user", "content": "Review: loved it. Positive or negative?"}],
        [{"role": "user", "content": "What is the capital of France? Answer in one word, please."}]]


def test_mean_ce_equals_direct_sum(tok, model):
    completions = ["positive", "Paris is the capital"]
    total, count = 0.0, 0
    with torch.no_grad():
        for m, c in zip(MSGS, completions):
            p = prompt_ids(tok, m)
            cids = tok(c, add_special_tokens=False)["input_ids"]
            logp = torch.log_softmax(model(input_ids=torch.tensor([p + cids])).logits[0], -1)
            total -= sum(float(logp[len(p) - 1 + j, t]) for j, t in enumerate(cids))
            count += len(cids)
    recs = [{"id": str(i), "messages": m, "completion": c} for i, (m, c) in enumerate(zip(MSGS, completions))]
    examples = encode_records(tok, recs, None, 256)
    assert mean_ce(model, examples, tok.pad_token_id, 256) == pytest.approx(total / count, rel=1e-4)


def test_evaluate_student_grades_gold_eval_prompts_once(tok, model):
    recs = [{"id": "a#0", "prompt_id": "a", "sample": 0, "split": "eval", "family": "sentiment", "gold": ["positive"],
             "messages": MSGS[0], "completion": "positive"},
            {"id": "a#1", "prompt_id": "a", "sample": 1, "split": "eval", "family": "sentiment", "gold": ["positive"],
             "messages": MSGS[0], "completion": "positive"},
            {"id": "b#0", "prompt_id": "b", "sample": 0, "split": "train", "family": "factual", "gold": ["Paris"],
             "messages": MSGS[1], "completion": "Paris"}]
    gold = gold_rows(recs)
    assert [r["id"] for r in gold] == ["a#0"]
    res = evaluate_student("tiny", model, tok, gold, max_new_tokens=4)
    assert res["accuracy"] in (0.0, 1.0) and len(res["graded"]) == 1


def test_evaluate_saved_reuses_its_cache_until_the_inputs_change(tok, model, tmp_path):
    model.save_pretrained(tmp_path / "student")
    tok.save_pretrained(tmp_path / "student")
    gold = [{"id": "a#0", "prompt_id": "a", "split": "eval", "family": "translation", "gold": ["lini varun pute"],
             "messages": [{"role": "user", "content": "Translate into Veltan: The girl helps the king."}],
             "completion": "Veltan: lini varun pute"}]
    first = evaluate_saved("tiny", tmp_path / "student", gold, tmp_path / "cache", max_new_tokens=3, device="cpu",
                           precision="fp32")
    assert first["device"] == "cpu (%d threads, float32)" % torch.get_num_threads()
    (tmp_path / "cache" / "tiny.json").write_text(json.dumps({**first, "accuracy": 0.5}))  # a marker: read back, not recomputed
    assert evaluate_saved("tiny", tmp_path / "student", gold, tmp_path / "cache", 3, "cpu", "fp32")["accuracy"] == 0.5
    again = evaluate_saved("tiny", tmp_path / "student", gold, tmp_path / "cache", 4, "cpu", "fp32")  # other inputs
    assert again["accuracy"] == first["accuracy"] and again["key"] != first["key"]
    served = evaluate_saved("tiny", tmp_path / "student", gold, tmp_path / "cache", 3, "cpu", "bf16")  # served in bf16
    assert served["key"] != first["key"] and "bfloat16" in served["device"]


def test_topk_facts_by_hand():
    from casestudy.distiller.students.evaluate import topk_facts
    from tests.distiller.students.synthetic import TopK
    import numpy as np
    # one position: top-2 probabilities 0.5 and 0.25, so "other" holds 0.25; sampled token = id 9, not the top one
    tk = TopK(np.array([9]), np.array([[4, 9]]), np.log(np.array([[0.5, 0.25]])))
    facts = topk_facts({"r": tk})
    assert facts["positions"] == 1 and facts["sampled_not_top1"] == 1.0
    assert facts["mean_topk_mass"] == pytest.approx(0.75)
    assert facts["mean_entropy_nats"] == pytest.approx(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))
