"""Issue 15, items 7 and 9: the watermark key never on the command line, private files,
and command-line mistakes that end in one clear line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

import casestudy.provider.__main__ as cli
from casestudy.provider.accounts import create_account, find_account
from casestudy.provider.ledger import Ledger, LedgerRow
from casestudy.provider.private import WATERMARK_KEY_ENV, private_db_file, watermark_key_from
from casestudy.provider.ratelimit import RateLimiter, Refusal
from casestudy.provider.settings import ProviderSettings


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def served(monkeypatch):
    """Run `main(["serve", ...])` without serving: return the settings it would serve."""
    got = []
    monkeypatch.setattr(cli, "serve", lambda settings, parent_pid=None: got.append(settings))
    monkeypatch.delenv(WATERMARK_KEY_ENV, raising=False)
    return got


def test_watermark_key_on_the_command_line_is_refused(served, capsys):
    assert cli.main(["serve", "--watermark-key", "1234567"]) == 2
    err = capsys.readouterr().err
    assert "--watermark-key-file" in err and WATERMARK_KEY_ENV in err and "1234567" not in err
    assert err.count("\n") == 1 and not served


def test_watermark_key_from_a_file_or_the_environment(served, tmp_path, monkeypatch, capsys):
    key_file = tmp_path / "watermark.key"
    key_file.write_text("987654321\n")
    assert cli.main(["serve", "--watermark-key-file", str(key_file)]) == 0
    assert served[-1].watermark.key == 987654321
    monkeypatch.setenv(WATERMARK_KEY_ENV, "42")
    assert cli.main(["serve"]) == 0 and served[-1].watermark.key == 42
    assert cli.main(["serve", "--watermark-key-file", str(key_file)]) == 0 and served[-1].watermark.key == 987654321
    saved = ProviderSettings(watermark={"key": 7}).save(tmp_path / "s.json")
    monkeypatch.delenv(WATERMARK_KEY_ENV)
    assert cli.main(["serve", "--settings", str(saved)]) == 0 and served[-1].watermark.key == 7
    key_file.write_text("not a number 31337")
    assert cli.main(["serve", "--watermark-key-file", str(key_file)]) == 2
    err = capsys.readouterr().err
    assert "not an integer" in err and "31337" not in err  # the error never echoes a secret
    assert watermark_key_from(None, environ={}) is None


def test_databases_and_settings_are_private(tmp_path):
    old_umask = os.umask(0o022)  # the usual umask: new files 0644 unless we say otherwise
    try:
        ledger = Ledger(tmp_path / "ledger.sqlite")
        ledger.write(LedgerRow(time=1.0, endpoint="e", status=200))
        create_account(tmp_path / "accounts.sqlite", "bob")
        limiter = RateLimiter(tmp_path / "accounts.sqlite")
        limiter.admit(1, 10, 100, 5)
        saved = ProviderSettings().save(tmp_path / "settings.json")
        files = [p for p in tmp_path.iterdir()]
        assert {p.name for p in files} >= {"ledger.sqlite", "ledger.sqlite-wal", "accounts.sqlite", "settings.json"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        ledger.close()
        limiter.close()
        loose = tmp_path / "old.sqlite"
        loose.write_bytes(b"")
        loose.chmod(0o644)
        assert mode(private_db_file(loose)) == 0o600  # an older, wider file is narrowed
        assert mode(saved) == 0o600
    finally:
        os.umask(old_umask)


@pytest.mark.parametrize("args, words", [
    (["carol"], "already exists"),
    (["dave", "--rpm", "0"], "rpm must be >= 1"),
    (["erin", "--tpm", "-5"], "tpm must be >= 1"),
])
def test_create_account_mistakes_end_in_one_line(tmp_path, capsys, args, words):
    db = tmp_path / "accounts.sqlite"
    create_account(db, "carol")
    assert cli.main(["create-account", "--db", str(db), *args]) == 2
    out = capsys.readouterr()
    assert words in out.err and out.err.count("\n") == 1 and "Traceback" not in out.err and not out.out


def test_create_account_duplicate_from_a_shell(tmp_path):
    db = str(tmp_path / "accounts.sqlite")
    command = [sys.executable, "-m", "casestudy.provider", "create-account", "--db", db, "frank"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and first.stdout.startswith("sk-cs-")
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and again.stderr == "error: an account named 'frank' already exists\n"


def test_a_database_in_use_is_never_reopened_behind_sqlites_back(tmp_path):
    """`private_db_file` runs on every key lookup. Opening and closing a live SQLite file drops
    every POSIX lock this process holds on it; another process closing its connection then
    thinks it is the last one, checkpoints and resets the WAL under our connections, and
    every later query fails with "disk I/O error" (the server answered 500 for good)."""
    db = tmp_path / "accounts.sqlite"
    key = create_account(db, "gina")
    limiter = RateLimiter(db)
    other = subprocess.Popen([sys.executable, "-c", (
        "import sys; from casestudy.provider.accounts import create_account\n"
        "for i in range(60): create_account(sys.argv[1], f'other-{i}')"), str(db)])
    rounds = 0
    try:
        while other.poll() is None or rounds < 20:
            assert find_account(db, key).name == "gina"  # runs private_db_file
            assert not isinstance(limiter.admit(1, rpm=10**6, tpm=10**12, tokens=1), Refusal)
            rounds += 1
    finally:
        other.wait(timeout=120)
        limiter.close()
    assert other.returncode == 0
