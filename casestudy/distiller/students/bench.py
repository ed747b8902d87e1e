"""Padded vs packed batches: real (non-padding) training tokens per second.

Both modes take full training steps (forward, backward, AdamW) of the same student on
the same examples, with about the same number of examples per step: padded batches
hold `batch_size * examples per packed row` examples padded to the longest one.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from casestudy.device import pick_device
from casestudy.distiller.students.packing import IGNORE, Example, collate_packed, collate_padded, pack
from casestudy.distiller.students.student import StudentConfig, make_student
from casestudy.distiller.students.train import StudentLoss, TrainConfig, make_optimizer


def synthetic_examples(n: int, seed: int = 0, prompt=(40, 90), completion=(5, 120), vocab: int = 49152) -> list[Example]:
    """Random-token examples with chat-like lengths (prompt incl. template, completion)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        p, c = int(rng.integers(*prompt)), int(rng.integers(*completion))
        ids = rng.integers(3, vocab, size=p + c)
        tgt = np.full(p + c, IGNORE)
        tgt[p - 1:-1] = ids[p:]
        out.append(Example(ids, tgt))
    return out


def _batches(examples: Sequence[Example], mode: str, max_len: int, batch_size: int, pad_id: int, seed: int):
    rows = pack([len(e) for e in examples], max_len)
    per_row = len(examples) / len(rows)
    if mode == "packed":
        for i in range(0, len(rows) - batch_size + 1, batch_size):
            yield collate_packed(examples, rows[i:i + batch_size], pad_id, max_len)
    else:
        order = np.random.default_rng(seed).permutation(len(examples))
        size = max(1, round(batch_size * per_row))
        for i in range(0, len(order) - size + 1, size):
            yield collate_padded([examples[j] for j in order[i:i + size]], pad_id)


def measure(examples: Sequence[Example], tokenizer, config: StudentConfig, mode: str, max_len: int = 256,
            batch_size: int = 4, steps: int = 10, warmup: int = 2, device: str = "auto", seed: int = 0) -> dict:
    """Train `steps` steps in `mode` ("packed" or "padded"); real tokens/s and padding share."""
    dev = pick_device(device)
    model = make_student(config, tokenizer, seed=seed).to(dev.torch).train()
    loss_model = StudentLoss(model)
    opt = make_optimizer(model, TrainConfig(), fused=dev.name == "cuda")
    real = slots = 0
    done = 0
    start = None
    for batch in _batches(examples, mode, max_len, batch_size, tokenizer.pad_token_id, seed):
        if done == warmup:
            if dev.name == "cuda":
                torch.cuda.synchronize()
            start, real, slots = time.perf_counter(), 0, 0
        batch = {k: v.to(dev.torch) for k, v in batch.items()}
        with torch.autocast(dev.name, dtype=torch.bfloat16, enabled=dev.name == "cuda"):
            loss, _ = loss_model(batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        real += int(batch["num_tokens"].sum())
        slots += batch["input_ids"].numel()
        done += 1
        if done == warmup + steps:
            break
    if start is None or done < warmup + 1:
        raise ValueError(f"too few examples ({len(examples)}) for {warmup + 1} {mode} batches")
    if dev.name == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"mode": mode, "steps": done - warmup, "real_tokens": real, "slots": slots,
            "padding_share": 1 - real / slots, "seconds": seconds, "tokens_per_s": real / seconds,
            "device": dev.describe()}


def compare(examples: Sequence[Example], tokenizer, config: StudentConfig, rounds: int = 2, **kw) -> list[dict]:
    """Padded and packed measurements, alternated for `rounds` rounds; the best round of
    each mode is kept (a shared machine only ever slows a round down). The packed row
    carries the speed-up."""
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for mode in ("padded", "packed"):
            r = measure(examples, tokenizer, config, mode, **kw)
            if mode not in best or r["tokens_per_s"] > best[mode]["tokens_per_s"]:
                best[mode] = {**r, "rounds": rounds}
    rows = [best["padded"], best["packed"]]
    rows[1]["speedup"] = rows[1]["tokens_per_s"] / rows[0]["tokens_per_s"]
    return rows
