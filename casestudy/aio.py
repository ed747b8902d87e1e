"""Run a coroutine from plain code or from a notebook, where an event loop already runs."""

from __future__ import annotations

import asyncio
import concurrent.futures


def run_sync(coroutine):
    """Run a coroutine to completion, also from inside Jupyter's running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
