"""Turn collected records into training tensors: encoding, sequence packing, padding.

An `Example` is one chat (prompt + teacher completion) as token ids, with the target
of every position (the next token, or -100 where no loss is taken: the prompt) and,
for top-k distillation, the teacher's top-k ids and logprobs at the same positions.

Packing concatenates whole examples into fixed-length rows (first-fit decreasing), with
position ids that restart at 0 for each example. Given position ids and no attention
mask, transformers builds a block-diagonal causal mask, so no token attends across
examples. Padding is the baseline it is measured against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from casestudy.chat import encode_chat

IGNORE = -100  # target value for positions without a loss (the prompt, padding)


@dataclass
class Example:
    input_ids: np.ndarray                  # (L,) int64 tokens: prompt + completion (+ eos)
    targets: np.ndarray                    # (L,) int64 next token, IGNORE on prompt positions
    top_ids: np.ndarray | None = None      # (L, k) int64 teacher top-k ids, -1 where none
    top_logprobs: np.ndarray | None = None  # (L, k) float32 natural-log probabilities
    record_id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def num_targets(self) -> int:
        return int((self.targets != IGNORE).sum())


def prompt_ids(tokenizer: PreTrainedTokenizerBase, messages: list[dict]) -> list[int]:
    """Token ids of a chat prompt, ending with the assistant header (`casestudy.chat.encode_chat`)."""
    return encode_chat(tokenizer, messages).prompt


def dedupe_top_ids(top_ids: np.ndarray) -> np.ndarray:
    """Replace repeated ids within a row of top-k ids by -1 (two API tokens mapped to one id)."""
    out = np.array(top_ids, dtype=np.int64, copy=True)
    for row in out:
        seen: set[int] = set()
        for j, tok in enumerate(row):
            if tok >= 0 and tok in seen:
                row[j] = -1
            seen.add(int(tok))
    return out


def encode_record(tokenizer: PreTrainedTokenizerBase, record: dict, topk: Any = None, max_len: int = 1024) -> Example | None:
    """One collected record as an Example, or None when its prompt alone fills `max_len`.

    The completion's ids are the teacher's sampled ids from `topk` when given and fully
    mapped, else the completion text re-tokenized. An end-of-turn token is appended
    when the teacher stopped by itself (finish_reason "stop"), so students learn to stop.
    """
    top_ids = top_lp = None
    if topk is not None and len(topk.token_ids) and (np.asarray(topk.token_ids) >= 0).all():
        answer = topk.token_ids
        top_ids = dedupe_top_ids(np.asarray(topk.top_ids))
        top_lp = np.asarray(topk.top_logprobs, dtype=np.float32)
    else:
        answer = record["completion"]
    encoded = encode_chat(tokenizer, record["messages"], answer, finished=record.get("finish_reason") == "stop")
    prompt, completion = encoded.prompt, encoded.answer
    if len(prompt) >= max_len:
        return None
    ids = np.asarray(prompt + completion, dtype=np.int64)[:max_len]
    targets = np.full(len(ids), IGNORE, dtype=np.int64)
    p = len(prompt)
    targets[p - 1: len(ids) - 1] = ids[p:]  # position t predicts token t + 1
    ex = Example(ids, targets, record_id=str(record.get("id", "")),
                 meta={"prompt_len": p, "family": record.get("family"), "truncated": len(prompt) + len(completion) > max_len})
    if top_ids is not None:
        k = top_ids.shape[1]
        ex.top_ids = np.full((len(ids), k), -1, dtype=np.int64)
        ex.top_logprobs = np.zeros((len(ids), k), dtype=np.float32)
        n = min(len(top_ids), len(ids) - p)  # completion positions that carry top-k
        ex.top_ids[p - 1: p - 1 + n] = top_ids[:n]
        ex.top_logprobs[p - 1: p - 1 + n] = top_lp[:n]
    return ex


def encode_records(tokenizer, records: Sequence[dict], topk: dict | None = None, max_len: int = 1024) -> list[Example]:
    """Encode many records; `topk` maps record id -> TopK (missing ids train on text only)."""
    out = []
    for rec in records:
        tk = topk.get(str(rec["id"])) if topk else None
        ex = encode_record(tokenizer, rec, tk, max_len)
        if ex is not None:
            out.append(ex)
    return out


def pack(lengths: Sequence[int], max_len: int) -> list[list[int]]:
    """First-fit-decreasing bin packing: lists of example indices whose lengths fit `max_len`."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        if lengths[i] > max_len:
            raise ValueError(f"example {i} has {lengths[i]} tokens, more than max_len={max_len}")
        for r, free in enumerate(room):
            if lengths[i] <= free:
                rows[r].append(i)
                room[r] -= lengths[i]
                break
        else:
            rows.append([i])
            room.append(max_len - lengths[i])
    return rows


