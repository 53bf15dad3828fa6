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
        fix_safety="Safe: same delay; the only difference is that other tasks run while this one "
        "sleeps, and the sleep becomes a cancellation point.",
        imports="import time",
    ),
    rules=(
        Rule(code="AF501", message="`{name}` blocks the event loop; use `await asyncio.sleep`",
             functions=("time.sleep",), upstream=("ASYNC251",)),
    ),
)
