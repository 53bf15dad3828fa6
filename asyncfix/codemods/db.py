"""db: sync database drivers other than sqlite3 in async code (checklist 1.3)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

PG_CONN, PG_CURSOR = "psycopg2.Connection", "psycopg2.Cursor"
MY_CONN, MY_CURSOR = "pymysql.Connection", "pymysql.Cursor"
SA_ENGINE, SA_CONN = "sqlalchemy.engine.Engine", "sqlalchemy.engine.Connection"
SA_SESSION, SA_QUERY, SA_FACTORY = "sqlalchemy.orm.Session", "sqlalchemy.orm.Query", "sqlalchemy.orm.sessionmaker"
SA_METADATA = "sqlalchemy.MetaData"
SA_ELSEWHERE = ("SQLAlchemy `Session`, `Connection` and `Query` objects are not safe to use from several threads "
                "at once, and this one is made outside this coroutine (a dependency, a global): use "
                "`AsyncSession` (`create_async_engine`), or a sync `def` route that the framework runs in its "
                "threadpool")
# Query methods that build a new Query (nothing sent); all, first, one, ... send it
SA_QUERY_BUILDERS = ("filter", "filter_by", "where", "order_by", "group_by", "having", "join", "outerjoin",
                     "options", "limit", "offset", "slice", "distinct", "select_from", "with_entities",
                     "add_columns", "add_entity", "execution_options", "yield_per", "populate_existing",
                     "params", "with_for_update", "correlate", "union", "union_all", "from_statement",
                     "with_parent", "enable_eagerloads", "autoflush", "reset_joinpoint")

CATEGORY = Category(
    name="db",
    section="1.3",
    title="Sync database drivers",
    doc=Doc(
        what="Flags psycopg2 and PyMySQL (and MySQLdb) inside `async def`: `connect(...)`, the "
        "connection's `commit`/`rollback` and its cursors' `execute`, `executemany` and `fetch*`; "
        "and sync SQLAlchemy (and SQLModel): `engine.connect()`/`begin()`, a `Connection`'s "
        "`execute`/`commit`, a `Session`'s `execute`/`scalars`/`get`/`commit`/`flush`/`refresh`/... "
        "and a legacy `Query`'s `all`/`first`/`one`/`count`/... (`create_engine(...)`, "
        "`session.add(...)` and `session.query(...)` itself send nothing).",
        why="Every query waits on the network and the database server; on the loop, a slow "
        "query or a lock wait stalls everything else the server does.",
        example="async def get_user(user_id: int):\n"
        "    conn = psycopg2.connect(DSN)\n"
        "    with conn.cursor() as cur:\n"
        "        cur.execute('SELECT * FROM users WHERE id = %s', (user_id,))\n"
        "        return cur.fetchone()",
        instead="An async driver: psycopg 3 (`await psycopg.AsyncConnection.connect(...)`), "
        "asyncpg, aiomysql, or SQLAlchemy's `AsyncSession` (`create_async_engine`, "
        "`async_sessionmaker`, `await session.execute(...)`); or the whole query block in "
        "`asyncio.to_thread`.",
        fix_safety="Safe where applied: the calls run in a worker thread, one at a time. "
        "psycopg2 connections may be shared by threads, so calls on any connection move; "
        "psycopg2 cursors and PyMySQL connections and cursors are not safe to use from several "
        "threads at once, so their calls move only on objects the coroutine made itself; one "
        "made elsewhere (a module global, `self.conn`) stays, with the reason. Likewise a "
        "SQLAlchemy `Engine` may be shared (its `connect()` moves wherever the engine was made) "
        "but a `Session`, `Connection` or `Query` may not: their calls move only where the "
        "coroutine made the object (`with Session(engine) as session`, `SessionLocal()`, "
        "`engine.connect()`), not on a session handed in (`db: Session = Depends(get_db)`).",
        imports="import psycopg2\n\nDSN = 'dbname=app'",
    ),
    rules=(
        Rule(
            code="AF311",
            message="`{name}` runs a PostgreSQL operation on the event loop",
            # the extras' batch helpers run their statements through the cursor handed to them
            functions=("psycopg2.connect", "psycopg2.extras.execute_values", "psycopg2.extras.execute_batch"),
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
        Rule(
            # a pool checkout may open a connection (and runs the pool's ping)
            code="AF313",
            message="`{name}` runs a SQLAlchemy database operation on the event loop",
            methods={SA_ENGINE: ("connect", "begin", "raw_connection")},
        ),
        Rule(
            code="AF313",
            message="`{name}` runs a SQLAlchemy database operation on the event loop",
            methods={SA_CONN: ("execute", "exec_driver_sql", "scalar", "scalars", "commit", "rollback"),
                     SA_SESSION: ("execute", "exec", "scalars", "scalar", "get", "get_one", "commit", "flush",
                                  "refresh", "merge", "rollback", "connection", "begin_nested",
                                  "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings"),
                     SA_QUERY: ("all", "first", "one", "one_or_none", "scalar", "count", "get", "delete",
                                "update")},
            thread_safe=False,
            elsewhere_reason=SA_ELSEWHERE,
        ),
        Rule(
            # DDL through the engine: `Base.metadata.create_all(engine)` (a declarative base's
            # metadata, where sqlalchemy is imported), `metadata.reflect(engine)`
            code="AF313",
            message="`{name}` runs a SQLAlchemy database operation on the event loop",
            functions=("sqlmodel.SQLModel.metadata.create_all", "sqlmodel.SQLModel.metadata.drop_all"),
            methods={SA_METADATA: ("create_all", "drop_all", "reflect")},
            method_names=("create_all", "drop_all"),
            requires_import="sqlalchemy",
        ),
    ),
    types=Types(
        returns={
            "psycopg2.connect": PG_CONN, f"{PG_CONN}.cursor": PG_CURSOR,
            "pymysql.connect": MY_CONN, "pymysql.connections.Connection": MY_CONN,
            "MySQLdb.connect": MY_CONN, f"{MY_CONN}.cursor": MY_CURSOR,
            # making an engine (or a session) connects to nothing
            "sqlalchemy.create_engine": SA_ENGINE, "sqlalchemy.engine.create_engine": SA_ENGINE,
            "sqlalchemy.engine_from_config": SA_ENGINE, "sqlmodel.create_engine": SA_ENGINE,
            f"{SA_ENGINE}.connect": SA_CONN, f"{SA_ENGINE}.begin": SA_CONN,
            "sqlalchemy.orm.Session": SA_SESSION, "sqlalchemy.orm.session.Session": SA_SESSION,
            "sqlmodel.Session": SA_SESSION,
            # `SessionLocal = sessionmaker(...)`: calling the factory (or its `begin()`) makes a session
            "sqlalchemy.orm.sessionmaker": SA_FACTORY, "sqlalchemy.orm.session.sessionmaker": SA_FACTORY,
            f"{SA_FACTORY}.__call__": SA_SESSION, f"{SA_FACTORY}.begin": SA_SESSION,
            f"{SA_SESSION}.query": SA_QUERY,
            "sqlalchemy.MetaData": SA_METADATA, "sqlalchemy.schema.MetaData": SA_METADATA,
            **{f"{SA_QUERY}.{name}": SA_QUERY for name in SA_QUERY_BUILDERS},
        },
        annotations={"psycopg2.extensions.connection": PG_CONN, "psycopg2.extensions.cursor": PG_CURSOR,
                     "pymysql.connections.Connection": MY_CONN, "pymysql.cursors.Cursor": MY_CURSOR,
                     "sqlalchemy.Engine": SA_ENGINE, "sqlalchemy.engine.base.Engine": SA_ENGINE,
                     "sqlalchemy.Connection": SA_CONN, "sqlalchemy.engine.base.Connection": SA_CONN,
                     "sqlalchemy.orm.session.Session": SA_SESSION, "sqlmodel.Session": SA_SESSION,
                     "sqlalchemy.orm.query.Query": SA_QUERY},
        enters={PG_CURSOR: PG_CURSOR, MY_CURSOR: MY_CURSOR},
        # a psycopg2 cursor is the coroutine's own even on a shared connection (which threads may
        # share); a PyMySQL cursor is not: its connection is not thread-safe
        # a connection checked out of an engine (a session a factory makes) is its caller's alone,
        # wherever the engine (the factory) was made
        fresh=frozenset({PG_CURSOR, SA_CONN, SA_SESSION}),
    ),
)
