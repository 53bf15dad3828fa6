"""db: sync database drivers other than sqlite3 in async code (checklist 1.3)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

PG_CONN, PG_CURSOR = "psycopg2.Connection", "psycopg2.Cursor"
MY_CONN, MY_CURSOR = "pymysql.Connection", "pymysql.Cursor"

CATEGORY = Category(
    name="db",
    section="1.3",
    title="Sync database drivers",
    doc=Doc(
        what="Flags psycopg2 and PyMySQL (and MySQLdb) inside `async def`: `connect(...)`, the "
        "connection's `commit`/`rollback` and its cursors' `execute`, `executemany` and `fetch*`.",
        why="Every query waits on the network and the database server; on the loop, a slow "
        "query or a lock wait stalls everything else the server does.",
        example="async def get_user(user_id: int):\n"
        "    conn = psycopg2.connect(DSN)\n"
        "    with conn.cursor() as cur:\n"
        "        cur.execute('SELECT * FROM users WHERE id = %s', (user_id,))\n"
        "        return cur.fetchone()",
        instead="An async driver: psycopg 3 (`await psycopg.AsyncConnection.connect(...)`), "
        "asyncpg, aiomysql, or SQLAlchemy's `AsyncSession`; or the whole query block in "
        "`asyncio.to_thread`.",
        fix_safety="Safe where applied: the calls run in a worker thread, one at a time. "
        "psycopg2 connections may be shared by threads, so calls on any connection move; "
        "psycopg2 cursors and PyMySQL connections and cursors are not safe to use from several "
        "threads at once, so their calls move only on objects the coroutine made itself; one "
        "made elsewhere (a module global, `self.conn`) stays, with the reason.",
        imports="import psycopg2\n\nDSN = 'dbname=app'",
    ),
    rules=(
        Rule(
            code="AF311",
            message="`{name}` runs a PostgreSQL operation on the event loop",
            functions=("psycopg2.connect",),
            methods={PG_CONN: ("commit", "rollback", "close", "set_session", "get_transaction_status")},
        ),
        Rule(
            code="AF311",
            message="`{name}` runs a PostgreSQL operation on the event loop",
            methods={PG_CURSOR: ("execute", "executemany", "fetchone", "fetchmany", "fetchall",
                                 "callproc", "copy_expert", "copy_from", "copy_to", "scroll")},
            thread_safe=False,
        ),
        Rule(
            code="AF312",
            message="`{name}` runs a MySQL operation on the event loop",
            functions=("pymysql.connect", "pymysql.connections.Connection", "MySQLdb.connect"),
            methods={MY_CONN: ("commit", "rollback", "ping", "select_db", "close", "begin"),
                     MY_CURSOR: ("execute", "executemany", "fetchone", "fetchmany", "fetchall",
                                 "callproc")},
            thread_safe=False,
        ),
    ),
    types=Types(
        returns={
            "psycopg2.connect": PG_CONN, f"{PG_CONN}.cursor": PG_CURSOR,
            "pymysql.connect": MY_CONN, "pymysql.connections.Connection": MY_CONN,
            "MySQLdb.connect": MY_CONN, f"{MY_CONN}.cursor": MY_CURSOR,
        },
        annotations={"psycopg2.extensions.connection": PG_CONN, "psycopg2.extensions.cursor": PG_CURSOR,
                     "pymysql.connections.Connection": MY_CONN, "pymysql.cursors.Cursor": MY_CURSOR},
        enters={PG_CURSOR: PG_CURSOR, MY_CURSOR: MY_CURSOR},
        # a psycopg2 cursor is the coroutine's own even on a shared connection (which threads may
        # share); a PyMySQL cursor is not: its connection is not thread-safe
        fresh=frozenset({PG_CURSOR}),
    ),
)
