"""The arm folder format: round trips, torn tails cut off on reopen, corruption refused."""

from __future__ import annotations

import numpy as np
import pytest

from casestudy.distiller.collect.dataset import (
    RECORD_FIELDS, ArmWriter, TopK, content_hash, count_topk, has_topk, read_records, read_topk, repair_arm, topk_count,
)


def record(prompt_id: str, sample: int = 0, completion: str = "hi") -> dict:
    r = {name: None for name in RECORD_FIELDS}
    r.update(id=f"{prompt_id}:{sample}", prompt_id=prompt_id, sample=sample, completion=completion,
             finish_reason="stop", completion_tokens=2, prompt_tokens=3, family="chat", split="train")
    return r


def topk(tokens: int, k: int = 3, start: int = 0) -> TopK:
    ids = np.arange(start, start + tokens, dtype=np.int32)
    return TopK(ids, -np.ones(tokens), np.tile(ids[:, None], (1, k)), np.full((tokens, k), -2.0))


def test_round_trip(tmp_path):
    with ArmWriter(tmp_path) as writer:
        writer.append(record("b"), topk(4, start=10))
        writer.append(record("a", 1), topk(2, start=5))
        writer.append(record("a", 0), None)  # an endpoint without logprobs
    assert [r["id"] for r in read_records(tmp_path)] == ["a:0", "a:1", "b:0"]
    got = read_topk(tmp_path)
    assert set(got) == {"a:1", "b:0"}
    assert got["b:0"].token_ids.tolist() == [10, 11, 12, 13] and got["b:0"].top_ids.shape == (4, 3)
    assert got["a:1"].top_logprobs.dtype == np.float32 and (got["a:1"].top_logprobs == -2).all()


def test_has_topk_counts_the_records_that_carry_alternatives(tmp_path):
    few = topk(3, k=4)
    few.top_logprobs[:, 2:] = -np.inf  # an endpoint that gave 2 of the 4 alternatives asked
    none = topk(2, k=4)
    none.top_logprobs[:] = -np.inf     # the sampled tokens' logprobs, no alternative
    assert (few.returned, none.returned) == (2, 0)
    with ArmWriter(tmp_path) as writer:
        writer.append(record("text-only"), None)
        assert not has_topk(tmp_path) and topk_count(tmp_path) == 0
        writer.append(record("few"), few)
        writer.append(record("none"), none)
    assert topk_count(tmp_path) == 1 and has_topk(tmp_path) and count_topk(read_topk(tmp_path)) == 1
    assert '"returned": 2' in (tmp_path / "topk.idx.jsonl").read_text()


def test_a_torn_record_line_and_its_orphan_topk_are_cut_off_on_reopen(tmp_path):
    with ArmWriter(tmp_path) as writer:
        writer.append(record("a"), topk(3))
    good_blob = (tmp_path / "topk.bin").stat().st_size
    # A kill after the blob and index were written but during the record line:
    with open(tmp_path / "topk.bin", "ab") as h:
        h.write(topk(5).to_bytes())
    with open(tmp_path / "topk.idx.jsonl", "a") as h:
        h.write('{"id": "b:0", "offset": %d, "tokens": 5, "k": 3}\n' % good_blob)
    with open(tmp_path / "records.jsonl", "a") as h:
        h.write('{"id": "b:0", "prom')
    assert [r["id"] for r in read_records(tmp_path)] == ["a:0"]  # readers skip the torn line
    done, dropped = repair_arm(tmp_path)
    assert done == {"a:0"} and dropped == 3
    assert (tmp_path / "topk.bin").stat().st_size == good_blob
    with ArmWriter(tmp_path) as writer:
        assert writer.done_ids == {"a:0"}
        writer.append(record("b"), topk(2, start=7))
    assert read_topk(tmp_path)["b:0"].token_ids.tolist() == [7, 8]
    assert (tmp_path / "records.jsonl").read_text().count("\n") == 2


def test_a_damaged_line_in_the_middle_is_an_error(tmp_path):
    with ArmWriter(tmp_path) as writer:
        writer.append(record("a"), None)
    text = (tmp_path / "records.jsonl").read_text()
    (tmp_path / "records.jsonl").write_text("{oops\n" + text)
    with pytest.raises(ValueError, match="line 1 is not valid JSON"):
        repair_arm(tmp_path)


def test_duplicates_and_incomplete_records_are_refused(tmp_path):
    with ArmWriter(tmp_path) as writer:
        writer.append(record("a"), None)
        with pytest.raises(ValueError, match="already"):
            writer.append(record("a"), None)
        with pytest.raises(ValueError, match="lacks fields"):
            writer.append({"id": "x:0"}, None)


def test_inconsistent_topk_shapes_are_refused():
    with pytest.raises(ValueError, match="inconsistent TopK"):
        TopK(np.zeros(3), np.zeros(2), np.zeros((3, 2)), np.zeros((3, 2)))


def test_content_hash_ignores_order_and_timing():
    a = [record("a"), record("b", completion="x")]
    b = [dict(a[1], latency_s=9.0), a[0]]
    assert content_hash(a) == content_hash(b) != content_hash([record("a"), record("b", completion="y")])


def test_reading_a_missing_arm_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebook 01"):
        read_records(tmp_path / "nothing")
