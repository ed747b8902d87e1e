"""Small helpers for notebook 02: cached evaluation of saved students, teacher top-k facts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from casestudy.artifacts import write_json_atomic
from casestudy.distiller.evaluate import evaluate_student


def evaluate_saved(name: str, student_dir: str | Path, gold: Sequence[dict], heldout: Sequence[dict], teacher,
                   cache: str | Path, max_new_tokens: int = 32, device: str = "auto", batch_size: int = 16) -> dict:
    """Evaluate the student saved in `student_dir` (loaded as the provider would load it),
    reusing `cache/<name>.json` when the student and the evaluation inputs are unchanged."""
    from casestudy.provider.teacher import load_teacher

    student_dir = Path(student_dir)
    weights = (student_dir / "model.safetensors").read_bytes()
    key = hashlib.sha256(weights + json.dumps([[r["id"] for r in gold], [r["id"] for r in heldout], max_new_tokens,
                                               teacher is not None]).encode()).hexdigest()[:16]
    path = Path(cache) / f"{name}.json"
    if path.is_file() and (saved := json.loads(path.read_text())).get("key") == key:
        return saved
    loaded = load_teacher(str(student_dir), device=device)
    result = evaluate_student(name, loaded.model, loaded.tokenizer, gold, heldout,
                              teacher.model if teacher is not None else None, max_new_tokens, batch_size)
    result["key"] = key
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
