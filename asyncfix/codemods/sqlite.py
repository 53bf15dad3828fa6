"""sqlite: sqlite3 queries and commits on the loop (checklist 1.3)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

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
        fix_safety="Safe where applied, with notes. `apply` moves a connection to aiosqlite only "
        "where the coroutine makes and closes it (`conn.close()` after its uses or in the "
        "`finally` of the `try` holding them, or a `with sqlite3.connect()` block) and every use "
        "of it and of its cursors reads the same awaited; it becomes one `async with "
        "aiosqlite.connect(...)` block, which also closes on error (an aiosqlite connection left "
        "open hangs interpreter exit). sqlite3's `with` commits and rolls back without closing, "
        "aiosqlite's closes without committing, so that block gets an explicit commit and "
        "rollback. Left as they are, with the reason (a sqlite3 connection refuses use from "
        "another thread, so no thread either): connections kept on `self` or at module level, "
        "returned or never closed ones, rows iterated from a cursor, `isolation_level` set after "
        "connecting, a `with` block that returns, trio modules (aiosqlite is asyncio-only).",
        imports="import sqlite3",
    ),
    rules=(
        Rule(code="AF301", message="`{name}` opens a SQLite database on the event loop",
             functions=("sqlite3.connect",)),
        Rule(code="AF302", message="`{name}` runs a SQLite operation on the event loop",
             methods={CONNECTION: (ANY,), CURSOR: (ANY,)}),
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
