"""Simulated ordinary customers: a few accounts chatting with the provider's API during a collection.

This is a SIMULATION, not real users. Its job is to make the provider's ledger look like
a real one, where a distiller's harvest sits among ordinary use: few requests per account,
varied and conversational (follow-up turns that carry the earlier answer), irregular
timing with bursts and long pauses, varied lengths and temperatures, and logprobs only
rarely. Conversation pieces are in data/prompts/traffic.json.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import openai

from casestudy.distiller.collect.retry import RetryPolicy, with_retries
from casestudy.paths import DATA_DIR

TRAFFIC_FILE = DATA_DIR / "prompts" / "traffic.json"


@dataclass(frozen=True)
class TrafficSettings:
    mean_gap_s: float = 12.0          # mean pause between an account's conversations
    gap_sigma: float = 1.0            # log-normal spread of those pauses (bursts and lulls)
    follow_up_p: float = 0.5          # chance of one more turn after each answer
    max_turns: int = 3
    think_s: tuple[float, float] = (1.0, 6.0)  # reading/typing time before a follow-up
    max_tokens: tuple[int, ...] = (32, 48, 64, 96)
    logprobs_p: float = 0.03          # ordinary users rarely ask for logprobs
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mean_gap_s <= 0 or self.gap_sigma < 0:
            raise ValueError(f"mean_gap_s must be > 0 and gap_sigma >= 0, got {self.mean_gap_s}, {self.gap_sigma}")
        if not 0 <= self.follow_up_p <= 1 or not 0 <= self.logprobs_p <= 1:
            raise ValueError(f"follow_up_p and logprobs_p must be probabilities, got {self.follow_up_p}, {self.logprobs_p}")
        if self.max_turns < 1 or not self.max_tokens:
            raise ValueError(f"max_turns must be >= 1 and max_tokens non-empty, got {self.max_turns}, {self.max_tokens}")


@dataclass
class TrafficSummary:
    requests: Counter = field(default_factory=Counter)         # per account
    completion_tokens: Counter = field(default_factory=Counter)
    conversations: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)            # per error type

    def table(self) -> list[dict]:
        return [{"account": a, "conversations": self.conversations[a], "requests": self.requests[a],
                 "completion_tokens": self.completion_tokens[a]} for a in sorted(self.requests | self.conversations)]


def load_pieces(path: Path = TRAFFIC_FILE) -> tuple[list[str], list[str]]:
    """The openers and follow-up lines of the simulated conversations."""
    pieces = json.loads(Path(path).read_text(encoding="utf-8"))
    if not pieces.get("openers") or not pieces.get("follow_ups"):
        raise ValueError(f"{path} needs non-empty 'openers' and 'follow_ups' lists")
    return pieces["openers"], pieces["follow_ups"]


def lognormal_gap(rng: random.Random, mean: float, sigma: float) -> float:
    """A pause with the given mean: log-normal, so mostly short with occasional long lulls."""
    return rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)


async def sleep_or_stop(seconds: float, stop: asyncio.Event) -> bool:
    """Sleep, waking early when `stop` is set; True if it was set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
        return True
    except asyncio.TimeoutError:
        return False


async def one_customer(
    name: str, client: openai.AsyncOpenAI, model: str, settings: TrafficSettings, stop: asyncio.Event,
    summary: TrafficSummary, openers: list[str], follow_ups: list[str], rng: random.Random,
) -> None:
    """One account: conversations at irregular times until `stop` is set."""
    policy = RetryPolicy(max_retries=3, base_s=1.0)
    first_pause = rng.uniform(0, settings.mean_gap_s)  # customers do not all start at once
    if await sleep_or_stop(first_pause, stop):
        return
    while not stop.is_set():
        messages = [{"role": "user", "content": rng.choice(openers)}]
        summary.conversations[name] += 1
        for turn in range(settings.max_turns):
            kwargs = dict(model=model, messages=list(messages), max_tokens=rng.choice(settings.max_tokens),
                          temperature=round(rng.uniform(0.3, 1.0), 2))
            if rng.random() < settings.logprobs_p:
                kwargs.update(logprobs=True, top_logprobs=rng.randint(1, 5))
            try:
                response = await with_retries(lambda: client.chat.completions.create(**kwargs), policy, rng)
            except openai.OpenAIError as error:
                summary.errors[type(error).__name__] += 1
                break
            summary.requests[name] += 1
            summary.completion_tokens[name] += response.usage.completion_tokens if response.usage else 0
            messages.append({"role": "assistant", "content": response.choices[0].message.content or "..."})
            if turn + 1 == settings.max_turns or rng.random() >= settings.follow_up_p:
                break
            if await sleep_or_stop(rng.uniform(*settings.think_s), stop):
                return
            messages.append({"role": "user", "content": rng.choice(follow_ups)})
        if await sleep_or_stop(lognormal_gap(rng, settings.mean_gap_s, settings.gap_sigma), stop):
            return


async def simulate_traffic(
    base_url: str, model: str, api_keys: dict[str, str], stop: asyncio.Event,
    settings: TrafficSettings = TrafficSettings(), timeout_s: float = 300.0,
) -> TrafficSummary:
    """Run one simulated customer per (account name -> API key) until `stop` is set."""
    openers, follow_ups = load_pieces()
    summary = TrafficSummary()
    clients = {name: openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=timeout_s)
               for name, key in api_keys.items()}
    try:
        await asyncio.gather(*(
            one_customer(name, client, model, settings, stop, summary, openers, follow_ups,
                         random.Random(f"{settings.seed}:{name}"))
            for name, client in clients.items()
        ))
    finally:
        for client in clients.values():
            await client.close()
    return summary


async def run_until(coroutine, stop: asyncio.Event):
    """Await `coroutine` and set `stop` when it ends, however it ends."""
    try:
        return await coroutine
    finally:
        stop.set()


async def alongside(work, base_url: str, model: str, api_keys: dict[str, str], settings: TrafficSettings):
    """Await `work` while one simulated customer per API key uses the same endpoint; they
    stop when it ends. Returns (work's result, TrafficSummary or None without keys)."""
    stop = asyncio.Event()
    running = run_until(work, stop)
    if not api_keys:
        return await running, None
    result, customers = await asyncio.gather(running, simulate_traffic(base_url, model, api_keys, stop, settings))
    return result, customers
