import math

import pytest

from casestudy.cost.compute import (DeviceUse, HardwareAssumptions, device_hours, device_kwh, device_usd, parse_device,
                                    stage_cost, stage_cost_table)
from tests.stages.fake_run import FAKE_COLLECT, FAKE_DISTILL, FAKE_TIMINGS

HW = HardwareAssumptions(gpu_hour_usd=2.0, gpu_watts=700, gpu_peak_tflops=989, gpu_utilisation=0.4,
                         cpu_core_hour_usd=0.04, cpu_core_watts=10)


@pytest.mark.parametrize("text, expected", [
    ("cpu (2 threads, float32)", DeviceUse("cpu", 2)),
    ("cuda (NVIDIA H100 80GB HBM3, bfloat16)", DeviceUse("gpu", 1)),
    ("cuda (8 GPUs, NVIDIA H100, bfloat16)", DeviceUse("gpu", 8)),
    ("cpu", DeviceUse("cpu", 1)),
])
def test_parse_device(text, expected):
    assert parse_device(text) == expected


def test_parse_device_names_the_bad_text():
    with pytest.raises(ValueError, match="mps"):
        parse_device("mps (Apple)")


def test_device_hours_usd_and_kwh():
    cpu, gpu = DeviceUse("cpu", 2), DeviceUse("gpu", 1)
    assert device_hours(3600, cpu) == 2.0
    assert device_usd(2.0, cpu, HW) == pytest.approx(0.08)
    assert device_usd(2.0, gpu, HW) == 4.0
    assert device_kwh(2.0, cpu, HW) == pytest.approx(0.02)
    assert device_kwh(2.0, gpu, HW) == pytest.approx(1.4)
    with pytest.raises(ValueError):
        device_hours(-1, cpu)


def test_stage_cost_row():
    row = stage_cost("distill", 1800, "cuda (NVIDIA H100, bfloat16)", HW)
    assert row["device_hours"] == 0.5 and row["usd"] == 1.0 and row["kwh"] == pytest.approx(0.35)
    assert row["device_s"] == 1800 and row["usd_per_device_hour"] == 2.0 and row["watts_per_device"] == 700
    cpu = stage_cost("collect", 1800, "cpu (2 threads, float32)", HW)
    assert cpu["device_s"] == 3600 and cpu["usd_per_device_hour"] == 0.04 and cpu["watts_per_device"] == pytest.approx(10)


def test_stage_cost_table_has_control_arm_total_and_timings():
    table = stage_cost_table(FAKE_COLLECT, FAKE_DISTILL, HW, FAKE_TIMINGS).set_index("stage")
    assert list(table.index) == ["collect", "collect (control)", "distill", "total"]
    assert table.loc["total", "wall_s"] == 30 + 20 + 60
    assert table.loc["total", "device_hours"] == pytest.approx(110 * 2 / 3600)
    assert table.loc["total", "notebook_s"] == 125
    assert table.loc["collect", "notebook_s"] == 45


def test_stage_cost_table_without_timings_or_control():
    # a run without a control arm (an external endpoint) writes one of zero records and device "unknown"
    empty = {**FAKE_COLLECT["control"], "records": 0, "prompt_tokens": 0, "completion_tokens": 0,
             "wall_seconds": 0.0, "device": "unknown"}
    for collect in ({**FAKE_COLLECT, "control": empty}, {k: v for k, v in FAKE_COLLECT.items() if k != "control"}):
        table = stage_cost_table(collect, FAKE_DISTILL, HW).set_index("stage")
        assert list(table.index) == ["collect", "distill", "total"]
        assert table["notebook_s"].isna().all()


def test_assumptions_table_lists_every_assumption():
    table = HW.as_table()
    assert len(table) == 6 and math.isclose(table.set_index("assumption").loc["gpu_utilisation", "value"], 0.4)
