"""One rule for every stage: CUDA with bf16 when present, else the CPU with fp32.

The distiller adds one more choice, the precision of its own arithmetic (`native_precision`):
bf16 on CUDA and on CPUs whose cores multiply bf16 natively (AVX512-BF16 or AMX), fp32
elsewhere, where bf16 would be emulated and slower. Its students train with bf16 autocast
over fp32 weights and are served (evaluated, queried in notebook 04) with bf16 weights. The
provider's deployments follow the same rule, as API labs serve in bf16: its post-training
runs under bf16 autocast and its teacher is served with bf16 weights where they are native
(logits and logprobs still computed in fp32 from them). Elsewhere everything stays fp32.
"""

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

    def describe(self, *notes: str) -> str:
        """E.g. "cpu (2 threads, float32)"; `notes` go inside the parentheses ("bf16 training")."""
        what = torch.cuda.get_device_name(0) if self.name == "cuda" else f"{torch.get_num_threads()} threads"
        return f"{self.name} ({', '.join([what, str(self.dtype).removeprefix('torch.'), *notes])})"


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


PRECISIONS = ("auto", "bf16", "fp32")


def check_precision(value: str) -> str:
    """`value` when it is one of PRECISIONS; otherwise a ValueError that lists them."""
    if value not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {value!r}")
    return value


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX tiles)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def native_precision(device: Device, prefer: str = "auto") -> str:
    """"bf16" or "fp32": the distiller's arithmetic on `device` (training and serving its students).

    `auto` takes bf16 on CUDA and on a CPU with native bf16 (on the 2-core development
    machine about 1.7x faster than fp32 to train, 2x to generate); `bf16` or `fp32` force one."""
    if check_precision(prefer) != "auto":
        return prefer
    return "bf16" if device.name == "cuda" or cpu_has_native_bf16() else "fp32"


def weights_dtype(device: Device, precision: str = "") -> torch.dtype:
    """The dtype to load a model in: "" keeps the device's (`Device.dtype`); "auto", "bf16"
    or "fp32" follow `native_precision`."""
    if not precision:
        return device.dtype
    return torch.bfloat16 if native_precision(device, precision) == "bf16" else torch.float32
