"""The frozen collection: pack a tiny collect stage, check it, unpack it, and run notebook 01's stage on it."""

from __future__ import annotations

import io
import json
import sqlite3
import stat
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from casestudy.artifacts import file_digest, fingerprint, write_json_atomic
from casestudy.cost.prices import load_price_table
from casestudy.distiller.collect.manifest import prompts_hash
from casestudy.distiller.collect.prompts import Prompt
from casestudy.profiles import notebook_defaults
from casestudy.provider.settings import ProviderSettings, WatermarkSettings
from casestudy.scenario import deployments, frozen
from casestudy.stages import collect as stage
from casestudy.stages.distill import Harvest
from tests.stages.fake_run import fake_collect

PARAMS = replace(stage.Params.from_namespace(notebook_defaults("01_collect")), post_train=False, control_prompts=2)
TRAFFIC = [stage.TrafficRow(account="customer-01", conversations=1, requests=3, completion_tokens=40)]
POST_TRAINING = fake_collect().post_training.model_copy(update={"seconds": 60.0})
PROMPTS = [Prompt(f"q{i}", ("chat", "factual")[i % 2], ("train", "eval")[i % 3 == 2],
                  ({"role": "user", "content": f"Question {i}?"},), ("Paris",) if i % 2 else None) for i in range(4)]


def write_arm(arm_dir: Path, prompts: list[Prompt]) -> None:
    arm_dir.mkdir(parents=True)
    records = [{"id": f"{p.id}:0", "prompt_id": p.id, "family": p.family, "split": p.split, "completion": "Paris",
                "messages": list(p.messages), "prompt_tokens": 5, "completion_tokens": 1} for p in prompts]
    (arm_dir / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (arm_dir / "topk.bin").write_bytes(bytes(range(256)) * 3)
    (arm_dir / "topk.idx.jsonl").write_text("".join(json.dumps({"id": r["id"], "offset": 0, "tokens": 1, "k": 2})
                                                    + "\n" for r in records))
    write_json_atomic(arm_dir / "manifest.json", {
        "complete": True, "prompts": {"count": len(prompts), "hash": prompts_hash(prompts)},
        "counts": {"records": len(records), "prompt_tokens": 5 * len(records), "completion_tokens": len(records)},
        "wall_seconds": 2.0, "runs": [{"device": "cpu (2 threads, float32)"}]})


def make_run(root: Path, params: stage.Params = PARAMS) -> Path:
    """A finished collect stage in miniature: both arms, the provider's files, metrics.json."""
    run = root / "workshop"
    collect = run / "collect"
    write_arm(collect / "main", PROMPTS)
    write_arm(collect / "control", PROMPTS[: params.control_prompts])
    provider = collect / deployments.PROVIDER_DIR
    provider.mkdir()
    ProviderSettings(model_source="/elsewhere/.cache/posttrain/0123456789abcdef", ledger_db="/elsewhere/l.sqlite",
                     watermark=WatermarkSettings(key=deployments.watermark_key(params.seed))).save(
        provider / "settings.json")
    ProviderSettings(model_source="embedded", watermark_enabled=False).save(provider / "control_settings.json")
    with sqlite3.connect(provider / "ledger.sqlite") as db:
        db.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, account_name TEXT)")
        db.execute("INSERT INTO requests (account_name) VALUES ('distiller')")
    db.close()
    (provider / "accounts.sqlite").write_bytes(b"secret key hashes")
    fake_collect(parameters=params.values(), traffic=TRAFFIC, post_training=POST_TRAINING).write(collect)
    return run


def test_pack_keeps_what_later_notebooks_read_and_drops_the_accounts(tmp_path):
    run = make_run(tmp_path)
    archive = frozen.pack(run, tmp_path / "out" / "workshop-collect.tar.xz")
    digest, name = frozen.checksum_path(archive).read_text().split()
    assert digest == file_digest(archive) and name == archive.name  # the format `sha256sum -c` reads
    manifest = frozen.read_manifest(archive)
    assert "provider/accounts.sqlite" not in manifest["files"] and "provider/accounts.sqlite" in manifest["dropped"]
    assert {"main/records.jsonl", "main/topk.bin", "control/manifest.json", "provider/settings.json",
            "provider/ledger.sqlite", "metrics.json"} <= set(manifest["files"])
    assert manifest["profile"] == "workshop" and manifest["teacher_fingerprint"] == "0123456789abcdef"
    assert frozen.archive_path("workshop").name == "workshop-collect.tar.xz"


def test_unpack_is_byte_exact_so_notebook_02_sees_the_same_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("CASESTUDY_CACHE", str(tmp_path / "cache"))
    run = make_run(tmp_path)
    archive = frozen.pack(run, tmp_path / "a.tar.xz")
    target = tmp_path / "laptop" / "workshop" / "collect"
    meta = frozen.unpack(archive, target)
    original = run / "collect"
    for name in frozen.kept_files(original):
        if not name.endswith("settings.json"):
            assert (target / name).read_bytes() == (original / name).read_bytes(), name
    params = {"max_steps": 40}
    assert (fingerprint(params, Harvest.input_files(None, target))
            == fingerprint(params, Harvest.input_files(None, original)))  # 02's freshness key is unchanged
    settings = deployments.load_deployment(target)
    assert settings.ledger_db == str((target / "provider" / "ledger.sqlite").resolve())
    assert settings.model_source == str(tmp_path / "cache" / "posttrain" / "0123456789abcdef")
    assert settings.watermark.key == deployments.watermark_key(PARAMS.seed)
    assert stat.S_IMODE((target / "provider" / "settings.json").stat().st_mode) == 0o600
    assert not (target / "provider" / "accounts.sqlite").exists()
    assert meta["sha256"] == file_digest(archive)


