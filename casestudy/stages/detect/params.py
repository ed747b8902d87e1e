"""Notebook 04's parameters, checked, and the recipe of its dose and evasion students."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from casestudy.distiller.students.student import StudentSpec
from casestudy.distiller.students.train import TrainConfig
from casestudy.stages.contract import StageParams, check_choice, check_range

DEVICES = ("auto", "cpu", "cuda")
# "fp32": a suspect asked twice gives the same 200 answers (3 of 3 tries, 2 CPU cores, 48 s an ask); "auto"
# (bf16 where the hardware has it) takes 22 s, but a row's tokens then depend on the rows it shares a batch
# with and their order, which HTTP arrival varies: 119, 124 and 132 of 200 the same on a second ask.
SUSPECT_PRECISIONS = ("fp32", "auto")


def check_count(name: str, value: Any, low: int = 1) -> None:
    """A whole number of at least `low`: a clear error naming the bad value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    check_range(name, value, low)


def check_open_unit(name: str, value: Any) -> None:
    """A probability strictly between 0 and 1 (a significance level, a target p-value)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1), not {value!r}")


@dataclass(frozen=True, kw_only=True)
class Params(StageParams):
    """Notebook 04's parameters (its parameters cell is the one source of their defaults).

    The dose and evasion students share one recipe (`dose_recipe`), from the same start as
    notebook 02's main students (the public model), by supervised fine-tuning.
    """

    NOTEBOOK = "04_detect"

    profile: str
    seed: int
    device: str
    num_queries: int             # prompts sent to each suspect for the watermark test
    query_max_tokens: int        # tokens per suspect answer
    query_temperature: float     # suspects sample, as a customer would see them
    suspect_precision: str       # how the simulated suspects are served (SUSPECT_PRECISIONS)
    num_wrong_keys: int          # keys that are not the provider's, for the calibration
    alpha: float                 # significance level of every test
    dose_shares: tuple[float, ...]  # watermarked share of the training data of each dose student
    dose_records: int            # training records per dose student
    dose_steps: int              # optimizer steps per dose student
    dose_start: str              # where the dose and evasion students start ("public", "public@0.5", ...)
    dose_lr: float               # their peak learning rate
    dose_batch_size: int         # their packed rows per step
    dose_train_layers: int       # the top decoder layers they train (0: all)
    probe_max_tokens: int        # tokens per identity-probe answer
    mistake_probes: int          # fresh skill prompts the deployed teacher answers, for its mistakes
    mistake_max_tokens: int      # tokens per answer to them (a worked translation takes about 45)
    target_p: float              # p-value a fully watermarked student must reach

    def __post_init__(self) -> None:
        try:
            if isinstance(self.dose_shares, (str, bytes)):
                raise TypeError
            object.__setattr__(self, "dose_shares", tuple(float(s) for s in self.dose_shares))
        except (TypeError, ValueError):
            raise ValueError(f"dose_shares must be a list of shares in [0, 1], not {self.dose_shares!r}") from None
        if not self.dose_shares:
            raise ValueError("dose_shares must name at least one share, not []")
        for share in self.dose_shares:
            check_range("a dose_shares share", share, 0.0, 1.0)
        if not isinstance(self.profile, str) or not self.profile:
            raise ValueError(f"profile must name a profile, not {self.profile!r}")
        check_count("seed", self.seed, 0)
        check_choice("device", self.device, DEVICES)
        check_choice("suspect_precision", self.suspect_precision, SUSPECT_PRECISIONS)
        for name in ("num_queries", "query_max_tokens", "num_wrong_keys", "dose_records", "dose_steps",
                     "dose_batch_size", "probe_max_tokens", "mistake_probes", "mistake_max_tokens"):
            check_count(name, getattr(self, name))
        check_count("dose_train_layers", self.dose_train_layers, 0)
        check_range("query_temperature", self.query_temperature, 0.0)
        if not self.dose_lr > 0:
            raise ValueError(f"dose_lr must be positive, not {self.dose_lr!r}")
        check_open_unit("alpha", self.alpha)
        check_open_unit("target_p", self.target_p)
        StudentSpec.parse(self.dose_start)  # "public", "public@<share>" or "scratch-<size>", else it says so

    def dose_recipe(self) -> TrainConfig:
        """The training of every dose and evasion student."""
        return TrainConfig(max_steps=self.dose_steps, batch_size=self.dose_batch_size, lr=self.dose_lr,
                           train_layers=self.dose_train_layers, warmup_steps=max(1, self.dose_steps // 10),
                           seed=self.seed, device=self.device)

