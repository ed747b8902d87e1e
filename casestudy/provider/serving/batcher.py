"""Continuous batching: requests join the decoding batch at the next step, and leave it
as soon as their rows are done.

One worker thread owns the engine. Between two engine steps it takes the requests that
arrived (first in, first out: a request whose rows do not fit the row limit or the
engine's memory budget now waits, and so do those behind it), drops the rows of
requests whose caller went away, runs one step, and answers the requests whose rows have
all finished. A request's rows are admitted together.

`window_s`: when the engine is idle, the first request waits this long for company, so
that a burst is prefilled together. While the engine is busy nobody waits for a window.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from casestudy.provider.serving.engine import Engine
from casestudy.provider.serving.rows import Completion, Row, Update


@dataclass(eq=False)
class _Job:
    rows: list[Row]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    completions: dict[int, Completion] = field(default_factory=dict)
    started: float = 0.0          # when its rows were admitted to the engine
    batch_rows: int = 0           # the largest decoding batch its rows were part of
    cancelled: bool = False
    on_update: Callable[[list[tuple[int, Update]]], None] | None = None


@dataclass(frozen=True)
class BatchResult:
    completions: list[Completion]
    batch_rows: int              # the largest decoding batch the request's rows shared
    generate_ms: float           # from its admission to the engine to its last row's end


class ContinuousBatcher:
    def __init__(self, engine: Engine, window_s: float = 0.0, max_rows: int = 32, window_share: float = 0.0):
        # `window_share` is accepted for callers of the former dynamic batcher and unused.
        self.engine, self.window_s, self.max_rows = engine, window_s, max_rows
        self._inbox: queue.Queue[_Job | None] = queue.Queue()
        self._waiting: deque[_Job] = deque()
        self._running: dict[int, tuple[_Job, int]] = {}   # engine key -> (job, row index)
        self._jobs: set[_Job] = set()                     # admitted, not answered
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    async def submit(self, rows: list[Row], on_update=None) -> BatchResult:
        """Generate `rows` and return their completions in order. If the awaiting task is
        cancelled (the client went away), the rows are dropped at the next step.

        `on_update`, if given, is called in the caller's event loop after every step with
        the `(row index, Update)` pairs of the rows that have `stream` set, always before
        the result is set."""
        if len(rows) > self.max_rows:
            raise ValueError(f"{len(rows)} rows exceed the batch size {self.max_rows}")
        loop = asyncio.get_running_loop()
        job = _Job(rows, loop.create_future(), loop, on_update=on_update)
        self._inbox.put(job)
        try:
            return await job.future
        except asyncio.CancelledError:
            job.cancelled = True
            self._inbox.put(job)  # wakes the worker if it waits; it drops the job's rows
            raise

    def close(self) -> None:
        self._inbox.put(None)
        self._thread.join(timeout=30)

    # --- the worker thread ----------------------------------------------------------

    def _take(self, block: bool) -> None:
        """Move arrived jobs to the waiting line; with `block`, wait for the first one."""
        try:
            job = self._inbox.get(timeout=None) if block else self._inbox.get_nowait()
        except queue.Empty:
            return
        while True:
            if job is None:
                self._stopping = True
            elif job.cancelled:
                self._drop(job)
            else:
                self._waiting.append(job)
            try:
                job = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _drop(self, job: _Job) -> None:
        if job in self._jobs:
            self.engine.cancel([key for key, (owner, _) in self._running.items() if owner is job])
            self._running = {k: v for k, v in self._running.items() if v[0] is not job}
            self._jobs.discard(job)
        elif job in self._waiting:
            self._waiting.remove(job)

    def _admit(self) -> None:
        while self._waiting:
            job = self._waiting[0]
            if job.cancelled or job.future.done():
                self._waiting.popleft()
                continue
            if self.engine.in_flight and (self.engine.in_flight + len(job.rows) > self.max_rows
                                          or not self.engine.fits(job.rows)):
                return
            self._waiting.popleft()
            job.started = time.perf_counter()
            self._jobs.add(job)
            for i, row in enumerate(job.rows):
                self._running[self.engine.add(row)] = (job, i)

    def _run(self) -> None:
        while not self._stopping:
            try:
                self._cycle()
            except Exception as error:  # a bug of ours: fail what is in the engine, keep serving
                self._fail(list(self._jobs), error)
                self.engine.reset()
        error = RuntimeError("the provider is shutting down")
        self._fail(list(self._jobs) + list(self._waiting), error)

    def _fail(self, jobs: list[_Job], error: Exception) -> None:
        for job in jobs:
            job.loop.call_soon_threadsafe(_set_exception, job.future, error)
            self._jobs.discard(job)
        self._running = {k: v for k, v in self._running.items() if v[0] in self._jobs}

    def _cycle(self) -> None:
        """Take arrivals and cancellations, admit, run one engine step, answer finished requests."""
        idle = not self._jobs and not self._waiting
        self._take(block=idle)
        if idle and self._waiting and self.window_s > 0:
            time.sleep(self.window_s)  # company for the first request of a burst
            self._take(block=False)
        if self._stopping:
            return
        self._admit()
        if not self._jobs:
            return
        finished = self.engine.step()
        batch = self.engine.last_batch
        for job in self._jobs:
            job.batch_rows = max(job.batch_rows, batch)
        if self.engine.updates:
            reports: dict[_Job, list[tuple[int, Update]]] = {}
            for update in self.engine.updates:
                job, index = self._running[update.key]
                if job.on_update is not None:
                    reports.setdefault(job, []).append((index, update))
            for job, items in reports.items():
                job.loop.call_soon_threadsafe(_report, job, items)
        for key, completion in finished:
            job, index = self._running.pop(key)
            job.completions[index] = completion
            if len(job.completions) == len(job.rows):
                self._jobs.discard(job)
                result = BatchResult([job.completions[i] for i in range(len(job.rows))], job.batch_rows,
                                     (time.perf_counter() - job.started) * 1000)
                job.loop.call_soon_threadsafe(_set_result, job.future, result)


DynamicBatcher = ContinuousBatcher  # the former name


def _report(job: _Job, items: list) -> None:
    if not job.future.done():
        job.on_update(items)


def _set_result(future: asyncio.Future, result) -> None:
    if not future.done():
        future.set_result(result)


def _set_exception(future: asyncio.Future, error: Exception) -> None:
    if not future.done():
        future.set_exception(error)
