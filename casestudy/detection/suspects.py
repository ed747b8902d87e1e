"""Query a suspect model as a customer would: serve it behind the same API, no watermark."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from casestudy.aio import run_sync
from casestudy.provider.server import running_server
from casestudy.provider.settings import ProviderSettings


def suspect_settings(model_dir: Path, workdir: Path, name: str, device: str = "auto",
                     system_prompt: str = "") -> ProviderSettings:
    """A deployment of `model_dir` with no watermark, its own accounts and ledger in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    return ProviderSettings(
        model_source=str(model_dir), model_name=name, device=device, watermark_enabled=False,
        system_prompt=system_prompt, accounts_db=str(workdir / f"{name}-accounts.sqlite"),
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
