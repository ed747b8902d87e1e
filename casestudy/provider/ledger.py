"""The request ledger: one SQLite row per request, answered or refused.

WAL mode with `synchronous=FULL`: a row is on disk before its response is sent, so no
row is lost when the server stops or crashes. Writes are serialised by a lock.

Every string a client sent is stored bounded (`Ledger.write`): a request whose prompt was
tokenized and charged keeps its prompt whole (message contents and tool calls: what the
model read and the account paid for) and every other string cut to `FIELD_KEEP_CHARS`
(names, `refusal`, ids, `model`); a request refused before that keeps about
`BODY_KEEP_CHARS` of its messages; parameters, error messages and raw bodies keep about
`BODY_KEEP_CHARS` in every row.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from casestudy.provider.private import private_db_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,            -- unix time the request arrived
    endpoint TEXT NOT NULL,
    account_id INTEGER,            -- NULL when the key was missing or unknown
    account_name TEXT,
    model TEXT,
    messages TEXT,                 -- JSON list, as sent
    params TEXT,                   -- JSON object: every other request field
    completions TEXT,              -- JSON list of the n completion texts
    finish_reasons TEXT,           -- JSON list
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    batch_rows INTEGER,            -- rows in the batched generate that answered it
    generate_ms REAL,              -- wall time of that generate call
    latency_ms REAL NOT NULL,
    status INTEGER NOT NULL,       -- HTTP status sent
    error_code TEXT,
    error_message TEXT,
    body TEXT                      -- raw body when it could not be parsed (truncated)
)
"""

JSON_COLUMNS = ("messages", "params", "completions", "finish_reasons")
BODY_KEEP_CHARS = 4000     # what a row keeps of a body, parameters, error message (a refused one: messages)
FIELD_KEEP_CHARS = 256     # what a row keeps of any other string the model did not read (model, name, ids)
PROMPT_PATHS = frozenset({("*", "content"), ("*", "tool_calls", "*", "function")})  # in `messages`
TRUNCATED = "…[truncated: {} chars]"


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(0, limit)] + TRUNCATED.format(len(text))


def cut_strings(value, limit: int, keep: frozenset = frozenset(), path: tuple = ()):
    """`value` (JSON-like) with every string, keys included, cut to `limit`, except what lies
    at a path in `keep` (keys, with "*" for any list item)."""
    if path in keep:
        return value
    if isinstance(value, str):
        return cut(value, limit)
    if isinstance(value, dict):
        return {cut(str(key), limit): cut_strings(item, limit, keep, path + (key,)) for key, item in value.items()}
    if isinstance(value, list):
        return [cut_strings(item, limit, keep, path + ("*",)) for item in value]
    return value


def clip_strings(value, budget: int):
    """`value` (JSON-like) with its strings cut so that their total length stays near `budget`.

    Each string keeps at most its share of the budget and says how long it was; a list
    keeps its first items until the budget is spent, then a note of how many it dropped.
    """
    if isinstance(value, str):
        return cut(value, budget)
    if isinstance(value, dict):
        share = max(16, budget // max(1, len(value)))
        return {cut(str(key), share): clip_strings(item, share) for key, item in list(value.items())[:64]}
    if isinstance(value, list):
        kept, left = [], budget
        for i, item in enumerate(value):
            if left <= 0:
                kept.append(f"…[{len(value) - i} more items not stored]")
                break
            clipped = clip_strings(item, left)
            kept.append(clipped)
            left -= len(json.dumps(clipped, ensure_ascii=False))
        return kept
    return value


@dataclass
class LedgerRow:
    time: float
    endpoint: str
    status: int = 0
    latency_ms: float = 0.0
    account_id: int | None = None
    account_name: str | None = None
    model: str | None = None
    messages: list | None = None
    params: dict = field(default_factory=dict)
    completions: list | None = None
    finish_reasons: list | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    batch_rows: int | None = None
    generate_ms: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    body: str | None = None


class Ledger:
    def __init__(self, db_path: str | Path):
        path = private_db_file(db_path)  # prompts and completions: owner only (0600)
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(SCHEMA)
        self._add_missing_columns()
        self._conn.commit()
        self._lock = threading.Lock()

    def _add_missing_columns(self) -> None:
        """Ledgers written by an older version gain the newer columns (NULL in old rows)."""
        have = {info[1] for info in self._conn.execute("PRAGMA table_info(requests)")}
        for name in LedgerRow.__dataclass_fields__:
            if name not in have:
                self._conn.execute(f"ALTER TABLE requests ADD COLUMN {name}")

    def write(self, row: LedgerRow) -> None:
        values = dict(row.__dict__)
        if values["messages"] is not None:
            values["messages"] = (clip_strings(values["messages"], BODY_KEEP_CHARS) if row.prompt_tokens is None
                                  else cut_strings(values["messages"], FIELD_KEEP_CHARS, PROMPT_PATHS))
        values["params"] = clip_strings(values["params"] or {}, BODY_KEEP_CHARS)
        for name, limit in (("model", FIELD_KEEP_CHARS), ("account_name", FIELD_KEEP_CHARS),
                            ("error_message", BODY_KEEP_CHARS), ("body", BODY_KEEP_CHARS)):
            if values[name] is not None:
                values[name] = cut(values[name], limit)
        for name in JSON_COLUMNS:
            if values[name] is not None:
                values[name] = json.dumps(values[name], ensure_ascii=False)
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._lock:
            self._conn.execute(f"INSERT INTO requests ({columns}) VALUES ({marks})", tuple(values.values()))
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def read_ledger(path: str | Path) -> pd.DataFrame:
    """The whole ledger as a DataFrame; JSON columns decoded, `time` as UTC timestamps."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ledger at {path}")
    conn = sqlite3.connect(path, timeout=30)
    try:
        frame = pd.read_sql_query("SELECT * FROM requests ORDER BY id", conn)
    finally:
        conn.close()
    for name in JSON_COLUMNS:
        frame[name] = frame[name].map(lambda text: json.loads(text) if isinstance(text, str) else None)
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame
