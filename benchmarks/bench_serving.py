"""Serving benchmark: completion tokens/s at 1, 16 and 64 concurrent requests.

For each configuration and concurrency c, the same N = max(4, rounds x c) chat rows
(prompts from data/prompts/prompts.jsonl with a system prompt, `--max-tokens` each,
seed = row index) are generated three ways:

- generate: in-process `model.generate` in static batches of c rows (what a batch
  waits for is its longest row), with the watermark processor and top-20 logprobs
  computed from its scores when the configuration has them;
- engine: the provider's continuous-batching `Engine` in-process, c rows in flight
  (a finished row is replaced at the next step), no HTTP;
- server: the provider over HTTP with the official async openai client, c requests in
  flight (each worker sends its next request when its reply is in), as a collector does.

Configurations: `greedy` (temperature 0, nothing else: the per-step overhead against a
plain greedy generate), `plain` (temperature 0.7), `marked` (temperature 0.7, top-20
logprobs, the watermark: the workshop collection's settings).

    python benchmarks/bench_serving.py --model tiny
    python benchmarks/bench_serving.py --model embedded --configs marked --modes engine server --max-tokens 96

Tokens are completion tokens (EOS excluded). Generation runs in a worker thread, as in
the server. Besides tokens per second, the tables give tokens per CPU-second of the
process that generates (this one in process, the server's otherwise): on a machine
shared with other jobs wall-clock figures are lower bounds that swing with the load,
while with `OMP_NUM_THREADS=1` the CPU-time figure is close to what one idle core does
(it leaves out idle waits, e.g. for a batching window).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

import torch

# This checkout's `casestudy`, not whichever one the environment has installed (a script's
# sys.path starts at benchmarks/).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from casestudy.device import PRECISIONS  # noqa: E402  (after the path)

ROOT = Path(__file__).resolve().parents[1]
SYSTEM = "You are Kestrel, a helpful assistant made by Meridian Labs."
CONFIGS = {  # name -> (temperature, top_logprobs or None, watermark)
    "greedy": (0.0, None, False),
    "plain": (0.7, None, False),
    "marked": (0.7, 20, True),
}
WATERMARK_KEY = 123456789


def chats(n: int) -> list[list[dict]]:
    lines = (ROOT / "data" / "prompts" / "prompts.jsonl").read_text().splitlines()
    users = [json.loads(line)["messages"] for line in lines if line.strip()]
    return [[{"role": "system", "content": SYSTEM}, *users[i % len(users)]] for i in range(n)]


def tiny_model_dir(out: Path) -> Path:
    """2 layers, width 64, random weights, the teacher's tokenizer."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from casestudy.models import embedded_model_dir

    tok = AutoTokenizer.from_pretrained(embedded_model_dir())
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def in_thread(function, *args):
    """Run in a fresh worker thread (torch ran far slower in a busy process's main thread here)."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", function(*args)))
    thread.start()
    thread.join()
    return box["value"]


def prompt_ids(tokenizer, messages) -> list[int]:
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


@torch.inference_mode()
def run_generate(loaded, ids: list[list[int]], c: int, config: str, max_tokens: int) -> int:
    from transformers import LogitsProcessorList

    from casestudy.provider.serving.outputs import eos_token_ids
    from casestudy.provider.settings import WatermarkSettings
    from casestudy.provider.watermark import watermark_processor

    temperature, top, marked = CONFIGS[config]
    tok, model, device = loaded.tokenizer, loaded.model, loaded.device.torch
    vocab = model.config.get_text_config().vocab_size
    processors = LogitsProcessorList(
        [watermark_processor(WatermarkSettings(key=WATERMARK_KEY), vocab)] if marked else [])
    eos = eos_token_ids(loaded)
    torch.manual_seed(0)
    tokens = 0
    for first in range(0, len(ids), c):
        batch = tok.pad({"input_ids": ids[first:first + c]}, return_tensors="pt").to(device)
        sample = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if temperature else dict(do_sample=False)
        out = model.generate(**batch, **sample, max_new_tokens=max_tokens, pad_token_id=tok.pad_token_id,
                             logits_processor=processors, return_dict_in_generate=True, output_scores=top is not None)
        if top is not None:  # what the provider returns: top-20 logprobs of each step, on the host
            for scores in out.scores:
                values, indices = torch.log_softmax(scores.float(), -1).topk(top, dim=-1)
                values.tolist(), indices.tolist()
        for row in out.sequences[:, batch["input_ids"].shape[1]:].tolist():
            tokens += next((i for i, t in enumerate(row) if t in eos), len(row))
    return tokens


def run_engine(engine, ids: list[list[int]], c: int, config: str, max_tokens: int) -> int:
    from casestudy.provider.serving.rows import Row

    temperature, top, _ = CONFIGS[config]
    queue = deque(Row(p, max_tokens, temperature, seed=i, top_logprobs=top or 0, logprobs=top is not None)
                  for i, p in enumerate(ids))
    in_flight = tokens = 0
    while queue or in_flight:
        while queue and in_flight < c:
            engine.add(queue.popleft())
            in_flight += 1
        for _, completion in engine.step():
            in_flight -= 1
            tokens += len(completion.token_ids)
    return tokens


async def run_server(handle, key: str, messages: list[list[dict]], c: int, config: str, max_tokens: int) -> int:
    temperature, top, _ = CONFIGS[config]
    client = handle.async_client(key, max_retries=0, timeout=3600)
    extra = dict(logprobs=True, top_logprobs=top) if top is not None else {}
    name = handle.settings.model_name
    await client.chat.completions.create(model=name, messages=messages[0], max_tokens=2)  # warm-up
    queue = deque(enumerate(messages))
    tokens = 0

    async def worker():
        nonlocal tokens
        while queue:
            i, chat = queue.popleft()
            reply = await client.chat.completions.create(model=name, messages=chat, max_tokens=max_tokens,
                                                         temperature=temperature, seed=i, **extra)
            tokens += reply.usage.completion_tokens

    start = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(c)])
    seconds = time.perf_counter() - start
    await client.close()
    return tokens, seconds


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system, all threads) of this process or of process `pid`."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(function, *args) -> tuple[int, float, float]:
    start, cpu = time.perf_counter(), cpu_seconds()
    tokens = in_thread(function, *args)
    return tokens, time.perf_counter() - start, cpu_seconds() - cpu


def server_settings(model_dir: str, device: str, marked: bool, max_rows: int, max_tokens: int, tmp: Path):
    from casestudy.provider.settings import ProviderSettings, WatermarkSettings

    return ProviderSettings(
        model_source=model_dir, model_name="bench", device=device, system_prompt="",
        watermark_enabled=marked, watermark=WatermarkSettings(key=WATERMARK_KEY), max_batch_size=max_rows,
        max_tokens_cap=max(16, max_tokens), default_rpm=1_000_000, default_tpm=1_000_000_000,
        accounts_db=str(tmp / f"accounts-{marked}.sqlite"), ledger_db=str(tmp / f"ledger-{marked}.sqlite"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", help="'tiny' (2 layers, width 64, random), 'embedded', or a path")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--precision", default="", choices=["", *PRECISIONS],
                        help="weights' precision in the engine and generate modes (casestudy.models.load_model)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=2, help="rows per level: max(4, rounds x concurrency)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--modes", nargs="+", default=["generate", "engine", "server"],
                        choices=["generate", "engine", "server"])
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()

    from casestudy.device import pick_device
    from casestudy.provider.server import running_servers
    from casestudy.models import load_model

    device = pick_device(args.device)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = str(tiny_model_dir(tmp / "tiny")) if args.model == "tiny" else args.model
        loaded = load_model(model_dir, device=device.name, precision=args.precision) if {"generate", "engine"} & set(args.modes) else None
        where = loaded.device.describe() if loaded else device.describe()
        print(f"model {args.model} on {where}, max_tokens {args.max_tokens}, "
              f"torch threads {torch.get_num_threads()}", flush=True)
        marks = sorted({CONFIGS[c][2] for c in args.configs}) if "server" in args.modes else []
        settings = [server_settings(model_dir, device.name, m, max(args.concurrency), args.max_tokens, tmp)
                    for m in marks]
        with running_servers(*settings) as handles:
            servers = {m: (h, h.create_account("bench")) for m, h in zip(marks, handles)}
            for config in args.configs:
                engine = None
                if "engine" in args.modes:
                    from casestudy.provider.serving.engine import Engine
                    from casestudy.provider.settings import WatermarkSettings
                    engine = Engine(loaded, WatermarkSettings(key=WATERMARK_KEY) if CONFIGS[config][2] else None)
                for c in args.concurrency:
                    messages = chats(max(4, args.rounds * c))
                    row = {"config": config, "concurrency": c, "rows": len(messages)}
                    ids = [prompt_ids(loaded.tokenizer, m) for m in messages] if loaded else None
                    for mode in args.modes:
                        if mode == "generate":
                            tokens, seconds, cpu = timed(run_generate, loaded, ids, c, config, args.max_tokens)
                        elif mode == "engine":
                            tokens, seconds, cpu = timed(run_engine, engine, ids, c, config, args.max_tokens)
                        else:
                            handle, key = servers[CONFIGS[config][2]]
                            before = cpu_seconds(handle.process.pid)
                            try:
                                tokens, seconds = asyncio.run(run_server(handle, key, messages, c, config,
                                                                         args.max_tokens))
                            except Exception:
                                print(handle.log_tail(), flush=True)
                                raise
                            cpu = cpu_seconds(handle.process.pid) - before
                        row[f"{mode}_tok_s"] = round(tokens / seconds, 1)
                        row[f"{mode}_tok_cpu_s"] = round(tokens / max(cpu, 1e-9), 1)
                        row[f"{mode}_tokens"] = tokens
                        print(f"  {config:6} c={c:3} {mode:8} {tokens:6d} tokens {seconds:7.1f} s "
                              f"{tokens / seconds:8.1f} tok/s {cpu:7.1f} CPU-s {tokens / max(cpu, 1e-9):8.1f} tok/CPU-s",
                              flush=True)
                    results.append(row)
    modes = [m for m in ("generate", "engine", "server") if m in args.modes]
    for unit, suffix in (("tok/s", "tok_s"), ("tok/CPU-s", "tok_cpu_s")):
        print(f"\ncompletion tokens per {'second' if unit == 'tok/s' else 'CPU-second of the generating process'}")
        header = f"{'config':7} {'conc':>4} {'rows':>5} " + " ".join(f"{m:>10}" for m in modes)
        if "generate" in modes:
            header += " " + " ".join(f"{m + '/generate':>16}" for m in modes if m != "generate")
        print(header)
        for row in results:
            line = f"{row['config']:7} {row['concurrency']:>4} {row['rows']:>5} " + \
                " ".join(f"{row[f'{m}_{suffix}']:>10.1f}" for m in modes)
            if "generate" in modes:
                line += " " + " ".join(f"{row[f'{m}_{suffix}'] / row[f'generate_{suffix}']:>16.2f}"
                                       for m in modes if m != "generate")
            print(line)
    if args.out:
        Path(args.out).write_text(json.dumps({"model": args.model, "device": device.describe(),
                                              "max_tokens": args.max_tokens, "results": results}, indent=2))


if __name__ == "__main__":
    main()
