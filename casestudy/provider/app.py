"""The provider's FastAPI app: /v1/chat/completions and /v1/models, OpenAI's wire format.

Every request to them, answered or refused, becomes one ledger row. Checks run cheapest
first, so that a customer cannot make the server work for free: the API key (from the
header, before the body is read), the account's requests per minute (every
authenticated request counts, refused or not), body size, JSON and types, values and
the prompt (tokenized in a worker thread, off the event loop), then tokens per minute
and the engine's KV-cache budget. A client that hangs up while its completion is
generated (streamed or not) has its rows dropped from the batch (ledgered as status 499).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from jinja2 import TemplateError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from casestudy.provider.accounts import Account, find_account
from casestudy.provider.batcher import BatchResult, ContinuousBatcher
from casestudy.provider.engine import Completion, Engine, Row, Update
from casestudy.provider.errors import APIError, bad_request, from_validation_errors
from casestudy.provider.ledger import BODY_KEEP_CHARS, Ledger, LedgerRow
from casestudy.provider.prompting import ForgedControlText, encode_chat
from casestudy.provider.ratelimit import Charge, RateLimiter, Refusal
from casestudy.provider.schemas import (
    MAX_STOP_SEQUENCES, ChatCompletion, ChatCompletionRequest, ModelCard, ModelList, request_schema,
)
from casestudy.provider.settings import ProviderSettings
from casestudy.models import LoadedModel, load_model
from casestudy.token_bytes import is_byte_level, token_bytes

log = logging.getLogger("casestudy.provider")
OWNER = "provider"


def row_seed(seed: int | None, choice: int) -> int | None:
    """The seed of choice `choice` of a request: its own stream, fixed by the request's seed."""
    if seed is None:
        return None
    return (seed * 1_000_003 + choice) % (2**63)


GREEDY_BELOW = 1e-5
"""Temperatures below this are served greedily (as 0). Dividing logits by a temperature
near 0 overflows float32 to inf (inf - inf = NaN in the softmax); at 1e-5 the sampling
distribution is already the argmax unless two logits lie within ~1e-4 of each other."""

CLIENT_CLOSED = 499  # nginx's "client closed request": ledgered for cancelled requests, never sent


@dataclass
class Exchange:
    """One request's ledger row, its account and its counted rate-limit charge."""
    row: LedgerRow
    account: Account | None = None
    charge: Charge | None = None
    started: float = 0.0       # perf_counter() when the request came in
    deferred: bool = False     # a stream: its body writes the ledger row when it ends


@dataclass(frozen=True)
class Plan:
    """What a checked chat request asks the engine for."""
    prompt: list[int]
    max_tokens: int
    n: int
    temperature: float
    top_p: float
    top_logprobs: int          # alternatives per token (0 without logprobs)
    logprobs: bool
    stream: bool
    include_usage: bool
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0


