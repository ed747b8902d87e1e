"""The collected dataset of one arm on disk: append-only, crash-safe, resumable.

`<run>/collect/<arm>/` holds

- `records.jsonl`   one JSON object per finished record (the commit point of a record);
- `topk.bin`        per record: sampled token ids (int32, T), their logprobs (float32, T),
                    top-k ids (int32, T*k) and top-k logprobs (float32, T*k);
- `topk.idx.jsonl`  one line per record in topk.bin: {"id", "offset", "tokens", "k", "returned"}
                    (`returned`: the most alternatives the endpoint gave at any position, <= k);
- `manifest.json`   parameters, counts, content hashes and what came back of the logprobs asked
                    (written by the collector).

An endpoint that ignores `logprobs` (as `transformers serve` does) leaves topk.bin empty:
`topk_count` / `has_topk` tell a reader so without reading the blobs.

A record is written in the order blob -> index line -> record line, each flushed at
once, by a single writer. A process killed at any moment therefore leaves at most one
torn or orphaned tail, which `ArmWriter` cuts off when it reopens the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RECORDS_FILE = "records.jsonl"
TOPK_FILE = "topk.bin"
TOPK_INDEX_FILE = "topk.idx.jsonl"
MANIFEST_FILE = "manifest.json"

RECORD_FIELDS = (
    "id", "prompt_id", "sample", "family", "split", "messages", "completion", "finish_reason",
    "prompt_tokens", "completion_tokens", "gold", "model", "base_url", "latency_s", "created",
)


@dataclass
class TopK:
    """Per-token log-probabilities of one completion (ids of the teacher tokenizer, -1 = unknown)."""

    token_ids: np.ndarray       # int32 (T,)   the sampled tokens
    token_logprobs: np.ndarray  # float32 (T,) their logprobs
    top_ids: np.ndarray         # int32 (T, k) the k most likely tokens at each step
    top_logprobs: np.ndarray    # float32 (T, k) their logprobs (-inf where fewer than k came back)

    def __post_init__(self) -> None:
        self.token_ids = np.asarray(self.token_ids, dtype=np.int32).reshape(-1)
        self.token_logprobs = np.asarray(self.token_logprobs, dtype=np.float32).reshape(-1)
        tokens = len(self.token_ids)
        self.top_ids = np.asarray(self.top_ids, dtype=np.int32).reshape(tokens, -1)
        self.top_logprobs = np.asarray(self.top_logprobs, dtype=np.float32).reshape(tokens, -1)
        if self.token_logprobs.shape != (tokens,) or self.top_ids.shape != self.top_logprobs.shape:
            raise ValueError(
                f"inconsistent TopK shapes: token_ids {self.token_ids.shape}, token_logprobs "
                f"{self.token_logprobs.shape}, top_ids {self.top_ids.shape}, top_logprobs {self.top_logprobs.shape}"
            )

    @property
    def k(self) -> int:
        return self.top_ids.shape[1]

    @property
    def returned(self) -> int:
        """The most alternatives known at any position (the rest is -inf padding): 0 when none came back."""
        if not len(self) or not self.k:
            return 0
        return int(np.isfinite(self.top_logprobs).sum(axis=1).max())

    def __len__(self) -> int:
        return len(self.token_ids)

    def to_bytes(self) -> bytes:
        return b"".join(
            (self.token_ids.tobytes(), self.token_logprobs.tobytes(), self.top_ids.tobytes(), self.top_logprobs.tobytes())
        )

    @classmethod
    def from_bytes(cls, blob: bytes | memoryview, tokens: int, k: int) -> "TopK":
        parts, start = [], 0
        for dtype, count in ((np.int32, tokens), (np.float32, tokens), (np.int32, tokens * k), (np.float32, tokens * k)):
            parts.append(np.frombuffer(blob, dtype=dtype, count=count, offset=start).copy())
            start += count * 4
        return cls(parts[0], parts[1], parts[2].reshape(tokens, k), parts[3].reshape(tokens, k))

    @staticmethod
    def nbytes(tokens: int, k: int) -> int:
        return 4 * (2 * tokens + 2 * tokens * k)


def record_id(prompt_id: str, sample: int) -> str:
    """The id of a record: one per (prompt, sample index), so a rerun never duplicates one."""
    return f"{prompt_id}:{sample}"


def read_jsonl_lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Parse a JSONL file; return the objects and the byte length of its intact prefix.

    A torn last line (no newline at the end, or not valid JSON) is left out. A damaged
    line anywhere else is an error: it would mean data loss, not an interrupted write.
    """
    if not path.is_file():
        return [], 0
    data = path.read_bytes()
    objects, good_end, start = [], 0, 0
    lines = data.split(b"\n")
    for number, line in enumerate(lines):
        is_last = number == len(lines) - 1
        if is_last:  # the text after the last newline: empty, or a torn write
            break
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as err:
            if number == len(lines) - 2 and not lines[-1]:
                break  # the last complete-looking line is damaged: treat it as torn
            raise ValueError(f"{path}: line {number + 1} is not valid JSON ({err}); the file is corrupt") from err
        start += len(line) + 1
        good_end = start
    return objects, good_end


