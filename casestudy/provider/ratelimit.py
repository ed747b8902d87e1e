"""Per-account sliding-window limits on requests and tokens per minute, kept in SQLite.

Every authenticated request is counted the moment its key is known, before the server
reads, parses or tokenizes its body, whether it is answered or refused later: a key
holder cannot make the server work (or write the ledger) faster than `rpm` allows.
Tokens are charged once the prompt is tokenized: prompt tokens plus `max_tokens * n`
(the most the request can cost, as the hosted API does), settled to the real usage
when it is answered.

The charges live in a table of the accounts database, so a restarted server keeps the
last minute's limits, and servers that share an accounts database share them. Times
are wall-clock (`time.time`), which survives a restart.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from casestudy.provider.private import private_db_file

WINDOW_S = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_charges (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    at REAL NOT NULL,              -- unix time the request was counted
    tokens INTEGER NOT NULL        -- estimated on admission, then the real usage
);
CREATE INDEX IF NOT EXISTS rate_charges_account ON rate_charges (account_id, at);
CREATE INDEX IF NOT EXISTS rate_charges_at ON rate_charges (at);
"""


@dataclass
class Charge:
    """One counted request; `tokens` is its token charge (0 until its prompt is known)."""
    id: int
    account_id: int
    at: float
    tokens: int


@dataclass(frozen=True)
class Refusal:
    limit: str          # "requests" or "tokens"
    retry_after_s: int
    message: str


@dataclass(frozen=True)
class LimitState:
    """What the `x-ratelimit-*` headers report: limits, what is left, when it is all free again."""
    rpm: int
    tpm: int
    remaining_requests: int
    remaining_tokens: int
    reset_requests_s: float
    reset_tokens_s: float

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(self.rpm),
            "x-ratelimit-limit-tokens": str(self.tpm),
            "x-ratelimit-remaining-requests": str(self.remaining_requests),
            "x-ratelimit-remaining-tokens": str(self.remaining_tokens),
            "x-ratelimit-reset-requests": go_duration(self.reset_requests_s),
            "x-ratelimit-reset-tokens": go_duration(self.reset_tokens_s),
        }


def go_duration(seconds: float) -> str:
    """A duration as OpenAI's headers write it: `0s`, `120ms`, `8.64s`, `1m0s`."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    minutes, rest = divmod(round(seconds, 3), 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


class RateLimiter:
    """Sliding 60-second windows per account over a SQLite table (`:memory:` by default)."""

    def __init__(self, db_path: str | Path = ":memory:", clock=time.time):
        self.clock = clock
        if str(db_path) != ":memory:":
            private_db_file(db_path)
        self._conn = sqlite3.connect(str(db_path), timeout=30, check_same_thread=False, isolation_level=None)
        if str(db_path) != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _transaction(self):
        return _Immediate(self._conn, self._lock)

    def _window(self, account_id: int, now: float) -> list[tuple[int, float, int]]:
        return self._conn.execute(
            "SELECT id, at, tokens FROM rate_charges WHERE account_id = ? AND at > ? ORDER BY at, id",
            (account_id, now - WINDOW_S)).fetchall()

    def count_request(self, account_id: int, rpm: int) -> Charge | Refusal:
        """Count one request against `rpm` (with no tokens yet), or refuse it."""
        with self._transaction():
            now = self.clock()
            self._conn.execute("DELETE FROM rate_charges WHERE at <= ?", (now - WINDOW_S,))
            charges = self._window(account_id, now)
            if len(charges) >= rpm:
                wait_s = max(1, math.ceil(charges[len(charges) - rpm][1] + WINDOW_S - now))
                return Refusal("requests", wait_s,
                               f"Rate limit reached: {rpm} requests per minute. Retry after {wait_s} s.")
            cursor = self._conn.execute("INSERT INTO rate_charges (account_id, at, tokens) VALUES (?, ?, 0)",
                                        (account_id, now))
            return Charge(cursor.lastrowid, account_id, now, 0)

    def charge_tokens(self, charge: Charge, tpm: int, tokens: int) -> Refusal | None:
        """Charge `tokens` to a counted request, or refuse when the window has no room.

        A request above `tpm` on its own gets a refusal too; the server answers that one
        with a 400 before asking (it can never be admitted).
        """
        with self._transaction():
            now = self.clock()
            others = [c for c in self._window(charge.account_id, now) if c[0] != charge.id]
            used = sum(c[2] for c in others)
            if tokens > tpm or used + tokens > tpm:
                wait = WINDOW_S
                freed = used
                for _, at, spent in others:  # until enough old charges leave the window
                    freed -= spent
                    if freed + tokens <= tpm:
                        wait = at + WINDOW_S - now
                        break
                wait_s = max(1, math.ceil(wait))
                return Refusal("tokens", wait_s,
                               f"Rate limit reached: {tpm} tokens per minute ({used} used, {tokens} requested). "
                               f"Retry after {wait_s} s.")
            self._conn.execute("UPDATE rate_charges SET tokens = ? WHERE id = ?", (tokens, charge.id))
            charge.tokens = tokens
            return None

    def admit(self, account_id: int, rpm: int, tpm: int, tokens: int) -> Charge | Refusal:
        """Count a request and charge its tokens at once (the request stays counted if its tokens are refused)."""
        charge = self.count_request(account_id, rpm)
        if isinstance(charge, Refusal):
            return charge
        return self.charge_tokens(charge, tpm, tokens) or charge

    def settle(self, charge: Charge, tokens: int) -> None:
        """Replace a charge's estimate by the tokens the request really used."""
        with self._transaction():
            self._conn.execute("UPDATE rate_charges SET tokens = ? WHERE id = ?", (tokens, charge.id))
            charge.tokens = tokens

    def state(self, account_id: int, rpm: int, tpm: int) -> LimitState:
        with self._lock:
            now = self.clock()
            charges = self._window(account_id, now)
        spent = [c for c in charges if c[2] > 0]
        return LimitState(
            rpm=rpm, tpm=tpm,
            remaining_requests=max(0, rpm - len(charges)),
            remaining_tokens=max(0, tpm - sum(c[2] for c in charges)),
            reset_requests_s=max(0.0, charges[-1][1] + WINDOW_S - now) if charges else 0.0,
            reset_tokens_s=max(0.0, max(c[1] for c in spent) + WINDOW_S - now) if spent else 0.0,
        )


class _Immediate:
    """`with`: the process's lock and a SQLite write transaction (other processes wait)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock):
        self.conn, self.lock = conn, lock

    def __enter__(self):
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, kind, error, trace):
        try:
            self.conn.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            self.lock.release()
        return False
