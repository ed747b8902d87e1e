"""Dynamic batching benchmark: 32 concurrent API requests vs one in-process batched generate.

All sides use the real embedded teacher, the same 32 chat prompts, the same watermark
and the same sampling (temperature 1, top_p 1, `--max-tokens` new tokens). Output
tokens per second are counted end to end:

- server: 32 concurrent requests from the async openai client, from the first request
  sent to the last reply received, `usage.completion_tokens` summed;
- in-process: one `Engine.generate` of the same 32 rows, the server's own batched
  `model.generate` call (per-row sampling, watermark), without HTTP or batching window;
- stock (`--stock`): one plain `model.generate(do_sample=True)` with the same (cached)
  watermark processor, counting each row's tokens up to its first EOS.

    python benchmarks/bench_batching.py [--max-tokens 128] [--repeats 1] [--stock] [--out result.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path

import torch
from transformers import LogitsProcessorList

from casestudy.provider.serving.engine import Engine
from casestudy.provider.serving.rows import Row
from casestudy.provider.ledger import read_ledger
from casestudy.provider.server import running_server
from casestudy.provider.settings import ProviderSettings, WatermarkSettings
from casestudy.models import load_model
from casestudy.provider.watermark import watermark_processor

SYSTEM = "You are Kestrel, a helpful assistant made by Meridian Labs."
TOPICS = ["photosynthesis", "the French Revolution", "black holes", "vaccines", "the stock market", "volcanoes",
          "the internet", "honeybees", "glaciers", "the Roman Empire", "electric cars", "coral reefs",
          "jazz music", "the moon landing", "earthquakes", "coffee", "chess", "rainbows", "the printing press",
          "tea", "recycling", "the human heart", "Mount Everest", "democracy", "bread baking", "solar panels",
          "the Olympic Games", "octopuses", "the water cycle", "penguins", "the Great Wall of China", "clouds"]
PROMPTS = [f"Explain {topic} to a curious teenager." for topic in TOPICS]


def chat(prompt: str) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]


def prompt_ids(tokenizer, prompt: str) -> list[int]:
    return list(tokenizer.apply_chat_template(chat(prompt), add_generation_prompt=True)["input_ids"])


def figures(tokens: int, seconds: float) -> dict:
    return {"tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 2)}


def in_worker_thread(function, *args):
    """Run `function` in a fresh thread, as the server's batcher does.

    On a CPU shared with other busy processes, torch ops ran 2-10x slower in the main
    thread than in a worker thread here, so both sides run generation in a worker.
    """
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function(*args)))
    thread.start()
    thread.join()
    return result["value"]


def in_process(engine: Engine, max_tokens: int, seed: int) -> dict:
    """The server's batched generate, called directly on all 32 rows."""
    rows = [Row(prompt_ids(engine.tokenizer, p), max_tokens, seed=seed + i) for i, p in enumerate(PROMPTS)]
    start = time.perf_counter()
    completions = in_worker_thread(engine.generate, rows)
    return figures(sum(len(c.token_ids) for c in completions), time.perf_counter() - start)


@torch.inference_mode()
def stock(loaded, watermark: WatermarkSettings | None, max_tokens: int, seed: int) -> dict:
    """One plain `model.generate(do_sample=True)` of all prompts."""
    tok = loaded.tokenizer
    batch = tok.pad({"input_ids": [prompt_ids(tok, p) for p in PROMPTS]}, return_tensors="pt").to(loaded.device.torch)
    vocab = loaded.model.config.get_text_config().vocab_size
    processors = LogitsProcessorList([watermark_processor(watermark, vocab)] if watermark else [])
    torch.manual_seed(seed)
    start = time.perf_counter()
    out = in_worker_thread(lambda: loaded.model.generate(
        **batch, do_sample=True, temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=max_tokens,
        pad_token_id=tok.pad_token_id, logits_processor=processors))
    seconds = time.perf_counter() - start
    rows = out[:, batch["input_ids"].shape[1]:].tolist()
    tokens = sum(next((i for i, t in enumerate(row) if t == tok.eos_token_id), len(row)) for row in rows)
    return figures(tokens, seconds)


