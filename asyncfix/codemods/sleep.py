"""sleep: `time.sleep` stops the whole loop."""

from asyncfix.catalog import Category, Doc, Rule

CATEGORY = Category(
    name="sleep",
    section="-",
    title="Blocking sleep",
    doc=Doc(
        what="Flags `time.sleep` (however imported) inside `async def`.",
        why="`time.sleep` suspends the thread that runs the loop: no other task, request or "
        "heartbeat runs until it returns.",
        example="async def poll(job):\n"
        "    while not job.done():\n"
        "        time.sleep(1)",
        instead="`await asyncio.sleep(x)` (or `trio.sleep` / `anyio.sleep` in trio and anyio "
        "code), which lets other tasks run meanwhile.",
        fix_safety="Safe for any delay, with one difference: a negative delay made `time.sleep` "
        "raise `ValueError`, while the async sleep returns at once. Other tasks run while this one "
        "sleeps, and the sleep becomes a cancellation point. Left as is, with the reason: a sleep "
        "under a held sync lock (awaiting there can deadlock the loop) and a sleep between a check "
        "of shared state and its update (another call could run in between).",
        imports="import time",
    ),
    rules=(
        Rule(code="AF501", message="`{name}` blocks the event loop; use `await asyncio.sleep`",
             functions=("time.sleep",), upstream=("ASYNC251",)),
    ),
)
