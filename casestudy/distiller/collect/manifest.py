"""An arm folder's manifest.json: written from the settings, prompts and records on disk, one entry a
collection run; read back to tell whether an arm is complete, and to refuse (or set aside) an arm
collected with other generation settings."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from casestudy.artifacts import write_json_atomic
from casestudy.distiller.collect.dataset import MANIFEST_FILE, content_hash, read_records
from casestudy.distiller.collect.logprobs import arm_logprobs
from casestudy.distiller.collect.prompts import Prompt
from casestudy.distiller.collect.settings import CollectSettings


def manifest_path(arm_dir: Path) -> Path:
    return Path(arm_dir) / MANIFEST_FILE


def check_or_reset(arm_dir: Path, settings: CollectSettings, on_change: str) -> None:
    """Refuse (or set aside) an arm folder collected with other generation settings.

    on_change="error" raises naming the changed settings; "restart" moves the old folder
    to `<arm>.previous/` (replacing an older one) and starts afresh.
    """
    if on_change not in ("error", "restart"):
        raise ValueError(f"on_change must be 'error' or 'restart', not {on_change!r}")
    path = manifest_path(arm_dir)
    if not path.is_file():
        return
    old = json.loads(path.read_text()).get("generation", {})
    new = settings.generation()
    changed = {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}
    if not changed:
        return
    if on_change == "error":
        details = ", ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in ((k, *v) for k, v in changed.items()))
        raise ValueError(f"{arm_dir} was collected with other settings ({details}); delete it or pass on_change='restart'")
    previous = Path(str(arm_dir) + ".previous")
    if previous.exists():
        shutil.rmtree(previous)
    os.replace(arm_dir, previous)


def prompts_hash(prompts: list[Prompt]) -> str:
    """A hash of the prompts asked (ids, texts, gold answers), in order."""
    return hashlib.sha256(json.dumps([p.to_json() for p in prompts], sort_keys=True).encode()).hexdigest()[:16]


def read_manifest(arm_dir: Path) -> dict[str, Any]:
    path = manifest_path(arm_dir)
    return json.loads(path.read_text()) if path.is_file() else {}


def write_manifest(arm_dir: Path, settings: CollectSettings, prompts: list[Prompt], run: dict[str, Any] | None = None) -> dict:
    """Write manifest.json: settings, prompt hash, counts, what came back of the logprobs asked, content
    hashes, and one entry per collection run."""
    records = read_records(arm_dir) if (Path(arm_dir) / "records.jsonl").is_file() else []
    expected = len(prompts) * settings.samples_per_prompt
    by_family: dict[str, int] = {}
    for r in records:
        by_family[r["family"]] = by_family.get(r["family"], 0) + 1
    params = asdict(settings)
    params["retry"] = asdict(settings.retry)
    runs = read_manifest(arm_dir).get("runs", []) + ([run] if run else [])
    manifest = {
        "generation": settings.generation(),
        "parameters": params,
        "prompts": {"count": len(prompts), "hash": prompts_hash(prompts)},
        "counts": {
            "expected": expected,
            "records": len(records),
            "prompt_tokens": sum(r["prompt_tokens"] for r in records),
            "completion_tokens": sum(r["completion_tokens"] for r in records),
            "by_family": dict(sorted(by_family.items())),
        },
        "complete": len(records) == expected,
        "logprobs": arm_logprobs(arm_dir, settings.top_logprobs, len(records)),  # what came back of those asked
        "hashes": {"records": content_hash(records)},
        "runs": runs,
        "wall_seconds": sum(r["wall_seconds"] for r in runs),
    }
    write_json_atomic(manifest_path(arm_dir), manifest)
    return manifest


def is_complete(arm_dir: Path, settings: CollectSettings, prompts: list[Prompt]) -> bool:
    """True when `arm_dir` already holds every record these settings and prompts ask for."""
    manifest = read_manifest(arm_dir)
    return (
        manifest.get("complete", False)
        and manifest.get("generation") == settings.generation()
        and manifest.get("prompts", {}).get("hash") == prompts_hash(prompts)
    )