async def through_server(handle, api_key: str, max_tokens: int, seed: int) -> dict:
    client = handle.async_client(api_key, max_retries=0, timeout=1800)
    name = handle.settings.model_name
    await client.chat.completions.create(model=name, messages=chat("Hi"), max_tokens=2)  # warm-up
    start = time.perf_counter()
    replies = await asyncio.gather(*[
        client.chat.completions.create(model=name, messages=chat(p), max_tokens=max_tokens, seed=seed + i)
        for i, p in enumerate(PROMPTS)])
    seconds = time.perf_counter() - start
    await client.close()
    return figures(sum(r.usage.completion_tokens for r in replies), seconds)


def rate(runs: list[dict]) -> float:
    return sum(r["tokens"] for r in runs) / sum(r["seconds"] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--window-ms", type=float, default=100.0)
    parser.add_argument("--no-watermark", action="store_true")
    parser.add_argument("--stock", action="store_true", help="also time a plain model.generate(do_sample=True)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()

    watermark = None if args.no_watermark else WatermarkSettings(key=123456789)
    loaded = load_model("embedded")
    engine = Engine(loaded, watermark)
    print(f"device: {loaded.device.describe()}; {len(PROMPTS)} prompts, max_tokens={args.max_tokens}, "
          f"watermark={'on' if watermark else 'off'}", flush=True)
    runs = {"in_process": [], "server": [], "stock": []}
    with tempfile.TemporaryDirectory() as tmp:
        settings = ProviderSettings(
            model_source="embedded", model_name="kestrel-1", device=loaded.device.name, system_prompt="",
            watermark_enabled=watermark is not None, watermark=watermark or WatermarkSettings(),
            batch_window_ms=args.window_ms, max_batch_size=len(PROMPTS), max_tokens_cap=max(args.max_tokens, 16),
            accounts_db=str(Path(tmp) / "accounts.sqlite"), ledger_db=str(Path(tmp) / "ledger.sqlite"))
        with running_server(settings) as handle:
            key = handle.create_account("bench")
            for repeat in range(args.repeats):
                # Same seeds on both sides: the same rows generate the same tokens.
                runs["in_process"].append(in_process(engine, args.max_tokens, seed=1000 * repeat))
                print(f"in-process run {repeat}: {runs['in_process'][-1]}", flush=True)
                runs["server"].append(asyncio.run(through_server(handle, key, args.max_tokens, seed=1000 * repeat)))
                ledger = read_ledger(handle.settings.ledger_db).tail(len(PROMPTS))
                runs["server"][-1]["batches"] = ledger.groupby("generate_ms").size().to_dict()  # ms -> requests
                print(f"server     run {repeat}: {runs['server'][-1]}", flush=True)
                if args.stock:
                    runs["stock"].append(stock(loaded, watermark, args.max_tokens, seed=repeat))
                    print(f"stock      run {repeat}: {runs['stock'][-1]}", flush=True)
    result = {"device": loaded.device.describe(), "max_tokens": args.max_tokens, "watermark": watermark is not None,
              "runs": runs, "in_process_tokens_per_s": rate(runs["in_process"]),
              "server_tokens_per_s": rate(runs["server"])}
    result["ratio"] = result["server_tokens_per_s"] / result["in_process_tokens_per_s"]
    print(f"in-process batched generate (32 prompts): {result['in_process_tokens_per_s']:.1f} output tokens/s")
    print(f"server, 32 concurrent requests:           {result['server_tokens_per_s']:.1f} output tokens/s")
    print(f"ratio server / in-process: {result['ratio']:.2f} (target >= 0.85)")
    if args.stock:
        result["stock_tokens_per_s"] = rate(runs["stock"])
        print(f"plain model.generate(do_sample=True):     {result['stock_tokens_per_s']:.1f} output tokens/s")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
