"""The sqlite3 -> aiosqlite swap case by case: exact rewrites, and the reason a connection stays
(the golden pairs in fixtures/apply/sqlite run on real database files in
test_sqlite_behaviour.py)."""

from __future__ import annotations

import textwrap

import pytest

from asyncfix.apply import checked_rewrite


def fix(body: str, catalog, header: str = "import sqlite3\n"):
    source = header + "\nDB = sqlite3.connect(':memory:')\nQ = \"SELECT x FROM t\"\n\n\nasync def f(p, q):\n" + textwrap.indent(
        textwrap.dedent(body), "    ")
    return checked_rewrite(source, "app.py", catalog, {"sqlite"})


def test_chains_are_awaited_in_precedence_order(catalog):
    result = fix("""\
        conn = sqlite3.connect(p)
        n = conn.execute(Q).fetchone()[0]
        rows = conn.execute(Q).fetchall()
        changes = conn.total_changes
        conn.close()
        return n, rows, changes
        """, catalog)
    assert "    async with aiosqlite.connect(p) as conn:\n" \
        "        n = (await (await conn.execute(Q)).fetchone())[0]\n" \
        "        rows = await (await conn.execute(Q)).fetchall()\n" \
        "        changes = conn.total_changes\n    return n, rows, changes\n" in result.text
    assert result.text.startswith("import aiosqlite\nimport sqlite3\n")


def test_iterated_rows_become_async_for_and_isolation_moves_into_the_connect(catalog):
    result = fix("""\
        conn = sqlite3.connect(p, 10)
        conn.isolation_level = None
        names = [row[0] for row in conn.execute(Q)]
        for row in conn.execute(Q):
            names.append(row)
        else:
            names.append(None)
        cur = conn.cursor()
        cur.execute(Q)
        by_name = {r[0]: r for r in cur if r}
        conn.close()
        return names, by_name
        """, catalog)
    assert result.text.endswith(
        "async def f(p, q):\n"
        "    async with aiosqlite.connect(p, timeout=10, isolation_level=None) as conn:\n"
        "        names = [row[0] async for row in await conn.execute(Q)]\n"
        "        async for row in await conn.execute(Q):\n"
        "            names.append(row)\n"
        "        else:\n"
        "            names.append(None)\n"
        "        cur = await conn.cursor()\n"
        "        await cur.execute(Q)\n"
        "        by_name = {r[0]: r async for r in cur if r}\n"
        "    return names, by_name\n")


def test_isolation_level_of_a_with_block_and_a_finally(catalog):
    result = fix("""\
        with sqlite3.connect(p) as conn:
            conn.isolation_level = "IMMEDIATE"
            conn.execute(Q)
        conn2 = sqlite3.connect(p, timeout=1)
        conn2.isolation_level = None
        try:
            conn2.execute(Q)
        finally:
            conn2.close()
        """, catalog)
    assert result.text.endswith(
        "    async with aiosqlite.connect(p, isolation_level=\"IMMEDIATE\") as conn:\n"
        "        await conn.execute(Q)\n"
        "    async with aiosqlite.connect(p, timeout=1, isolation_level=None) as conn2:\n"
        "        await conn2.execute(Q)\n")


def test_a_block_that_writes_moves_to_a_thread_whole_and_says_why(catalog):
    """aiosqlite would hold SQLite's write lock across the awaits between the insert and the
    commit: the block runs in one thread hop instead."""
    result = fix("""\
        conn = sqlite3.connect(p, timeout=1)
        conn.execute(q, (1,))
        n = conn.execute(Q).fetchone()[0]
        conn.commit()
        conn.close()
        return n
        """, catalog)
    assert result.text.endswith(
        "async def f(p, q):\n"
        "    n = await asyncio.to_thread(_f_sync, p, q)\n"
        "    return n\n\n\n"
        "def _f_sync(p, q):\n"
        "    conn = sqlite3.connect(p, timeout=1)\n"
        "    conn.execute(q, (1,))\n"
        "    n = conn.execute(Q).fetchone()[0]\n"
        "    conn.commit()\n"
        "    conn.close()\n"
        "    return n\n")
    connect = next(f for f in result.fixed if f.code == "AF301")
    assert any("aiosqlite does not fit: its SQL at line 9 is built at run time (counted as a write): "
               "SQLite's write lock would be held across awaits" in note for note in connect.notes), connect.notes


@pytest.mark.parametrize("body, reason", [
    ("conn = sqlite3.connect(p)\nreturn conn", "does not close the connection"),
    ("conn = sqlite3.connect(p)\nq(conn)\nconn.close()", "leaves the block whole"),
    ("conn = sqlite3.connect(p)\nreturn conn.execute(q)", "the cursor of `conn.execute()` leaves"),
    ("cur = sqlite3.connect(p).cursor()\nreturn cur", "neither bound to a name nor used up"),
    ("with sqlite3.connect(p) as conn:\n    for r in conn.execute(q):\n        return await r", "awaits or yields"),
    ("conn = sqlite3.connect(p)\nrows = iter(conn.execute(q))\nconn.close()\nreturn rows",
     "the cursor of `conn.execute()` leaves"),
    ("conn = sqlite3.connect(p)\nconn.execute(q)\nawait q\nconn.close()\nreturn conn", "leaves the block whole"),
    ("return DB.execute(q).fetchone()", "made outside this coroutine"),
])
def test_connections_that_stay_say_why(body, reason, catalog):
    result = fix(body, catalog)
    assert not result.text
    reasons = [f.unfixable_reason for f in result.unfixable]
    assert reasons and all("cross threads" in r or "outside this coroutine" in r for r in reasons)
    assert any(reason in r for r in reasons), reasons


