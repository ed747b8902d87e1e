"""Command line for one collection arm against any OpenAI-compatible endpoint.

    python -m casestudy.distiller.collect --base-url http://127.0.0.1:8000/v1 \
        --model kestrel-1 --api-key-env CASESTUDY_API_KEY --arm-dir runs/mine/collect/main

Rerun the same command after an interruption: only missing records are requested. The last
line says how many records carry the top-k logprobs asked (an endpoint may ignore `logprobs`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from casestudy.distiller.collect.collector import collect
from casestudy.distiller.collect.manifest import read_manifest
from casestudy.distiller.collect.settings import CollectSettings
from casestudy.distiller.collect.prompts import load_prompts, select_prompts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--api-key-env", default="CASESTUDY_API_KEY", help="NAME of the variable holding the key")
    parser.add_argument("--more-key-env", action="append", default=[], metavar="NAME",
                        help="another account's key variable, used side by side (repeat for more)")
    parser.add_argument("--spare-key-env", action="append", default=[], metavar="NAME",
                        help="a fresh account's key variable, used once another is blocked (repeat for more)")
    parser.add_argument("--arm-dir", required=True, type=Path)
    parser.add_argument("--prompts", type=Path, default=None, help="prompts JSONL (default: data/prompts/prompts.jsonl)")
    parser.add_argument("--num-prompts", type=int, default=0, help="0 = all")
    parser.add_argument("--samples-per-prompt", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--eval-temperature", type=float, default=None,
                        help="for held-out prompts (split eval); default: --temperature")
    parser.add_argument("--top-logprobs", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout-s", type=float, default=120.0, help="per request")
    parser.add_argument("--tokenizer", default=None, help="folder of the tokenizer to map token bytes to ids")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prompts = load_prompts(args.prompts)
    if args.num_prompts:
        prompts = select_prompts(prompts, args.num_prompts, args.seed)
    tokenizer = None
    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    settings = CollectSettings(
        base_url=args.base_url,
        model=args.model,
        api_key_env=args.api_key_env,
        more_key_envs=tuple(args.more_key_env),
        spare_key_envs=tuple(args.spare_key_env),
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        eval_temperature=args.eval_temperature,
        top_logprobs=args.top_logprobs,
        samples_per_prompt=args.samples_per_prompt,
        concurrency=args.concurrency,
        seed=args.seed,
        timeout_s=args.timeout_s,
    )
    summary = collect(prompts, args.arm_dir, settings, tokenizer=tokenizer, progress=not args.no_progress)
    print(f"{summary.already_done + summary.collected}/{summary.expected} records in {args.arm_dir}; failed: {len(summary.failed)}")
    if summary.blocked:
        print(f"blocked by the provider: {', '.join(summary.blocked)}"
              + (f"; {summary.unasked} records never asked (no account left)" if summary.unasked else ""))
    if settings.top_logprobs:
        logprobs = read_manifest(args.arm_dir)["logprobs"]
        print(f"logprobs: {logprobs['records_with_logprobs']}/{logprobs['records']} records carry top-k logprobs "
              f"(asked {logprobs['asked']}, at most {logprobs['top_returned']} came back a position)")
    return 0 if summary.complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
