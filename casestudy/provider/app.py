"""The provider's FastAPI app: /v1/chat/completions and /v1/models, OpenAI's wire format.

Every chat request, answered or refused, becomes one ledger row. Checks run in the
order the hosted API applies them: body size, API key, JSON and types, then values,
then rate limits.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from jinja2 import TemplateError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from casestudy.provider.accounts import Account, find_account
from casestudy.provider.batcher import DynamicBatcher
from casestudy.provider.engine import Completion, Engine, Row
from casestudy.provider.errors import APIError, bad_request, from_validation_errors
from casestudy.provider.ledger import Ledger, LedgerRow
from casestudy.provider.ratelimit import RateLimiter, Refusal
from casestudy.provider.schemas import (
    MAX_STOP_SEQUENCES, ChatCompletion, ChatCompletionRequest, ModelList, request_schema,
)
from casestudy.provider.settings import ProviderSettings
from casestudy.models import LoadedModel, load_model
from casestudy.token_bytes import token_bytes

log = logging.getLogger("casestudy.provider")
OWNER = "provider"


def row_seed(seed: int | None, choice: int) -> int | None:
    """The seed of choice `choice` of a request: its own stream, fixed by the request's seed."""
    if seed is None:
        return None
    return (seed * 1_000_003 + choice) % (2**63)


