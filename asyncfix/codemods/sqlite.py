"""sqlite: sqlite3 queries and commits on the loop (checklist 1.3)."""

from asyncfix.catalog import ANY, MADE_ELSEWHERE, Category, Doc, Rule, Types

CONNECTION, CURSOR = "sqlite3.Connection", "sqlite3.Cursor"

CATEGORY = Category(
    name="sqlite",
    section="1.3",
    title="SQLite synchronous calls",
    doc=Doc(
        what="Flags `sqlite3.connect` and every method of the `Connection` and `Cursor` objects "
        "it returns (`execute`, `fetchone`, `commit`, ...) inside `async def`, including "
        "connections kept on `self` or at module level.",
        why="`sqlite3` is entirely synchronous: every query, commit and fetch waits on disk and "
        "locks, and a writer waiting on `database is locked` stalls the loop for the whole "
        "timeout (5 s by default).",
        example="async def get_document(doc_id: str):\n"
        "    conn = sqlite3.connect('app.db')\n"
        "    row = conn.execute('SELECT * FROM documents WHERE id = ?', (doc_id,)).fetchone()\n"
        "    conn.close()\n"
        "    return row",
        instead="`aiosqlite`: `async with aiosqlite.connect(...) as conn:` and `await` on "
        "`execute`, `fetch*`, `commit`; or run the whole connect-query-close block in a sync "
        "helper via `asyncio.to_thread`.",
        fix_safety="Safe where applied, with notes. A connection the coroutine makes and closes "
        "(`conn.close()` after its uses or in the `finally` of the `try` holding them, or a `with "
        "sqlite3.connect()` block) only to read, whose every use, and every use of its cursors, "
        "reads the same awaited becomes one `async with aiosqlite.connect(...)` block, which also "
        "closes on error (an aiosqlite connection left open hangs interpreter exit); rows iterated "
        "become `async for`, `isolation_level` set right after connecting moves into the connect. "
        "A block that writes (commit, rollback, executemany, executescript, SQL that is not a "
        "literal read) would hold SQLite's write lock across its awaits, and concurrent writers "
        "would time out while the loop is busy: it takes the thread form. Where aiosqlite does "
        "not fit (or with "
        "`--sqlite thread`, or in trio modules) the connection's whole block, made, used and closed, "
        "runs in one sync helper through one thread hop. A connection kept on `self` or at module "
        "level made with `check_same_thread=False` has each await-free stretch of uses run in a "
        "thread under one lock per connection (concurrent coroutines' uses may run in another "
        "order). Left as they are, with the reason: a connection or cursor that leaves its block, "
        "a block that awaits in the middle of its sqlite3 uses, a shared connection that sync code "
        "also uses, or made without `check_same_thread=False`.",
        imports="import sqlite3",
    ),
    rules=(
        Rule(code="AF301", message="`{name}` opens a SQLite database on the event loop",
             functions=("sqlite3.connect",)),
        # a connection made elsewhere may still move under its lock (`sqlite_shared`): `apply`
        # looks for this reason
        Rule(code="AF302", message="`{name}` runs a SQLite operation on the event loop",
             methods={CONNECTION: (ANY,), CURSOR: (ANY,)}, thread_safe=False,
             elsewhere_reason=MADE_ELSEWHERE),
    ),
    types=Types(
        returns={
            "sqlite3.connect": CONNECTION,
            f"{CONNECTION}.cursor": CURSOR,
            f"{CONNECTION}.execute": CURSOR,
            f"{CONNECTION}.executemany": CURSOR,
            f"{CONNECTION}.executescript": CURSOR,
            f"{CURSOR}.execute": CURSOR,
            f"{CURSOR}.executemany": CURSOR,
            f"{CURSOR}.executescript": CURSOR,
        },
        annotations={"sqlite3.dbapi2.Connection": CONNECTION, "sqlite3.dbapi2.Cursor": CURSOR},
    ),
)
