"""The collector against a real third-party endpoint: `transformers serve` (shipped with the
environment's transformers), on loopback, serving a tiny Llama built here (no network).

It is the study's "another endpoint, as a researcher would point it": an OpenAI-compatible
server nobody here wrote. It accepts `logprobs` / `top_logprobs` and ignores them (it logs
"Ignoring unsupported fields"), so its answers carry no logprobs: the collector must still
gather every record, say so, and the manifest must not claim top-k data the arm lacks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from casestudy.distiller.collect import cli
from casestudy.distiller.collect.logprobs import LogprobsWarning
from casestudy.distiller.collect.manifest import read_manifest
from casestudy.distiller.collect.dataset import TOPK_FILE, has_topk, read_records, read_topk
from casestudy.distiller.collect.prompts import Prompt, write_prompts

KEY_ENV = "TRANSFORMERS_SERVE_KEY_FOR_TESTS"  # the server checks no key; the collector sends one
START_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def tiny_model_dir(tiny_llama_dir) -> Path:
    """The suite's tiny random Llama with the embedded tokenizer and chat template (tests/conftest.py): a local path."""
    return tiny_llama_dir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def transformers_serve(tiny_model_dir, tmp_path):
    """`transformers serve <tiny model> --host 127.0.0.1 --port <free>` on the CPU, offline; yields
    (base_url, log path); the process is killed in the end whatever happened."""
    executable = Path(sys.executable).with_name("transformers")
    if not executable.is_file():
        pytest.skip(f"no `transformers` command next to {sys.executable}")
    port, log = free_port(), tmp_path / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "",
           "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [str(executable), "serve", str(tiny_model_dir), "--host", "127.0.0.1", "--port", str(port),
               "--device", "cpu", "--log-level", "info"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(f"http://127.0.0.1:{port}/health"):
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve not healthy after {START_TIMEOUT_S:.0f}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1", log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_transformers_serve_gives_every_record_and_no_logprobs_and_the_collector_says_so(
        transformers_serve, tiny_model_dir, tmp_path, monkeypatch, capsys):
    base_url, log = transformers_serve
    monkeypatch.setenv(KEY_ENV, "sk-unused")
    prompts = [Prompt(f"p{i}", "chat", "eval" if i == 5 else "train",
                      ({"role": "user", "content": f"Say something about the number {i}."},)) for i in range(6)]
    prompt_file = write_prompts(prompts, tmp_path / "prompts.jsonl")
    arm = tmp_path / "main"
    argv = ["--base-url", base_url, "--model", str(tiny_model_dir), "--api-key-env", KEY_ENV, "--arm-dir", str(arm),
            "--prompts", str(prompt_file), "--max-tokens", "8", "--top-logprobs", "20", "--concurrency", "2",
            "--timeout-s", "60", "--no-progress"]
    with pytest.warns(LogprobsWarning, match=rf"{base_url} returned no logprobs: 0 of 6 records"):
        assert cli.main(argv) == 0
    assert "logprobs: 0/6 records carry top-k logprobs (asked 20" in capsys.readouterr().out

    records = read_records(arm)
    assert [r["id"] for r in records] == [f"p{i}:0" for i in range(6)]
    assert all(r["model"] == str(tiny_model_dir) and 0 < r["completion_tokens"] <= 8 and r["prompt_tokens"] > 0
               for r in records)
    manifest = read_manifest(arm)
    assert manifest["complete"] and manifest["generation"]["top_logprobs"] == 20  # what was asked
    none = {"asked": 20, "records": 6, "records_with_logprobs": 0, "top_returned": 0}  # what came back
    assert manifest["logprobs"] == none and manifest["runs"][-1]["logprobs"] == none
    assert manifest["runs"][-1]["collected"] == 6
    assert (arm / TOPK_FILE).stat().st_size == 0 and read_topk(arm) == {} and not has_topk(arm)
    # The server's own account of the request (transformers 5.24): it dropped the fields.
    said = log.read_text()
    assert "Ignoring unsupported fields in the request" in said and "'top_logprobs'" in said
