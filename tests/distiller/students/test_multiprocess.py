"""Data parallel through accelerate: two processes of half the batch take one process's steps.

The same tiny top-k distillation (a 2-layer Llama of width 64, fp32, 8 steps of 2
micro-batches, seed 0) is trained twice through the command line: once in one process
with 4 packed rows per micro-batch, once under `accelerate launch` in two gloo processes
on the CPU (loopback) with 2 rows each. Both see the same global batches in the same
order, so their logged losses, learning rates, token counts and final weights agree.

`accelerate launch --cpu --num_processes 2` starts a single process unless it runs under
mpirun (accelerate's multi-CPU launcher), so the two processes are started the way
several GPUs are, `--multi_gpu` (torchrun's launcher), and train on the CPU by
`--device cpu`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from casestudy.distiller.collect.dataset import RECORD_FIELDS, ArmWriter, TopK
from casestudy.models import embedded_model_dir
from tests.distiller.students.synthetic import generate_collection, random_prompts, tiny_llama

# Measured (2 CPU cores, torch 2.13, accelerate 1.15): the largest per-step difference between
# the runs is 1.3e-6 in train_ce and 3.4e-7 in train_kl, 0 in eval_ce, 1.9e-6 in any final
# weight; the tolerances are 5 to 8 times that. What they catch, measured too: averaging each
# process's own mean loss (not weighted by its share of the targets) is off by up to 4.8e-2 in
# the losses and 4.9e-2 in the weights; a schedule stepped once per process (accelerate's
# default) is off by 6.8e-3 in the lr and about 2 in the losses by step 8.
LOSS_ATOL = 1e-5
WEIGHT_ATOL = 1e-5
TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_arm(arm: Path) -> None:
    """A collection in the collector's on-disk format: 24 train and 2 eval records with top-5 logprobs,
    from a sharp teacher (its top 5 hold most of the mass), completions of 4 to 24 tokens (so packed
    rows, and the two processes' shares of a batch, carry different numbers of targets)."""
    tok = AutoTokenizer.from_pretrained(embedded_model_dir())
    teacher = tiny_llama(tok, seed=7)
    prompts = random_prompts(24, seed=1) + random_prompts(2, seed=2, split="eval")
    records, topk = [], {}
    for i, new_tokens in enumerate((4, 12, 24)):
        r, t = generate_collection(teacher, tok, prompts[i::3], max_new_tokens=new_tokens, k=5, temperature=0.02)
        records += r
        topk |= t
    with ArmWriter(arm) as writer:
        for rec in records:
            t = topk[rec["id"]]
            full = {**{f: None for f in RECORD_FIELDS}, **rec, "model": "tiny", "base_url": "local",
                    "latency_s": 0.0, "created": 0}
            token_lp = np.take_along_axis(t.top_logprobs, np.zeros((len(t.token_ids), 1), np.int64), 1)[:, 0]
            writer.append(full, TopK(t.token_ids, token_lp, t.top_ids, t.top_logprobs))


def train_args(run: Path, name: str, batch_size: int) -> list[str]:
    return ["-m", "casestudy.distiller.students", "--run", str(run), "--kind", "topk", "--alpha", "0.5",
            "--shape", "64,2,2,1,128", "--name", name, "--max-steps", "8", "--batch-size", str(batch_size),
            "--grad-accum", "2", "--max-len", "128", "--lr", "1e-2", "--warmup-steps", "2", "--log-every", "1",
            "--seed", "0", "--device", "cpu", "--precision", "fp32"]


def run(cmd: list[str], port: int) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
           "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return done.stdout


def read_student(folder: Path) -> tuple[dict, list[dict]]:
    result = json.loads((folder / "train_result.json").read_text())
    log = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    return result, log


@pytest.mark.slow
@pytest.mark.timeout(2 * TIMEOUT_S + 120)
def test_two_processes_of_half_the_batch_take_the_steps_of_one(tmp_path):
    run_dir = tmp_path / "run"
    write_arm(run_dir / "collect" / "main")
    students = run_dir / "distill" / "students"

    out1 = run([sys.executable, *train_args(run_dir, "one", 4)], free_port())
    port = free_port()
    out2 = run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_ip", "127.0.0.1", "--main_process_port", str(port),
                *train_args(run_dir, "two", 2)], port)

    one, log1 = read_student(students / "one")
    two, log2 = read_student(students / "two")
    assert one["processes"] == 1 and two["processes"] == 2
    assert out1.count('"fingerprint"') == 1 and out2.count('"fingerprint"') == 1  # only the main process reports
    assert not (students / "two" / "checkpoints").exists()
    # the same rows: token counts are integers summed over the processes' shares
    assert (one["train_tokens"], one["target_tokens"]) == (two["train_tokens"], two["target_tokens"])
    assert [h["step"] for h in log1] == [h["step"] for h in log2] == list(range(1, 9))
    assert [h["lr"] for h in log1] == pytest.approx([h["lr"] for h in log2], rel=1e-12)
    assert [h["train_tokens"] for h in log1] == [h["train_tokens"] for h in log2]
    for key in ("train_ce", "train_kl"):
        a, b = np.array([h[key] for h in log1]), np.array([h[key] for h in log2])
        assert np.abs(a - b).max() < LOSS_ATOL, (key, a, b, np.abs(a - b).max())
    assert log1[-1]["eval_ce"] == pytest.approx(log2[-1]["eval_ce"], abs=LOSS_ATOL)
    assert log1[-1]["train_ce"] < log1[0]["train_ce"] - 0.3  # it learned
    w1, w2 = load_file(students / "one" / "model.safetensors"), load_file(students / "two" / "model.safetensors")
    assert w1.keys() == w2.keys()
    for k in w1:
        torch.testing.assert_close(w1[k], w2[k], atol=WEIGHT_ATOL, rtol=0)
