"""The collector: ask an OpenAI-compatible API for completions and keep every one.

It uses the official `AsyncOpenAI` client against any `base_url` (the local provider,
vLLM, llama.cpp's server, a hosted API), with a bounded number of requests in flight,
retries with back-off (see `retry`), and `logprobs` with `top_logprobs=k`.
Each finished record is appended at once to the arm folder (see `dataset`), so a run
killed at any moment and restarted with the same settings collects only what is missing.

Not every endpoint honours `logprobs`: `transformers serve` accepts the field and ignores it
(its answers carry no `logprobs` at all). The collector counts the records whose answer
carried them, warns once per run (`LogprobsWarning`, naming the endpoint and the count) when
fewer came back than were asked, and records what came back in the manifest (`logprobs`, per
run and for the arm), so the manifest never claims top-k data the arm does not hold.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import httpx
import openai
from tqdm.auto import tqdm

from casestudy.aio import run_sync
from casestudy.artifacts import write_json_atomic
from casestudy.distiller.collect.retry import RetryPolicy, RetryStats, with_retries
from casestudy.distiller.collect.tokens import TokenMap
from casestudy.distiller.collect.dataset import (
    MANIFEST_FILE,
    ArmWriter,
    TopK,
    content_hash,
    read_records,
    record_id,
    topk_entries,
)
from casestudy.distiller.collect.prompts import Prompt

MAX_TOP_LOGPROBS = 20  # the OpenAI API's limit

# Settings that change what a record contains: a folder collected with other values is stale.
GENERATION_KEYS = ("model", "max_tokens", "temperature", "eval_temperature", "top_p", "top_logprobs", "seed",
                   "samples_per_prompt", "endpoint")


@dataclass(frozen=True, kw_only=True)
class CollectSettings:
    """One collection's settings. The values a run chooses have no default here: notebook 01's
    parameters (through stages.collect) and the command line's options are their one source."""

    base_url: str                          # e.g. "http://127.0.0.1:8000/v1"
    model: str                             # the served model name
    api_key_env: str                       # NAME of the environment variable holding the key
    max_tokens: int
    temperature: float
    top_logprobs: int                      # 0 = no logprobs
    samples_per_prompt: int
    concurrency: int                       # requests in flight
    seed: int
    timeout_s: float                       # per request
    endpoint: str = "custom"               # a label for where base_url points ("local provider", ...)
    eval_temperature: float | None = None  # held-out (split "eval") prompts; None: `temperature`
    top_p: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {self.base_url!r}")
        if not self.model:
            raise ValueError("model must be a non-empty model name")
        if not 0 <= self.top_logprobs <= MAX_TOP_LOGPROBS:
            raise ValueError(f"top_logprobs must be between 0 and {MAX_TOP_LOGPROBS}, not {self.top_logprobs}")
        for name in ("max_tokens", "samples_per_prompt", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, not {getattr(self, name)}")
        for name in ("temperature", "eval_temperature"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 2:
                raise ValueError(f"{name} must be between 0 and 2, not {value}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, not {self.timeout_s}")

    def api_key(self) -> str:
        return api_key_from_env(self.api_key_env)

    def generation(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in GENERATION_KEYS}

    def temperature_for(self, prompt: Prompt) -> float:
        """The sampling temperature asked for `prompt`: held-out prompts may be asked greedily,
        so that the teacher is measured the way the students will be."""
        if prompt.split == "eval" and self.eval_temperature is not None:
            return self.eval_temperature
        return self.temperature


@dataclass
class CollectSummary:
    arm_dir: Path
    expected: int                 # records the settings ask for
    already_done: int             # found on disk at the start
    collected: int                # finished by this call
    failed: dict[str, str]        # record id -> last error, after all retries
    prompt_tokens: int            # of this call's records
    completion_tokens: int
    wall_seconds: float
    retries: dict[str, int]
    dropped_parts: int            # torn or orphaned tail parts cut off at the start
    top_logprobs: int = 0         # asked per token (0: none asked)
    with_logprobs: int = 0        # of this call's records, those whose answer carried top-k logprobs
    top_returned: int = 0         # the most alternatives any position of this call's answers gave

    @property
    def logprobs_missing(self) -> bool:
        """True when logprobs were asked and some of this call's records came back without them
        (or with fewer alternatives than asked)."""
        return bool(self.top_logprobs and self.collected
                    and (self.with_logprobs < self.collected or self.top_returned < self.top_logprobs))

    @property
    def complete(self) -> bool:
        return not self.failed and self.already_done + self.collected == self.expected

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.wall_seconds if self.wall_seconds > 0 else 0.0


def api_key_from_env(name: str) -> str:
    """The API key held by the environment variable `name`; a clear error when it is unset."""
    key = os.environ.get(name)
    if not key:
        raise KeyError(f"environment variable {name!r} (api_key_env) is not set or empty: put the API key there")
    return key


class CollectError(RuntimeError):
    """An error that retrying cannot fix (bad key, unknown model, bad request)."""


class LogprobsWarning(UserWarning):
    """An endpoint returned fewer logprobs than were asked (none, for one that ignores the field)."""


def logprobs_entry(asked: int, records: int, with_logprobs: int, top_returned: int) -> dict[str, int]:
    """What came back of the logprobs asked, for the manifest: `records_with_logprobs` of `records`
    carried top-k logprobs, with at most `top_returned` alternatives a position (of `asked`)."""
    return {"asked": asked, "records": records, "records_with_logprobs": with_logprobs, "top_returned": top_returned}


def arm_logprobs(arm_dir: Path, asked: int, records: int) -> dict[str, int]:
    """The arm's logprobs summary, counted from its index (so a resumed or repaired arm counts right)."""
    entries = topk_entries(arm_dir)
    return logprobs_entry(asked, records, len(entries), max((e.get("returned", e["k"]) for e in entries), default=0))


def logprobs_warning(settings: CollectSettings, records: int, with_logprobs: int, top_returned: int) -> str:
    """The sentence of `LogprobsWarning` for one run."""
    where = f"{settings.base_url}" + (f" ({settings.endpoint})" if settings.endpoint != "custom" else "")
    if with_logprobs == 0:
        return (f"{where} returned no logprobs: 0 of {records} records carry the top_logprobs={settings.top_logprobs} "
                "asked (the endpoint ignored the field). The arm holds text only: no top-k student can train on it.")
    parts = []
    if with_logprobs < records:
        parts.append(f"only {with_logprobs} of {records} records carry logprobs")
    if top_returned < settings.top_logprobs:
        parts.append(f"at most {top_returned} alternatives a position came back")
    return f"{where} returned fewer logprobs than asked (top_logprobs={settings.top_logprobs}): " + "; ".join(parts) + "."


def request_seed(seed: int, rid: str) -> int:
    """A per-record sampling seed, stable across reruns."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{rid}".encode()).digest()[:4], "little") & 0x7FFFFFFF


def jobs_for(prompts: Iterable[Prompt], samples_per_prompt: int) -> list[tuple[Prompt, int]]:
    return [(p, s) for p in prompts for s in range(samples_per_prompt)]


def to_topk(content: list[Any] | None, token_map: TokenMap | None, k: int) -> TopK | None:
    """Turn the API's `logprobs.content` into id arrays (padded with -1 / -inf to k); None when
    the answer carried none (no `logprobs`, or an empty `content`)."""
    if not content or k == 0:
        return None
    to_id = (lambda raw, text: -1) if token_map is None else token_map.to_id
    tokens = len(content)
    token_ids, token_lps = [0] * tokens, [0.0] * tokens
    top_ids = [[-1] * k for _ in range(tokens)]
    top_lps = [[float("-inf")] * k for _ in range(tokens)]
    for t, item in enumerate(content):
        token_ids[t] = to_id(item.bytes, item.token)
        token_lps[t] = item.logprob
        for j, alt in enumerate((item.top_logprobs or [])[:k]):
            top_ids[t][j] = to_id(alt.bytes, alt.token)
            top_lps[t][j] = alt.logprob
    return TopK(token_ids, token_lps, top_ids, top_lps)


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


def make_client(base_url: str, api_key: str, timeout_s: float) -> openai.AsyncOpenAI:
    """The official async client; retries are ours (max_retries=0) so they can be counted."""
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key,
        max_retries=0,
        timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
    )


async def collect_async(
    prompts: list[Prompt],
    arm_dir: Path,
    settings: CollectSettings,
    tokenizer=None,
    bill: Callable[[int, int], float] | None = None,
    progress: bool = True,
    description: str = "collect",
    on_change: str = "error",
    run_info: dict[str, Any] | None = None,
) -> CollectSummary:
    """Collect `samples_per_prompt` completions of every prompt into `arm_dir`.

    Only records missing from `arm_dir` are requested. `tokenizer` (the teacher's) maps
    the returned token bytes to ids; `bill(prompt_tokens, completion_tokens)` prices the
    run so far for the progress bar. `run_info` (e.g. the serving device) is kept in
    the manifest's entry for this run.
    """
    arm_dir = Path(arm_dir)
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        raise ValueError("prompts hold duplicate ids")
    check_or_reset(arm_dir, settings, on_change)
    start, started = time.perf_counter(), time.time()
    writer = ArmWriter(arm_dir)
    write_manifest(arm_dir, settings, prompts)
    jobs = [(p, s) for p, s in jobs_for(prompts, settings.samples_per_prompt) if record_id(p.id, s) not in writer.done_ids]
    already = len(jobs_for(prompts, settings.samples_per_prompt)) - len(jobs)
    token_map = TokenMap(tokenizer) if tokenizer is not None and settings.top_logprobs else None
    client = make_client(settings.base_url, settings.api_key(), settings.timeout_s)
    stats = RetryStats()
    totals = {"prompt": 0, "completion": 0, "records": 0, "with_logprobs": 0, "top_returned": 0}
    failed: dict[str, str] = {}
    queue = list(reversed(jobs))
    bar = tqdm(total=already + len(jobs), initial=already, desc=description, unit="rec", disable=not progress)

    async def one(prompt: Prompt, sample: int, rng: random.Random) -> None:
        rid = record_id(prompt.id, sample)
        kwargs: dict[str, Any] = dict(
            model=settings.model,
            messages=[dict(m) for m in prompt.messages],
            max_tokens=settings.max_tokens,
            temperature=settings.temperature_for(prompt),
            top_p=settings.top_p,
            seed=request_seed(settings.seed, rid),
        )
        if settings.top_logprobs:
            kwargs.update(logprobs=True, top_logprobs=settings.top_logprobs)
        sent = time.perf_counter()
        response = await with_retries(lambda: client.chat.completions.create(**kwargs), settings.retry, rng, stats)
        latency = time.perf_counter() - sent
        choice = response.choices[0]
        usage = response.usage
        record = {
            "id": rid,
            "prompt_id": prompt.id,
            "sample": sample,
            "family": prompt.family,
            "split": prompt.split,
            "messages": [dict(m) for m in prompt.messages],
            "completion": choice.message.content or "",
            "finish_reason": choice.finish_reason,
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
            "gold": None if prompt.gold is None else list(prompt.gold),
            "model": response.model,
            "base_url": settings.base_url,
            "latency_s": round(latency, 4),
            "created": response.created or int(time.time()),
            "finished_at": time.time(),
            "request_seed": kwargs["seed"],
        }
        content = choice.logprobs.content if choice.logprobs is not None else None
        topk = to_topk(content, token_map, settings.top_logprobs)
        writer.append(record, topk)
        totals["prompt"] += record["prompt_tokens"]
        totals["completion"] += record["completion_tokens"]
        totals["records"] += 1
        if topk is not None and topk.returned:
            totals["with_logprobs"] += 1
            totals["top_returned"] = max(totals["top_returned"], topk.returned)
        elapsed = time.perf_counter() - start
        postfix = {"tok/s": f"{totals['completion'] / elapsed:.1f}"}
        if bill is not None:
            postfix["spent"] = f"${bill(totals['prompt'], totals['completion']):.4f}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(1)

    async def worker(number: int) -> None:
        rng = random.Random(f"{settings.seed}:worker:{number}")
        while queue:
            prompt, sample = queue.pop()
            try:
                await one(prompt, sample, rng)
            except openai.OpenAIError as error:
                if isinstance(error, openai.APIStatusError) and error.status_code < 500 and error.status_code not in (408, 409, 429):
                    raise CollectError(
                        f"{settings.base_url} refused the request for {record_id(prompt.id, sample)!r} "
                        f"with HTTP {error.status_code}: {error.message} (model={settings.model!r}, key from ${settings.api_key_env})"
                    ) from error
                failed[record_id(prompt.id, sample)] = f"{type(error).__name__}: {error}"

    tasks = [asyncio.create_task(worker(n)) for n in range(min(settings.concurrency, len(jobs)))]
    try:
        if tasks:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()
    finally:
        bar.close()
        writer.close()
        await client.close()
        run = {"started": started, "wall_seconds": round(time.perf_counter() - start, 3),
               "collected": totals["records"], "prompt_tokens": totals["prompt"],
               "completion_tokens": totals["completion"], "retries": dict(stats.retries), "failed": len(failed),
               "logprobs": logprobs_entry(settings.top_logprobs, totals["records"], totals["with_logprobs"],
                                          totals["top_returned"]),
               **(run_info or {})}
        write_manifest(arm_dir, settings, prompts, run)
    summary = CollectSummary(
        arm_dir=arm_dir,
        expected=already + len(jobs),
        already_done=already,
        collected=len(jobs) - len(failed),
        failed=failed,
        prompt_tokens=totals["prompt"],
        completion_tokens=totals["completion"],
        wall_seconds=time.perf_counter() - start,
        retries=dict(stats.retries),
        dropped_parts=writer.dropped,
        top_logprobs=settings.top_logprobs,
        with_logprobs=totals["with_logprobs"],
        top_returned=totals["top_returned"],
    )
    if summary.logprobs_missing:
        warnings.warn(logprobs_warning(settings, summary.collected, summary.with_logprobs, summary.top_returned),
                      LogprobsWarning)
    return summary


def collect(prompts: list[Prompt], arm_dir: Path, settings: CollectSettings, **kwargs) -> CollectSummary:
    """Synchronous `collect_async` (works in scripts and notebooks alike)."""
    return run_sync(collect_async(prompts, arm_dir, settings, **kwargs))
