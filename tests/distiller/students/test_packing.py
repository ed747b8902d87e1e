"""Packing: no token lost, no attention across packed sequences, same loss as padding."""

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from casestudy.distiller.students.packing import (IGNORE, Example, collate_packed, collate_padded, encode_record,
                                         encode_records, pack, prompt_ids)
from casestudy.distiller.students.student import StudentConfig, make_student
from tests.distiller.students.synthetic import TopK
from casestudy.models import embedded_model_dir


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(embedded_model_dir())


def random_examples(n, seed=0, lo=5, hi=60):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        ids = rng.integers(3, 1000, size=int(rng.integers(lo, hi)))
        tgt = np.full(len(ids), IGNORE)
        p = len(ids) // 3
        tgt[p - 1:-1] = ids[p:]
        out.append(Example(ids, tgt))
    return out


def test_pack_keeps_every_token_once_and_respects_length():
    examples = random_examples(40)
    rows = pack([len(e) for e in examples], 128)
    assert sorted(i for row in rows for i in row) == list(range(40))
    assert all(sum(len(examples[i]) for i in row) <= 128 for row in rows)
    batch = collate_packed(examples, rows, pad_id=2, max_len=128)
    assert int(batch["num_tokens"].sum()) == sum(len(e) for e in examples)
    assert int((batch["targets"] != IGNORE).sum()) == sum(e.num_targets for e in examples)
    # the tokens of every example appear contiguously in its row, starting at position 0
    for r, row in enumerate(rows):
        at = 0
        for i in row:
            n = len(examples[i])
            assert torch.equal(batch["input_ids"][r, at:at + n], torch.from_numpy(examples[i].input_ids))
            assert torch.equal(batch["position_ids"][r, at:at + n], torch.arange(n))
            at += n
    # packing beats one example per row by a wide margin here
    assert len(rows) < len(examples) / 3


def test_pack_rejects_too_long_example():
    with pytest.raises(ValueError, match="max_len=10"):
        pack([5, 11], 10)


def test_packed_logits_equal_each_sequence_alone(tok):
    model = make_student(StudentConfig(32, 2, 2, 1, 64, 256), tok, seed=1).eval()
    examples = random_examples(7, seed=3)
    rows = pack([len(e) for e in examples], 100)
    assert any(len(row) > 1 for row in rows)
    batch = collate_packed(examples, rows, tok.pad_token_id, 100)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        for r, row in enumerate(rows):
            at = 0
            for i in row:
                ids = torch.from_numpy(examples[i].input_ids)[None]
                alone = model(input_ids=ids, use_cache=False).logits[0]
                n = ids.shape[1]
                torch.testing.assert_close(packed[r, at:at + n], alone, atol=1e-5, rtol=1e-4)
                at += n


def test_padded_batch_gives_the_same_logits(tok):
    model = make_student(StudentConfig(32, 2, 2, 1, 64, 256), tok, seed=1).eval()
    examples = random_examples(4, seed=5)
    batch = collate_padded(examples, tok.pad_token_id)
    assert int(batch["num_tokens"].sum()) == int(batch["attention_mask"].sum()) == sum(len(e) for e in examples)
    with torch.no_grad():
        padded = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       position_ids=batch["position_ids"], use_cache=False).logits
        for b, ex in enumerate(examples):
            alone = model(input_ids=torch.from_numpy(ex.input_ids)[None], use_cache=False).logits[0]
            torch.testing.assert_close(padded[b, :len(ex)], alone, atol=1e-5, rtol=1e-4)


def test_encode_record_aligns_targets_and_topk(tok):
    messages = [{"role": "user", "content": "Is this review positive or negative? Great film."}]
    completion_ids = tok("positive", add_special_tokens=False)["input_ids"]
    k = 3
    top_ids = np.array([[t, 5, 6] for t in completion_ids], dtype=np.int32)
    top_lp = np.log(np.full((len(completion_ids), k), 0.2, dtype=np.float32))
    rec = {"id": "r1", "messages": messages, "completion": "positive", "finish_reason": "stop"}
    ex = encode_record(tok, rec, TopK(np.array(completion_ids, dtype=np.int32), top_ids, top_lp))
    p = len(prompt_ids(tok, messages))
    assert list(ex.input_ids[:p]) == prompt_ids(tok, messages)
    assert list(ex.input_ids[p:]) == completion_ids + [tok.eos_token_id]
    assert (ex.targets[:p - 1] == IGNORE).all() and ex.targets[-1] == IGNORE
    assert list(ex.targets[p - 1:-1]) == completion_ids + [tok.eos_token_id]
    # the top-k of completion token j sits where token j is the target; the eos has none
    assert list(ex.top_ids[p - 1:p - 1 + len(completion_ids), 0]) == completion_ids
    assert (ex.top_ids[p - 1 + len(completion_ids):] == -1).all() and (ex.top_ids[:p - 1] == -1).all()
    # without top-k (or a length stop) the text is re-tokenized and no eos is added
    ex2 = encode_records(tok, [{**rec, "finish_reason": "length"}])[0]
    assert list(ex2.input_ids[p:]) == completion_ids and ex2.top_ids is None


def test_encode_dedupes_repeated_top_ids(tok):
    rec = {"id": "r", "messages": [{"role": "user", "content": "hi"}], "completion": "x", "finish_reason": "length"}
    tk = TopK(np.array([100], dtype=np.int32), np.array([[7, 7, 8]], dtype=np.int32),
              np.log(np.array([[0.3, 0.3, 0.1]], dtype=np.float32)))
    ex = encode_record(tok, rec, tk)
    assert list(ex.top_ids[ex.targets != IGNORE][0]) == [7, -1, 8]


def test_benchmark_counts_real_tokens_and_padding(tok):
    from casestudy.distiller.students.bench import compare, synthetic_examples
    rows = compare(synthetic_examples(40, prompt=(10, 20), completion=(2, 40), vocab=1000), tok,
                   StudentConfig(32, 2, 2, 1, 64, 256), max_len=128, batch_size=2, steps=2, warmup=1, device="cpu",
                   rounds=1)
    padded, packed = rows
    assert padded["mode"] == "padded" and packed["mode"] == "packed"
    assert packed["padding_share"] < padded["padding_share"]
    assert all(r["real_tokens"] > 0 and r["tokens_per_s"] > 0 for r in rows)
    assert packed["speedup"] == pytest.approx(packed["tokens_per_s"] / padded["tokens_per_s"])
