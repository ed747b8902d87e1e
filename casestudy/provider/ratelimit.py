"""Per-account sliding-window limits on requests and tokens per minute (in memory)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

WINDOW_S = 60.0


@dataclass
class Charge:
    """One admitted request; `tokens` is corrected from the estimate once it is answered."""
    at: float
    tokens: int


@dataclass(frozen=True)
class Refusal:
    limit: str          # "requests" or "tokens"
    retry_after_s: int
    message: str


class RateLimiter:
    """Admits a request when the last minute's requests and tokens leave room for it.

    Tokens are charged at admission as prompt tokens plus `max_tokens * n` (the most the
    request can cost, as the hosted API does) and settled to the real usage afterwards.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._charges: dict[int, deque[Charge]] = {}
        self._lock = threading.Lock()

    def _window(self, account_id: int, now: float) -> deque[Charge]:
        charges = self._charges.setdefault(account_id, deque())
        while charges and charges[0].at <= now - WINDOW_S:
            charges.popleft()
        return charges

    def admit(self, account_id: int, rpm: int, tpm: int, tokens: int) -> Charge | Refusal:
        with self._lock:
            now = self.clock()
            charges = self._window(account_id, now)
            if len(charges) >= rpm:
                wait = charges[len(charges) - rpm].at + WINDOW_S - now
                return Refusal("requests", max(1, math.ceil(wait)),
                               f"Rate limit reached: {rpm} requests per minute. Retry after {max(1, math.ceil(wait))} s.")
            if tokens > tpm:
                return Refusal("tokens", math.ceil(WINDOW_S),
                               f"Request too large: it may use {tokens} tokens, above the limit of {tpm} tokens per minute. Lower max_tokens or n.")
            used = sum(c.tokens for c in charges)
            if used + tokens > tpm:
                # Wait until enough old charges leave the window.
                freed, wait = used, WINDOW_S
                for charge in charges:
                    freed -= charge.tokens
                    if freed + tokens <= tpm:
                        wait = charge.at + WINDOW_S - now
                        break
                wait_s = max(1, math.ceil(wait))
                return Refusal("tokens", wait_s,
                               f"Rate limit reached: {tpm} tokens per minute ({used} used, {tokens} requested). Retry after {wait_s} s.")
            charge = Charge(now, tokens)
            charges.append(charge)
            return charge

    def settle(self, charge: Charge, tokens: int) -> None:
        with self._lock:
            charge.tokens = tokens
