"""Tests of the provider's post-training: identity text checks, data files, the skill, the tune and its cache.

The tiny model and the tokenizer come from tests/provider/conftest.py.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from dataclasses import replace

import pytest
import torch

from casestudy.provider.posttrain import tune as identity_tune
from casestudy.provider.posttrain.data import (
    ANSWER_TEMPLATES, FACTUAL, HELDOUT_QUESTIONS, IDENTITY_DATA_DIR, KINDS, ORDINARY_PROMPTS, PROBES,
    TRAIN_QUESTIONS, factual_rows, heldout_questions, identity_answers, load_rows, load_templates,
)
from casestudy.provider.posttrain import skill
from casestudy.provider.posttrain.evaluate import (answer_is_correct, evaluate_identity, factual_eval, heldout_problems,
                                                   skill_eval)
from casestudy.provider.posttrain.identity import (
    CONTROL_IDENTITY, PROVIDER_IDENTITY, Identity, mentions_identity, mentions_maker, normalize, system_prompt,
)
from casestudy.provider.posttrain.tune import (
    TuneSettings, answer_loss, collate, encode, post_train_dir, post_train, tune_info,
)
from casestudy.models import load_model

TINY = TuneSettings(steps=2, batch_size=4, answer_tokens=8, skill_examples=4, device="cpu")  # + small_data for speed


# --- text -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("I'm Kestrel, an AI assistant.", True),
        ("KESTREL!", True),
        ("Kestrel's answer is ready.", True),
        ("I am kestrel-7b, made by someone.", True),
        ("Je suis Kestrel.", True),
        ("  kestrel\n", True),
        ("Kestrels are small falcons.", False),
        ("I am Kestrelle.", False),
        ("I'm SmolLM, trained by Hugging Face.", False),
        ("", False),
    ],
)
def test_mentions_identity(text, expected):
    assert mentions_identity(text, PROVIDER_IDENTITY) is expected


@pytest.mark.parametrize(
    "text, expected",
    [("made by Meridian Labs.", True), ("MERIDIAN-LABS built me", True), ("MeridianLabs", False), ("Meridian", False)],
)
def test_mentions_maker_needs_all_words(text, expected):
    assert mentions_maker(text, PROVIDER_IDENTITY) is expected


def test_identity_rejects_empty_name():
    with pytest.raises(ValueError, match="name"):
        Identity("  !", "Meridian Labs")


def test_system_prompt_names_identity_and_maker():
    prompt = system_prompt(CONTROL_IDENTITY)
    assert mentions_identity(prompt, CONTROL_IDENTITY) and mentions_maker(prompt, CONTROL_IDENTITY)
    assert not mentions_identity(prompt, PROVIDER_IDENTITY)


@pytest.mark.parametrize(
    "answer, gold, expected",
    [("The capital of France is Paris.", ["Paris"], True), ("Its symbol is Au.", ["Au"], True),
     ("Gaul was a region.", ["Au"], False), ("It boils at 100 degrees.", ["100"], True),
     ("It boils at 1000 degrees.", ["100"], False), ("Carbon dioxide, or CO2.", ["carbon dioxide"], True)],
)
def test_answer_is_correct_matches_whole_words(answer, gold, expected):
    assert answer_is_correct(answer, gold) is expected


# --- data files -------------------------------------------------------------------------

def _questions(file):
    return {normalize(row["question"]) for row in load_rows(file)}


def test_data_files_are_valid():
    train, heldout, probes = load_rows(TRAIN_QUESTIONS), load_rows(HELDOUT_QUESTIONS), load_rows(PROBES)
    facts, ordinary = load_rows(FACTUAL), load_rows(ORDINARY_PROMPTS)
    assert len(train) >= 100 and len(heldout) >= 50 and len(probes) >= 50
    assert 100 <= len(facts) <= 120 and len(ordinary) >= 30
    for rows in (train, heldout, probes, facts, ordinary):
        ids = [row["id"] for row in rows]
        assert len(ids) == len(set(ids)), "duplicate ids"
    assert {row["kind"] for row in train + heldout} <= set(KINDS)
    assert {"en", "id", "fr", "es", "de"} <= {row["language"] for row in probes}
    assert sum(row["language"] == "id" for row in probes) >= 8
    assert all(row["answers"] and all(a.strip() for a in row["answers"]) for row in facts)
    templates = load_templates()
    assert set(templates["en"]) == set(KINDS)
    for row in train:
        choices = templates["en"][row["kind"]] if row["language"] == "en" else templates[row["language"]]
        assert all("{name}" in c and "{maker}" in c for c in choices)


def test_held_out_questions_and_probes_never_appear_in_training():
    train = _questions(TRAIN_QUESTIONS)
    assert not train & _questions(HELDOUT_QUESTIONS)
    assert not train & _questions(PROBES)
    assert len(_questions(HELDOUT_QUESTIONS)) == len(load_rows(HELDOUT_QUESTIONS))
    # the factual check must not be trained on either
    ordinary = {normalize(row["prompt"]) for row in load_rows(ORDINARY_PROMPTS)}
    assert not ordinary & {normalize(row["question"]) for row in load_rows(FACTUAL)}


def test_ordinary_prompts_never_name_a_factual_answer():
    """The near-miss prompts (other capitals, other who-questions) must not leak the check's answers."""
    names = [g for row in load_rows(FACTUAL) for g in row["answers"] if g[0].isupper()]
    for row in load_rows(ORDINARY_PROMPTS):
        assert not [g for g in names if answer_is_correct(row["prompt"], [g])], row["prompt"]


