"""Retries for API calls: exponential back-off with full jitter, honouring Retry-After.

Retried: 429 (rate limited), 408/409, 5xx, timeouts and connection errors, as the
official client does. Any other error (a bad key, an unknown model, a bad request) is
raised at once: retrying would not help.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Awaitable, Callable, TypeVar

import openai

T = TypeVar("T")

RETRIED_STATUS = {408, 409, 429}


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 8          # attempts after the first one
    base_s: float = 0.5           # back-off before the first retry (upper bound of its jitter)
    max_backoff_s: float = 30.0   # cap on one back-off
    max_retry_after_s: float = 120.0  # cap on a server's Retry-After

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, not {self.max_retries}")
        if self.base_s <= 0 or self.max_backoff_s < self.base_s:
            raise ValueError(f"need 0 < base_s <= max_backoff_s, got {self.base_s} and {self.max_backoff_s}")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return rng.uniform(0.0, min(self.max_backoff_s, self.base_s * 2**attempt))


@dataclass
class RetryStats:
    """What went wrong and was retried, by kind ("429", "500", "timeout", ...)."""

    retries: Counter = field(default_factory=Counter)
    waited_s: float = 0.0


def retry_after_seconds(headers) -> float | None:
    """The wait a response asks for: `retry-after-ms`, or `retry-after` in seconds or as an HTTP date."""
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def retry_kind(error: Exception) -> str | None:
    """A short label when `error` is worth retrying, else None."""
    if isinstance(error, openai.APITimeoutError):
        return "timeout"
    if isinstance(error, openai.APIConnectionError):
        return "connection"
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        if status in RETRIED_STATUS or status >= 500:
            return str(status)
    return None


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    rng: random.Random,
    stats: RetryStats | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Await `call()`, retrying transient failures; the last failure is raised."""
    for attempt in range(policy.max_retries + 1):
        try:
            return await call()
        except openai.OpenAIError as error:
            kind = retry_kind(error)
            if kind is None or attempt == policy.max_retries:
                raise
            asked = retry_after_seconds(getattr(getattr(error, "response", None), "headers", None))
            if asked is not None:
                delay = min(asked, policy.max_retry_after_s) + rng.uniform(0.0, policy.base_s / 4)
            else:
                delay = policy.backoff(attempt, rng)
            if stats is not None:
                stats.retries[kind] += 1
                stats.waited_s += delay
            await sleep(delay)
    raise AssertionError("unreachable")
