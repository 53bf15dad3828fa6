"""Differential fuzz of the `sqlite` fix: hypothesis writes coroutines that open, use, commit or
not, fail or not and close connections (plain, closed in a `finally`, in a `with` transaction,
closed after the `with`, never closed, returning from inside the `with`, autocommit set after
connecting) or use one shared connection kept on an instance (made with
`check_same_thread=False`, its uses split by awaits), one after another on one database file;
the tool rewrites each (aiosqlite, or a thread for the whole block, or a thread under the shared
connection's lock), and both sides run on fresh copies of the same file. What they return and
every row left must match: a lost commit, a commit too many or a rollback missed shows in the
next block's count or in the file. Connections wait 0.2 s on a lock held by another (not
sqlite3's 5 s: the same error sooner). Fixed budget, derandomized, no shrinking.""" 

from __future__ import annotations

import asyncio
import sqlite3

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from asyncfix.apply import checked_rewrite
from tests.modules import load

SETUP = "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO t (v) VALUES (1), (2);"
OPS = [
    'conn.execute("INSERT INTO t (v) VALUES (?)", ({n},))',
    'conn.executemany("INSERT INTO t (v) VALUES (?)", [({n},), ({n} + 1,)])',
    'out.append(conn.execute("SELECT count(*) FROM t").fetchone()[0])',
    'out.append(conn.execute("UPDATE t SET v = v + {n}").rowcount)',
    'cur{i} = conn.execute("SELECT v FROM t ORDER BY id")\nout.append(cur{i}.fetchall())',
    'cur{i} = conn.cursor()\ncur{i}.execute("SELECT max(v) FROM t")\nout.append(cur{i}.fetchone())',
    'cur{i} = conn.execute("INSERT INTO t (v) VALUES ({n})")\nout.append(cur{i}.lastrowid)',
    'conn.commit()',
    'conn.rollback()',
    'out.append(conn.total_changes)',
    'out.append(conn.in_transaction)',
    'conn.execute("INSERT INTO t (v) VALUES (NULL)")',  # NOT NULL: raises IntegrityError
    'try:\n    conn.execute("INSERT INTO t (v) VALUES (NULL)")\nexcept sqlite3.IntegrityError:\n    out.append("integrity")',
    'conn.row_factory = sqlite3.Row\nout.append([tuple(r) for r in conn.execute("SELECT * FROM t").fetchall()])',
    'out.append([r[0] for r in conn.execute("SELECT v FROM t ORDER BY id")])',
    'for r{i} in conn.execute("SELECT id, v FROM t ORDER BY id"):\n    out.append(tuple(r{i}))',
    'cur{i} = conn.cursor()\ncur{i}.execute("SELECT v FROM t WHERE v > {n}")\nout.append(sorted(tuple(r) for r in cur{i}))',
]
FORMS = ["plain", "finally", "with", "with_close", "never_closed", "with_return", "autocommit", "shared"]


def _indent(text: str, depth: int) -> str:
    return "".join("    " * depth + line + "\n" for line in text.splitlines())