def truncate(path: Path, size: int) -> None:
    if path.is_file() and path.stat().st_size > size:
        with open(path, "r+b") as handle:
            handle.truncate(size)


class ArmWriter:
    """Append records (and their top-k logprobs) to an arm folder, repairing it first."""

    def __init__(self, arm_dir: Path):
        self.arm_dir = Path(arm_dir)
        self.arm_dir.mkdir(parents=True, exist_ok=True)
        self.done_ids, self.dropped = repair_arm(self.arm_dir)
        self.records = open(self.arm_dir / RECORDS_FILE, "ab")
        self.index = open(self.arm_dir / TOPK_INDEX_FILE, "ab")
        self.blobs = open(self.arm_dir / TOPK_FILE, "ab")

    def append(self, record: dict[str, Any], topk: TopK | None) -> None:
        """Write one finished record; its record line is written last, as the commit."""
        missing = [name for name in RECORD_FIELDS if name not in record]
        if missing:
            raise ValueError(f"record {record.get('id')!r} lacks fields {missing}")
        if record["id"] in self.done_ids:
            raise ValueError(f"record {record['id']!r} is already in {self.arm_dir}")
        if topk is not None:
            offset = self.blobs.tell()
            self.blobs.write(topk.to_bytes())
            self.blobs.flush()
            entry = {"id": record["id"], "offset": offset, "tokens": len(topk), "k": topk.k, "returned": topk.returned}
            self.index.write((json.dumps(entry) + "\n").encode())
            self.index.flush()
        self.records.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        self.records.flush()
        self.done_ids.add(record["id"])

    def close(self) -> None:
        for handle in (self.blobs, self.index, self.records):
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()

    def __enter__(self) -> "ArmWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def repair_arm(arm_dir: Path) -> tuple[set[str], int]:
    """Cut a torn tail off an arm folder; return the ids of complete records and how many parts were dropped.

    A record is complete when its line is in records.jsonl. Index lines and blob bytes
    written for a record whose line never made it are dropped.
    """
    arm_dir = Path(arm_dir)
    records_path, index_path, blob_path = arm_dir / RECORDS_FILE, arm_dir / TOPK_INDEX_FILE, arm_dir / TOPK_FILE
    records, good_end = read_jsonl_lines(records_path)
    dropped = int(records_path.is_file() and records_path.stat().st_size > good_end)
    truncate(records_path, good_end)
    done = [r["id"] for r in records]
    if len(set(done)) != len(done):
        raise ValueError(f"{records_path} holds duplicate record ids; the folder was written by two collectors at once")
    done_ids = set(done)

    entries, index_end = read_jsonl_lines(index_path)
    kept = [e for e in entries if e["id"] in done_ids]
    blob_end = max((e["offset"] + TopK.nbytes(e["tokens"], e["k"]) for e in kept), default=0)
    if len(kept) != len(entries) or (index_path.is_file() and index_path.stat().st_size > index_end):
        dropped += 1
        tmp = index_path.with_suffix(".tmp")
        tmp.write_bytes(b"".join((json.dumps(e) + "\n").encode() for e in kept))
        os.replace(tmp, index_path)
    if blob_path.is_file() and blob_path.stat().st_size > blob_end:
        dropped += 1
        truncate(blob_path, blob_end)
    return done_ids, dropped