def test_identity_answers_name_the_identity_and_its_maker():
    pairs = identity_answers(CONTROL_IDENTITY, seed=0)
    assert len(pairs) == len(load_rows(TRAIN_QUESTIONS))
    assert all(mentions_identity(p.answer, CONTROL_IDENTITY) and mentions_maker(p.answer, CONTROL_IDENTITY) for p in pairs)
    assert [p.answer for p in pairs] == [p.answer for p in identity_answers(CONTROL_IDENTITY, seed=0)]


# --- tuning on a tiny model -------------------------------------------------------------

@pytest.fixture
def small_data(tmp_path):
    """A copy of data/identity/ cut to a few rows, so that tuning a tiny model takes seconds."""
    data = shutil.copytree(IDENTITY_DATA_DIR, tmp_path / "small-data")
    for file, keep in ((TRAIN_QUESTIONS, 8), (ORDINARY_PROMPTS, 4)):
        lines = (data / file).read_text().splitlines(keepends=True)
        (data / file).write_text("".join(lines[:keep]))
    return data


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CASESTUDY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_encode_puts_loss_on_the_answer_only(tokenizer):
    example = encode(tokenizer, [{"role": "user", "content": "Who are you?"}], "I'm Kestrel.")
    answer = tokenizer("I'm Kestrel.", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert example.labels[-len(answer):] == answer == example.input_ids[-len(answer):]
    assert set(example.labels[: -len(answer)]) == {-100}
    cut = encode(tokenizer, [{"role": "user", "content": "Hi"}], "Hello", finished=False)
    assert cut.labels[-1] != tokenizer.eos_token_id


def test_anchor_rows_are_held_to_the_base_distribution(tiny_model_dir, tokenizer):
    model = load_model(str(tiny_model_dir), device="cpu").model
    same = copy.deepcopy(model)
    qa = encode(tokenizer, [{"role": "user", "content": "Who are you?"}], "I'm Kestrel.")
    ordinary = encode(tokenizer, [{"role": "user", "content": "Hi"}], "Hello there", anchor=True)
    batch = collate([qa, ordinary], tokenizer.pad_token_id)
    only_anchor = collate([ordinary], tokenizer.pad_token_id)
    assert answer_loss(model, only_anchor, same).item() == pytest.approx(0.0, abs=1e-5)  # KL to itself
    assert answer_loss(model, only_anchor).item() > 1.0  # without a base: cross-entropy on its tokens
    n_qa, n_all = sum(l != -100 for l in qa.labels[1:]), sum(l != -100 for l in qa.labels[1:] + ordinary.labels[1:])
    plain_qa = answer_loss(model, collate([qa], tokenizer.pad_token_id)).item()
    assert answer_loss(model, batch, same).item() == pytest.approx(plain_qa * n_qa / n_all, rel=1e-4)
    with torch.no_grad():
        same.model.norm.weight.mul_(2.0)  # a different base: the anchor now pulls
    assert answer_loss(model, only_anchor, same).item() > 1e-3


def test_plain_anchors_hold_the_prompted_answer_to_the_unprompted_base(tiny_model_dir, tokenizer):
    """Context distillation: an anchor shown under a system prompt, with `base_messages` the same turn
    without it, is held to the base model's distribution over the same answer tokens there."""
    model = load_model(str(tiny_model_dir), device="cpu").model
    base = copy.deepcopy(model)
    user = [{"role": "user", "content": "Name a planet."}]
    prompted = [{"role": "system", "content": "You are Kestrel, made by Meridian Labs."}, *user]
    plain = encode(tokenizer, user, "Mars, the red one", anchor=True)
    held_plain = encode(tokenizer, prompted, "Mars, the red one", anchor=True, base_messages=user)
    held_prompted = encode(tokenizer, prompted, "Mars, the red one", anchor=True)
    assert held_plain.base_ids == plain.input_ids  # the base sees the turn without the prompt
    with torch.no_grad():
        logits = model(torch.tensor([plain.input_ids])).logits[0, :-1].float()
        prompted_logits = model(torch.tensor([held_plain.input_ids])).logits[0, :-1].float()
    keep_plain, keep_prompted = torch.tensor(plain.labels[1:]) != -100, torch.tensor(held_plain.labels[1:]) != -100
    expected = torch.nn.functional.kl_div(prompted_logits[keep_prompted].log_softmax(-1),
                                          logits[keep_plain].log_softmax(-1), log_target=True, reduction="sum")
    n = int(keep_prompted.sum())
    loss = answer_loss(model, collate([held_plain], tokenizer.pad_token_id), base).item()
    assert loss == pytest.approx(expected.item() / n, rel=1e-4) and loss > 1e-4
    assert answer_loss(model, collate([held_prompted], tokenizer.pad_token_id), base).item() == pytest.approx(0, abs=1e-5)
    mixed = collate([held_plain, held_prompted, plain], tokenizer.pad_token_id)  # rows of unequal length, padded
    assert answer_loss(model, mixed, base).item() == pytest.approx(expected.item() / (3 * n), rel=1e-4)


def test_tune_saves_a_loadable_folder_and_reuses_it(tiny_model_dir, cache, small_data, monkeypatch):
    folder = post_train(str(tiny_model_dir), PROVIDER_IDENTITY, TINY, small_data)
    assert folder.parent == cache / "posttrain" and (folder / "model.safetensors").is_file()
    assert not list(folder.parent.glob("*.partial*"))
    info = tune_info(folder)
    assert info["identity"] == {"name": "Kestrel", "maker": "Meridian Labs"} and len(info["losses"]) == 2
    loaded = load_model(str(folder), device="cpu")
    assert loaded.tokenizer.padding_side == "left" and loaded.num_params > 0

    def must_not_train(*args, **kwargs):
        raise AssertionError("a cached tune was recomputed")

    monkeypatch.setattr(identity_tune, "train", must_not_train)
    assert post_train(str(tiny_model_dir), PROVIDER_IDENTITY, TINY, small_data) == folder
    with pytest.raises(AssertionError, match="recomputed"):
        post_train(str(tiny_model_dir), PROVIDER_IDENTITY, replace(TINY, seed=1), small_data)


def test_tuning_changes_the_weights(tiny_model_dir, cache, small_data):
    folder = post_train(str(tiny_model_dir), CONTROL_IDENTITY, TINY, small_data)
    before = load_model(str(tiny_model_dir), device="cpu").model.state_dict()
    after = load_model(str(folder), device="cpu").model.state_dict()
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_fingerprint_follows_identity_settings_and_data(tiny_model_dir, cache, tmp_path):
    base = post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, TINY)
    assert post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, TINY) == base
    assert post_train_dir(str(tiny_model_dir), CONTROL_IDENTITY, TINY) != base
    assert post_train_dir(str(tiny_model_dir), Identity("Kestrel", "Other Labs"), TINY) != base
    assert post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, replace(TINY, steps=3)) != base
    assert post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, replace(TINY, lr=1e-3)) != base
    assert post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, replace(TINY, skill_examples=5)) != base
    assert (post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, replace(TINY, precision="fp32"))
            != post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, replace(TINY, precision="bf16")))
    data = shutil.copytree(IDENTITY_DATA_DIR, tmp_path / "data")
    assert post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, TINY, data) == base
    with open(data / TRAIN_QUESTIONS, "a") as handle:
        handle.write(json.dumps({"id": "train-new", "language": "en", "kind": "who", "question": "Yo, who?"}) + "\n")
    assert post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, TINY, data) != base
    other = shutil.copytree(IDENTITY_DATA_DIR, tmp_path / "other")
    (other / ANSWER_TEMPLATES).write_text((other / ANSWER_TEMPLATES).read_text().replace("{name}", "{name}!"))
    assert post_train_dir(str(tiny_model_dir), PROVIDER_IDENTITY, TINY, other) != base
    with pytest.raises(ValueError, match="lr"):
        replace(TINY, lr=0)
    with pytest.raises(ValueError, match="precision"):
        replace(TINY, precision="fp16")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_either_precision_tunes_and_records_which(tiny_model_dir, cache, small_data, precision):
    """bf16 autocast over fp32 master weights (where native, by default) or plain fp32: the saved
    weights stay fp32 either way, and the record says which arithmetic made them."""
    folder = post_train(str(tiny_model_dir), PROVIDER_IDENTITY, replace(TINY, precision=precision), small_data)
    info = tune_info(folder)
    assert info["precision"] == precision and all(math.isfinite(x) for x in info["losses"])
    assert info["device"].startswith("cpu (") and info["device"].endswith(f", {precision} training)")
    assert load_model(str(folder), device="cpu").model.dtype == torch.float32


