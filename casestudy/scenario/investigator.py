"""The investigator: query a suspect model as a customer would, served behind the same API, no watermark.

The provider cannot open a suspect model; it asks it questions through the openai client,
from an account of its own, and keeps the answers (cached by the model's weights and the
questions, so a rerun does not start the server again).
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from casestudy.aio import run_sync
from casestudy.artifacts import fingerprint, write_json_atomic
from casestudy.provider.accounts import create_free_account
from casestudy.provider.server import running_server
from casestudy.provider.settings import ProviderSettings


# Rows a suspect deployment decodes at once, and questions the investigator keeps in flight:
# on 2 CPU cores (bf16) 200 questions take 34.6 s at 128 rows against 37.5 s at 64.
SUSPECT_BATCH = 128


def suspect_settings(model_dir: Path, workdir: Path, name: str, device: str = "auto",
                     system_prompt: str = "", precision: str = "auto") -> ProviderSettings:
    """A deployment of `model_dir` with no watermark, its own accounts and ledger in `workdir`.

    `precision` "auto" serves a distiller's student as its owner would (bf16 where the
    hardware has it, `casestudy.device.native_precision`); "" keeps the device's dtype, as
    the provider serves its teacher."""
    workdir.mkdir(parents=True, exist_ok=True)
    return ProviderSettings(
        model_source=str(model_dir), model_name=name, device=device, precision=precision, watermark_enabled=False,
        system_prompt=system_prompt, max_batch_size=SUSPECT_BATCH, accounts_db=str(workdir / f"{name}-accounts.sqlite"),
        ledger_db=str(workdir / f"{name}-ledger.sqlite"),
    )


async def _ask_all(client, model: str, conversations, max_tokens, temperature, seed, concurrency, desc):
    gate = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(conversations), desc=desc, leave=False)

    async def one(index: int, messages) -> str:
        async with gate:
            reply = await client.chat.completions.create(
                model=model, messages=messages, max_tokens=max_tokens, temperature=temperature,
                seed=seed + index)
            bar.update()
            return reply.choices[0].message.content or ""

    try:
        return await asyncio.gather(*(one(i, m) for i, m in enumerate(conversations)))
    finally:
        bar.close()
        await client.close()


def ask(server, api_key: str, model: str, conversations: Sequence[list[dict]], max_tokens: int,
        temperature: float = 1.0, seed: int = 0, concurrency: int = 32) -> list[str]:
    """Send every conversation to a running server through the openai client, concurrently
    (so that its dynamic batching answers them together); answers in the same order."""
    client = server.async_client(api_key, max_retries=5)
    return run_sync(_ask_all(client, model, list(conversations), max_tokens, temperature, seed, concurrency,
                             desc=f"querying {model}"))


def query_model(
    settings: ProviderSettings,
    conversations: Sequence[list[dict]],
    max_tokens: int,
    temperature: float = 1.0,
    seed: int = 0,
    concurrency: int = 32,
) -> list[str]:
    """Start the deployment, ask every conversation as a new customer, stop it."""
    with running_server(settings) as server:
        return ask(server, server.create_account("detective"), settings.model_name, conversations, max_tokens,
                   temperature, seed, concurrency)


def query_conversations(prompts: Sequence, n: int, seed: int = 0) -> list[list[dict]]:
    """`n` conversations for querying suspects: held-out prompts first, then training ones.

    The provider does not know which prompts the distiller used, so any prompt will do;
    held-out ones come first so that the test does not rest on memorised answers.
    """
    rng = random.Random(seed)
    held_out = [p for p in prompts if p.split == "eval"]
    train = [p for p in prompts if p.split != "eval"]
    rng.shuffle(held_out), rng.shuffle(train)
    chosen = (held_out + train)[:n]
    if len(chosen) < n:
        raise ValueError(f"asked for {n} queries but only {len(chosen)} prompts exist")
    return [[dict(m) for m in p.messages] for p in chosen]


@dataclass(frozen=True)
class QuerySet:
    """One batch of questions for a model, asked under the same generation settings."""
    conversations: list
    max_tokens: int
    temperature: float


def ask_model(
    name: str,
    model_dir: Path,
    query_sets: dict[str, QuerySet],
    out_dir: Path,
    seed: int,
    device: str = "auto",
    system_prompt: str = "",
    precision: str = "auto",
) -> dict[str, list[str]]:
    """Answers of one model, served as a black box, to each query set.

    Answers are cached per set under `<out_dir>/answers/<name>-<set>.json`, keyed by the
    model's weights, its precision and the questions; the server is started once, and only
    if some set has no fresh cached answers. `precision` as in `suspect_settings`.
    """
    weights = sorted(Path(model_dir).glob("*.safetensors"))
    answers, missing = {}, {}
    for label, queries in query_sets.items():
        key = fingerprint({**asdict(queries), "seed": seed, "system_prompt": system_prompt, "precision": precision},
                          weights)
        path = Path(out_dir) / "answers" / f"{name}-{label}.json"
        saved = json.loads(path.read_text()) if path.is_file() else {}
        if saved.get("fingerprint") == key:
            answers[label] = saved["answers"]
        else:
            missing[label] = (queries, key, path)
    if missing:
        settings = suspect_settings(Path(model_dir), Path(out_dir) / "servers", name, device, system_prompt, precision)
        with running_server(settings) as server:
            # a fresh account each time: keys are stored hashed, so an earlier run's key is gone
            _, api_key = create_free_account(settings.accounts_db, "provider-investigator")
            for label, (queries, key, path) in missing.items():
                answers[label] = ask(server, api_key, settings.model_name, queries.conversations,
                                     queries.max_tokens, queries.temperature, seed, settings.max_batch_size)
                write_json_atomic(path, {"fingerprint": key, "model_dir": str(model_dir), "answers": answers[label]})
    return {label: answers[label] for label in query_sets}
