"""Device time of each stage, priced per device-hour and turned into energy.

A GPU stage is priced per GPU-hour; a CPU stage per core-hour, counting the threads
torch used as busy cores. Energy is device-hours times the stated power while busy.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pandas as pd

from casestudy.cost.flops import SECONDS_PER_HOUR

WATT_HOURS_PER_KWH = 1000.0


@dataclass(frozen=True)
class HardwareAssumptions:
    """The prices, power and utilisation a reader may replace with their own."""

    gpu_hour_usd: float        # per GPU-hour
    gpu_watts: float           # per GPU, while busy
    gpu_peak_tflops: float     # dense BF16 peak per GPU
    gpu_utilisation: float     # model FLOPs utilisation (MFU) for estimates from FLOPs
    cpu_core_hour_usd: float   # per core-hour
    cpu_core_watts: float      # per core, while busy

    def as_table(self) -> pd.DataFrame:
        return pd.DataFrame({"assumption": list(asdict(self)), "value": list(asdict(self).values())})


@dataclass(frozen=True)
class DeviceUse:
    """What a stage ran on, parsed from its `device` text."""

    kind: str     # "gpu" or "cpu"
    count: int    # GPUs, or CPU threads


def parse_device(description: str) -> DeviceUse:
    """Parse "cpu (2 threads, float32)" or "cuda (NVIDIA H100 ..., bfloat16)" into kind and count."""
    text = description.strip().lower()
    if text.startswith("cuda"):
        many = re.search(r"(\d+)\s*(?:x|×)?\s*gpus?\b", text) or re.match(r"cuda\s*(?:x|×)\s*(\d+)", text)
        return DeviceUse("gpu", int(many.group(1)) if many else 1)
    if text.startswith("cpu"):
        threads = re.search(r"(\d+)\s*threads?", text)
        return DeviceUse("cpu", int(threads.group(1)) if threads else 1)
    raise ValueError(f"cannot tell the device kind of {description!r}: expected it to start with 'cuda' or 'cpu'")


def device_hours(wall_seconds: float, use: DeviceUse) -> float:
    """Device-hours: wall time times the number of GPUs (or CPU cores) busy."""
    if wall_seconds < 0:
        raise ValueError(f"wall_seconds must be >= 0, got {wall_seconds!r}")
    return wall_seconds * use.count / SECONDS_PER_HOUR


def device_usd(hours: float, use: DeviceUse, hw: HardwareAssumptions) -> float:
    """USD for `hours` device-hours at the GPU-hour or core-hour price."""
    return hours * (hw.gpu_hour_usd if use.kind == "gpu" else hw.cpu_core_hour_usd)


def device_kwh(hours: float, use: DeviceUse, hw: HardwareAssumptions) -> float:
    """Energy in kWh for `hours` device-hours at the stated power per GPU or core."""
    return hours * (hw.gpu_watts if use.kind == "gpu" else hw.cpu_core_watts) / WATT_HOURS_PER_KWH


def stage_cost(stage: str, wall_seconds: float, device: str, hw: HardwareAssumptions) -> dict:
    """One row of the stage-cost table: device-seconds and -hours, USD and kWh, with the price and power used."""
    use = parse_device(device)
    hours = device_hours(wall_seconds, use)
    return {
        "stage": stage,
        "device": device,
        "devices": use.count,
        "wall_s": wall_seconds,
        "device_s": hours * SECONDS_PER_HOUR,
        "device_hours": hours,
        "usd_per_device_hour": device_usd(1.0, use, hw),
        "usd": device_usd(hours, use, hw),
        "watts_per_device": device_kwh(1.0, use, hw) * WATT_HOURS_PER_KWH,
        "kwh": device_kwh(hours, use, hw),
    }


def stage_cost_table(collect: dict, distill: dict, hw: HardwareAssumptions, timings: dict | None = None) -> pd.DataFrame:
    """Measured cost of each stage (collect, its control arm if it has records, distill) with a total row.

    `notebook_s` is the runner's wall time for the whole notebook, when timings.json exists.
    """
    timings = timings or {}
    rows = [stage_cost("collect", collect["wall_seconds"], collect["device"], hw)]
    rows[0]["notebook_s"] = timings.get("01_collect", float("nan"))
    control = collect.get("control") or {}
    if control.get("records"):  # a run without a control arm writes one of zero records
        rows.append(stage_cost("collect (control)", control["wall_seconds"], control["device"], hw))
    rows.append(stage_cost("distill", distill["wall_seconds"], distill["device"], hw))
    rows[-1]["notebook_s"] = timings.get("02_distill", float("nan"))
    table = pd.DataFrame(rows)
    total = {"stage": "total", "device": "", "devices": float("nan"), **table[["wall_s", "device_s", "device_hours", "usd", "kwh"]].sum()}
    total["notebook_s"] = sum(timings.get(k, 0.0) for k in ("01_collect", "02_distill")) if timings else float("nan")
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)