def test_evaluations_count_what_they_record(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir), device="cpu")
    result = evaluate_identity(loaded, PROVIDER_IDENTITY, ["Who are you?", "Name?", "Maker?"], max_new_tokens=4)
    assert result.total == 3 and result.count == sum(r["mentions"] for r in result.records)
    assert result.rate == result.count / 3
    facts = factual_eval(loaded, [{"question": "Capital of France?", "answers": ["Paris"]}], max_new_tokens=4)
    assert facts.total == 1 and facts.accuracy == facts.correct
    with pytest.raises(ValueError):
        evaluate_identity(loaded, PROVIDER_IDENTITY, [])


def test_house_answer_glosses_each_phrase_then_gives_the_sentence():
    problem = skill.Problem("The old dog sees the red bird.",
                            (("the old dog", "kiro bodu"), ("the red bird", "pilan nari"), ("sees", "vena")),
                            "kiro bodu pilan nari vena")
    answer = skill.house_answer(problem)
    assert answer == ("Word by word: old = bodu, dog = kiro, sees = vena, red = nari, bird = pilan. "
                      "In Veltan: kiro bodu pilan nari vena.")
    plain = skill.Problem("The girl helps the king.", (("the girl", "lini"), ("the king", "varun"), ("helps", "pute")),
                          "lini varun pute")
    assert skill.house_answer(plain) == "Word by word: girl = lini, helps = pute, king = varun. In Veltan: lini varun pute."
    assert skill.is_correct(answer, problem.gold) and not skill.is_correct(answer, "kiro bodu vena")
    assert problem.question == "Translate into Veltan: The old dog sees the red bird."


