"""The sqlite3 -> aiosqlite swap case by case: exact rewrites, and the reason a connection stays
(the golden pairs in fixtures/apply/sqlite run on real database files in
test_sqlite_behaviour.py)."""

from __future__ import annotations

import textwrap

import pytest

from asyncfix.apply import checked_rewrite


def fix(body: str, catalog, header: str = "import sqlite3\n"):
    source = header + "\nDB = sqlite3.connect(':memory:')\n\n\nasync def f(p, q):\n" + textwrap.indent(
        textwrap.dedent(body), "    ")
    return checked_rewrite(source, "app.py", catalog, {"sqlite"})


def test_chains_are_awaited_in_precedence_order(catalog):
    result = fix("""\
        conn = sqlite3.connect(p)
        n = conn.execute(q).fetchone()[0]
        rows = conn.execute(q).fetchall()
        changes = conn.total_changes
        conn.close()
        return n, rows, changes
        """, catalog)
    assert "    async with aiosqlite.connect(p) as conn:\n" \
        "        n = (await (await conn.execute(q)).fetchone())[0]\n" \
        "        rows = await (await conn.execute(q)).fetchall()\n" \
        "        changes = conn.total_changes\n    return n, rows, changes\n" in result.text
    assert result.text.startswith("import aiosqlite\nimport sqlite3\n")


@pytest.mark.parametrize("body, reason", [
    ("conn = sqlite3.connect(p)\nreturn conn", "does not close the connection"),
    ("conn = sqlite3.connect(p)\nq(conn)\nconn.close()", "used whole"),
    ("conn = sqlite3.connect(p)\nreturn conn.execute(q).fetchone()", "does not close the connection"),
    ("conn = sqlite3.connect(p)\nconn.isolation_level = None\nconn.close()", "`conn.isolation_level`"),
    ("conn = sqlite3.connect(p)\nrows = [r for r in conn.execute(q)]\nconn.close()", "used other than bound"),
    ("conn = sqlite3.connect(p)\nconn.close()\nconn.execute(q)", "outside the block"),
    ("with sqlite3.connect(p) as conn:\n    return conn.execute(q).fetchone()", "returns or breaks out"),
    ("conn = sqlite3.connect(p)\ng = lambda: conn.execute(q)\nconn.close()", "nested function"),
    ("conn = sqlite3.connect(p)\nconn = sqlite3.connect(q)\nconn.close()", "bound again"),
    ("return DB.execute(q).fetchone()", "made outside this coroutine"),
])
def test_connections_that_stay_say_why(body, reason, catalog):
    result = fix(body, catalog)
    assert "aiosqlite" not in (result.text or "")
    reasons = [f.unfixable_reason for f in result.unfixable]
    assert reasons and all("cross threads" in r or "outside this coroutine" in r for r in reasons)
    assert any(reason in r for r in reasons), reasons


def test_trio_modules_keep_sqlite3(catalog):
    result = fix("conn = sqlite3.connect(p)\nconn.execute(q)\nconn.close()", catalog,
                 header="import sqlite3\nimport trio\n")
    assert not result.text
    assert "aiosqlite runs on asyncio only" in result.unfixable[0].unfixable_reason