@pytest.mark.parametrize("body, reason", [
    ("conn = sqlite3.connect(p)\nreturn conn.execute(q).fetchone()", "does not close the connection"),
    ("conn = sqlite3.connect(p)\nconn.execute(q)\nconn.isolation_level = None\nconn.close()",
     "other than right after connecting"),
    ("conn = sqlite3.connect(p, 1, 0, None)\nconn.isolation_level = None\nconn.close()",
     "other than right after connecting"),
    ("conn = sqlite3.connect(p, *q)\nconn.close()", "cannot be passed on by name"),
    ("conn = sqlite3.connect(p)\nrows = list(r for r in conn.execute(q))\nconn.close()", "generator"),
    ("conn = sqlite3.connect(p)\nrows = sorted(conn.execute(q))\nconn.close()\nreturn rows",
     "used other than bound"),
    ("conn = sqlite3.connect(p)\nconn.close()\nconn.execute(q)", "outside the block"),
    ("with sqlite3.connect(p) as conn:\n    return conn.execute(q).fetchone()", "returns or breaks out"),
    ("conn = sqlite3.connect(p)\nconn = sqlite3.connect(q)\nconn.close()", "bound again"),
    ("return sqlite3.connect(p).execute(q).fetchall()", "not bound to a name"),
])
def test_what_aiosqlite_cannot_take_moves_to_a_thread_whole(body, reason, catalog):
    """The block runs in one helper, sqlite3 as it was; the notes say why not aiosqlite."""
    result = fix(body, catalog)
    assert "aiosqlite" not in result.text and "await asyncio.to_thread(_f_sync" in result.text
    assert not result.unfixable
    connect = next(f for f in result.fixed if f.code == "AF301")
    assert connect.notes[0].startswith("the connection's whole block (made, used, closed) runs in one thread")
    assert reason in connect.notes[0], connect.notes


def test_sqlite_thread_option_skips_aiosqlite(catalog):
    source = "import sqlite3\n\n\nasync def f(p, q):\n    conn = sqlite3.connect(p)\n" \
        "    rows = conn.execute(q).fetchall()\n    conn.close()\n    return rows\n"
    result = checked_rewrite(source, "app.py", catalog, {"sqlite"}, sqlite="thread")
    assert result.text == (
        "import asyncio\nimport sqlite3\n\n\nasync def f(p, q):\n"
        "    rows = await asyncio.to_thread(_f_sync, p, q)\n    return rows\n\n\n"
        "def _f_sync(p, q):\n    conn = sqlite3.connect(p)\n"
        "    rows = conn.execute(q).fetchall()\n    conn.close()\n    return rows\n")
    assert list(result.fixed[0].notes) == [
        "the connection's whole block (made, used, closed) runs in one thread: sqlite3 objects cannot cross threads",
        "`sqlite3.connect` without `timeout=` waits 5 s on a locked database (checklist 2.3A): now off the "
        "loop, still worth setting"]


def test_trio_modules_run_the_block_in_a_trio_thread(catalog):
    result = fix("conn = sqlite3.connect(p)\nconn.execute(q)\nconn.close()", catalog,
                 header="import sqlite3\nimport trio\n")
    assert "    await trio.to_thread.run_sync(_f_sync, p, q)\n" in result.text
    assert "aiosqlite runs on asyncio only" in result.fixed[0].notes[0]


def test_every_sqlite_finding_of_the_fixtures_moves_or_says_why(catalog):
    """Across the check, realistic and demo fixtures: the rewrite is verified (it compiles,
    re-analysis agrees, a second pass changes nothing), what is left has a reason of its own,
    and the demo backend keeps none."""
    from asyncfix.engine.file import analyze_source
    from tests.test_apply_golden import OTHER

    moved = left = 0
    for path in OTHER:
        source = path.read_text()
        result = checked_rewrite(source, path.name, catalog, set(catalog.categories))
        remaining = [f for f in analyze_source(result.text or source, path.name, catalog) if f.category == "sqlite"]
        if path.parent.name == "app":  # fixtures/demo_backend/app
            assert not remaining, (path, remaining)
        stays = [f for f in result.unfixable if f.category == "sqlite"]
        assert len(stays) == len(remaining), path
        assert all(f.unfixable_reason and "yet" not in f.unfixable_reason for f in stays), stays
        moved += len([f for f in result.fixed if f.category == "sqlite"])
        left += len(stays)
    assert moved >= 25, (moved, left)
