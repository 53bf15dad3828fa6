"""The event loop's lag beside a piece of work: a ticker sleeps 5 ms at a time and records how
late each wake-up is; the worst is what a heartbeat would have waited."""

from __future__ import annotations

import asyncio
import gc
import time


async def with_lag(make_coro, prepare=lambda: None, collect: bool = True, catch: bool = False):
    """(the coroutine's value, the worst lag in seconds). ``collect``: collect and hold off the
    cyclic GC while measuring (a pass in a process as large as the test run can pause the loop
    for tens of ms on its own); callers measuring several loops at once in threads do that once
    around them all instead. ``catch``: an exception the work raises is returned as its value
    (a failing call still stalls the loop or not). ``prepare`` runs as the work starts."""
    lags, done = [], False

    async def ticker():
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            lags.append(now - last - 0.005)
            last = now

    if collect:
        gc.collect()
        gc.disable()
    try:
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.03)  # the ticker is running before the work starts
        prepare()
        try:
            result = await make_coro()
        except Exception as exc:  # noqa: BLE001
            if not catch:
                raise
            result = exc
        done = True
        await task
    finally:
        if collect:
            gc.enable()
    return result, max(lags)
