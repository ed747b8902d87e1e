"""The provider's secrets and private files.

- Files that hold secrets or customers' data (the ledger, the accounts database, a
  settings file with the watermark key) are created readable by their owner only
  (mode 0600); an existing one is narrowed to 0600. SQLite creates a database's `-wal`
  and `-shm` files with the database file's mode.
- The watermark key is read from an environment variable or a file, never from the
  command line, where any user of the machine sees it (`ps`, /proc/<pid>/cmdline).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

WATERMARK_KEY_ENV = "CASESTUDY_WATERMARK_KEY"
PRIVATE_MODE = 0o600


def private_db_file(path: str | Path) -> Path:
    """Make sure `path` exists with mode 0600 (created empty if missing; SQLite fills it).

    An existing file is never opened here, only chmod-ed: closing any descriptor of a
    SQLite file drops every POSIX lock this process holds on it, under the feet of its
    open connections ("disk I/O error", or worse).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_MODE))
    except FileExistsError:
        pass
    for one in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        try:
            if stat.S_IMODE(one.stat().st_mode) != PRIVATE_MODE:
                one.chmod(PRIVATE_MODE)  # left wider by an older version
        except (FileNotFoundError, PermissionError):  # absent, or someone else's file: leave it
            pass
    return path


def write_private_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path`, readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    path.chmod(PRIVATE_MODE)
    return path


def parse_key(text: str, source: str) -> int:
    """A watermark key (a non-negative integer) from text, with an error naming where it came from."""
    value = text.strip()
    try:
        key = int(value, 0)
    except ValueError:
        raise ValueError(f"the watermark key in {source} is not an integer") from None  # never echo a secret
    if key < 0:
        raise ValueError(f"the watermark key in {source} must be >= 0")
    return key


def watermark_key_from(key_file: str | Path | None = None, environ=os.environ) -> int | None:
    """The watermark key from `key_file` if given, else from $CASESTUDY_WATERMARK_KEY, else None."""
    if key_file is not None:
        path = Path(key_file)
        if not path.is_file():
            raise FileNotFoundError(f"no watermark key file at {path}")
        return parse_key(path.read_text(), str(path))
    if environ.get(WATERMARK_KEY_ENV):
        return parse_key(environ[WATERMARK_KEY_ENV], f"${WATERMARK_KEY_ENV}")
    return None
