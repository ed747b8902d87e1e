"""One rule for every stage: CUDA with bf16 when present, else the CPU with fp32."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Device:
    name: str            # "cuda" or "cpu"
    dtype: torch.dtype   # bf16 on CUDA, fp32 on the CPU

    @property
    def torch(self) -> torch.device:
        return torch.device(self.name)

    def describe(self) -> str:
        if self.name == "cuda":
            return f"cuda ({torch.cuda.get_device_name(0)}, {str(self.dtype).removeprefix('torch.')})"
        return f"cpu ({torch.get_num_threads()} threads, {str(self.dtype).removeprefix('torch.')})"


def pick_device(prefer: str = "auto") -> Device:
    """Pick the device: `auto` takes CUDA when available; `cpu`/`cuda` force one."""
    if prefer not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not {prefer!r}")
    if prefer == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for but torch sees no CUDA device")
    use_cuda = prefer == "cuda" or (prefer == "auto" and torch.cuda.is_available())
    if use_cuda:
        return Device("cuda", torch.bfloat16)
    return Device("cpu", torch.float32)
