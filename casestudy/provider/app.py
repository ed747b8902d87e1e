"""The provider's FastAPI app: /v1/chat/completions and /v1/models, OpenAI's wire format.

Every request to them, answered or refused, becomes one ledger row. Checks run cheapest
first, so that a customer cannot make the server work for free: the API key (from the
header, before the body is read), the account's requests per minute (every
authenticated request counts, refused or not), body size, JSON and types, values and
the prompt (parsed and tokenized by threads of their own, `parse_workers`, so that a flood
of big prompts never queues the key, rate-limit and ledger work of other requests behind
it), then tokens per minute and the engine's KV-cache budget. A body must arrive within
`body_timeout_s` (else a 408). A client that hangs up while it sends its body, or while
its completion is generated (streamed or not), is ledgered as status 499 (its rows are
dropped from the batch).

Books: a request charged its tokens is always settled to what it used, whatever ends it
(answered, cut short, cancelled, failed): its prompt, plus the completion tokens it got
(for a stream, those sent before it ended), and the ledger row says the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from casestudy.models import LoadedModel, load_model
from casestudy.provider.accounts import Account, find_account
from casestudy.provider.errors import (APIError, bad_request, client_closed, disconnected, from_validation_errors,
                                      model_not_found, shorten)
from casestudy.provider.ledger import BODY_KEEP_CHARS, Ledger, LedgerRow
from casestudy.provider.planning import GenerationPlan, Planner
from casestudy.provider.ratelimit import Charge, RateLimiter, Refusal
from casestudy.provider.replies import LogprobEntries
from casestudy.provider.schemas import ChatCompletion, ChatCompletionRequest, ModelCard, ModelList, request_schema
from casestudy.provider.serving.batcher import BatchResult, ContinuousBatcher
from casestudy.provider.serving.engine import Engine
from casestudy.provider.serving.rows import Row
from casestudy.provider.settings import ProviderSettings
from casestudy.provider.streaming import stream

log = logging.getLogger("casestudy.provider")
OWNER = "provider"


@dataclass
class Exchange:
    """One request's ledger row, its account and its counted rate-limit charge."""
    row: LedgerRow
    account: Account | None = None
    charge: Charge | None = None
    started: float = 0.0       # perf_counter() when the request came in
    deferred: bool = False     # a stream: its body writes the ledger row when it ends
    plan: GenerationPlan | None = None   # set once its tokens are charged: from then on it must be settled
    settled: bool = False


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
        self.planner = Planner(settings, loaded.tokenizer, self.engine.context_window)
        self.logprob_entries = LogprobEntries(loaded.tokenizer)
        self.parsers = ThreadPoolExecutor(settings.parse_workers, thread_name_prefix="provider-parse")

    async def parse(self, fn, *args):
        """`fn(*args)` on the parsing threads (JSON validation, templating, tokenizing)."""
        return await asyncio.get_running_loop().run_in_executor(self.parsers, functools.partial(fn, *args))

    def close(self) -> None:
        self.parsers.shutdown(wait=False, cancel_futures=True)
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
        timeout = self.settings.body_timeout_s
        try:
            async with asyncio.timeout(timeout):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > cap:
                        raise APIError(413, f"Request body exceeds the limit of {cap} bytes.",
                                       code="request_too_large")
        except ClientDisconnect:  # gone while sending its body
            raise client_closed("its body was sent") from None
        except TimeoutError:
            raise APIError(408, f"The request body did not arrive within {timeout:g} s.", code="request_timeout",
                           headers={"Connection": "close"}) from None
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
        if account.blocked_reason:  # ledgered under its account, with the reason, like any refusal
            raise APIError(403, f"This account has been blocked: {account.blocked_reason}", code="account_blocked",
                           type="permission_error")
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

    async def charge_tokens(self, exchange: Exchange, plan: GenerationPlan) -> None:
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

    def check_capacity(self, plan: GenerationPlan) -> None:
        """A 400 for a request whose rows could never fit the engine's KV-cache budget even alone."""
        problem = self.engine.capacity_problem(len(plan.prompt), plan.max_tokens, plan.n)
        if problem:
            raise bad_request(problem, "messages", code="batch_budget_exceeded")

    # --- generation ------------------------------------------------------------

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
            raise client_closed()
        return job.result()

    async def chat(self, request: Request, exchange: Exchange):
        row = exchange.row
        await self.authenticate(request, exchange)
        await self.count_request(exchange)
        body = await self.read_body(request)
        try:
            req = await self.parse(ChatCompletionRequest.model_validate_json, body)
        except ValidationError as error:
            row.body = body[:BODY_KEEP_CHARS * 4].decode("utf-8", errors="replace")
            raise from_validation_errors(error.errors()) from None
        row.model = req.model
        row.messages = [m.model_dump(exclude_none=True) for m in req.messages]
        row.params = req.model_dump(exclude={"model", "messages"}, exclude_none=True)
        plan = await self.parse(self.planner.plan, req)
        await self.charge_tokens(exchange, plan)
        exchange.plan = plan
        rows = plan.rows()
        if plan.stream:
            return await stream(self, request, exchange, plan, rows)
        result = await self.generate(request, rows)  # a hang-up or a failure: `ledgered` settles the prompt
        completions = result.completions
        usage = await self.record(exchange, plan, result)
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        return ChatCompletion(
            id=reply_id,
            created=created,
            model=self.settings.model_name,
            choices=[
                {"index": i, "message": {"content": c.text}, "finish_reason": c.finish_reason,
                 "logprobs": {"content": self.logprob_entries.content(c)} if plan.logprobs else None}
                for i, c in enumerate(completions)
            ],
            usage=usage,
        ).model_dump(mode="json")

    async def record(self, exchange: Exchange, plan: GenerationPlan, result: BatchResult) -> dict:
        """Settle the rate-limit charge and fill the ledger row of an answered request; its usage."""
        row, completions = exchange.row, result.completions
        await self.settle(exchange, sum(len(c.token_ids) for c in completions), [c.text for c in completions],
                          [c.finish_reason for c in completions])
        row.batch_rows, row.generate_ms = result.batch_rows, result.generate_ms
        return {"prompt_tokens": row.prompt_tokens, "completion_tokens": row.completion_tokens,
                "total_tokens": row.total_tokens}

    async def settle(self, exchange: Exchange, completion_tokens: int = 0, completions: list[str] | None = None,
                     finish_reasons: list | None = None) -> None:
        """Settle a charged request's rate-limit charge to what it used, its prompt plus the
        completion tokens it was given (none for one that got no completion: a client that
        hung up, a failure), and write the same usage, and the texts given, in its row."""
        prompt = len(exchange.plan.prompt)
        await asyncio.to_thread(self.limiter.settle, exchange.charge, prompt + completion_tokens)
        exchange.settled = True
        row = exchange.row
        row.prompt_tokens, row.completion_tokens = prompt, completion_tokens
        row.total_tokens = prompt + completion_tokens
        if completions is not None:
            row.completions, row.finish_reasons = completions, finish_reasons

    async def close_row(self, exchange: Exchange, status: int) -> None:
        """Write a stream's ledger row when its body ends."""
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
        if exchange.plan is not None and not exchange.settled and not exchange.deferred:
            try:  # charged, never answered (a hang-up, a failure): it pays for its prompt
                await self.settle(exchange)
            except Exception:
                log.exception("settling a request failed")
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
        exchange.row.model = model_id
        if model_id != self.settings.model_name:
            raise model_not_found(model_id)
        return ModelCard(**self.model_card()).model_dump(mode="json")


def rate_limited(refusal: Refusal) -> APIError:
    return APIError(429, refusal.message, code="rate_limit_exceeded", type=refusal.limit,
                    headers={"Retry-After": str(refusal.retry_after_s)})


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
        return APIError(error.status_code, f"{request.method} {shorten(request.url.path)}: {error.detail}",
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