@st.composite
def programs(draw) -> str:
    blocks, counter = [], 0
    for _ in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(FORMS))
        ops = []
        for _ in range(draw(st.integers(1, 4))):
            counter += 1
            # setting a shared connection's row_factory is a write the offloader keeps on the loop
            choices = [op for op in OPS if form != "shared" or "row_factory" not in op]
            ops.append(draw(st.sampled_from(choices)).format(n=draw(st.integers(0, 9)), i=counter))
            if form == "shared" and draw(st.booleans()):
                ops.append("await asyncio.sleep(0)")  # the stretches of uses end at awaits
        body = "\n".join(ops)
        if form == "plain":
            text = "conn = sqlite3.connect(db_path, timeout=0.2)\n" + body + "\nconn.close()"
        elif form == "autocommit":
            text = "conn = sqlite3.connect(db_path, timeout=0.2)\nconn.isolation_level = None\n" + body + "\nconn.close()"
        elif form == "never_closed":
            text = "conn = sqlite3.connect(db_path, timeout=0.2)\n" + body
        elif form == "finally":
            text = "conn = sqlite3.connect(db_path, timeout=0.2)\ntry:\n" + _indent(body, 1) + "finally:\n    conn.close()"
        elif form == "shared":
            text = body.replace("conn.", "self.conn.")
        else:
            text = "with sqlite3.connect(db_path, timeout=0.2) as conn:\n" + _indent(body, 1).rstrip("\n")
            text += {"with": "", "with_close": "\nconn.close()", "with_return": "\n    return out"}[form]
        blocks.append((form, text))
    # each block a coroutine of its own (a name bound twice stays on sqlite3), awaited in turn
    out = ["import asyncio\nimport gc\nimport sqlite3\n",
           "\n\nclass Store:\n    def __init__(self, db_path):\n"
           "        self.conn = sqlite3.connect(db_path, timeout=0.2, check_same_thread=False)\n"]
    for k, (form, text) in enumerate(blocks):
        if form == "shared":
            out.append(f"\n    async def block{k}(self):\n        out = []\n" + _indent(text, 2)
                       + "        return out\n")
    for k, (form, text) in enumerate(blocks):
        if form != "shared":
            out.append(f"\n\nasync def block{k}(db_path):\n    out = []\n" + _indent(text, 1)
                       + "    return out\n")
    # each returns its own list: a thread may not write what the caller shares. A connection
    # never closed lives until the cyclic GC finds it (sqlite3's objects form a cycle), holding
    # its locks and open transaction: when that is depends on allocations (aiosqlite's thread
    # makes more), so both sides collect after each block, as a program that closes would.
    calls = "".join(f"        out += await {'store.' if form == 'shared' else ''}"
                    f"block{k}({'' if form == 'shared' else 'db_path'})\n        gc.collect()\n"
                    for k, (form, _) in enumerate(blocks))
    out.append("\n\nasync def main(db_path):\n    out = []\n    store = Store(db_path)\n    try:\n" + calls +
               "    except Exception as exc:\n        out.append(('raised', type(exc).__name__))\n"
               "    store.conn.close()\n    return out\n")
    return "".join(out)


def _run(text: str, folder, name: str):
    db = folder / f"{name}.db"
    conn = sqlite3.connect(db)
    conn.executescript(SETUP)
    conn.close()
    module = load(text, folder, name)
    result = asyncio.run(module.main(str(db)))
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT * FROM t ORDER BY id").fetchall()
    conn.close()
    return result, rows


@settings(max_examples=60, derandomize=True, deadline=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(programs())
def test_aiosqlite_swap_keeps_rows_and_results(tmp_path_factory, catalog, program):
    folder = tmp_path_factory.mktemp("prog")
    result = checked_rewrite(program, "prog.py", catalog, {"sqlite"})
    rewritten = result.text
    # every block here moves, but for a shared stretch that returns from inside a `try` (and
    # main's close of the shared connection, which it does not see as one)
    assert all("inside a block" in f.unfixable_reason or f.function == "main"
               for f in result.unfixable), (program, result.unfixable)
    if not rewritten:  # blocks that only read properties: nothing blocks
        assert not result.fixed
        return
    before, after = _run(program, folder, "before"), _run(rewritten, folder, "after")
    assert after == before, f"{program}\n--- rewrite\n{rewritten}\nbefore {before}\nafter  {after}"


def test_the_harness_sees_a_lost_commit(tmp_path, catalog):
    program = "import sqlite3\n\n\nasync def main(db_path):\n    with sqlite3.connect(db_path, timeout=0.2) as conn:\n" \
              "        conn.execute('INSERT INTO t (v) VALUES (7)')\n    return []\n"
    naive = ("import aiosqlite\n\n\nasync def main(db_path):\n    async with aiosqlite.connect(db_path) as conn:\n"
             "        await conn.execute('INSERT INTO t (v) VALUES (7)')\n    return []\n")
    assert _run(program, tmp_path, "before") != _run(naive, tmp_path, "naive")
