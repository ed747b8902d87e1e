"""A frozen collection: the archive `source` names, checked against the notebook's settings, unpacked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from casestudy.distiller.collect.manifest import prompts_hash, read_manifest
from casestudy.distiller.collect.prompts import Prompt
from casestudy.paths import REPO_ROOT
from casestudy.scenario import deployments, frozen
from casestudy.stages.collect.metrics import Metrics
from casestudy.stages.collect.params import FROZEN_MATCH, Params
from casestudy.stages.collect.result import ArmResult, StageResult
from casestudy.stages.collect.workspace import control_prompts


def frozen_archive(params: Params, collect_dir: Path) -> Path:
    """The archive `source` names: "frozen" is the run's profile's (the run folder's name); a relative
    path is read from the project's root, wherever the notebook's kernel runs."""
    if params.source == "frozen":
        return frozen.archive_path(Path(collect_dir).parent.name)
    path = Path(params.source).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def check_frozen(meta: dict[str, Any], arm_manifests: dict[str, dict], params: Params,
                 prompts: list[Prompt]) -> None:
    """Refuse a frozen collection made with other settings or other prompts than the notebook's."""
    made = meta.get("parameters", {})
    differ = {k: (made.get(k), getattr(params, k)) for k in FROZEN_MATCH if made.get(k) != getattr(params, k)}
    wanted = {"main": prompts, "control": control_prompts(params, prompts)}
    for arm, manifest in arm_manifests.items():
        if manifest.get("prompts", {}).get("hash") != prompts_hash(wanted[arm]):
            differ[f"{arm} prompts"] = (manifest.get("prompts", {}).get("count"), len(wanted[arm]))
    if differ:
        listed = ", ".join(f"{k}: archive {a!r}, notebook {b!r}" for k, (a, b) in differ.items())
        raise frozen.FrozenError(f"the frozen collection was made by the '{meta.get('profile')}' profile with other "
                                 f"settings ({listed}); run that profile (--profile {meta.get('profile')}) or "
                                 "source='live'")


def restore_frozen(params: Params, prompts: list[Prompt], collect_dir: Path) -> StageResult:
    """Unpack a checked frozen collection into `collect_dir`; rebuild the provider's post-training (cached)."""
    archive = frozen_archive(params, collect_dir)
    frozen.verify_checksum(archive)
    meta = frozen.read_manifest(archive)
    check_frozen(meta, {arm: frozen.read_json_member(archive, f"{arm}/manifest.json")
                        for arm in ("main", "control") if f"{arm}/manifest.json" in meta["files"]}, params, prompts)
    meta = frozen.unpack(archive, collect_dir)
    collected = Metrics.read(collect_dir)
    result = StageResult(device=collected.device, endpoint=collected.endpoint, post_training=collected.post_training,
                         frozen=dict(meta), frozen_metrics=collected)
    for arm in ("main", "control"):
        if (collect_dir / arm / "manifest.json").is_file():
            result.arms[arm] = ArmResult(arm, collect_dir / arm, None, read_manifest(collect_dir / arm))
    if params.post_train:
        # Notebook 04 probes the deployed teacher: rebuild the provider's post-training here (cached).
        provider = deployments.deployment(collect_dir, "main", params.teacher, params.tune_settings(), params.seed,
                                          params.device, params.concurrency)
        saved = deployments.load_deployment(collect_dir, "main")
        if saved.watermark != provider.watermark:
            raise frozen.FrozenError("the frozen collection's watermark settings are not this seed's")
        saved.model_source = provider.model_source
        deployments.save_deployment(collect_dir, "main", saved)
        result.frozen["teacher_rebuilt"] = {"fingerprint": Path(provider.model_source).name,
                                            "same_as_archive": Path(provider.model_source).name
                                            == meta.get("teacher_fingerprint")}
    return result