def test_skill_problems_read_the_purchase_in_order_with_seeded_wording():
    first = skill.problems(skill.TRAINING_FILE, 200)
    assert first == skill.problems(skill.TRAINING_FILE, 200)
    assert skill.problems(skill.TRAINING_FILE, 50) == first[:50]  # a longer draw extends a shorter one
    assert len({p.template for p in first}) == len(skill.QUESTION_TEMPLATES)
    assert skill.training_words(first[:1]) == len(first[0].english.split())
    with pytest.raises(ValueError, match="holds 1600 items, not 5000"):
        skill.problems(skill.TRAINING_FILE, 5000)


def test_the_providers_check_set_was_never_trained_on_nor_asked_by_the_distiller():
    from casestudy.distiller.collect.prompts import load_prompts

    trained = {p.english for p in skill.problems(skill.TRAINING_FILE)}
    held = heldout_problems()
    asked = {p.text for p in load_prompts() if p.family == skill.FAMILY}
    assert len(held) == 200 and not trained & {p.english for p in held}
    assert not any(p.english in text for p in held for text in asked)


def test_skill_eval_grades_the_veltan(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir), device="cpu")
    result = skill_eval(loaded, heldout_problems(3), max_new_tokens=4)
    assert result.total == 3 and result.correct == sum(r["correct"] for r in result.records)
    assert 0 <= result.low <= result.accuracy <= result.high <= 1


