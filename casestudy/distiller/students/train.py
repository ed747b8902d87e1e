"""Train a student on collected teacher outputs: one loop for the CPU, one GPU or many.

The same function runs in a notebook, a script, or under `accelerate launch` /
`torchrun` (accelerate syncs the gradients; nothing else changes); its command line is
`python -m casestudy.distiller.students` (cli.py). `batch_size` is per
process: each optimizer step takes a global batch of batch_size x grad_accum x processes
packed rows, the same seeded order of rows split between the processes, and each
process's loss is weighted by its share of the global batch's target tokens, so N
processes of batch_size b/N take the very steps of one process of batch_size b (to
float rounding: tests/distiller/students/test_multiprocess.py). Only the main process
writes the log, the result and the weights.
On CUDA: fused AdamW, SDPA attention and an MFU estimate. bf16 autocast on CUDA and on
CPUs with native bf16 (casestudy.device.native_precision). Everywhere:
packed rows, gradient accumulation, warm-up plus cosine schedule, safetensors
checkpoints, and resume from the last one.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from accelerate import Accelerator
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from casestudy.artifacts import write_json_atomic
from casestudy.device import pick_device, native_precision
from casestudy.models import train_only_top
from casestudy.distiller.students.evaluate import mean_ce
from casestudy.distiller.students.losses import IGNORE, distill_loss, topk_positions
from casestudy.distiller.students.packing import Example, encode_records, pack, collate_packed
from casestudy.distiller.students.student import StudentConfig, StudentSpec, build_student, count_params, student_key
from casestudy.distiller.students.trunk import Trunk, decoder_output, trunk_for

RESULT_FILE = "train_result.json"
LOG_FILE = "train_log.jsonl"


@dataclass(frozen=True)
class TrainConfig:
    max_steps: int = 30          # optimizer steps; 0 saves the untrained student (the baseline)
    batch_size: int = 4          # packed rows per micro-batch (per process)
    grad_accum: int = 1          # micro-batches per optimizer step
    max_len: int = 256           # tokens per packed row (and longest example)
    lr: float = 3e-3             # small models from scratch tolerate a high peak rate; fine-tunes want ~5e-4
    min_lr_ratio: float = 0.1    # cosine decays to lr * min_lr_ratio
    warmup_steps: int = 10       # linear warm-up
    weight_decay: float = 0.1    # on matrices only, not norms
    grad_clip: float = 1.0       # global norm
    alpha: float = 0.0           # weight of the top-k KL (0 = plain SFT)
    train_layers: int = 0        # 0: every weight trains; N: only the top N decoder layers (a fine-tune of a base)
    seed: int = 0                # initialisation and data order
    device: str = "auto"         # casestudy.device.pick_device rule
    precision: str = "auto"      # casestudy.device.native_precision rule: bf16 autocast where native, else fp32
    log_every: int = 5           # steps between log lines
    eval_every: int = 0          # steps between held-out CE evaluations (0: only at the end)
    ckpt_every: int = 0          # steps between checkpoints (0: only at the end)


@dataclass
class TrainResult:
    name: str
    kind: str
    out_dir: str
    params: int
    train_tokens: int            # tokens fed to the model (prompt + completion, no padding)
    target_tokens: int           # completion tokens that carried a loss
    steps: int
    wall_seconds: float
    tokens_per_second: float
    device: str
    num_examples: int
    fingerprint: str
    start: dict = field(default_factory=dict)   # how the untrained student was made (public, pruned, scratch)
    trainable_params: int = 0                   # the weights that trained (a fine-tune of the top layers: fewer)
    processes: int = 1                          # data-parallel processes that trained it (accelerate / torchrun)
    history: list[dict] = field(default_factory=list)
    reused: bool = False

    def summary(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "history"}

    @property
    def heldout_ce(self) -> float:
        """Cross-entropy on the held-out teacher text at the end of training (nan if none was measured)."""
        return next((h["eval_ce"] for h in reversed(self.history) if "eval_ce" in h), float("nan"))


# -- the model wrapper: logits only where a loss is taken -------------------------------

class StudentLoss(torch.nn.Module):
    """Runs the student's body on the whole row but its 49k-wide head only on target
    positions (the prompt needs no logits), then the distillation loss. With a `Trunk`,
    the frozen bottom layers run once per row (trunk.py)."""

    def __init__(self, model, alpha: float = 0.0):
        super().__init__()
        self.model = model
        self.alpha = alpha

    def forward(self, batch: dict[str, torch.Tensor], trunk: Trunk | None = None, row_ids: Sequence[int] = ()):
        hidden = decoder_output(self.model.model, batch, trunk, row_ids)
        sel = batch["targets"] != IGNORE
        logits = self.model.lm_head(hidden[sel])
        top_ids = batch["top_ids"][sel] if "top_ids" in batch else None
        top_lp = batch["top_logprobs"][sel] if "top_logprobs" in batch else None
        loss, parts = distill_loss(logits, batch["targets"][sel], top_ids, top_lp, self.alpha)
        return loss, parts


# -- schedule, optimizer, data order -----------------------------------------------------

def lr_lambda(step: int, cfg: TrainConfig) -> float:
    """Multiplier of the peak rate: linear warm-up, then cosine down to min_lr_ratio."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, cfg.max_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, fused: bool) -> torch.optim.AdamW:
    """AdamW over the weights that train, with weight decay on matrices only; fused kernels on CUDA."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.ndim >= 2]
    rest = [p for p in trainable if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), fused=fused)


def micro_batch_rows(index: int, num_rows: int, batch_size: int, seed: int, world: int = 1, rank: int = 0) -> list[int]:
    """Rows of global micro-batch `index` for one process: a seeded shuffle per epoch,
    so the order depends only on (seed, index) and a resumed run sees the same data."""
    per_step = batch_size * world
    per_epoch = math.ceil(num_rows / per_step)
    epoch, j = divmod(index, per_epoch)
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = torch.randperm(num_rows, generator=gen).tolist()
    chunk = [perm[(j * per_step + i) % num_rows] for i in range(per_step)]
    return chunk[rank * batch_size:(rank + 1) * batch_size]


def global_parts(acc: Accelerator, shares: Sequence[Sequence[float]], grad_accum: int) -> dict[str, float]:
    """A step's loss parts over every process, as one process of the whole global batch reports them.

    shares: per micro-batch this process's [ce x targets, targets, kl x top-k positions, top-k
    positions]. Summed over the processes, each micro-batch's part is the mean over all its
    positions; the step's is the average over micro-batches (kl over those that had top-k data)."""
    total = acc.reduce(torch.tensor(shares, dtype=torch.float64, device=acc.device), reduction="sum").tolist()
    parts = {"ce": sum(ce / n for ce, n, _, _ in total) / grad_accum}
    if any(m for *_, m in total):
        parts["kl"] = sum(kl / m for _, _, kl, m in total if m) / grad_accum
    return parts


