"""Command line: `python -m casestudy.provider serve ...`, `... create-account ...` and `... block-account ...`."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from dataclasses import replace

from casestudy.provider.accounts import block_account, create_account
from casestudy.provider.private import WATERMARK_KEY_ENV, watermark_key_from
from casestudy.provider.server import serve
from casestudy.provider.settings import ProviderSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casestudy.provider")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("serve", help="serve the model behind an OpenAI-compatible API")
    run.add_argument("--settings", help="JSON file of ProviderSettings (other flags override it)")
    run.add_argument("--model", help="'embedded' or a save_pretrained folder")
    run.add_argument("--model-name", help="the name clients pass as `model`")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--allow-remote", action="store_true", help="allow a non-loopback host")
    run.add_argument("--no-watermark", action="store_true", help="serve without the watermark")
    run.add_argument("--watermark-key-file",
                     help=f"file holding the secret watermark key (default: ${WATERMARK_KEY_ENV}, then --settings)")
    run.add_argument("--watermark-key", help=argparse.SUPPRESS)  # refused: a secret in argv shows in `ps`
    run.add_argument("--system-prompt")
    run.add_argument("--accounts-db")
    run.add_argument("--ledger-db")
    run.add_argument("--parent-pid", type=int, help="stop when this process is gone")

    account = commands.add_parser("create-account", help="create an account and print its API key")
    account.add_argument("--db", required=True, help="the accounts database")
    account.add_argument("name")
    account.add_argument("--rpm", type=int)
    account.add_argument("--tpm", type=int)

    block = commands.add_parser("block-account", help="refuse an account's requests from now on (HTTP 403)")
    block.add_argument("--db", required=True, help="the accounts database")
    block.add_argument("name")
    block.add_argument("--reason", required=True, help="what the account's requests are told")

    args = parser.parse_args(argv)
    if args.command == "block-account":
        try:
            changed = block_account(args.db, args.name, args.reason)
        except (ValueError, OSError, sqlite3.Error) as error:
            return fail(error)
        print(f"{args.name}: {'blocked' if changed else 'already blocked'}")
        return 0
    if args.command == "create-account":
        try:
            key = create_account(args.db, args.name, rpm=args.rpm, tpm=args.tpm)
        except (ValueError, OSError, sqlite3.Error) as error:
            return fail(error)
        print(key)
        return 0

    if args.watermark_key is not None:
        return fail(f"--watermark-key puts the provider's secret on the command line, where every user of "
                    f"this machine can read it (ps). Put the key in a file readable only by you and pass "
                    f"--watermark-key-file FILE, or set ${WATERMARK_KEY_ENV}.")
    try:
        settings = ProviderSettings.load(args.settings) if args.settings else ProviderSettings()
        key = watermark_key_from(args.watermark_key_file)
    except (ValueError, OSError, TypeError) as error:
        return fail(error)
    overrides = {
        "model_source": args.model, "model_name": args.model_name, "host": args.host, "port": args.port,
        "system_prompt": args.system_prompt, "accounts_db": args.accounts_db, "ledger_db": args.ledger_db,
    }
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    if args.allow_remote:
        settings = replace(settings, allow_remote=True)
    if args.no_watermark:
        settings = replace(settings, watermark_enabled=False)
    if key is not None:
        settings = replace(settings, watermark=replace(settings.watermark, key=key))
    try:
        serve(settings, parent_pid=args.parent_pid)
    except PermissionError as error:
        return fail(error)
    return 0


def fail(error) -> int:
    """One line on stderr, exit status 2: what a command-line user needs, no traceback."""
    print(f"error: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