class Provider:
    """The state one server holds: model, batcher, ledger, rate limiter."""

    def __init__(self, settings: ProviderSettings, loaded: LoadedModel):
        self.settings = settings
        self.loaded = loaded
        self.engine = Engine(loaded, settings.watermark if settings.watermark_enabled else None)
        self.batcher = DynamicBatcher(self.engine, settings.batch_window_ms / 1000, settings.max_batch_size,
                                      settings.batch_window_share)
        self.ledger = Ledger(settings.ledger_db)
        self.limiter = RateLimiter()
        self.created = int(time.time())
        self._token_entries: dict[int, tuple[str, list[int]]] = {}

    def close(self) -> None:
        self.batcher.close()
        self.ledger.close()

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

    async def authenticate(self, request: Request) -> Account:
        header = request.headers.get("authorization", "")
        scheme, _, api_key = header.partition(" ")
        if scheme.lower() != "bearer" or not api_key.strip():
            raise APIError(401, "You didn't provide an API key. Provide it in the Authorization header "
                                "(Authorization: Bearer YOUR_KEY).", code="missing_api_key")
        account = await asyncio.to_thread(find_account, self.settings.accounts_db, api_key.strip())
        if account is None:
            raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")
        return account

    def prompt_ids(self, req: ChatCompletionRequest) -> list[int]:
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()}
                    for m in req.messages]
        if self.settings.system_prompt:
            messages.insert(0, {"role": "system", "content": self.settings.system_prompt})
        tok = self.loaded.tokenizer
        if tok.chat_template is None:  # a base model: a plain transcript
            text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
            return tok(text, add_special_tokens=True)["input_ids"]
        try:
            encoded = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        except TemplateError as error:  # e.g. a template that demands alternating roles
            raise bad_request(f"The messages do not fit this model's chat template: {error}", "messages") from None
        return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)

    def plan(self, req: ChatCompletionRequest) -> tuple[list[int], int]:
        """Check values against the deployment; return prompt ids and max_tokens."""
        s = self.settings
        if req.stream:
            raise bad_request("stream=true is not supported by this server; send stream=false.",
                              "stream", code="unsupported_value")
        if req.model != s.model_name:
            raise APIError(404, f"The model '{req.model}' does not exist or you do not have access to it. "
                                f"This server serves '{s.model_name}'.", code="model_not_found", param="model")
        if req.top_logprobs is not None and not req.logprobs:
            raise bad_request("top_logprobs requires logprobs=true.", "top_logprobs")
        n_cap = min(s.n_cap, s.max_batch_size)
        if req.n > n_cap:
            raise bad_request(f"Invalid value for 'n': {req.n} is above the maximum of {n_cap}.", "n")
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
                raise bad_request(
                    f"This model's maximum context length is {window} tokens. However, you requested "
                    f"{len(prompt) + wanted} tokens ({len(prompt)} in the messages, {wanted} in the completion). "
                    "Please reduce the length of the messages or completion.",
                    "messages", code="context_length_exceeded")
            if asked is None:
                asked = min(s.default_max_tokens, room)
        return prompt, asked if asked is not None else s.default_max_tokens

    def admit(self, account: Account, tokens: int):
        rpm = account.rpm or self.settings.default_rpm
        tpm = account.tpm or self.settings.default_tpm
        verdict = self.limiter.admit(account.id, rpm, tpm, tokens)
        if isinstance(verdict, Refusal):
            raise APIError(429, verdict.message, code="rate_limit_exceeded", type=verdict.limit,
                           headers={"Retry-After": str(verdict.retry_after_s)})
        return verdict

    # --- replies --------------------------------------------------------------

    def logprob_content(self, completion: Completion) -> list[dict]:
        tok = self.loaded.tokenizer

        def entry(token_id: int, logprob: float) -> dict:
            known = self._token_entries.get(token_id)
            if known is None:
                known = self._token_entries[token_id] = (tok.decode([token_id]), list(token_bytes(tok, token_id)))
            return {"token": known[0], "logprob": logprob, "bytes": known[1]}

        return [
            {**entry(token_id, logprob),
             "top_logprobs": [entry(i, v) for i, v in zip(top_ids, top_values)]}
            for token_id, logprob, top_ids, top_values in zip(
                completion.token_ids, completion.logprobs, completion.top_ids, completion.top_logprobs)
        ]

    async def chat(self, request: Request, row: LedgerRow) -> dict:
        body = await self.read_body(request)
        account = await self.authenticate(request)
        row.account_id, row.account_name = account.id, account.name
        try:
            req = ChatCompletionRequest.model_validate_json(body)
        except ValidationError as error:
            row.body = body.decode("utf-8", errors="replace")
            raise from_validation_errors(error.errors()) from None
        row.model = req.model
        row.messages = [m.model_dump(exclude_none=True) for m in req.messages]
        row.params = req.model_dump(exclude={"model", "messages"}, exclude_none=True)
        prompt, max_tokens = self.plan(req)
        charge = self.admit(account, len(prompt) + max_tokens * req.n)
        k = (req.top_logprobs or 0) if req.logprobs else 0
        rows = [Row(prompt, max_tokens, req.temperature, req.top_p, row_seed(req.seed, i), req.stop_list(), k)
                for i in range(req.n)]
        result = await self.batcher.submit(rows)
        completions = result.completions
        completion_tokens = sum(len(c.token_ids) for c in completions)
        self.limiter.settle(charge, len(prompt) + completion_tokens)
        row.completions = [c.text for c in completions]
        row.finish_reasons = [c.finish_reason for c in completions]
        row.prompt_tokens, row.completion_tokens = len(prompt), completion_tokens
        row.total_tokens = len(prompt) + completion_tokens
        row.batch_rows, row.generate_ms = result.batch_rows, result.generate_ms
        return ChatCompletion(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=self.settings.model_name,
            choices=[
                {"index": i, "message": {"content": c.text}, "finish_reason": c.finish_reason,
                 "logprobs": {"content": self.logprob_content(c)} if req.logprobs else None}
                for i, c in enumerate(completions)
            ],
            usage={"prompt_tokens": row.prompt_tokens, "completion_tokens": completion_tokens,
                   "total_tokens": row.total_tokens},
        ).model_dump(mode="json")

    async def ledgered(self, request: Request, endpoint: str, handler) -> JSONResponse:
        """Run `handler`, turn errors into OpenAI error replies, write the ledger row."""
        start = time.perf_counter()
        row = LedgerRow(time=time.time(), endpoint=endpoint)
        try:
            response = JSONResponse(await handler(request, row))
        except APIError as error:
            response = error.response()
            row.error_code, row.error_message = error.code, error.message
        except Exception as error:  # a bug of ours: say so, keep serving
            log.exception("request failed")
            response = APIError(500, "The server had an error while processing your request.",
                                code="internal_error", type="server_error").response()
            row.error_code, row.error_message = "internal_error", repr(error)[:500]
        row.status = response.status_code
        row.latency_ms = (time.perf_counter() - start) * 1000
        await asyncio.to_thread(self.ledger.write, row)
        return response

    async def models(self, request: Request, row: LedgerRow) -> dict:
        account = await self.authenticate(request)
        row.account_id, row.account_name = account.id, account.name
        card = {"id": self.settings.model_name, "created": self.created, "owned_by": OWNER}
        return ModelList(data=[card]).model_dump(mode="json")


def create_app(settings: ProviderSettings, loaded: LoadedModel | None = None) -> FastAPI:
    """The ASGI app; loads `settings.model_source` at startup unless `loaded` is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        model = loaded or await asyncio.to_thread(load_model, settings.model_source, settings.device)
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

    @app.get("/health")
    async def health(request: Request):
        provider: Provider = request.app.state.provider
        return {"status": "ok", "model": settings.model_name, "device": provider.loaded.device.describe(),
                "watermark": settings.watermark_enabled}

    return app