def read_records(arm_dir: Path) -> list[dict[str, Any]]:
    """The finished records of an arm, ordered by (prompt id, sample); a torn last line is ignored."""
    path = Path(arm_dir) / RECORDS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the collection (notebook 01) first")
    records, _ = read_jsonl_lines(path)
    return sorted(records, key=lambda r: (r["prompt_id"], r["sample"]))


def read_topk(arm_dir: Path) -> dict[str, TopK]:
    """Top-k logprobs of every finished record of an arm, keyed by record id."""
    arm_dir = Path(arm_dir)
    done = {r["id"] for r in read_records(arm_dir)}
    entries, _ = read_jsonl_lines(arm_dir / TOPK_INDEX_FILE)
    blob_path = arm_dir / TOPK_FILE
    if not entries:
        return {}
    blob = np.memmap(blob_path, dtype=np.uint8, mode="r") if blob_path.stat().st_size else np.zeros(0, np.uint8)
    out: dict[str, TopK] = {}
    for entry in entries:
        if entry["id"] not in done:
            continue
        size = TopK.nbytes(entry["tokens"], entry["k"])
        chunk = memoryview(blob[entry["offset"] : entry["offset"] + size])
        if len(chunk) != size:
            raise ValueError(f"{blob_path} is shorter than its index says (record {entry['id']!r})")
        out[entry["id"]] = TopK.from_bytes(chunk, entry["tokens"], entry["k"])
    return out


def topk_entries(arm_dir: Path) -> list[dict[str, Any]]:
    """The topk.idx.jsonl lines of the finished records of an arm that carry top-k logprobs
    (at least one position with at least one alternative); an index written before
    `returned` was kept counts by its `k`."""
    arm_dir = Path(arm_dir)
    records, _ = read_jsonl_lines(arm_dir / RECORDS_FILE)
    done = {r["id"] for r in records}
    entries, _ = read_jsonl_lines(arm_dir / TOPK_INDEX_FILE)
    return [e for e in entries if e["id"] in done and e["tokens"] > 0 and e.get("returned", e["k"]) > 0]


def topk_count(arm_dir: Path) -> int:
    """How many finished records of an arm carry top-k logprobs (0: the endpoint gave none)."""
    return len(topk_entries(arm_dir))


def has_topk(arm_dir: Path) -> bool:
    """True when an arm holds top-k logprobs for at least one record: what a top-k student needs."""
    return topk_count(arm_dir) > 0


def carries_topk(topk: TopK) -> bool:
    """True when one record's arrays hold at least one known alternative."""
    return topk.returned > 0


def count_topk(topk: dict[str, TopK]) -> int:
    """How many records of a `read_topk` result carry top-k logprobs."""
    return sum(carries_topk(t) for t in topk.values())


def content_hash(records: list[dict[str, Any]]) -> str:
    """A hash of what was collected (ids, texts, token counts), independent of order and timing."""
    digest = hashlib.sha256()
    for r in sorted(records, key=lambda r: r["id"]):
        digest.update(json.dumps([r["id"], r["completion"], r["finish_reason"], r["completion_tokens"]]).encode())
    return digest.hexdigest()[:16]


def topk_hash(topk: dict[str, TopK]) -> str:
    """A hash of the collected top-k arrays, in record-id order."""
    digest = hashlib.sha256()
    for key in sorted(topk):
        digest.update(key.encode())
        digest.update(topk[key].to_bytes())
    return digest.hexdigest()[:16]