def _top_k(examples: Sequence[Example]) -> int:
    return max((ex.top_ids.shape[1] for ex in examples if ex.top_ids is not None), default=0)


def collate_packed(examples: Sequence[Example], rows: Sequence[Sequence[int]], pad_id: int, max_len: int | None = None) -> dict[str, torch.Tensor]:
    """Tensors for packed rows: input_ids, position_ids, targets (B, L) and, when any
    example has them, top_ids/top_logprobs (B, L, k). The padding tail of a row is its
    own segment with its own positions and no targets. `num_tokens` (B,) counts the
    real tokens of each row."""
    length = max_len or max(sum(len(examples[i]) for i in row) for row in rows)
    k = _top_k(examples)
    B = len(rows)
    ids = np.full((B, length), pad_id, dtype=np.int64)
    pos = np.zeros((B, length), dtype=np.int64)
    tgt = np.full((B, length), IGNORE, dtype=np.int64)
    tid = np.full((B, length, k), -1, dtype=np.int64) if k else None
    tlp = np.zeros((B, length, k), dtype=np.float32) if k else None
    real = np.zeros(B, dtype=np.int64)
    for b, row in enumerate(rows):
        at = 0
        for i in row:
            ex = examples[i]
            n = len(ex)
            ids[b, at:at + n] = ex.input_ids
            pos[b, at:at + n] = np.arange(n)
            tgt[b, at:at + n] = ex.targets
            if k and ex.top_ids is not None:
                kk = ex.top_ids.shape[1]
                tid[b, at:at + n, :kk] = ex.top_ids
                tlp[b, at:at + n, :kk] = ex.top_logprobs
            at += n
        pos[b, at:] = np.arange(length - at)
        real[b] = at
    batch = {"input_ids": torch.from_numpy(ids), "position_ids": torch.from_numpy(pos),
             "targets": torch.from_numpy(tgt), "num_tokens": torch.from_numpy(real)}
    if k:
        batch["top_ids"] = torch.from_numpy(tid)
        batch["top_logprobs"] = torch.from_numpy(tlp)
    return batch


def collate_padded(examples: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """The unpacked baseline: one example per row, right-padded, with an attention mask."""
    batch = collate_packed(examples, [[i] for i in range(len(examples))], pad_id)
    mask = torch.zeros_like(batch["input_ids"])
    for b, ex in enumerate(examples):
        mask[b, : len(ex)] = 1
    batch["attention_mask"] = mask
    batch["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
    return batch


def pack_examples(examples: Sequence[Example], max_len: int, pad_id: int) -> list[dict[str, torch.Tensor]]:
    """Pack examples into rows of `max_len` tokens; one (1, max_len) tensor dict per row."""
    return [collate_packed(examples, [row], pad_id, max_len) for row in pack([len(e) for e in examples], max_len)]


def stack_rows(rows: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Concatenate single-row tensor dicts (same length) into one batch."""
    return {key: torch.cat([r[key] for r in rows]) for key in rows[0]}


def row_tokens(batch: dict[str, torch.Tensor]) -> int:
    """Real (non-padding) tokens in a batch."""
    return int(batch["num_tokens"].sum())
