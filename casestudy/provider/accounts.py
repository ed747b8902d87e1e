"""API accounts: one row per customer, the key stored only as its SHA-256 hash.

Keys are 256-bit random strings, so a plain SHA-256 (no salt, no slow hash) is enough
to make a stolen database useless without letting the server spend time per request.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from casestudy.provider.private import private_db_file

KEY_PREFIX = "sk-cs-"

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    rpm INTEGER,            -- requests per minute; NULL: the deployment's default
    tpm INTEGER,            -- tokens per minute; NULL: the deployment's default
    created REAL NOT NULL,
    blocked REAL,           -- unix time the provider blocked it; NULL: not blocked
    blocked_reason TEXT     -- why, as the account's requests are then told (HTTP 403)
)
"""
ADDED_COLUMNS = {"blocked": "REAL", "blocked_reason": "TEXT"}  # to databases made before blocking existed


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    rpm: int | None
    tpm: int | None
    blocked_reason: str | None = None


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def connect(db_path: str | Path) -> sqlite3.Connection:
    """Open (creating it mode 0600 if missing) the accounts database."""
    path = private_db_file(db_path)
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(SCHEMA)
    have = {row[1] for row in conn.execute("PRAGMA table_info(accounts)")}
    for column, kind in ADDED_COLUMNS.items():
        if column not in have:
            conn.execute(f"ALTER TABLE accounts ADD COLUMN {column} {kind}")
    return conn


def create_account(db_path: str | Path, name: str, rpm: int | None = None, tpm: int | None = None) -> str:
    """Create an account and return its API key (shown once; only its hash is stored)."""
    for label, value in (("rpm", rpm), ("tpm", tpm)):
        if value is not None and value < 1:
            raise ValueError(f"{label} must be >= 1 or None, not {value!r}")
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    with connect(db_path) as conn:
        try:
            conn.execute(
                "INSERT INTO accounts (name, key_hash, rpm, tpm, created) VALUES (?, ?, ?, ?, ?)",
                (name, hash_key(api_key), rpm, tpm, time.time()),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"an account named {name!r} already exists") from None
    conn.close()
    return api_key


def create_free_account(db_path: str | Path, name: str, **limits) -> tuple[str, str]:
    """Create an account named `name` (or `name-2`, `name-3`... when taken); return (name, key)."""
    for number in range(1, 1000):
        candidate = name if number == 1 else f"{name}-{number}"
        try:
            return candidate, create_account(db_path, candidate, **limits)
        except ValueError as error:
            if "already exists" not in str(error):
                raise
    raise RuntimeError(f"could not create an account named like {name!r} in {db_path}")


def find_account(db_path: str | Path, api_key: str) -> Account | None:
    """The account owning `api_key`, or None."""
    conn = connect(db_path)
    try:
        row = conn.execute(
            "SELECT id, name, rpm, tpm, blocked_reason FROM accounts WHERE key_hash = ?", (hash_key(api_key),)
        ).fetchone()
    finally:
        conn.close()
    return Account(*row) if row else None


def block_account(db_path: str | Path, name: str, reason: str) -> bool:
    """Block the account `name`: its requests are refused from now on (HTTP 403, saying `reason`).
    False when it was blocked already (the first reason stays); a clear error when there is no such account."""
    if not reason.strip():
        raise ValueError("a block needs a reason: the account is told it")
    with connect(db_path) as conn:
        if conn.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone() is None:
            raise ValueError(f"no account named {name!r}")
        changed = conn.execute("UPDATE accounts SET blocked = ?, blocked_reason = ? WHERE name = ? AND blocked IS NULL",
                               (time.time(), reason.strip(), name)).rowcount
    conn.close()
    return bool(changed)


def blocked_accounts(db_path: str | Path) -> dict[str, tuple[float, str]]:
    """Every blocked account: name -> (when, why)."""
    conn = connect(db_path)
    try:
        rows = conn.execute("SELECT name, blocked, blocked_reason FROM accounts WHERE blocked IS NOT NULL "
                            "ORDER BY blocked").fetchall()
    finally:
        conn.close()
    return {name: (when, why) for name, when, why in rows}