class Provider:
    """The state one server holds: model, batcher, ledger, rate limiter."""

    def __init__(self, settings: ProviderSettings, loaded: LoadedModel):
        self.settings = settings
        self.loaded = loaded
        self.engine = Engine(loaded, settings.watermark if settings.watermark_enabled else None,
                             max_batch_tokens=settings.max_batch_tokens,
                             prefill_tokens=settings.prefill_tokens or None)
        self.batcher = ContinuousBatcher(self.engine, settings.batch_window_ms / 1000, settings.max_batch_size)
        self.ledger = Ledger(settings.ledger_db)
        self.limiter = RateLimiter(settings.accounts_db)
        self.created = int(time.time())
        self._token_entries: dict[int, tuple[str, list[int]]] = {}
        tok = loaded.tokenizer
        # The most bytes any token covers: with a byte-level BPE (each token is a run of the
        # text's bytes) a prompt of B bytes has at least B / this many tokens.
        self.max_token_bytes = (max(len(token_bytes(tok, i)) for i in tok.get_vocab().values())
                                if is_byte_level(tok) else None)

    def close(self) -> None:
        self.batcher.close()
        self.ledger.close()
        self.limiter.close()

    # --- checks ---------------------------------------------------------------

    async def read_body(self, request: Request) -> bytes:
        cap = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise APIError(413, f"Request body of {declared} bytes exceeds the limit of {cap} bytes.",
                           code="request_too_large")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > cap:
                raise APIError(413, f"Request body exceeds the limit of {cap} bytes.", code="request_too_large")
        return bytes(body)

    async def authenticate(self, request: Request, exchange: Exchange) -> Account:
        """The account of the request's key (from its header alone: the body is not read yet)."""
        header = request.headers.get("authorization", "")
        scheme, _, api_key = header.partition(" ")
        if scheme.lower() != "bearer" or not api_key.strip():
            raise APIError(401, "You didn't provide an API key. Provide it in the Authorization header "
                                "(Authorization: Bearer YOUR_KEY).", code="missing_api_key")
        account = await asyncio.to_thread(find_account, self.settings.accounts_db, api_key.strip())
        if account is None:
            raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")
        exchange.account = account
        exchange.row.account_id, exchange.row.account_name = account.id, account.name
        return account

    def limits(self, account: Account) -> tuple[int, int]:
        return account.rpm or self.settings.default_rpm, account.tpm or self.settings.default_tpm

    async def count_request(self, exchange: Exchange) -> None:
        """Count the request against its account's requests per minute, before any real work."""
        rpm, _ = self.limits(exchange.account)
        verdict = await asyncio.to_thread(self.limiter.count_request, exchange.account.id, rpm)
        if isinstance(verdict, Refusal):
            raise rate_limited(verdict)
        exchange.charge = verdict

    async def charge_tokens(self, exchange: Exchange, plan: Plan) -> None:
        _, tpm = self.limits(exchange.account)
        tokens = len(plan.prompt) + plan.max_tokens * plan.n
        if tokens > tpm:  # no wait can make room: say so instead of a 429 the client would retry
            param = "messages" if len(plan.prompt) > tpm else "max_tokens"
            raise bad_request(
                f"This request may use {tokens} tokens ({len(plan.prompt)} in the messages + max_tokens "
                f"{plan.max_tokens} x n {plan.n}), more than this account's limit of {tpm} tokens per minute, "
                "so it can never be admitted. Lower max_tokens or n, or shorten the messages.",
                param, code="tokens_per_minute_exceeded")
        self.check_capacity(plan)
        refusal = await asyncio.to_thread(self.limiter.charge_tokens, exchange.charge, tpm, tokens)
        if refusal is not None:
            raise rate_limited(refusal)

    def check_capacity(self, plan: Plan) -> None:
        """A 400 for a request whose rows could never fit the engine's KV-cache budget even alone."""
        problem = self.engine.capacity_problem(len(plan.prompt), plan.max_tokens, plan.n)
        if problem:
            raise bad_request(problem, "messages", code="batch_budget_exceeded")

    def prompt_ids(self, req: ChatCompletionRequest) -> list[int]:
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()}
                    for m in req.messages]
        if self.settings.system_prompt:
            messages.insert(0, {"role": "system", "content": self.settings.system_prompt})
        window = self.engine.context_window
        if window is not None and self.max_token_bytes:  # surely too long: refused without tokenizing
            least = sum(len(m["content"].strip().encode("utf-8")) for m in messages) // self.max_token_bytes
            if least > window:
                raise context_exceeded(
                    f"This model's maximum context length is {window} tokens. However, your messages "
                    f"have at least {least} tokens. Please reduce the length of the messages.")
        try:
            return encode_chat(self.loaded.tokenizer, messages)
        except TemplateError as error:  # e.g. a template that demands alternating roles
            raise bad_request(f"The messages do not fit this model's chat template: {error}", "messages") from None
        except ForgedControlText as error:
            raise bad_request(str(error), "messages") from None

    def plan(self, req: ChatCompletionRequest) -> Plan:
        """Check values against the deployment (tokenizing the prompt: run it off the event loop)."""
        s = self.settings
        if req.model != s.model_name:
            raise APIError(404, f"The model '{req.model}' does not exist or you do not have access to it. "
                                f"This server serves '{s.model_name}'.", code="model_not_found", param="model")
        if req.stream_options is not None and not req.stream:
            raise bad_request("stream_options is only allowed when stream is true.", "stream_options")
        if req.logit_bias:
            raise bad_request("'logit_bias' other than {} is not supported by this server.", "logit_bias",
                              code="unsupported_value")
        if req.response_format is not None and req.response_format.type != "text":
            raise bad_request(f"response_format type '{req.response_format.type}' is not supported by this "
                              "server; only 'text'.", "response_format", code="unsupported_value")
        if req.top_logprobs is not None and not req.logprobs:
            raise bad_request("top_logprobs requires logprobs=true.", "top_logprobs")
        n = req.n if req.n is not None else 1
        n_cap = min(s.n_cap, s.max_batch_size)
        if n > n_cap:
            raise bad_request(f"Invalid value for 'n': {n} is above the maximum of {n_cap}.", "n")
        stops = req.stop_list()
        if len(stops) > MAX_STOP_SEQUENCES or any(not stop for stop in stops):
            raise bad_request(f"'stop' takes at most {MAX_STOP_SEQUENCES} non-empty strings.", "stop")
        asked = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
        param = "max_completion_tokens" if req.max_completion_tokens is not None else "max_tokens"
        if asked is not None and asked > s.max_tokens_cap:
            raise bad_request(f"Invalid value for '{param}': {asked} is above the maximum of {s.max_tokens_cap}.",
                              param)
        prompt = self.prompt_ids(req)
        window = self.engine.context_window
        if window is not None:
            room = window - len(prompt)
            wanted = asked if asked is not None else 1
            if wanted > room:
                raise context_exceeded(
                    f"This model's maximum context length is {window} tokens. However, you requested "
                    f"{len(prompt) + wanted} tokens ({len(prompt)} in the messages, {wanted} in the completion). "
                    "Please reduce the length of the messages or completion.")
            if asked is None:
                asked = min(s.default_max_tokens, room)
        asked = asked if asked is not None else s.default_max_tokens
        temperature = req.temperature if req.temperature is not None else 1.0
        return Plan(
            prompt=prompt, max_tokens=asked, n=n,
            temperature=0.0 if temperature < GREEDY_BELOW else temperature,
            top_p=req.top_p if req.top_p is not None else 1.0,
            top_logprobs=(req.top_logprobs or 0) if req.logprobs else 0, logprobs=bool(req.logprobs),
            stream=bool(req.stream), include_usage=bool(req.stream_options and req.stream_options.include_usage),
            frequency_penalty=req.frequency_penalty or 0.0, presence_penalty=req.presence_penalty or 0.0,
        )

    # --- replies --------------------------------------------------------------

    def token_entry(self, token_id: int, logprob: float) -> dict:
        known = self._token_entries.get(token_id)
        if known is None:
            tok = self.loaded.tokenizer
            known = self._token_entries[token_id] = (tok.decode([token_id]), list(token_bytes(tok, token_id)))
        return {"token": known[0], "logprob": logprob, "bytes": known[1]}

    def logprob_content(self, completion: Completion) -> list[dict]:
        return [
            {**self.token_entry(token_id, logprob),
             "top_logprobs": [self.token_entry(i, v) for i, v in zip(top_ids, top_values)]}
            for token_id, logprob, top_ids, top_values in zip(
                completion.token_ids, completion.logprobs, completion.top_ids, completion.top_logprobs)
        ]

    def text_deltas(self, completion: Completion, sent: int = 0, shown: int = 0) -> list[str]:
        """The text each token from the `sent`-th on adds, joining to exactly
        `completion.text[shown:]` (for streaming; `shown` characters were sent already).

        A token that ends inside a multi-byte character adds nothing; the next one adds it.
        """
        tok, text = self.loaded.tokenizer, completion.text
        deltas = []
        for j in range(sent, len(completion.token_ids)):
            prefix = tok.decode(completion.token_ids[: j + 1], skip_special_tokens=True)
            if prefix.endswith("\ufffd") and j + 1 < len(completion.token_ids):
                deltas.append("")
                continue
            upto = max(shown, min(len(prefix), len(text)))
            deltas.append(text[shown:upto])
            shown = upto
        if deltas:
            deltas[-1] += text[shown:]
        elif text[shown:]:
            deltas.append(text[shown:])
        return deltas

    async def generate(self, request: Request, rows: list[Row]) -> BatchResult:
        """The batcher's answer, or a 499 when the client hangs up first (its rows are cancelled)."""
        job = asyncio.ensure_future(self.batcher.submit(rows))
        gone = asyncio.ensure_future(disconnected(request))
        try:
            await asyncio.wait({job, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not job.done():
                job.cancel()  # the batcher drops a cancelled submit's rows
        if job.cancelled() or not job.done():
            with contextlib.suppress(asyncio.CancelledError):
                await job
            raise APIError(CLIENT_CLOSED, "The client closed the connection before the completion was ready; "
                                          "the request was cancelled.", code="client_disconnected")
        return job.result()

    async def chat(self, request: Request, exchange: Exchange):
        row = exchange.row
        await self.authenticate(request, exchange)
        await self.count_request(exchange)
        body = await self.read_body(request)
        try:
            req = await asyncio.to_thread(ChatCompletionRequest.model_validate_json, body)
        except ValidationError as error:
            row.body = body[:BODY_KEEP_CHARS * 4].decode("utf-8", errors="replace")
            raise from_validation_errors(error.errors()) from None
        row.model = req.model
        row.messages = [m.model_dump(exclude_none=True) for m in req.messages]
        row.params = req.model_dump(exclude={"model", "messages"}, exclude_none=True)
        plan = await asyncio.to_thread(self.plan, req)
        await self.charge_tokens(exchange, plan)
        rows = [Row(plan.prompt, plan.max_tokens, plan.temperature, plan.top_p, row_seed(req.seed, i),
                    req.stop_list(), plan.top_logprobs, logprobs=plan.logprobs, stream=plan.stream,
                    frequency_penalty=plan.frequency_penalty, presence_penalty=plan.presence_penalty)
                for i in range(plan.n)]
        if plan.stream:
            return await self.stream(request, exchange, plan, rows, req.stop_list())
        try:
            result = await self.generate(request, rows)
        except APIError:
            await asyncio.to_thread(self.limiter.settle, exchange.charge, len(plan.prompt))
            row.prompt_tokens = len(plan.prompt)
            raise
        completions = result.completions
        usage = await self.record(exchange, plan, result)
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        return ChatCompletion(
            id=reply_id,
            created=created,
            model=self.settings.model_name,
            choices=[
                {"index": i, "message": {"content": c.text}, "finish_reason": c.finish_reason,
                 "logprobs": {"content": self.logprob_content(c)} if plan.logprobs else None}
                for i, c in enumerate(completions)
            ],
            usage=usage,
        ).model_dump(mode="json")

    async def record(self, exchange: Exchange, plan: Plan, result: BatchResult) -> dict:
        """Settle the rate-limit charge and fill the ledger row of an answered request; its usage."""
        row, completions = exchange.row, result.completions
        completion_tokens = sum(len(c.token_ids) for c in completions)
        await asyncio.to_thread(self.limiter.settle, exchange.charge, len(plan.prompt) + completion_tokens)
        row.completions = [c.text for c in completions]
        row.finish_reasons = [c.finish_reason for c in completions]
        row.prompt_tokens, row.completion_tokens = len(plan.prompt), completion_tokens
        row.total_tokens = len(plan.prompt) + completion_tokens
        row.batch_rows, row.generate_ms = result.batch_rows, result.generate_ms
        return {"prompt_tokens": row.prompt_tokens, "completion_tokens": completion_tokens,
                "total_tokens": row.total_tokens}

    # --- streaming ------------------------------------------------------------

    async def stream(self, request: Request, exchange: Exchange, plan: Plan, rows: list[Row],
                     stops: list[str]) -> StreamingResponse:
        """Server-sent events sent as the tokens are generated.

        The reply starts once the first step's tokens are in, so that what fails before
        (a disconnect while queued: 499; an engine error: 500) is still a plain error
        reply. From then on a client that hangs up cancels the rows (ledgered as 499).
        """
        updates: asyncio.Queue = asyncio.Queue()
        job = asyncio.ensure_future(self.batcher.submit(rows, on_update=updates.put_nowait))
        job.add_done_callback(lambda _: updates.put_nowait(None))
        waiting = asyncio.ensure_future(updates.get())
        gone = asyncio.ensure_future(disconnected(request))
        try:
            await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not waiting.done():
                waiting.cancel()
        if not waiting.done() or waiting.cancelled():   # the client went first
            gone.cancel()
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job
            await asyncio.to_thread(self.limiter.settle, exchange.charge, len(plan.prompt))
            exchange.row.prompt_tokens = len(plan.prompt)
            raise APIError(CLIENT_CLOSED, "The client closed the connection before the completion was ready; "
                                          "the request was cancelled.", code="client_disconnected")
        first = waiting.result()
        if first is None and job.exception() is not None:  # failed before any token
            gone.cancel()
            await asyncio.to_thread(self.limiter.settle, exchange.charge, len(plan.prompt))
            exchange.row.prompt_tokens = len(plan.prompt)
            raise job.exception()
        gone.add_done_callback(lambda _: job.cancel())  # a hang-up from now on drops the rows
        exchange.deferred = True
        body = self.stream_body(exchange, plan, job, updates, first, gone, stops)
        return StreamingResponse(body, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def stream_body(self, exchange: Exchange, plan: Plan, job: asyncio.Future, updates: asyncio.Queue,
                          first, gone: asyncio.Future, stops: list[str]):
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        base = {"id": reply_id, "object": "chat.completion.chunk", "created": created,
                "model": self.settings.model_name, "system_fingerprint": None}
        if plan.include_usage:
            base["usage"] = None

        def event(choices: list[dict], **extra) -> str:
            return "data: " + json.dumps({**base, "choices": choices, **extra}, ensure_ascii=False) + "\n\n"

        def choice(i: int, delta: dict, logprobs=None, finish=None) -> dict:
            return {"index": i, "delta": delta, "logprobs": logprobs, "finish_reason": finish}

        def content(i: int, deltas: list[str], entries: list[dict] | None) -> list[str]:
            return [event([choice(i, {"content": delta},
                                  {"content": [entries[j]], "refusal": None} if entries else None)])
                    for j, delta in enumerate(deltas)]

        streams = [_ChoiceStream(self.loaded.tokenizer, self.engine.eos_ids, stops) for _ in range(plan.n)]
        status, written = CLIENT_CLOSED, False
        try:
            yield "".join(event([choice(i, {"role": "assistant", "content": "", "refusal": None})])
                          for i in range(plan.n))
            item = first
            while item is not None:
                chunks = []
                for index, update in item:
                    deltas, taken = streams[index].add(update)
                    entries = ([self.token_entry(u.token_id, u.logprob) | {"top_logprobs": [
                        self.token_entry(t, v) for t, v in zip(u.top_ids, u.top_logprobs)]} for u in taken]
                        if plan.logprobs else None)
                    chunks += content(index, deltas, entries)
                if chunks:
                    yield "".join(chunks)
                item = await updates.get()
            if job.cancelled():
                return
            result = job.result()
            chunks = []
            for i, completion in enumerate(result.completions):
                deltas, start = streams[i].rest(completion, self.text_deltas)
                entries = self.logprob_content(completion)[start:] if plan.logprobs else None
                chunks += content(i, deltas, entries)
                chunks.append(event([choice(i, {}, finish=completion.finish_reason)]))
            usage = await self.record(exchange, plan, result)
            if plan.include_usage:
                chunks.append(event([], usage=usage))
            status = 200
            await self.close_row(exchange, status)
            written = True
            yield "".join(chunks) + "data: [DONE]\n\n"
        except Exception as error:  # an engine error mid-stream: the status was sent, say it in an event
            if isinstance(error, APIError):
                status, code, message = error.status, error.code, error.message
            else:
                log.exception("stream failed")
                status, code, message = 500, "internal_error", "The server had an error while processing your request."
            exchange.row.error_code, exchange.row.error_message = code, message
            yield "data: " + json.dumps({"error": {"message": message, "type": "server_error", "code": code}}) + "\n\n"
        finally:
            gone.cancel()
            if not job.done():
                job.cancel()
            if not written:
                if status == CLIENT_CLOSED:
                    exchange.row.error_code = "client_disconnected"
                exchange.row.prompt_tokens = len(plan.prompt)
                # A new task: this one may be cancelled, and then cannot await.
                task = asyncio.get_running_loop().create_task(self.close_row(exchange, status, settle=len(plan.prompt)))
                _BACKGROUND.add(task)
                task.add_done_callback(_BACKGROUND.discard)

    async def close_row(self, exchange: Exchange, status: int, settle: int | None = None) -> None:
        """Write a stream's ledger row when its body ends (after settling its charge, if `settle`)."""
        if settle is not None:
            await asyncio.to_thread(self.limiter.settle, exchange.charge, settle)
        exchange.row.status = status
        exchange.row.latency_ms = (time.perf_counter() - exchange.started) * 1000
        await asyncio.to_thread(self.ledger.write, exchange.row)

    async def ledgered(self, request: Request, endpoint: str, handler) -> Response:
        """Run `handler`, turn errors into OpenAI error replies, write the ledger row."""
        start = time.perf_counter()
        exchange = Exchange(LedgerRow(time=time.time(), endpoint=endpoint), started=start)
        row = exchange.row
        try:
            response = await handler(request, exchange)
            if not isinstance(response, Response):
                response = JSONResponse(response)
        except APIError as error:
            response = error.response()
            row.error_code, row.error_message = error.code, error.message
        except Exception as error:  # a bug of ours: say so, keep serving
            log.exception("request failed")
            response = APIError(500, "The server had an error while processing your request.",
                                code="internal_error", type="server_error").response()
            row.error_code, row.error_message = "internal_error", repr(error)[:500]
        if exchange.account is not None:
            try:
                state = await asyncio.to_thread(self.limiter.state, exchange.account.id,
                                                *self.limits(exchange.account))
                response.headers.update(state.headers())
            except Exception:  # headers are a courtesy: never lose the answer or its ledger row
                log.exception("rate-limit headers failed")
        if exchange.deferred:  # a stream: its body writes the row when it ends
            return response
        row.status = response.status_code
        row.latency_ms = (time.perf_counter() - start) * 1000
        await asyncio.to_thread(self.ledger.write, row)
        return response

    def model_card(self) -> dict:
        return {"id": self.settings.model_name, "object": "model", "created": self.created, "owned_by": OWNER}

    async def models(self, request: Request, exchange: Exchange) -> dict:
        await self.authenticate(request, exchange)
        await self.count_request(exchange)
        return ModelList(data=[self.model_card()]).model_dump(mode="json")

    async def model(self, request: Request, exchange: Exchange) -> dict:
        await self.authenticate(request, exchange)
        await self.count_request(exchange)
        model_id = request.path_params["model_id"]
        exchange.row.model = model_id[:200]
        if model_id != self.settings.model_name:
            raise APIError(404, f"The model '{model_id}' does not exist or you do not have access to it.",
                           code="model_not_found", param="model")
        return ModelCard(**self.model_card()).model_dump(mode="json")


_BACKGROUND: set[asyncio.Task] = set()   # tasks that write the rows of streams cut short


class _ChoiceStream:
    """One choice of a stream: the tokens drawn so far, and how many of them (and how
    much of their text) were sent. A token is sent once its text is sure to be in the
    completion: not EOS, not ending inside a multi-byte character, and, with stop
    strings, followed by enough text that no stop string can start inside it; the
    rest is sent from the finished `Completion`."""

    def __init__(self, tokenizer, eos_ids: set[int], stops: list[str]):
        self.tokenizer, self.eos_ids, self.stops = tokenizer, eos_ids, stops
        self.hold = max((len(s) for s in stops), default=1) - 1
        self.updates: list[Update] = []
        self.sent = 0                # tokens sent
        self.shown = 0               # characters sent
        self.blocked = False         # a stop string or EOS came: the rest waits for the completion

    def add(self, update: Update) -> tuple[list[str], list[Update]]:
        """Take a drawn token; the text deltas and updates of the tokens now safe to send."""
        self.updates.append(update)
        if self.blocked:
            return [], []
        ids = [u.token_id for u in self.updates]
        if ids[-1] in self.eos_ids:
            self.blocked = True
            ids = ids[:-1]
        decode = lambda upto: self.tokenizer.decode(ids[:upto], skip_special_tokens=True)
        limit = None
        if self.stops:
            whole = decode(len(ids))
            if any(stop in whole for stop in self.stops):
                self.blocked = True
                return [], []
            limit = len(whole) - self.hold
        deltas, taken = [], []
        for j in range(self.sent, len(ids)):
            prefix = decode(j + 1)
            if prefix.endswith("\ufffd"):
                if j + 1 == len(ids):
                    break            # the next token tells
                delta = ""           # ends inside a character: the next token sends it, as in text_deltas
            elif limit is not None and len(prefix) > limit:
                break
            else:
                delta = prefix[self.shown:]
                self.shown = max(self.shown, len(prefix))
            deltas.append(delta)
            taken.append(self.updates[j])
            self.sent = j + 1
        return deltas, taken

    def rest(self, completion: Completion, text_deltas) -> tuple[list[str], int]:
        """The deltas of the completion's tokens not sent yet, and the index of the first."""
        deltas = text_deltas(completion, self.sent, self.shown)
        return deltas, self.sent


def rate_limited(refusal: Refusal) -> APIError:
    return APIError(429, refusal.message, code="rate_limit_exceeded", type=refusal.limit,
                    headers={"Retry-After": str(refusal.retry_after_s)})


def context_exceeded(message: str) -> APIError:
    return bad_request(message, "messages", code="context_length_exceeded")


async def disconnected(request: Request) -> None:
    """Returns once the client has gone (call it after the body is read: it takes what arrives)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def create_app(settings: ProviderSettings, loaded: LoadedModel | None = None) -> FastAPI:
    """The ASGI app; loads `settings.model_source` at startup unless `loaded` is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        model = loaded or await asyncio.to_thread(load_model, settings.model_source, settings.device,
                                                     settings.precision)
        app.state.provider = Provider(settings, model)
        try:
            yield
        finally:
            app.state.provider.close()

    app = FastAPI(title="Provider (OpenAI-compatible)", lifespan=lifespan)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code)
        return APIError(error.status_code, f"{request.method} {request.url.path}: {error.detail}",
                        code=code).response()

    @app.post(
        "/v1/chat/completions",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": request_schema(settings.model_name, settings.max_tokens_cap,
                                                          min(settings.n_cap, settings.max_batch_size))}}}},
        responses={200: {"model": ChatCompletion}},
    )
    async def chat_completions(request: Request):
        provider: Provider = request.app.state.provider
        return await provider.ledgered(request, "/v1/chat/completions", provider.chat)

    @app.get("/v1/models", responses={200: {"model": ModelList}})
    async def list_models(request: Request):
        provider: Provider = request.app.state.provider
        return await provider.ledgered(request, "/v1/models", provider.models)

    @app.get("/v1/models/{model_id}", responses={200: {"model": ModelCard}})
    async def retrieve_model(request: Request, model_id: str):
        provider: Provider = request.app.state.provider
        return await provider.ledgered(request, "/v1/models/{model_id}", provider.model)

    @app.get("/health")
    async def health(request: Request):
        provider: Provider = request.app.state.provider
        return {"status": "ok", "model": settings.model_name, "device": provider.loaded.device.describe(),
                "watermark": settings.watermark_enabled}

    return app
