"""The collector: ask an OpenAI-compatible API for completions and keep every one.

It uses the official `AsyncOpenAI` client against any `base_url` (the local provider,
vLLM, llama.cpp's server, a hosted API), with a bounded number of requests in flight,
retries with back-off (see `retry`), and `logprobs` with `top_logprobs=k`.
Each finished record is appended at once to the arm folder (see `dataset`), so a run
killed at any moment and restarted with the same settings collects only what is missing.

The settings are `settings.CollectSettings`; the manifest is written by `manifest`; what came back
of the logprobs asked is counted, and warned of (`LogprobsWarning`), by `logprobs`.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import httpx
import openai
from tqdm.auto import tqdm

from casestudy.aio import run_sync
from casestudy.distiller.collect.dataset import ArmWriter, record_id
from casestudy.distiller.collect.keyring import Account, KeyRing
from casestudy.distiller.collect.logprobs import LogprobsWarning, logprobs_entry, logprobs_warning, to_topk
from casestudy.distiller.collect.manifest import check_or_reset, write_manifest
from casestudy.distiller.collect.prompts import Prompt
from casestudy.distiller.collect.retry import RetryStats, with_retries
from casestudy.distiller.collect.settings import CollectSettings, api_key_from_env
from casestudy.distiller.collect.tokens import TokenMap


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
    accounts: list[dict] = field(default_factory=list)  # per account used: key variable, records, why blocked
    unasked: int = 0              # records never asked: every account was blocked first

    @property
    def blocked(self) -> list[str]:
        """The key variables of the accounts the provider blocked."""
        return [a["key_env"] for a in self.accounts if a["blocked"]]

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


class CollectError(RuntimeError):
    """An error that retrying cannot fix (bad key, unknown model, bad request)."""


def request_seed(seed: int, rid: str) -> int:
    """A per-record sampling seed, stable across reruns."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{rid}".encode()).digest()[:4], "little") & 0x7FFFFFFF


def jobs_for(prompts: Iterable[Prompt], samples_per_prompt: int) -> list[tuple[Prompt, int]]:
    return [(p, s) for p in prompts for s in range(samples_per_prompt)]


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
    for env in [*settings.key_envs(), *settings.spare_key_envs]:
        api_key_from_env(env)  # every account's key is there before anything is asked
    ring = KeyRing.open(settings.key_envs(), list(settings.spare_key_envs),
                        lambda env: make_client(settings.base_url, api_key_from_env(env), settings.timeout_s))
    stats = RetryStats()
    totals = {"prompt": 0, "completion": 0, "records": 0, "with_logprobs": 0, "top_returned": 0}
    failed: dict[str, str] = {}
    queue = list(reversed(jobs))
    bar = tqdm(total=already + len(jobs), initial=already, desc=description, unit="rec", disable=not progress)

    async def one(account: Account, prompt: Prompt, sample: int, rng: random.Random) -> None:
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
        response = await with_retries(lambda: account.client.chat.completions.create(**kwargs), settings.retry, rng,
                                      stats)
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
        account.records += 1
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
            account = ring.for_worker(number)
            if account is None:  # every account blocked: the collection stops with what it has
                return
            prompt, sample = queue.pop()
            try:
                await one(account, prompt, sample, rng)
            except openai.PermissionDeniedError as error:  # the provider blocked this account
                queue.append((prompt, sample))
                ring.retire(account, error.message)
            except openai.OpenAIError as error:
                if isinstance(error, openai.APIStatusError) and error.status_code < 500 and error.status_code not in (408, 409, 429):
                    raise CollectError(
                        f"{settings.base_url} refused the request for {record_id(prompt.id, sample)!r} "
                        f"with HTTP {error.status_code}: {error.message} (model={settings.model!r}, key from ${account.env})"
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
        await ring.close()
        run = {"started": started, "wall_seconds": round(time.perf_counter() - start, 3),
               "collected": totals["records"], "prompt_tokens": totals["prompt"],
               "completion_tokens": totals["completion"], "retries": dict(stats.retries), "failed": len(failed),
               "accounts": ring.summary(), "unasked": len(queue),
               "logprobs": logprobs_entry(settings.top_logprobs, totals["records"], totals["with_logprobs"],
                                          totals["top_returned"]),
               **(run_info or {})}
        write_manifest(arm_dir, settings, prompts, run)
    summary = CollectSummary(
        arm_dir=arm_dir,
        expected=already + len(jobs),
        already_done=already,
        collected=totals["records"],
        failed=failed,
        prompt_tokens=totals["prompt"],
        completion_tokens=totals["completion"],
        wall_seconds=time.perf_counter() - start,
        retries=dict(stats.retries),
        dropped_parts=writer.dropped,
        top_logprobs=settings.top_logprobs,
        with_logprobs=totals["with_logprobs"],
        top_returned=totals["top_returned"],
        accounts=ring.summary(),
        unasked=len(queue),
    )
    if summary.logprobs_missing:
        warnings.warn(logprobs_warning(settings, summary.collected, summary.with_logprobs, summary.top_returned),
                      LogprobsWarning)
    return summary


def collect(prompts: list[Prompt], arm_dir: Path, settings: CollectSettings, **kwargs) -> CollectSummary:
    """Synchronous `collect_async` (works in scripts and notebooks alike)."""
    return run_sync(collect_async(prompts, arm_dir, settings, **kwargs))
