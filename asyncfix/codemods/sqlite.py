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
        instead="Use `aiosqlite` (`async with aiosqlite.connect(...) as db`), or run the whole "
        "connect-query-close block in a sync helper via `asyncio.to_thread`.",
        fix_safety="Not rewritten yet: a thread is not the fix, since a `sqlite3.Connection` made on one "
        "thread refuses use from another (`check_same_thread`); the aiosqlite rewrite is planned. "
        "When it comes: unsafe when a connection crosses threads: a `sqlite3.Connection` made on one "
        "thread refuses use from another (`check_same_thread`). Only blocks that create and "
        "close their connection are moved; `with sqlite3.connect()` commits where "
        "`async with aiosqlite.connect()` does not, so that rewrite adds the commit.",
        imports="import sqlite3",
    ),
    rules=(
        Rule(code="AF301", message="`{name}` opens a SQLite database on the event loop",
             functions=("sqlite3.connect",)),
        Rule(code="AF302", message="`{name}` runs a SQLite operation on the event loop",
             methods={CONNECTION: (ANY,), CURSOR: (ANY,)}),
    ),
    unfixable_reason="sqlite3 objects cannot cross threads; the aiosqlite rewrite is not built yet",
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
