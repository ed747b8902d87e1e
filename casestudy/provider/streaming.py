"""Streamed chat completions: server-sent events in OpenAI's chunk format, sent as the
engine draws the tokens.

The reply starts once the first step's tokens are in, so that what fails before (a
disconnect while queued: 499; an engine error: 500) is still a plain error reply. From
then on a client that hangs up cancels the rows (ledgered as 499), and an engine error is
sent as an `error` event (ledgered as 500); the ledger row is written when the stream ends.
A token's text is held back while it could still be cut (`ChoiceStream`).

A stream that ends early (a hang-up, an error) is billed and ledgered for what it was
sent: its prompt plus the tokens handed to the connection, and their text as its
completions, so a client that leaves just before `[DONE]` pays for what it read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import StreamingResponse

from casestudy.provider.errors import CLIENT_CLOSED, APIError, client_closed, disconnected
from casestudy.provider.planning import GenerationPlan
from casestudy.provider.serving.rows import Completion, Row, Update

if TYPE_CHECKING:
    from casestudy.provider.app import Exchange, Provider

log = logging.getLogger("casestudy.provider")
_BACKGROUND: set[asyncio.Task] = set()   # tasks that write the rows of streams cut short


async def stream(provider: Provider, request: Request, exchange: Exchange, plan: GenerationPlan,
                 rows: list[Row]) -> StreamingResponse:
    """The streamed reply of a checked, charged request, once its first tokens are drawn."""
    updates: asyncio.Queue = asyncio.Queue()
    job = asyncio.ensure_future(provider.batcher.submit(rows, on_update=updates.put_nowait))
    job.add_done_callback(lambda _: updates.put_nowait(None))
    waiting = asyncio.ensure_future(updates.get())
    gone = asyncio.ensure_future(disconnected(request))
    try:
        await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not waiting.done():
            waiting.cancel()
    hung_up = not waiting.done() or waiting.cancelled()   # the client went first
    if hung_up or (waiting.result() is None and job.exception() is not None):   # or it failed before any token
        gone.cancel()
        if hung_up:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job
        raise client_closed() if hung_up else job.exception()   # `ledgered` settles the prompt
    gone.add_done_callback(lambda _: job.cancel())  # a hang-up from now on drops the rows
    exchange.deferred = True
    body = _body(provider, exchange, plan, job, updates, waiting.result(), gone)
    return StreamingResponse(body, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def _body(provider: Provider, exchange: Exchange, plan: GenerationPlan, job: asyncio.Future,
                updates: asyncio.Queue, first, gone: asyncio.Future):
    reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    base = {"id": reply_id, "object": "chat.completion.chunk", "created": created,
            "model": provider.settings.model_name, "system_fingerprint": None}
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

    tokenizer, entries_of = provider.loaded.tokenizer, provider.logprob_entries
    streams = [ChoiceStream(tokenizer, provider.engine.eos_ids, list(plan.stop)) for _ in range(plan.n)]
    status, written = CLIENT_CLOSED, False
    try:
        yield "".join(event([choice(i, {"role": "assistant", "content": "", "refusal": None})])
                      for i in range(plan.n))
        item = first
        while item is not None:
            chunks = []
            for index, update in item:
                deltas, taken = streams[index].add(update)
                chunks += content(index, deltas, [entries_of.of_update(u) for u in taken] if plan.logprobs else None)
            if chunks:
                yield "".join(chunks)
            item = await updates.get()
        if job.cancelled():
            return
        result = job.result()
        chunks = []
        for i, completion in enumerate(result.completions):
            deltas, start = streams[i].rest(completion)
            chunks += content(i, deltas, entries_of.content(completion)[start:] if plan.logprobs else None)
            chunks.append(event([choice(i, {}, finish=completion.finish_reason)]))
        usage = await provider.record(exchange, plan, result)
        if plan.include_usage:
            chunks.append(event([], usage=usage))
        status = 200
        await provider.close_row(exchange, status)
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
            # A new task: this one may be cancelled, and then cannot await.
            task = asyncio.get_running_loop().create_task(_close_cut_short(provider, exchange, streams, status))
            _BACKGROUND.add(task)
            task.add_done_callback(_BACKGROUND.discard)


async def _close_cut_short(provider: Provider, exchange: Exchange, streams: list[ChoiceStream], status: int) -> None:
    """The ledger row of a stream that ended before its end: it pays for its prompt and the
    tokens it was sent, and keeps their text."""
    await provider.settle(exchange, sum(s.sent for s in streams), [s.text for s in streams])
    await provider.close_row(exchange, status)


def text_deltas(tokenizer, completion: Completion, sent: int = 0, shown: int = 0) -> list[str]:
    """The text each token from the `sent`-th on adds, joining to exactly
    `completion.text[shown:]` (`shown` characters were sent already).

    A token that ends inside a multi-byte character adds nothing; the next one adds it.
    """
    text = completion.text
    deltas = []
    for j in range(sent, len(completion.token_ids)):
        prefix = tokenizer.decode(completion.token_ids[: j + 1], skip_special_tokens=True)
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


class ChoiceStream:
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
        self.text = ""               # the text sent (the deltas joined)
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
            self.text += delta
            deltas.append(delta)
            taken.append(self.updates[j])
            self.sent = j + 1
        return deltas, taken

    def rest(self, completion: Completion) -> tuple[list[str], int]:
        """The deltas of the completion's tokens not sent yet, and the index of the first."""
        return text_deltas(self.tokenizer, completion, self.sent, self.shown), self.sent
