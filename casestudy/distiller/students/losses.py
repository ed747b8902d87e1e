"""Distillation objectives on completion positions.

- Sequence-level distillation (SFT): cross-entropy on the teacher's sampled tokens.
- Top-k logprob distillation: the API returns only the teacher's k most likely tokens
  and their logprobs, so the teacher distribution is known on k ids plus one "other"
  bucket holding the leftover mass 1 - sum(top-k). The student's distribution is
  folded onto the same k + 1 buckets and the KL(teacher || student) between the two is
  mixed with the cross-entropy: alpha * KL + (1 - alpha) * CE at each position with
  top-k data, plain CE at the others (the end-of-turn token a stopped answer gets: the
  API returns no logprobs for it, and a student trained on KL alone never learns to stop).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = -100


def completion_ce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over positions; logits (N, V), targets (N,)."""
    return F.cross_entropy(logits.float(), targets, ignore_index=IGNORE)


def topk_kl(logits: torch.Tensor, top_ids: torch.Tensor, top_logprobs: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) per position over the top-k ids plus an "other" bucket.

    logits (N, V) student; top_ids (N, k) teacher ids, -1 where the API token had no id
    (its mass then falls into "other"); top_logprobs (N, k) natural logs, -inf where
    fewer than k came back (such entries are ignored). Returns (N,).
    """
    logits = logits.float()
    valid = (top_ids >= 0) & torch.isfinite(top_logprobs)
    safe = top_ids.clamp(min=0)
    log_z = torch.logsumexp(logits, dim=-1, keepdim=True)
    log_q = logits.gather(-1, safe) - log_z                                       # (N, k)
    # The student's "other" mass from the k values alone: no second pass over the vocabulary
    # (2.5x faster than masking the top ids out of a (N, V) copy). The API's top ids are distinct.
    q_top = torch.where(valid, log_q.exp(), torch.zeros_like(log_q)).sum(-1)
    log_q_other = torch.log((1.0 - q_top).clamp(min=1e-12))

    p = torch.where(valid, top_logprobs.float().exp(), torch.zeros_like(top_logprobs, dtype=torch.float32))
    total = p.sum(-1, keepdim=True)
    p = p / total.clamp(min=1.0)                                                   # rounding can push the sum past 1
    p_other = (1.0 - p.sum(-1)).clamp(min=0.0)

    kl_top = torch.where(p > 0, p * (p.clamp(min=1e-30).log() - log_q), torch.zeros_like(p)).sum(-1)
    kl_other = torch.where(p_other > 0, p_other * (p_other.clamp(min=1e-30).log() - log_q_other), torch.zeros_like(p_other))
    return kl_top + kl_other


def topk_positions(targets: torch.Tensor, top_ids: torch.Tensor, top_logprobs: torch.Tensor) -> torch.Tensor:
    """The positions where `distill_loss` takes the KL: a loss is taken and the teacher's top-k came back."""
    return ((top_ids >= 0) & torch.isfinite(top_logprobs)).any(-1) & (targets != IGNORE)


def distill_loss(logits: torch.Tensor, targets: torch.Tensor, top_ids: torch.Tensor | None = None,
                 top_logprobs: torch.Tensor | None = None, alpha: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss on completion positions and its parts {"ce", "kl"} (means over their positions).

    alpha = 0 (or no top-k given) is plain SFT. Each position with top-k data counts
    alpha * KL + (1 - alpha) * CE; a position without (an appended end-of-turn token)
    counts its CE alone; the loss is the mean over positions.
    """
    ce_each = F.cross_entropy(logits.float(), targets, ignore_index=IGNORE, reduction="none")
    counted = targets != IGNORE
    ce = ce_each[counted].mean()
    parts = {"ce": float(ce.detach())}
    if alpha <= 0 or top_ids is None:
        return ce, parts
    has = topk_positions(targets, top_ids, top_logprobs)
    if not has.any():
        return ce, parts
    kl = topk_kl(logits[has], top_ids[has], top_logprobs[has])
    parts["kl"] = float(kl.detach().mean())
    mixed = ce_each.clone()  # positions without top-k data keep their CE
    mixed[has] = alpha * kl + (1.0 - alpha) * ce_each[has]
    return mixed[counted].mean(), parts
