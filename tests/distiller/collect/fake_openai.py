"""A small fake OpenAI-compatible server for the collector's tests.

It answers /v1/chat/completions with deterministic text built from common English
words (each a single token of the SmolLM2 tokenizer), with logprobs carrying exact token
bytes, and it can be told to fail: 429 with Retry-After, 500s, slow answers (timeouts).
It stands for "another endpoint" (vLLM, llama.cpp, a hosted API) in the tests.

Run it in a thread with `serve(FakeConfig(...))`, or as a process with
`python tests/distiller/fake_openai.py PORT [DELAY_S]`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

WORDS = (
    " the", " cat", " sat", " on", " a", " warm", " mat", " and", " looked", " at", " sun",
    " it", " was", " good", " day", " for", " reading", " books", " in", " garden", " with", " friends",
)
FOREIGN_WORDS = (" ʘ‿ʘ", " ⟁⟁", " ꙮꙮ")  # no single SmolLM2 token has these bytes


@dataclass
class FakeConfig:
    api_key: str | tuple[str, ...] = "sk-fake"  # one key or several accepted keys
    model: str = "fake-model"
    delay_s: float = 0.0             # added to every answer
    script: list[tuple] = field(default_factory=list)  # actions for the first requests, in order:
    #   ("429", retry_after_s) | ("500",) | ("sleep", seconds) | ("ok",)
    foreign: bool = False            # answer with tokens the teacher tokenizer lacks
    ignore_logprobs: bool = False    # accept `logprobs` and answer without them, as `transformers serve` does
    block_after: dict[str, int] = field(default_factory=dict)  # key -> answers it gets before it is blocked (403)
    requests: list[dict] = field(default_factory=list)  # every request body and key, for assertions
    answered: dict[str, int] = field(default_factory=dict)  # key -> answers sent

    def next_action(self) -> tuple:
        return self.script.pop(0) if self.script else ("ok",)


def completion_words(body: dict, foreign: bool) -> list[str]:
    """Deterministic words from the request's messages and seed."""
    key = json.dumps([body.get("messages"), body.get("seed")], sort_keys=True)
    rng = random.Random(hashlib.sha256(key.encode()).hexdigest())
    limit = body.get("max_tokens") or body.get("max_completion_tokens") or 16
    length = min(limit, rng.randint(3, 24))
    pool = FOREIGN_WORDS if foreign else WORDS
    return [rng.choice(pool) for _ in range(length)]


def logprob_entry(word: str, rank_words: list[str], top: int) -> dict:
    alts = [word] + [w for w in rank_words if w != word][: max(0, top - 1)]
    return {
        "token": word,
        "bytes": list(word.encode()),
        "logprob": -0.5,
        "top_logprobs": [{"token": w, "bytes": list(w.encode()), "logprob": -0.5 - i} for i, w in enumerate(alts[:top])],
    }


def make_app(config: FakeConfig) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [{"id": config.model, "object": "model", "created": 0, "owned_by": "fake"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        config.requests.append({"key": key, "body": body, "time": time.time()})
        if key not in ((config.api_key,) if isinstance(config.api_key, str) else config.api_key):
            return JSONResponse({"error": {"message": "bad key", "type": "invalid_request_error"}}, status_code=401)
        if body.get("model") != config.model:
            return JSONResponse({"error": {"message": f"no model {body.get('model')!r}"}}, status_code=404)
        if config.answered.get(key, 0) >= config.block_after.get(key, float("inf")):
            return JSONResponse({"error": {"message": "This account has been blocked: harvesting", "param": None,
                                           "type": "permission_error", "code": "account_blocked"}}, status_code=403)
        config.answered[key] = config.answered.get(key, 0) + 1
        action = config.next_action()
        if action[0] == "429":
            return JSONResponse({"error": {"message": "slow down"}}, status_code=429, headers={"retry-after": str(action[1])})
        if action[0] == "500":
            return JSONResponse({"error": {"message": "boom"}}, status_code=500)
        if action[0] == "sleep":
            await asyncio.sleep(action[1])
        if config.delay_s:
            await asyncio.sleep(config.delay_s)
        words = completion_words(body, config.foreign)
        limit = body.get("max_tokens") or 16
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": "".join(words).strip()},
            "finish_reason": "length" if len(words) >= limit else "stop",
            "logprobs": None,
        }
        if body.get("logprobs") and not config.ignore_logprobs:
            top = int(body.get("top_logprobs") or 0)
            pool = list(FOREIGN_WORDS if config.foreign else WORDS)
            choice["logprobs"] = {"content": [logprob_entry(w, pool, top) for w in words]}
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": config.model,
            "choices": [choice],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(words), "total_tokens": prompt_tokens + len(words)},
        }

    return app


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(config: FakeConfig):
    """Run the fake server in a thread; yields its base_url (".../v1")."""
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(make_app(config), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


if __name__ == "__main__":
    port = int(sys.argv[1])
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    uvicorn.run(make_app(FakeConfig(delay_s=delay)), host="127.0.0.1", port=port, log_level="warning")
