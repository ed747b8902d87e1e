"""Notebook 02's parameters, checked, and the training recipe they make."""

from __future__ import annotations

from dataclasses import dataclass

from casestudy.distiller.students.student import StudentSpec
from casestudy.distiller.students.train import TrainConfig
from casestudy.stages.contract import StageParams, check_choice, check_range

SKILL_FAMILY = "translation"
KINDS = ("sft", "topk")


@dataclass(frozen=True, kw_only=True)
class Params(StageParams):
    """Notebook 02's parameters (its parameters cell is the one source of their defaults)."""

    NOTEBOOK = "02_distill"

    profile: str
    seed: int
    device: str
    public_model: str            # the public model every student starts from (and its tokenizer)
    kinds: tuple[str, ...]       # objectives of the main students
    control_kind: str            # objective of the control student
    size_curve: tuple[float, ...]  # pruned starts: the share of the public model's parameters kept
    curve_kind: str
    curve_controls: bool
    curve_train_layers: int
    scratch_size: str            # "" for no student from random weights
    scratch_lr: float
    max_steps: int
    batch_size: int
    grad_accum: int
    max_len: int
    lr: float
    train_layers: int
    warmup_steps: int
    topk_alpha: float
    eval_every: int
    max_new_tokens: int
    target_share: float | None
    target_margin: float | None
    target_p: float | None
    target_teacher: float | None     # the teacher's held-out skill accuracy, at least
    target_free_share: float | None  # every free route's share of the teacher's accuracy, at most
    target_ordinary_loss: float | None  # the teacher's loss on an ordinary family against the public model, at most

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "size_curve", tuple(float(s) for s in self.size_curve))
        for kind in (*self.kinds, self.control_kind, self.curve_kind):
            check_choice("a training objective", kind, KINDS)
        for share in self.size_curve:
            check_range("a size_curve share", share, 0.0, 1.0)
            if share in (0.0, 1.0):
                raise ValueError(f"a size_curve share keeps part of the model: (0, 1), not {share}")
        if self.scratch_size:
            StudentSpec.parse(f"scratch-{self.scratch_size}")
        for name in ("max_steps", "batch_size", "grad_accum", "max_len", "warmup_steps", "eval_every",
                     "max_new_tokens", "train_layers", "curve_train_layers"):
            check_range(name, getattr(self, name), 0 if name in ("max_steps", "warmup_steps", "eval_every",
                                                                   "train_layers", "curve_train_layers") else 1)
        check_range("topk_alpha", self.topk_alpha, 0.0, 1.0)
        for name in ("target_share", "target_margin", "target_p", "target_teacher", "target_free_share",
                     "target_ordinary_loss"):
            if getattr(self, name) is not None:
                check_range(name, getattr(self, name), 0.0, 1.0)

    def recipe(self) -> TrainConfig:
        """The fine-tune of the whole public model that every main student and the control follow."""
        return TrainConfig(max_steps=self.max_steps, batch_size=self.batch_size, grad_accum=self.grad_accum,
                           max_len=self.max_len, lr=self.lr, warmup_steps=self.warmup_steps, seed=self.seed,
                           device=self.device, eval_every=self.eval_every, train_layers=self.train_layers)
