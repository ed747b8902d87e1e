"""Issue 28, item 4's seam: the provider blocks an account; its requests get a clear 403 in OpenAI's
error format, ledgered under the account with the reason, while every other account is served."""

from __future__ import annotations

import sqlite3

import openai
import pytest

from casestudy.provider.accounts import block_account, blocked_accounts, connect, find_account
from casestudy.provider.ledger import read_ledger
from tests.provider.conftest import MODEL_NAME

HELLO = [{"role": "user", "content": "Name three rivers."}]


def ask(server, key: str):
    return server.client(key).chat.completions.create(model=MODEL_NAME, messages=HELLO, max_tokens=4)


def test_a_blocked_account_gets_403_with_the_reason_and_the_ledger_says_so(server):
    harvester, customer = server.create_account("block-harvester"), server.create_account("block-customer")
    assert ask(server, harvester).choices[0].message.content is not None
    assert block_account(server.settings.accounts_db, "block-harvester", "harvesting outputs (terms, section 2)")
    assert not block_account(server.settings.accounts_db, "block-harvester", "again")   # the first reason stays

    with pytest.raises(openai.PermissionDeniedError) as refused:
        ask(server, harvester)
    assert refused.value.status_code == 403 and refused.value.code == "account_blocked"
    assert "harvesting outputs (terms, section 2)" in refused.value.message
    assert ask(server, customer).choices[0].message.content is not None   # nobody else is touched

    ledger = read_ledger(server.settings.ledger_db)
    rows = ledger[ledger.account_name == "block-harvester"]
    assert list(rows.status) == [200, 403] and rows.error_code.iloc[-1] == "account_blocked"
    assert "harvesting outputs" in rows.error_message.iloc[-1]
    when, why = blocked_accounts(server.settings.accounts_db)["block-harvester"]
    assert why == "harvesting outputs (terms, section 2)" and when > 0


def test_blocking_names_a_missing_account_and_needs_a_reason(tmp_path):
    db = tmp_path / "accounts.sqlite"
    with pytest.raises(ValueError, match="no account named 'nobody'"):
        block_account(db, "nobody", "harvesting")
    with pytest.raises(ValueError, match="reason"):
        block_account(db, "nobody", " ")


def test_an_accounts_database_from_before_blocking_gains_the_columns(tmp_path):
    db = tmp_path / "accounts.sqlite"
    old = sqlite3.connect(db)
    old.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, key_hash TEXT NOT NULL "
                "UNIQUE, rpm INTEGER, tpm INTEGER, created REAL NOT NULL)")
    old.execute("INSERT INTO accounts (name, key_hash, rpm, tpm, created) VALUES ('old', 'h', NULL, NULL, 0)")
    old.commit()
    old.close()
    connect(db).close()
    assert block_account(db, "old", "harvesting") and list(blocked_accounts(db)) == ["old"]
    assert find_account(db, "not-a-key") is None
