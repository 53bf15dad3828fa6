"""Connections kept beyond a coroutine and made with `check_same_thread=False`: each await-free
stretch of uses runs in a thread under the connection's lock; what cannot says why (the golden
pair fixtures/apply/sqlite/shared_connection.py runs in test_sqlite_behaviour.py)."""

from __future__ import annotations

import textwrap

import pytest

from asyncfix.apply import checked_rewrite

GLOBAL = "import sqlite3\n\nDB = sqlite3.connect('app.db', check_same_thread=False)\n\n\n"
CLASS = ("import sqlite3\n\n\nclass Store:\n    def __init__(self, path):\n"
         "        self.db = sqlite3.connect(path, check_same_thread=False)\n\n")


def fix(source: str, catalog, header: str = ""):
    body = textwrap.dedent(source)
    if header == CLASS:  # methods of the class
        body = textwrap.indent(body, "    ")
    return checked_rewrite(header + body, "app.py", catalog, {"sqlite"})


def test_a_global_s_stretches_split_at_awaits_each_under_the_lock(catalog):
    result = fix("""\
        async def save(q, publish):
            DB.execute(q)
            n = DB.total_changes
            DB.commit()
            await publish(n)
            return DB.execute("SELECT count(*) FROM t").fetchone()[0]
        """, catalog, GLOBAL)
    assert result.text == (
        "import asyncio\nimport threading\nimport sqlite3\n\n"
        "DB = sqlite3.connect('app.db', check_same_thread=False)\n"
        "_DB_LOCK = threading.Lock()  # one user of the connection at a time\n\n\n"
        "async def save(q, publish):\n"
        "    n = await asyncio.to_thread(_save_sync, q)\n"
        "    await publish(n)\n"
        "    return await asyncio.to_thread(_save_sync_2)\n\n\n"
        "def _save_sync(q):\n"
        "    with _DB_LOCK:\n"
        "        DB.execute(q)\n"
        "        n = DB.total_changes\n"
        "        DB.commit()\n"
        "    return n\n\n\n"
        "def _save_sync_2():\n"
        "    with _DB_LOCK:\n"
        "        return DB.execute(\"SELECT count(*) FROM t\").fetchone()[0]\n")
    assert all("under `_DB_LOCK`" in f.notes[0] for f in result.fixed)


def test_an_instance_s_lock_is_made_beside_it_and_cursors_come_along(catalog):
    result = fix("""\
            async def names(self):
                cur = self.db.cursor()
                cur.execute("SELECT name FROM t")
                return [r[0] for r in cur]
        """, catalog, CLASS)
    assert "        self.db = sqlite3.connect(path, check_same_thread=False)\n" \
        "        self._db_lock = threading.Lock()  # one user of the connection at a time\n" in result.text
    assert result.text.endswith(
        "    async def names(self):\n        return await asyncio.to_thread(_Store_names_sync, self)\n\n\n"
        "def _Store_names_sync(self):\n    with self._db_lock:\n        cur = self.db.cursor()\n"
        "        cur.execute(\"SELECT name FROM t\")\n        return [r[0] for r in cur]\n")
    assert not result.unfixable


@pytest.mark.parametrize("source, reason", [
    (GLOBAL + "def count():\n    return DB.execute('SELECT 1')\n\n\nasync def f():\n    DB.execute('x')\n",
     "the sync function `count` uses the connection too"),
    (GLOBAL + "async def f(loop):\n    DB.execute('x')\n    await loop.run_in_executor(None, lambda: DB.commit())\n",
     "the sync function `<lambda>` uses the connection too"),
    (GLOBAL + "async def f():\n    global DB\n    DB.execute('x')\n    DB = None\n", "bound again elsewhere"),
    (GLOBAL + "async def f(publish):\n    cur = DB.execute('x')\n    await publish()\n    return cur.fetchone()\n",
     "`cur` is used after the block that makes it"),
    (GLOBAL + "async def f(publish):\n    if DB.execute('x').fetchone():\n        await publish()\n",
     "it awaits in the statement that uses the connection"),
    (GLOBAL + "async def f(keep):\n    keep.append(DB.cursor())\n", "the cursor of `DB.cursor()`"),
    (GLOBAL + "async def f(other: sqlite3.Connection):\n    DB.execute('x')\n    other.execute('y')\n    DB.commit()\n",
     "it also uses `other`, which is no cursor of this connection"),
    (CLASS + "    def sync_get(self):\n        return self.db.execute('x')\n\n    async def f(self):\n"
             "        self.db.execute('y')\n", "the sync function `sync_get` uses the connection too"),
    (CLASS + "    async def reopen(self, path):\n        self.db.execute('x')\n        self.db = sqlite3.connect(path)\n",
     "`self.db` is set again elsewhere in the class"),
])
def test_shared_connections_that_stay_say_why(source, reason, catalog):
    result = fix(source, catalog)
    assert "threading" not in (result.text or "")
    reasons = [f.unfixable_reason for f in result.unfixable]
    assert any(reason in r for r in reasons), reasons


def test_without_check_same_thread_false_nothing_moves(catalog):
    result = fix("import sqlite3\n\nDB = sqlite3.connect('app.db')\n\n\nasync def f():\n    DB.execute('x')\n", catalog)
    assert not result.text
    assert result.unfixable[0].unfixable_reason.startswith("the sqlite3 connection was made outside this coroutine")
