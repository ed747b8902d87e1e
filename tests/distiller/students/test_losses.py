"""The top-k distillation loss against a case computed by hand."""

import math

import torch

from casestudy.distiller.students.losses import distill_loss, topk_kl


def test_topk_kl_matches_hand_computation():
    # Student over 4 tokens; the teacher reports its top-2: token 2 (0.5) and token 0 (0.3),
    # leaving 0.2 for "other" (tokens 1 and 3).
    logits = torch.tensor([[1.0, 0.0, 2.0, -1.0]])
    z = sum(math.exp(v) for v in [1.0, 0.0, 2.0, -1.0])
    q = [math.exp(v) / z for v in [1.0, 0.0, 2.0, -1.0]]
    q_other = q[1] + q[3]
    expected = 0.5 * math.log(0.5 / q[2]) + 0.3 * math.log(0.3 / q[0]) + 0.2 * math.log(0.2 / q_other)
    got = topk_kl(logits, torch.tensor([[2, 0]]), torch.tensor([[math.log(0.5), math.log(0.3)]]))
    assert math.isclose(float(got[0]), expected, rel_tol=1e-5)


def test_unmapped_id_mass_goes_to_other():
    # An id of -1 (API token with no local id) drops out: its 0.3 joins "other" (0.5).
    logits = torch.tensor([[0.5, -0.5, 1.5]])
    z = sum(math.exp(v) for v in [0.5, -0.5, 1.5])
    q = [math.exp(v) / z for v in [0.5, -0.5, 1.5]]
    expected = 0.5 * math.log(0.5 / q[2]) + 0.5 * math.log(0.5 / (q[0] + q[1]))
    got = topk_kl(logits, torch.tensor([[2, -1]]), torch.tensor([[math.log(0.5), math.log(0.3)]]))
    assert math.isclose(float(got[0]), expected, rel_tol=1e-5)


def test_kl_zero_when_student_matches_teacher_and_positive_otherwise():
    logits = torch.randn(3, 50)
    logp = torch.log_softmax(logits, -1)
    top = logp.topk(5, -1)
    assert torch.allclose(topk_kl(logits, top.indices, top.values), torch.zeros(3), atol=1e-5)
    assert (topk_kl(torch.randn(3, 50), top.indices, top.values) > 0).all()


def test_distill_loss_mixes_kl_and_ce_where_top_k_exists_and_keeps_ce_elsewhere():
    logits = torch.tensor([[1.0, 0.0, 2.0, -1.0], [0.0, 0.0, 0.0, 0.0]], requires_grad=True)
    targets = torch.tensor([2, 1])
    top_ids = torch.tensor([[2, 0], [-1, -1]])  # the second position (an end token) has no top-k
    top_lp = torch.tensor([[math.log(0.5), math.log(0.3)], [0.0, 0.0]])
    loss, parts = distill_loss(logits, targets, top_ids, top_lp, alpha=0.25)
    each = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    ce = each.mean()
    kl = topk_kl(logits[:1], top_ids[:1], top_lp[:1]).mean()
    assert torch.allclose(loss, ((0.25 * kl + 0.75 * each[0]) + each[1]) / 2)
    # with the KL alone, the end token still teaches the student to stop
    kl_only, _ = distill_loss(logits, targets, top_ids, top_lp, alpha=1.0)
    assert torch.allclose(kl_only, (kl + each[1]) / 2)
    assert math.isclose(parts["kl"], float(kl), rel_tol=1e-6) and math.isclose(parts["ce"], float(ce), rel_tol=1e-6)
    loss.backward()
    sft, parts = distill_loss(logits, targets, top_ids, top_lp, alpha=0.0)
    assert torch.allclose(sft, ce) and "kl" not in parts


def test_missing_entries_with_minus_inf_are_ignored():
    logits = torch.tensor([[1.0, 0.0, 2.0, -1.0]])
    full = topk_kl(logits, torch.tensor([[2, 0]]), torch.tensor([[math.log(0.5), math.log(0.3)]]))
    short = topk_kl(logits, torch.tensor([[2, 0, 3]]), torch.tensor([[math.log(0.5), math.log(0.3), -math.inf]]))
    torch.testing.assert_close(full, short)
