"""What a decoding step makes the host wait for, counted on the CPU (issue 29, item 1):
one read per steady step (the drawn tokens), no upload, and as many operators at 32 rows
as at 2, with and without the watermark and top-20 logprobs, greedy and sampled rows mixed."""

from __future__ import annotations

import pytest
import torch

from benchmarks.bench_step import REFILL, make_rows, steady_step, warm
from benchmarks.syncs import Counter
from casestudy.models import load_model
from casestudy.provider.serving.engine import Engine
from casestudy.provider.serving.rows import Row
from casestudy.provider.serving.sampling import Marking
from casestudy.provider.settings import WatermarkSettings
from casestudy.provider.watermark import watermarking_config

KEY = WatermarkSettings(key=3, bias=4.0)
VOCAB = 1000


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(str(tiny_model_dir), device="cpu")


def test_the_counter_tells_reads_uploads_and_operators_apart():
    device = torch.arange(6.0)              # made before counting: stands for a tensor on the device
    with Counter() as counts:
        device.tolist()
        float(device.sum())
        if device.max() > 2:                # Python branching on a tensor's value
            pass
        device[device > 2]                  # a boolean mask: the shape comes from the data
        device.nonzero()
        device.cpu()
        host = torch.tensor([1, 2, 3])      # host data (no device named) ...
        host.tolist(), int(host[0]), host[host > 1]   # ... costs the device nothing
        host.to(device.device)              # an upload
        torch.tensor([4], device=device.device)
        with torch.profiler.record_function("refill"):
            device[0].add(1).item()
    kinds = [e.kind for e in counts.reads]
    assert kinds == ["tolist", "float", "bool", "index with a boolean mask", "nonzero", "cpu", "item"]
    assert [e.kind for e in counts.uploads] == ["to(device)", "tensor(device=)"]
    assert counts.outside(counts.reads, "refill")[-1].kind == "cpu" and counts.reads[-1].region == "refill"
    assert all(e.where.endswith(f"test_step_counts.py:{e.where.rsplit(':')[-1]}") for e in counts.reads)
    assert counts.by_op["aten::add"] == 1 and counts.by_region["refill"] == 1
    assert counts.by_op["aten::sum"] == 1 and counts.by_op["aten::nonzero"] == 1


CONFIGS = {  # name -> (watermark, top_logprobs, greedy and sampled rows mixed)
    "mixed": (None, 0, True),
    "mixed-top20": (None, 20, True),
    "marked": (KEY, 0, True),
    "marked-top20": (KEY, 20, True),
    "marked-greedy": (KEY, 20, False),
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_a_steady_step_reads_once_uploads_nothing_and_dispatches_as_many_ops_at_any_batch(loaded, config):
    watermark, k, mixed = CONFIGS[config]
    ops = {}
    for n in (2, 8, 32):
        engine = Engine(loaded, watermark)
        warm(engine, make_rows(loaded.tokenizer, n, mixed=mixed, top_logprobs=k), steps=2)
        for _ in range(2):
            counts = steady_step(engine)
            reads = counts.outside(counts.reads, REFILL)
            assert [(e.kind, e.where.split(":")[0]) for e in reads] == [("tolist", "serving/engine.py")], \
                counts.summary()
            assert not counts.outside(counts.uploads, REFILL), counts.summary()
            # A new previous token's green list is host work, then two uploads whatever the rows.
            assert len(counts.uploads) <= 2 and len(counts.reads) == 1, counts.summary()
            ops.setdefault(n, set()).add(counts.ops_outside(REFILL))
    assert len(set().union(*ops.values())) == 1, ops


def test_the_green_lists_read_on_the_device_equal_the_processor_through_evictions():
    """The token -> row map on the device stays right when the table (here 4 rows) evicts,
    and rows shorter than the context get no bias."""
    for settings in (WatermarkSettings(key=7), WatermarkSettings(key=7, context_width=3)):
        marking = Marking(settings, VOCAB, torch.device("cpu"))
        marking.green.capacity = 4
        reference = watermarking_config(settings).construct_processor(VOCAB, torch.device("cpu"))
        generator = torch.Generator().manual_seed(5)
        for step in range(12):
            ids = torch.randint(0, 9, (4, 4), generator=generator)
            lengths = [4, 4, 4, 2 if step % 3 == 0 else 4]
            scores = torch.randn(4, VOCAB, generator=generator)
            prev = ids[:, -1]
            rows = marking.rows(prev.tolist(), prev, lengths)
            expected = torch.cat([reference(ids[i:i + 1, 4 - n:], scores[i:i + 1].clone())
                                  for i, n in enumerate(lengths)])
            assert torch.equal(marking.green.add(scores, rows), expected)
        assert len(marking.green._rows) == 4


def test_a_small_green_table_gives_the_same_completions(loaded, tokenizer):
    """Evictions (a table of 4 previous tokens) change nothing in what the rows draw."""
    rows = [Row(tokenizer.encode(t), 12, temperature=0.9, seed=i, top_logprobs=3)
            for i, t in enumerate(["Once upon a time", "Hi", "2 + 2 ="])]
    rows.append(Row(tokenizer.encode("The weather"), 12, temperature=0))
    full = Engine(loaded, KEY).generate(rows)
    small = Engine(loaded, KEY)
    small.marking.green.capacity = 4
    evicted = small.generate(rows)
    assert [c.token_ids for c in evicted] == [c.token_ids for c in full]
    assert [c.top_ids for c in evicted] == [c.top_ids for c in full]
    assert [c.logprobs for c in evicted] == [c.logprobs for c in full]