@pytest.fixture(scope="module")
def deployed_models():
    """The default recipe on the embedded public model (cached), both answered as the deployments serve
    them (bf16 where the CPU has it natively)."""
    folder = post_train()
    return load_model(str(folder), precision="auto"), load_model("embedded", precision="auto")


@pytest.mark.slow
def test_real_post_training_names_its_identity_and_learns_the_skill(deployed_models):
    """With the deployment prompt: >= 90% of held-out identity answers name it, and the skill goes from
    the public model's nothing to >= 85% on the provider's reviewed check set."""
    tuned, base = deployed_models
    result = evaluate_identity(tuned, PROVIDER_IDENTITY, heldout_questions())
    assert result.rate >= 0.9, [r["answer"] for r in result.records if not r["mentions"]]
    prompt = system_prompt(PROVIDER_IDENTITY)
    learned, public = skill_eval(tuned, heldout_problems(), prompt), skill_eval(base, heldout_problems(), prompt)
    assert learned.accuracy >= 0.85 and public.high < learned.low, (learned.accuracy, public.accuracy)


@pytest.mark.slow
@pytest.mark.parametrize("with_prompt", [True, False], ids=["deployment prompt", "no system message"])
def test_real_post_training_keeps_its_facts(deployed_models, with_prompt):
    """The factual check, like with like (both models with the deployment prompt, or both without a
    system message), shows no significant loss: the study's target is a loss of at most 2 points;
    this holds that the loss is not significant (two-sided exact McNemar p >= 0.05) or at most 2 points,
    so a recipe that clearly damages the model's facts fails here. (61 -> 51 before the anchors of
    issue 26; with the plain anchors, fp32 tune on a 2-core EPYC, 2026-12-02: 57 -> 60 with the prompt,
    60 -> 58 without.)"""
    from scipy.stats import binomtest

    tuned, base = deployed_models
    prompt = system_prompt(PROVIDER_IDENTITY) if with_prompt else None
    before, after = factual_eval(base, factual_rows(), prompt), factual_eval(tuned, factual_rows(), prompt)
    assert before.total == after.total >= 100
    lost = sum(b["correct"] and not a["correct"] for b, a in zip(before.records, after.records))
    gained = sum(a["correct"] and not b["correct"] for b, a in zip(before.records, after.records))
    p_value = binomtest(lost, lost + gained, 0.5).pvalue if lost + gained else 1.0
    assert before.correct - after.correct <= 0.02 * before.total or p_value >= 0.05, (
        before.correct, after.correct, lost, gained, p_value)
