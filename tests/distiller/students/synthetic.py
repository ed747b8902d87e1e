"""Synthetic collections in the shapes of `read_records`/`read_topk`, for tests and
benchmarks only (never a result): a model generates completions locally and its
top-k logprobs are taken from the generation scores, as the API would return them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from casestudy.distiller.students.packing import prompt_ids


@dataclass
class TopK:
    token_ids: np.ndarray      # (T,) int32 sampled tokens
    top_ids: np.ndarray        # (T, k) int32, -1 where unmapped
    top_logprobs: np.ndarray   # (T, k) float32 natural logs


def tiny_llama(tokenizer, hidden: int = 32, layers: int = 2, seed: int = 0):
    """A random two-layer Llama over `tokenizer`'s vocabulary (a stand-in teacher)."""
    from casestudy.distiller.students.student import StudentConfig, make_student
    return make_student(StudentConfig(hidden, layers, 2, 1, 64, 256), tokenizer, seed=seed).eval()


@torch.no_grad()
def generate_collection(model, tokenizer, prompts: list[dict], max_new_tokens: int = 16, k: int = 20,
                        temperature: float = 1.0, seed: int = 0) -> tuple[list[dict], dict[str, TopK]]:
    """Records and top-k logprobs for prompts {"id", "family", "split", "messages", "gold"}.

    Each prompt is sampled once (batch of one, so no padding enters the scores)."""
    torch.manual_seed(seed)
    records, topk = [], {}
    device = next(model.parameters()).device
    for p in prompts:
        ids = torch.tensor([prompt_ids(tokenizer, p["messages"])], device=device)
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, temperature=temperature,
                             top_k=0, max_new_tokens=max_new_tokens, output_scores=True,
                             return_dict_in_generate=True, pad_token_id=tokenizer.pad_token_id)
        new = out.sequences[0, ids.shape[1]:].tolist()
        stop = bool(new) and new[-1] == tokenizer.eos_token_id
        content = new[:-1] if stop else new
        logp = torch.log_softmax(torch.stack(out.scores)[:, 0].float(), -1)[: len(content)]
        top = logp.topk(k, dim=-1)
        rid = f"{p['id']}#0"
        records.append({"id": rid, "prompt_id": p["id"], "sample": 0, "family": p.get("family"),
                        "split": p.get("split", "train"), "messages": p["messages"],
                        "completion": tokenizer.decode(content), "finish_reason": "stop" if stop else "length",
                        "prompt_tokens": ids.shape[1], "completion_tokens": len(content), "gold": p.get("gold")})
        topk[rid] = TopK(np.asarray(content, dtype=np.int32), top.indices.numpy().astype(np.int32),
                         top.values.numpy().astype(np.float32))
    return records, topk


def random_prompts(n: int, seed: int = 0, split: str = "train") -> list[dict]:
    """Short made-up prompts of varied length (for shapes, not meaning)."""
    rng = np.random.default_rng(seed)
    words = "the movie was great terrible plot acting boring loved it what is capital of france".split()
    out = []
    for i in range(n):
        text = " ".join(rng.choice(words, size=int(rng.integers(3, 30))))
        out.append({"id": f"{split}-{i}", "family": "synthetic", "split": split,
                    "messages": [{"role": "user", "content": text}], "gold": None})
    return out
