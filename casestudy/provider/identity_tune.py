"""Tune the deployment's identity into the teacher: a short full fine-tune, cached by fingerprint.

A system prompt alone does not hold with a 135M model, so, as labs do, we fine-tune on
identity questions and answers (data/identity/) mixed with the teacher's own greedy
answers to ordinary prompts, so that nothing else moves. Each example is shown with the
deployment system prompt and without one (the chat template's default), so the identity
holds either way. Loss is on the answer tokens only; sequences are short.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from casestudy.artifacts import fingerprint, write_json_atomic
from casestudy.paths import cache_dir
from casestudy.provider.identity_data import IDENTITY_DATA_DIR, data_files, identity_answers, ordinary_prompts
from casestudy.provider.identity_eval import chat, generate_answers
from casestudy.provider.identity_text import PROVIDER_IDENTITY, Identity, system_prompt
from casestudy.provider.teacher import EMBEDDED, load_teacher, resolve_source

RECIPE_VERSION = 1   # bump when the training code changes what it produces
TUNE_INFO = "identity_tune.json"


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]    # -100 on the prompt: the loss is on the answer only


def base_key(base_source: str) -> str:
    """What identifies the base weights: the content-addressed embedded folder, a folder's files' hash, or a hub id."""
    where = resolve_source(base_source)
    if not isinstance(where, Path):
        return str(where)
    if base_source == EMBEDDED:
        return where.name  # the folder name carries the GGUF's hash
    files = [p for p in where.iterdir() if p.is_file() and p.suffix in (".json", ".safetensors")]
    return fingerprint({"base": "folder"}, files)


def encode(tokenizer, messages: list[dict], answer: str, finished: bool = True) -> Example:
    """Token ids of a chat prompt plus its answer, with labels only on the answer (and its end token)."""
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    if finished:  # a truncated teacher answer must not learn to stop there
        answer_ids = answer_ids + [tokenizer.eos_token_id]
    return Example(prompt_ids + answer_ids, [-100] * len(prompt_ids) + answer_ids)


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch (positions then start at 0 for every row)."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id)
    labels = torch.full((len(examples), width), -100)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n], labels[row, :n], mask[row, :n] = torch.tensor(e.input_ids), torch.tensor(e.labels), 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def build_examples(loaded, identity: Identity, seed: int, answer_tokens: int, data_dir: Path) -> list[Example]:
    """Identity Q&A plus the teacher's own greedy answers to ordinary prompts, each with and without the deployment prompt."""
    tok = loaded.tokenizer
    contexts = [system_prompt(identity), None]
    qa = identity_answers(identity, seed, data_dir)
    prompts = ordinary_prompts(data_dir)
    own = generate_answers(loaded, [chat(p, None) for p in prompts], answer_tokens, desc="teacher answers")
    examples = []
    for system in contexts:
        examples += [encode(tok, chat(p.question, system), p.answer) for p in qa]
        for prompt, answer in zip(prompts, own):
            finished = len(tok(answer, add_special_tokens=False)["input_ids"]) < answer_tokens - 1
            examples.append(encode(tok, chat(prompt, system), answer, finished))
    return examples


def batches(examples: list[Example], batch_size: int, steps: int, seed: int):
    """`steps` batches drawn by seeded shuffles of the examples, epoch after epoch."""
    rng, order = random.Random(seed), []
    for _ in range(steps):
        if len(order) < batch_size:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order += fresh
        yield [examples[i] for i in order[:batch_size]]
        order = order[batch_size:]


def train(loaded, examples: list[Example], steps: int, lr: float, batch_size: int, seed: int) -> list[float]:
    """AdamW with warm-up and linear decay; fp32 master weights, bf16 autocast on CUDA. Returns the losses."""
    model, dev = loaded.model, loaded.device
    model.float().train()
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    losses = []
    bar = tqdm(batches(examples, batch_size, steps, seed), total=steps, desc="identity tune")
    for batch in bar:
        batch = {k: v.to(dev.torch) for k, v in collate(batch, loaded.tokenizer.pad_token_id).items()}
        with torch.autocast(dev.name, dtype=torch.bfloat16, enabled=dev.name == "cuda"):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    return losses


def tune_identity(
    base_source: str = EMBEDDED,
    identity: Identity = PROVIDER_IDENTITY,
    steps: int = 40,
    lr: float = 5e-5,
    seed: int = 0,
    device: str = "auto",
    batch_size: int = 16,
    answer_tokens: int = 64,
    data_dir: Path = IDENTITY_DATA_DIR,
) -> Path:
    """Fine-tune `identity` into the base teacher; return the cached safetensors folder.

    The folder, `cache_dir()/identity/<fingerprint>`, loads with `load_teacher(path)`.
    The fingerprint covers the base weights, the identity, the data files, the
    hyper-parameters and the device's dtype; a second call with the same ones returns at once.
    """
    if steps < 1 or lr <= 0 or batch_size < 1 or answer_tokens < 8:
        raise ValueError(f"bad tuning settings: steps={steps}, lr={lr}, batch_size={batch_size}, answer_tokens={answer_tokens}")
    loaded = load_teacher(base_source, device=device)
    params = {
        "recipe": RECIPE_VERSION, "base": base_key(base_source), "identity": asdict(identity), "steps": steps,
        "lr": lr, "seed": seed, "batch_size": batch_size, "answer_tokens": answer_tokens,
        "dtype": str(loaded.device.dtype),
    }
    out = cache_dir() / "identity" / fingerprint(params, data_files(data_dir))
    if (out / TUNE_INFO).is_file():
        return out
    start = time.perf_counter()
    torch.manual_seed(seed)
    examples = build_examples(loaded, identity, seed, answer_tokens, data_dir)
    losses = train(loaded, examples, steps, lr, batch_size, seed)
    tmp = out.with_name(out.name + f".partial-{time.time_ns()}")
    loaded.model.save_pretrained(tmp)
    loaded.tokenizer.save_pretrained(tmp)
    info = {**params, "examples": len(examples), "losses": losses, "seconds": time.perf_counter() - start,
            "device": loaded.device.describe()}
    write_json_atomic(tmp / TUNE_INFO, info)
    try:
        tmp.rename(out)
    except OSError:  # another process finished the same tune first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def tune_info(folder: Path) -> dict:
    """The parameters and training record saved beside a tuned model."""
    return json.loads((Path(folder) / TUNE_INFO).read_text())
