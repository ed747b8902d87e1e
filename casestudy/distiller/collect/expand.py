"""Self-Instruct-style expansion: the teacher proposes new instructions from seed ones.

As in Self-Instruct (Wang et al. 2023) and Stanford's Alpaca, each request shows the
teacher a few seed instructions of one family and asks for a new one. A candidate is kept
when it passes simple filters (length, no image/file/link tasks, no preamble such as
"Here's a new question:", a first word that some seed instruction starts with: a 135M
teacher often writes a story or a preamble instead of an instruction) and its ROUGE-L
F-measure against every instruction kept so far (seeds included) stays below a cut-off
(0.7 in Self-Instruct), so near-copies are dropped. Seeds come from the train split only:
an evaluation prompt must never leak into training. New prompts are train-split, without
gold answers.

    python -m casestudy.distiller.expand --base-url http://127.0.0.1:8000/v1 --model kestrel-1 \\
        --api-key-env CASESTUDY_API_KEY --per-family 20 --out runs/expanded_prompts.jsonl

The output holds the seed prompts and the new ones; pass it to notebook 01 as `prompt_file`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import openai
from rouge_score import rouge_scorer
from tqdm.auto import tqdm

from casestudy.aio import run_sync
from casestudy.distiller.collect.collector import make_client
from casestudy.distiller.collect.settings import api_key_from_env
from casestudy.distiller.collect.retry import RetryPolicy, with_retries
from casestudy.distiller.collect.prompts import Prompt, load_prompts, write_prompts

REQUEST_TIMEOUT_S = 120.0  # per request to the endpoint

# Tasks a text-only model cannot do (Self-Instruct's keyword filter, abridged).
UNDOABLE = frozenset({"image", "images", "picture", "pictures", "photo", "graph", "graphs", "chart", "file", "files",
            "video", "audio", "map", "draw", "plot", "link", "url", "website"})


@dataclass(frozen=True)
class ExpandSettings:
    per_family: int = 20               # new instructions wanted per family
    seeds_per_request: int = 4         # seed instructions shown in each request
    max_requests_per_family: int = 80  # give up on a family after this many requests
    concurrency: int = 8
    max_tokens: int = 48
    temperature: float = 1.0
    similarity_cutoff: float = 0.7     # ROUGE-L F-measure at or above this is a near-copy
    min_words: int = 3
    max_words: int = 60
    seed: int = 0


@dataclass
class ExpandResult:
    accepted: list[Prompt]
    rejected: Counter = field(default_factory=Counter)   # reason -> count
    requests: Counter = field(default_factory=Counter)   # family -> requests sent

    def summary(self) -> dict:
        return {"accepted": len(self.accepted), "requests": sum(self.requests.values()),
                "rejected": dict(self.rejected), "by_family": dict(Counter(p.family for p in self.accepted))}


def expansion_messages(examples: list[str]) -> list[dict]:
    """The request: numbered seed instructions, then the ask for one more of the same kind."""
    listed = "\n".join(f"{i}. {text}" for i, text in enumerate(examples, 1))
    return [{"role": "user", "content": (
        f"Here are some instructions that people gave to an AI assistant:\n{listed}\n"
        f"Write one new instruction of the same kind, on a different topic. "
        f"Reply with the instruction only.")}]


def clean_candidate(text: str) -> str:
    """The first non-empty line, without list numbering, a leading label or surrounding quotes."""
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    line = re.sub(r"^(\d+[.)]|[-*•])\s*", "", line)
    line = re.sub(r"^(new )?instruction\s*:\s*", "", line, flags=re.IGNORECASE)
    return line.strip().strip("\"'“”‘’").strip()


def opener(text: str) -> str:
    """The first word, lower-cased, without punctuation: "Explain", "How", "Write"..."""
    words = re.findall(r"[a-z']+", text.lower())
    return words[0] if words else ""


def rejection_reason(text: str, settings: ExpandSettings, openers: set[str] | None = None) -> str | None:
    """Why a cleaned candidate is not a usable instruction, or None when it is.

    `openers`: first words that instructions may start with (those of the seeds); a small
    teacher often answers with a preamble ("Here's a new question:") or a story instead.
    """
    words = text.split()
    if len(words) < settings.min_words:
        return "too short"
    if len(words) > settings.max_words:
        return "too long"
    if not text[0].isalpha():
        return "does not start with a letter"
    if sum(c.isascii() for c in text) < 0.9 * len(text):
        return "not mostly ASCII"
    if UNDOABLE.intersection(re.findall(r"[a-z]+", text.lower())):
        return "needs an image, file or link"
    if text.rstrip().endswith(":"):
        return "a preamble, not an instruction"
    if openers is not None and opener(text) not in openers:
        return "does not open like an instruction"
    return None


class NoveltyFilter:
    """Keeps the instructions seen so far; a new one must be ROUGE-L-distant from all of them."""

    def __init__(self, texts: list[str], cutoff: float):
        self.cutoff = cutoff
        self.scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
        self.texts = list(texts)

    def closest(self, text: str) -> float:
        return max((self.scorer.score(old, text)["rougeL"].fmeasure for old in self.texts), default=0.0)

    def admit(self, text: str) -> bool:
        """Add `text` when it is novel enough; return whether it was added."""
        if self.closest(text) >= self.cutoff:
            return False
        self.texts.append(text)
        return True


def new_prompt(family: str, text: str, taken: set[str]) -> Prompt:
    """A train prompt with the first free id `gen-<family>-NNNN` (the id is added to `taken`)."""
    number = sum(pid.startswith(f"gen-{family}-") for pid in taken)
    while f"gen-{family}-{number:04d}" in taken:
        number += 1
    pid = f"gen-{family}-{number:04d}"
    taken.add(pid)
    return Prompt(pid, family, "train", ({"role": "user", "content": text},))


async def propose(client: openai.AsyncOpenAI, model: str, examples: list[str], settings: ExpandSettings, seed: int) -> str:
    """One candidate from the teacher (transient errors retried with the collector's back-off)."""
    reply = await with_retries(
        lambda: client.chat.completions.create(
            model=model, messages=expansion_messages(examples), max_tokens=settings.max_tokens,
            temperature=settings.temperature, seed=seed),
        RetryPolicy(), random.Random(seed))
    return reply.choices[0].message.content or ""


async def expand_async(
    seeds: list[Prompt], client: openai.AsyncOpenAI, model: str, settings: ExpandSettings = ExpandSettings(),
    families: list[str] | None = None, progress: bool = True,
) -> ExpandResult:
    """Ask the teacher for `settings.per_family` new train instructions per family."""
    train = [p for p in seeds if p.split == "train"]
    families = families or sorted({p.family for p in train})
    rng = random.Random(settings.seed)
    novelty = NoveltyFilter([p.text for p in seeds], settings.similarity_cutoff)
    openers = {opener(p.text) for p in train} - {""}
    result = ExpandResult(accepted=[])
    taken = {p.id for p in seeds}
    bar = tqdm(total=settings.per_family * len(families), desc="new instructions", disable=not progress)
    for family in families:
        pool = [p.text for p in train if p.family == family]
        if not pool:
            raise ValueError(f"no train prompts of family {family!r} to seed from")
        kept = 0
        while kept < settings.per_family and result.requests[family] < settings.max_requests_per_family:
            wave = min(settings.concurrency, settings.max_requests_per_family - result.requests[family])
            asks = [rng.sample(pool, min(settings.seeds_per_request, len(pool))) for _ in range(wave)]
            first_seed = settings.seed * 1_000_003 + sum(result.requests.values())
            texts = await asyncio.gather(*[propose(client, model, a, settings, first_seed + i) for i, a in enumerate(asks)])
            result.requests[family] += wave
            for raw in texts:
                if kept == settings.per_family:
                    result.rejected["over quota"] += 1
                    continue
                text = clean_candidate(raw)
                reason = rejection_reason(text, settings, openers) or (
                    None if novelty.admit(text) else "near-copy (ROUGE-L)")
                if reason:
                    result.rejected[reason] += 1
                    continue
                result.accepted.append(new_prompt(family, text, taken))
                kept += 1
                bar.update(1)
    bar.close()
    return result


def expand(seeds: list[Prompt], base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY",
           settings: ExpandSettings = ExpandSettings(), families: list[str] | None = None,
           progress: bool = True) -> ExpandResult:
    """Synchronous `expand_async` against an OpenAI-compatible endpoint (works inside Jupyter too)."""
    api_key = api_key_from_env(api_key_env)

    async def run() -> ExpandResult:
        client = make_client(base_url, api_key, REQUEST_TIMEOUT_S)
        try:
            return await expand_async(seeds, client, model, settings, families, progress)
        finally:
            await client.close()

    return run_sync(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help="NAME of the variable holding the key")
    parser.add_argument("--prompts", type=Path, default=None, help="seed prompts (default: data/prompts/prompts.jsonl)")
    parser.add_argument("--families", nargs="*", default=None, help="default: every family")
    parser.add_argument("--per-family", type=int, default=ExpandSettings.per_family)
    parser.add_argument("--max-requests-per-family", type=int, default=ExpandSettings.max_requests_per_family)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="seeds + new prompts, JSONL")
    args = parser.parse_args(argv)
    seeds = load_prompts(args.prompts)
    settings = ExpandSettings(per_family=args.per_family, max_requests_per_family=args.max_requests_per_family,
                              seed=args.seed)
    result = expand(seeds, args.base_url, args.model, args.api_key_env, settings, args.families)
    write_prompts(seeds + result.accepted, args.out)
    print(f"{result.summary()}\nwrote {len(seeds)} seeds + {len(result.accepted)} new prompts to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
