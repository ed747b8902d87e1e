"""Evaluate a student on held-out prompts (split "eval", never trained on).

- held-out cross-entropy on the teacher's completions (how well it models the teacher;
  `mean_ce`, run by the training loop at its end),
- accuracy against gold answers (see grading.py), and the completions themselves, with the
  student loaded as it would be served and answering through `casestudy.chat.greedy_answers`,
  the generator of the provider's checks too;
- what the teacher's top-k logprobs carry beyond the sampled token (`topk_facts`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from casestudy.artifacts import fingerprint, write_json_atomic
from casestudy.chat import greedy_answers
from casestudy.distiller.students.grading import grade
from casestudy.distiller.students.losses import IGNORE, completion_ce
from casestudy.distiller.students.packing import Example, collate_packed, pack
from casestudy.distiller.students.trunk import decoder_output, trunk_for
from casestudy.models import load_model


@torch.no_grad()
def mean_ce(model, examples: Sequence[Example], pad_id: int, max_len: int, batch_size: int = 8,
            frozen_below: int = 0, precision: str = "") -> float:
    """Token-weighted mean cross-entropy (nats) of a model on the targets of `examples`.

    With `frozen_below=N` (a fine-tune of the top N layers, trained in `precision`), the
    layers under them run through a kept `Trunk`, shared by students with the same start."""
    if not examples:
        return float("nan")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rows = pack([len(e) for e in examples], max_len)
    trunk = trunk_for(model.model, frozen_below, precision, examples, rows, max_len)
    total, count = 0.0, 0
    for i in range(0, len(rows), batch_size):
        batch = collate_packed(examples, rows[i:i + batch_size], pad_id, max_len)
        batch = {k: v.to(device) for k, v in batch.items()}
        hidden = decoder_output(model.model, batch, trunk, range(i, min(i + batch_size, len(rows))))
        sel = batch["targets"] != IGNORE
        logits = model.lm_head(hidden[sel])
        n = int(sel.sum())
        total += float(completion_ce(logits, batch["targets"][sel])) * n
        count += n
    model.train(was_training)
    return total / max(count, 1)


def gold_rows(records: Sequence[dict]) -> list[dict]:
    """One row per held-out prompt with gold answers (first sample only)."""
    seen, rows = set(), []
    for r in records:
        pid = r.get("prompt_id", r["id"])
        if r.get("split") != "eval" or not r.get("gold") or pid in seen:
            continue
        seen.add(pid)
        rows.append(r)
    return rows


def grade_completions(name: str, rows: Sequence[dict], completions: Sequence[str]) -> list[dict]:
    """Graded rows {model, prompt_id, family, gold, prompt, completion, correct}."""
    return [{"model": name, "prompt_id": r.get("prompt_id", r["id"]), "family": r["family"], "gold": r["gold"],
             "prompt": r["messages"][-1]["content"], "completion": c, "correct": grade(c, r["gold"], r["family"])}
            for r, c in zip(rows, completions)]


def evaluate_student(name: str, model, tokenizer, gold: Sequence[dict], max_new_tokens: int = 32,
                     batch_size: int = 96) -> dict:
    """A model's greedy answers to the held-out gold prompts, graded. (Its held-out
    cross-entropy on teacher text is measured where it trains: `TrainResult.heldout_ce`.)"""
    completions = greedy_answers(model, tokenizer, [r["messages"] for r in gold], max_new_tokens, batch_size)
    graded = grade_completions(name, gold, completions)
    return {"name": name, "graded": graded,
            "accuracy": float(np.mean([g["correct"] for g in graded])) if graded else float("nan")}


def evaluate_saved(name: str, student_dir: str | Path, gold: Sequence[dict], cache: str | Path,
                   max_new_tokens: int = 32, device: str = "auto", precision: str = "auto",
                   batch_size: int = 96) -> dict:
    """Evaluate the student saved in `student_dir`, loaded as its owner would serve it
    (`precision` "auto": bf16 where the hardware has it, `casestudy.device.native_precision`),
    reusing `cache/<name>.json` when the student and the evaluation inputs are unchanged."""
    student_dir = Path(student_dir)
    key = fingerprint({"gold": [r["id"] for r in gold], "max_new_tokens": max_new_tokens, "precision": precision,
                       "batch_size": batch_size}, [student_dir / "model.safetensors"])
    path = Path(cache) / f"{name}.json"
    if path.is_file() and (saved := json.loads(path.read_text())).get("key") == key:
        return saved
    loaded = load_model(str(student_dir), device=device, precision=precision)
    result = evaluate_student(name, loaded.model, loaded.tokenizer, gold, max_new_tokens, batch_size)
    result.update(key=key, device=loaded.device.describe())
    write_json_atomic(path, result)
    return result


def topk_facts(topk: dict, records: Sequence[dict] | None = None) -> dict:
    """What the logprobs carry beyond the sampled token, over all collected positions:
    mean entropy of the teacher's top-k distribution (nats, "other" bucket included),
    mean top-k mass, and the share of positions where the sampled token was not the top one."""
    ids = {r["id"] for r in records} if records is not None else None
    ent, mass, not_top, n = [], [], 0, 0
    for rid, tk in topk.items():
        if ids is not None and rid not in ids:
            continue
        lp = np.where(np.asarray(tk.top_ids) >= 0, np.asarray(tk.top_logprobs, dtype=np.float64), -np.inf)
        p = np.exp(lp)
        m = p.sum(-1).clip(max=1.0)
        other = 1.0 - m
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0)).sum(-1) - np.where(other > 0, other * np.log(np.where(other > 0, other, 1)), 0)
        ent.extend(h.tolist())
        mass.extend(m.tolist())
        not_top += int((np.asarray(tk.token_ids) != np.asarray(tk.top_ids)[:, 0]).sum())
        n += len(tk.token_ids)
    return {"positions": n, "mean_entropy_nats": float(np.mean(ent)) if ent else float("nan"),
            "mean_topk_mass": float(np.mean(mass)) if mass else float("nan"),
            "sampled_not_top1": not_top / n if n else float("nan")}