def test_an_altered_or_unchecked_archive_is_refused(tmp_path):
    archive = frozen.pack(make_run(tmp_path), tmp_path / "a.tar.xz")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(frozen.FrozenError, match="damaged or altered"):
        frozen.unpack(archive, tmp_path / "x")
    frozen.checksum_path(archive).unlink()
    with pytest.raises(frozen.FrozenError, match="sha256 is missing"):
        frozen.verify_checksum(archive)
    with pytest.raises(frozen.FrozenError, match="no frozen collection"):
        frozen.verify_checksum(tmp_path / "missing.tar.xz")


def test_members_outside_the_folder_are_refused(tmp_path):
    archive = tmp_path / "evil.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    frozen.checksum_path(archive).write_text(f"{file_digest(archive)}  {archive.name}\n")
    with pytest.raises(frozen.FrozenError, match="not a plain relative file"):
        frozen.unpack(archive, tmp_path / "run" / "collect")
    assert not (tmp_path / "run" / "escape.txt").exists()


def test_notebook_01_stage_with_a_frozen_source_says_which_data_it_used(tmp_path, monkeypatch):
    monkeypatch.setenv("CASESTUDY_CACHE", str(tmp_path / "cache"))
    archive = frozen.pack(make_run(tmp_path / "lead"), tmp_path / "a.tar.xz")
    collect = tmp_path / "laptop" / "workshop" / "collect"
    params = replace(PARAMS, source=str(archive))
    result = stage.run_collection(params, PROMPTS, collect, progress=False)
    assert set(result.arms) == {"main", "control"} and result.arms["main"].summary is None
    metrics = stage.stage_metrics(result, params, 123, load_price_table(), started=0.0)
    assert metrics.records == 4 and metrics.control.records == 2 and metrics.wall_seconds == 2.0
    assert metrics.source.kind == "frozen" and metrics.source.sha256 == file_digest(archive)
    assert metrics.traffic == TRAFFIC and metrics.post_training == POST_TRAINING  # the archive's
    assert all(t.met for t in metrics.targets) and "data" in metrics.headline
    flagship = next(p for p in load_price_table() if p.tier == "flagship")
    assert "frozen collection a.tar.xz" in stage.headline(metrics, flagship)["data"]
    assert stage.collected_text(metrics).startswith("**Data: a frozen collection**")
    live = stage.stage_metrics(stage.StageResult(arms=result.arms), PARAMS, 123, load_price_table(), 0.0)
    assert live.source == stage.LiveSource() and "data" not in stage.headline(live, flagship)
    assert stage.source_text(live) == ""


def test_a_frozen_collection_of_other_settings_is_refused_before_unpacking(tmp_path):
    archive = frozen.pack(make_run(tmp_path / "lead"), tmp_path / "a.tar.xz")
    collect = tmp_path / "laptop" / "workshop" / "collect"
    with pytest.raises(frozen.FrozenError, match="max_tokens: archive 48, notebook 64"):
        stage.run_collection(replace(PARAMS, source=str(archive), max_tokens=64), PROMPTS, collect, progress=False)
    with pytest.raises(frozen.FrozenError, match="main prompts"):
        stage.run_collection(replace(PARAMS, source=str(archive)), PROMPTS[:3], collect, progress=False)
    assert not (collect / "main").exists()


def test_source_frozen_names_the_profiles_archive_and_bad_sources_are_refused(tmp_path):
    assert stage.frozen_archive(replace(PARAMS, source="frozen"), tmp_path / "runs" / "workshop" / "collect") \
        == frozen.FROZEN_DIR / "workshop-collect.tar.xz"
    # another profile's archive, named by a path from the project root (the `gpu` profile's way)
    assert stage.frozen_archive(replace(PARAMS, source="data/frozen/workshop-collect.tar.xz"), tmp_path / "gpu") \
        == frozen.FROZEN_DIR / "workshop-collect.tar.xz"
    assert stage.frozen_archive(replace(PARAMS, source=str(tmp_path / "a.tar.xz")), tmp_path) == tmp_path / "a.tar.xz"
    with pytest.raises(ValueError, match="source must be"):
        replace(PARAMS, source="frozn")
    with pytest.raises(ValueError, match="base_url empty"):
        replace(PARAMS, source="frozen", base_url="http://127.0.0.1:9/v1", model="m")


def test_the_command_line_packs_checks_and_unpacks(tmp_path, capsys):
    run = make_run(tmp_path)
    out = tmp_path / "cli.tar.xz"
    assert frozen.main(["pack", str(run), "--out", str(out), "--note", "test"]) == 0
    assert frozen.main(["check", str(out)]) == 0 and "main/records.jsonl" in capsys.readouterr().out
    assert frozen.main(["unpack", str(out), str(tmp_path / "u" / "collect")]) == 0
    assert frozen.main(["check", str(tmp_path / "none.tar.xz")]) == 1
