"""Command line: `python -m casestudy.provider serve ...` and `... create-account ...`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from casestudy.provider.accounts import create_account
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
    run.add_argument("--watermark-key", type=int, help="the secret hashing key")
    run.add_argument("--system-prompt")
    run.add_argument("--accounts-db")
    run.add_argument("--ledger-db")
    run.add_argument("--parent-pid", type=int, help="stop when this process is gone")

    account = commands.add_parser("create-account", help="create an account and print its API key")
    account.add_argument("--db", required=True, help="the accounts database")
    account.add_argument("name")
    account.add_argument("--rpm", type=int)
    account.add_argument("--tpm", type=int)

    args = parser.parse_args(argv)
    if args.command == "create-account":
        print(create_account(args.db, args.name, rpm=args.rpm, tpm=args.tpm))
        return 0

    settings = ProviderSettings.load(args.settings) if args.settings else ProviderSettings()
    overrides = {
        "model_source": args.model, "model_name": args.model_name, "host": args.host, "port": args.port,
        "system_prompt": args.system_prompt, "accounts_db": args.accounts_db, "ledger_db": args.ledger_db,
    }
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    if args.allow_remote:
        settings = replace(settings, allow_remote=True)
    if args.no_watermark:
        settings = replace(settings, watermark_enabled=False)
    if args.watermark_key is not None:
        settings = replace(settings, watermark=replace(settings.watermark, key=args.watermark_key))
    try:
        serve(settings, parent_pid=args.parent_pid)
    except PermissionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
