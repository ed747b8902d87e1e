"""Stage outputs: metrics.json files and content fingerprints for reuse on rerun.

Every notebook writes `<run>/<stage>/metrics.json` (its typed contract is the stage's
`Metrics`, casestudy.stages.contract). Its `headline` mapping (label -> short text) is what
the report's index page shows for the stage; everything else is data for later stages and
for the report. `fingerprint` keys the caches: a trained student, an evaluation, a tune.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable

METRICS_FILE = "metrics.json"


def write_json_atomic(path: Path, payload: Any) -> Path:
    """Write JSON through a temporary file and a rename, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


def write_metrics(stage_dir: Path, metrics: dict[str, Any], headline: dict[str, str]) -> Path:
    """Write a stage's metrics.json with its headline figures for the report index."""
    return write_json_atomic(Path(stage_dir) / METRICS_FILE, {**metrics, "headline": headline})


def read_metrics(stage_dir: Path) -> dict[str, Any]:
    """Read a stage's metrics.json; a clear error if the stage has not run yet."""
    path = Path(stage_dir) / METRICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the notebook of stage '{Path(stage_dir).name}' first")
    return json.loads(path.read_text())


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(params: dict[str, Any], inputs: Iterable[Path] = ()) -> str:
    """A content hash of a stage's parameters and input files (order-independent)."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    # Ordered by name and content, not by path: a copy of the data elsewhere hashes the same.
    for name, content in sorted((Path(p).name, file_digest(Path(p))) for p in inputs):
        digest.update(name.encode())
        digest.update(content.encode())
    return digest.hexdigest()[:16]