# -- measurements ------------------------------------------------------------------------

PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12,
                   "A10": 125e12, "4090": 165e12, "3090": 71e12, "V100": 125e12, "T4": 65e12}


def peak_flops() -> float | None:
    """Dense bf16 peak of the current CUDA device, when known."""
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(0)
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)


def flops_per_token(params: int, num_layers: int, hidden_size: int, seq_len: int) -> float:
    """Training FLOPs per token, Kaplan et al.'s convention as in cost/flops.py: 3 x (2N + 2 L T d),
    the causal average context folded into the attention term."""
    return 3 * (2 * params + 2 * num_layers * seq_len * hidden_size)


def examples_digest(examples: Sequence[Example]) -> str:
    """A content hash of encoded examples (ids, targets, top-k)."""
    h = hashlib.sha256()
    for ex in examples:
        for arr in (ex.input_ids, ex.targets, ex.top_ids, ex.top_logprobs):
            if arr is not None:
                h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


# -- the loop ----------------------------------------------------------------------------

def _latest_checkpoint(ckpt_root: Path) -> Path | None:
    done = sorted(p for p in ckpt_root.glob("step-*") if (p / "state.json").is_file())
    return done[-1] if done else None


def train_student(records: Sequence[dict], topk: dict | None = None,
                  config: StudentSpec | StudentConfig | str = "scratch-5m",
                  train: TrainConfig = TrainConfig(), out_dir: str | Path = "student", *,
                  tokenizer: PreTrainedTokenizerBase | None = None, eval_records: Sequence[dict] = (),
                  name: str | None = None, kind: str = "sft", reuse: bool = True, public: str = "embedded",
                  stop_after: int | None = None, progress: bool = True) -> TrainResult:
    """Train one student on `records` and save it to `out_dir`.

    config: where the student starts ("public", "public@0.5", "scratch-5m", or a
    StudentConfig for a scratch model of a custom shape); `public` is the public model's
    source. records: collected records (keys messages, completion, finish_reason, id).
    topk: record id -> TopK; used when train.alpha > 0 (top-k distillation).
    out_dir gets a `save_pretrained` folder (safetensors + tokenizer) that
    `load_model(out_dir)` loads, plus train_log.jsonl, train_result.json and
    checkpoints/. With `reuse`, a finished run with the same fingerprint is returned
    as is; an unfinished one resumes from its last checkpoint. `stop_after` stops
    after that many steps, as an interruption would (tests, time-boxed runs).
    """
    out = Path(out_dir)
    name = name or out.name
    if tokenizer is None:
        from casestudy.models import embedded_model_dir
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir())
    use_topk = topk if train.alpha > 0 else None
    examples = encode_records(tokenizer, records, use_topk, train.max_len)
    eval_examples = encode_records(tokenizer, eval_records, None, train.max_len)
    if not examples and train.max_steps > 0:
        raise ValueError(f"no trainable examples among {len(records)} records for student {name!r}")
    params_key = {"student": student_key(config, public), "train": asdict(train), "kind": kind, "tokenizer": tokenizer.name_or_path,
                  "data": examples_digest(examples), "eval": examples_digest(eval_examples)}
    key = hashlib.sha256(json.dumps(params_key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    result_path = out / RESULT_FILE
    if reuse and result_path.is_file():
        saved = json.loads(result_path.read_text())
        if saved.get("fingerprint") == key:
            return TrainResult(**{**saved, "reused": True})

    dev = pick_device(train.device)
    cuda = dev.name == "cuda"
    precision = native_precision(dev, train.precision)
    # torch's autocast rather than accelerate's mixed_precision: accelerate fixes that once per
    # process, and one notebook trains students of either precision (tests do too).
    autocast = torch.autocast(dev.name, dtype=torch.bfloat16, enabled=precision == "bf16")
    # step_scheduler_with_optimizer=False: the schedule counts optimizer steps; accelerate would
    # otherwise step it once per process at each step (it assumes the data loader's batches grew)
    acc = Accelerator(cpu=not cuda, step_scheduler_with_optimizer=False)
    world, rank = acc.num_processes, acc.process_index
    torch.manual_seed(train.seed)
    model, origin = build_student(config, tokenizer, public, seed=train.seed, calibration=records)
    model = model.to(acc.device)  # fused AdamW wants its params on the GPU
    params = count_params(model)
    trainable = sum(p.numel() for p in train_only_top(model, train.train_layers))
    wrapper = StudentLoss(model, train.alpha)
    optimizer = make_optimizer(model, train, fused=cuda)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_lambda(s, train))
    wrapper, optimizer, scheduler = acc.prepare(wrapper, optimizer, scheduler)
    base = acc.unwrap_model(wrapper).model

    rows = pack([len(e) for e in examples], train.max_len)
    row_tok = [sum(len(examples[i]) for i in row) for row in rows]                # real tokens of each row
    row_tgt = [sum(examples[i].num_targets for i in row) for row in rows]         # and its target tokens
    trunk = trunk_for(base.model, train.train_layers, precision, examples, rows, train.max_len)
    ckpt_root = out / "checkpoints"
    step, tokens, targets, elapsed, history = 0, 0, 0, 0.0, []
    if reuse and (last := _latest_checkpoint(ckpt_root)) is not None:
        acc.load_state(str(last))
        state = json.loads((last / "state.json").read_text())
        step, tokens, targets, elapsed = state["step"], state["train_tokens"], state["target_tokens"], state["elapsed"]
        if (out / LOG_FILE).is_file():
            history = [json.loads(line) for line in (out / LOG_FILE).read_text().splitlines() if line]
            history = [h for h in history if h["step"] <= step]
    elif ckpt_root.exists() and acc.is_main_process:
        shutil.rmtree(ckpt_root)
    acc.wait_for_everyone()

    def checkpoint() -> None:
        acc.wait_for_everyone()
        path = ckpt_root / f"step-{step:07d}"
        acc.save_state(str(path), safe_serialization=True)
        if acc.is_main_process:
            write_json_atomic(path / "state.json", {"step": step, "train_tokens": tokens, "target_tokens": targets,
                                                    "elapsed": elapsed})
            (out / LOG_FILE).write_text("".join(json.dumps(h) + "\n" for h in history))
            for old in ckpt_root.glob("step-*"):
                if old != path:
                    shutil.rmtree(old, ignore_errors=True)

    def held_out_ce() -> float:
        with autocast:
            return mean_ce(base, eval_examples, tokenizer.pad_token_id, train.max_len,
                           frozen_below=train.train_layers, precision=precision)

    peak = peak_flops() if cuda else None
    fpt = flops_per_token(params, base.config.num_hidden_layers, base.config.hidden_size, train.max_len)
    last_step = train.max_steps if stop_after is None else min(train.max_steps, stop_after)
    bar = tqdm(total=train.max_steps, initial=step, desc=f"train {name}", disable=not progress or not acc.is_main_process)
    wrapper.train()
    window_t, window_tok, start = time.perf_counter(), 0, time.perf_counter() - elapsed
    while step < last_step:
        parts_sum: dict[str, float] = {}
        shares: list[list[float]] = []  # several processes: each micro-batch's parts, weighted (global_parts)
        for micro in range(train.grad_accum):
            index = step * train.grad_accum + micro
            everyone = micro_batch_rows(index, len(rows), train.batch_size * world, train.seed)  # the global micro-batch
            idx = everyone[rank * train.batch_size:(rank + 1) * train.batch_size]               # this process's rows
            batch = collate_packed(examples, [rows[i] for i in idx], tokenizer.pad_token_id, train.max_len)
            n_tgt = int((batch["targets"] != IGNORE).sum())
            all_tgt = sum(row_tgt[i] for i in everyone)
            batch = {k: v.to(acc.device) for k, v in batch.items()}
            sync = micro == train.grad_accum - 1
            ctx = acc.no_sync(wrapper) if not sync else nullcontext()
            with ctx, autocast:
                loss, parts = wrapper(batch, trunk, idx)
                if world > 1:
                    # DDP averages the processes' gradients; weighing each process's mean by its share of the
                    # global micro-batch's targets makes that average the gradient of the mean over all of them
                    loss = loss * (n_tgt * world / all_tgt) if n_tgt else loss.nan_to_num(0.0) * 0.0
                acc.backward(loss / train.grad_accum)
            if world == 1:
                for k, v in parts.items():
                    parts_sum[k] = parts_sum.get(k, 0.0) + v / train.grad_accum
            else:
                has = int(topk_positions(batch["targets"], batch["top_ids"], batch["top_logprobs"]).sum()) \
                    if "kl" in parts else 0
                shares.append([parts["ce"] * n_tgt if n_tgt else 0.0, n_tgt, parts.get("kl", 0.0) * has, has])
            n_tok = sum(row_tok[i] for i in everyone)
            tokens += n_tok
            targets += all_tgt
            window_tok += n_tok
        if world > 1:
            parts_sum = global_parts(acc, shares, train.grad_accum)
        if train.grad_clip:
            acc.clip_grad_norm_(wrapper.parameters(), train.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        bar.update(1)
        elapsed = time.perf_counter() - start
        entry = None
        if step % train.log_every == 0 or step == last_step:
            now = time.perf_counter()
            tps = window_tok / max(now - window_t, 1e-9)
            window_t, window_tok = now, 0
            entry = {"step": step, "lr": scheduler.get_last_lr()[0], "train_tokens": tokens, "tokens_per_s": tps,
                     "elapsed": elapsed, **{f"train_{k}": v for k, v in parts_sum.items()}}
            if peak:
                entry["mfu"] = tps / world * fpt / peak
            bar.set_postfix(loss=f"{parts_sum.get('ce', float('nan')):.3f}", tok_s=f"{tps:.0f}")
        if eval_examples and ((train.eval_every and step % train.eval_every == 0) or step == train.max_steps):
            entry = entry or {"step": step, "train_tokens": tokens, "elapsed": elapsed}
            entry["eval_ce"] = held_out_ce()
        if entry:
            history.append(entry)
        if (train.ckpt_every and step % train.ckpt_every == 0) or step == last_step:
            checkpoint()
    bar.close()
    if step == 0 and eval_examples:  # the untrained baseline: one held-out measurement
        history.append({"step": 0, "train_tokens": 0, "elapsed": 0.0, "eval_ce": held_out_ce()})

    result = TrainResult(name=name, kind=kind, out_dir=str(out), params=params, train_tokens=tokens,
                         target_tokens=targets, steps=step, wall_seconds=elapsed,
                         tokens_per_second=tokens / elapsed if elapsed > 0 else 0.0,
                         device=dev.describe(f"{precision} training"),
                         num_examples=len(examples), fingerprint=key, start=origin, trainable_params=trainable,
                         processes=world, history=history)
    if step < train.max_steps:  # interrupted on purpose: leave the checkpoint, no final model
        return result
    acc.wait_for_everyone()
    if acc.is_main_process:
        save_student(base, tokenizer, out)
        (out / LOG_FILE).write_text("".join(json.dumps(h) + "\n" for h in history))
        write_json_atomic(result_path, asdict(result))
        shutil.rmtree(ckpt_root, ignore_errors=True)
    acc.wait_for_everyone()  # no process returns before the student is on disk
    return result


def save_student(model, tokenizer: PreTrainedTokenizerBase, out_dir: str | Path) -> Path:
    """Save a servable student: safetensors weights, config, generation config, tokenizer."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def load_result(out_dir: str | Path) -> TrainResult:
    """The TrainResult saved beside a finished student."""
    return TrainResult(**json.loads((Path(out_dir) / RESULT_FILE).read_text()))

