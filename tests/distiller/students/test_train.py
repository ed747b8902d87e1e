"""Training: the loss falls, a resumed run takes the same next steps, outputs are servable."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from casestudy.distiller.students.student import StudentConfig
from tests.distiller.students.synthetic import generate_collection, random_prompts, tiny_llama
from casestudy.distiller.students.train import TrainConfig, lr_lambda, micro_batch_rows, train_student
from casestudy.models import embedded_model_dir, load_model

TINY = StudentConfig(32, 2, 2, 1, 64, 256)


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(embedded_model_dir())


@pytest.fixture(scope="module")
def collection(tok):
    teacher = tiny_llama(tok, seed=7)
    return generate_collection(teacher, tok, random_prompts(6), max_new_tokens=8, k=5)


def cfg(**kw):
    base = dict(max_steps=6, batch_size=2, max_len=128, lr=1e-2, warmup_steps=2, log_every=1, device="cpu")
    return TrainConfig(**{**base, **kw})


def test_schedule_warms_up_then_decays_to_floor():
    c = TrainConfig(max_steps=100, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_lambda(0, c) == pytest.approx(0.1) and lr_lambda(9, c) == pytest.approx(1.0)
    assert lr_lambda(55, c) == pytest.approx(0.55) and lr_lambda(100, c) == pytest.approx(0.1)


def test_micro_batches_cover_each_epoch_and_shard_across_processes():
    rows = sorted(i for m in range(3) for i in micro_batch_rows(m, 12, 4, seed=0))
    assert rows == list(range(12))
    a, b = micro_batch_rows(5, 12, 3, 0, world=2, rank=0), micro_batch_rows(5, 12, 3, 0, world=2, rank=1)
    assert len(a) == len(b) == 3 and not set(a) & set(b)


def test_sft_and_topk_training_reduce_loss(tmp_path, tok, collection):
    records, topk = collection
    for alpha in (0.0, 0.5):
        res = train_student(records, topk, TINY, cfg(max_steps=8, alpha=alpha), tmp_path / f"s{alpha}",
                            tokenizer=tok, progress=False)
        ce = [h["train_ce"] for h in res.history]
        assert ce[-1] < ce[0] - 0.3, ce
        assert ("train_kl" in res.history[0]) == (alpha > 0)
        assert res.train_tokens > res.target_tokens > 0


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_either_precision_learns_and_says_which_it_used(tmp_path, tok, collection, precision):
    records, topk = collection
    res = train_student(records, topk, TINY, cfg(max_steps=8, alpha=0.5, precision=precision), tmp_path / "s",
                        tokenizer=tok, progress=False)
    ce = [h["train_ce"] for h in res.history]
    assert ce[-1] < ce[0] - 0.3, ce
    assert res.device.startswith("cpu (") and res.device.endswith(f", {precision} training)")
    assert next(load_model(str(tmp_path / "s"), device="cpu").model.parameters()).dtype == torch.float32


def test_resume_from_checkpoint_takes_the_same_next_step(tmp_path, tok, collection):
    records, topk = collection
    c = cfg(max_steps=4, alpha=0.5, ckpt_every=2)
    straight = train_student(records, topk, TINY, c, tmp_path / "straight", tokenizer=tok, progress=False)
    part = train_student(records, topk, TINY, c, tmp_path / "resumed", tokenizer=tok, progress=False, stop_after=3)
    assert part.steps == 3
    ckpts = list((tmp_path / "resumed" / "checkpoints").glob("step-*"))
    assert [p.name for p in ckpts] == ["step-0000003"]
    assert any(f.suffix == ".safetensors" for f in ckpts[0].iterdir())
    resumed = train_student(records, topk, TINY, c, tmp_path / "resumed", tokenizer=tok, progress=False)
    assert resumed.steps == 4 and not resumed.reused
    for h1, h2 in zip(straight.history, resumed.history):
        assert h1["step"] == h2["step"]
        assert h1["train_ce"] == pytest.approx(h2["train_ce"], rel=1e-5)
        assert h1["train_kl"] == pytest.approx(h2["train_kl"], rel=1e-5)
    w1 = load_file(tmp_path / "straight" / "model.safetensors")
    w2 = load_file(tmp_path / "resumed" / "model.safetensors")
    for k in w1:
        torch.testing.assert_close(w1[k], w2[k], atol=1e-6, rtol=1e-5)


def test_saved_student_is_servable_and_reused(tmp_path, tok, collection):
    records, topk = collection
    res = train_student(records, None, TINY, cfg(max_steps=2), tmp_path / "sft", tokenizer=tok, progress=False)
    loaded = load_model(str(tmp_path / "sft"), device="cpu")
    assert loaded.num_params == res.params and loaded.model.config.tie_word_embeddings
    assert loaded.tokenizer.eos_token_id == tok.eos_token_id
    saved = json.loads((tmp_path / "sft" / "train_result.json").read_text())
    assert saved["fingerprint"] == res.fingerprint and not (tmp_path / "sft" / "checkpoints").exists()
    again = train_student(records, None, TINY, cfg(max_steps=2), tmp_path / "sft", tokenizer=tok, progress=False)
    assert again.reused and again.history == res.history
    changed = train_student(records[:-1], None, TINY, cfg(max_steps=2), tmp_path / "sft", tokenizer=tok, progress=False)
    assert not changed.reused


def test_untrained_baseline_and_empty_data(tmp_path, tok, collection):
    records, _ = collection
    base = train_student(records, None, TINY, cfg(max_steps=0), tmp_path / "base", tokenizer=tok, progress=False,
                         eval_records=records[:2], kind="baseline")
    assert base.steps == 0 and base.train_tokens == 0 and base.history[0]["eval_ce"] > 5
    assert (tmp_path / "base" / "model.safetensors").is_file()
    with pytest.raises(ValueError, match="no trainable examples"):
        train_student([], None, TINY, cfg(), tmp_path / "none", tokenizer=tok, progress=False, name="none")


def test_a_kept_trunk_trains_the_same_student_and_serves_the_next(tmp_path, tok, collection, monkeypatch):
    """Fine-tuning the top layer: the frozen layer's output kept per row gives the very weights
    of running it every step, and a second student on the same rows reuses those outputs."""
    from casestudy.distiller.students import trunk

    records, topk = collection
    kept = train_student(records, topk, TINY, cfg(train_layers=1), tmp_path / "kept", tokenizer=tok, progress=False)
    last = lambda: list(trunk._kept.values())[-1]
    rows = last()
    assert rows and all(h.dtype == torch.float32 for h in rows.values())
    train_student(records, topk, TINY, cfg(train_layers=1, alpha=0.5), tmp_path / "topk", tokenizer=tok, progress=False)
    assert last() is rows  # same frozen weights, same rows: nothing recomputed
    monkeypatch.setattr(trunk, "MAX_BYTES", 0)  # no room: every step runs the whole model
    whole = train_student(records, topk, TINY, cfg(train_layers=1), tmp_path / "whole", tokenizer=tok, progress=False)
    a, b = load_file(tmp_path / "kept" / "model.safetensors"), load_file(tmp_path / "whole" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [h["train_ce"] for h in kept.history] == [h["train_ce"] for h in whole.history]
    assert last() is rows  # the run without a trunk left the kept one alone


def test_no_trunk_when_every_layer_trains_or_the_weights_differ(tok):
    from casestudy.distiller.students import trunk
    from casestudy.distiller.students.packing import encode_records, pack
    from casestudy.distiller.students.student import make_student

    records, _ = generate_collection(tiny_llama(tok, seed=7), tok, random_prompts(2), max_new_tokens=4, k=5)
    examples = encode_records(tok, records, None, 128)
    rows = pack([len(e) for e in examples], 128)
    body = lambda seed: make_student(TINY, tok, seed=seed).model
    assert trunk.trunk_for(body(0), 0, "fp32", examples, rows, 128) is None
    assert trunk.trunk_for(body(0), 2, "fp32", examples, rows, 128) is None
    first = trunk.trunk_for(body(0), 1, "fp32", examples, rows, 128)
    assert trunk.trunk_for(body(0), 1, "fp32", examples, rows, 128).rows is first.rows
    assert trunk.trunk_for(body(1), 1, "fp32", examples, rows, 128).rows is not first.rows
    assert trunk.trunk_for(body(0), 1, "bf16", examples, rows, 128).rows is not first.rows
    assert len(trunk._kept) == trunk.KEEP


def test_held_out_ce_through_a_trunk_is_the_whole_models(tok, collection):
    from casestudy.distiller.students.evaluate import mean_ce
    from casestudy.distiller.students.packing import encode_records
    from casestudy.distiller.students.student import make_student

    records, _ = collection
    model = make_student(TINY, tok, seed=2).eval()
    examples = encode_records(tok, records, None, 128)
    whole = mean_ce(model, examples, tok.pad_token_id, 128, batch_size=2)
    assert mean_ce(model, examples, tok.pad_token_id, 128, batch_size=2, frozen_below=1, precision="fp32") \
        == pytest.approx(whole, rel=1e-6)
