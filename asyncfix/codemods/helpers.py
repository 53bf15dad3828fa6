"""helpers: sync functions of the project's own that block, called from async code (checklist 1.6)."""

from asyncfix.catalog import Category, Doc, Rule

CATEGORY = Category(
    name="helpers",
    section="1.6",
    title="Blocking helpers of the project's own",
    doc=Doc(
        what="Flags calls, inside `async def`, of the project's own sync functions and methods "
        "that block: a helper whose body (or a helper it calls) makes a blocking call of another "
        "category. The finding sits at the coroutine's call and names the chain: "
        "`self._save(...)` -> `_write_json` -> `open` (line 40). AF661: the helper is in the same "
        "module, called by name or through `self`/`cls`; AF663 (opt-in: `--extend-select "
        "AF663`): in another module of the run, its classes' methods and `__init__` included, "
        "however many modules the chain crosses; AF662: the chain ends in a wait on "
        "`run_coroutine_threadsafe(...).result()`.",
        why="The helper runs on the loop like any other call: its file write, HTTP request or "
        "sleep holds every other request, heartbeat and health check for its whole length. The "
        "blocking call itself is in sync code, where no linter looks, so the stall goes unseen. "
        "A helper that waits on `asyncio.run_coroutine_threadsafe(...).result()` deadlocks "
        "outright when called on the loop the coroutine was sent to.",
        example="def _save_manifest(path, manifest):\n"
        "    with open(path, 'w') as fh:\n"
        "        json.dump(manifest, fh)\n\n"
        "async def finish(job):\n"
        "    _save_manifest(job.path, job.manifest)",
        instead="Call the helper in a worker thread (`await asyncio.to_thread(_save_manifest, "
        "job.path, job.manifest)`), or give it an async twin; for a bridge that waits on "
        "`run_coroutine_threadsafe`, `await` the coroutine itself when already on the loop.",
        fix_safety="Not fixed automatically: the helper's body has not been checked for what "
        "must stay on the loop (asyncio objects, state other coroutines read), so `apply` leaves "
        "the call with the chain as its reason. Moving it by hand is usually a one-line change.",
        imports="import json",
    ),
    rules=(
        Rule(
            code="AF661",
            message="`{name}` blocks the event loop in a helper of the project",
        ),
        Rule(
            code="AF662",
            message="`{name}` waits on the event loop for a coroutine handed to a loop: on that loop it deadlocks",
            unfixable="the helper waits on `run_coroutine_threadsafe(...).result()`; called on the loop "
            "the coroutine was sent to, it deadlocks: `await` the coroutine instead",
        ),
        Rule(
            # reading the imported modules costs a second pass over the files that import them
            # (many times the default scan on a big corpus): opt-in, as ruff's preview rules
            code="AF663",
            message="`{name}` blocks the event loop in a helper of another module of the project",
            default=False,
        ),
    ),
    unfixable_reason="the blocking call is in a sync helper of the project, whose body asyncfix "
    "does not move: run the helper with `await asyncio.to_thread(...)` once it touches nothing "
    "loop-bound",
)
