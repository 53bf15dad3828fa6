"""Differential fuzz of the sqlite3 -> aiosqlite swap: hypothesis writes coroutines that open,
use, commit or not, fail or not and close connections (plain, closed in a `finally`, or in a
`with` transaction), one after another on one database file; the tool rewrites each, and both
sides run on fresh copies of the same file. What they return and every row left must match:
a lost commit, a commit too many or a rollback missed shows in the next block's count or in the
file. Fixed budget, derandomized, no shrinking (about 10 s)."""

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
]


def _indent(text: str, depth: int) -> str:
    return "".join("    " * depth + line + "\n" for line in text.splitlines())


@st.composite
def programs(draw) -> str:
    blocks, counter = [], 0
    for _ in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(["plain", "finally", "with"]))
        ops = []
        for _ in range(draw(st.integers(1, 4))):
            counter += 1
            ops.append(draw(st.sampled_from(OPS)).format(n=draw(st.integers(0, 9)), i=counter))
        body = "\n".join(ops)
        if form == "plain":
            text = "conn = sqlite3.connect(db_path)\n" + body + "\nconn.close()"
        elif form == "finally":
            text = "conn = sqlite3.connect(db_path)\ntry:\n" + _indent(body, 1) + "finally:\n    conn.close()"
        else:
            text = "with sqlite3.connect(db_path) as conn:\n" + _indent(body, 1).rstrip("\n")
        blocks.append(text)
    # each block a coroutine of its own (a name bound twice stays on sqlite3), awaited in turn
    out = ["import sqlite3\n"]
    for k, text in enumerate(blocks):
        out.append(f"\n\nasync def block{k}(db_path, out):\n" + _indent(text, 1))
    calls = "".join(f"        await block{k}(db_path, out)\n" for k in range(len(blocks)))
    out.append("\n\nasync def main(db_path):\n    out = []\n    try:\n" + calls +
               "    except Exception as exc:\n        out.append(('raised', type(exc).__name__))\n    return out\n")
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


@settings(max_examples=150, derandomize=True, deadline=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(programs())
def test_aiosqlite_swap_keeps_rows_and_results(tmp_path_factory, catalog, program):
    folder = tmp_path_factory.mktemp("prog")
    rewritten = checked_rewrite(program, "prog.py", catalog, {"sqlite"}).text
    assert rewritten and "aiosqlite" in rewritten, program  # every block here can move
    before, after = _run(program, folder, "before"), _run(rewritten, folder, "after")
    assert after == before, f"{program}\n--- rewrite\n{rewritten}\nbefore {before}\nafter  {after}"


def test_the_harness_sees_a_lost_commit(tmp_path, catalog):
    program = "import sqlite3\n\n\nasync def main(db_path):\n    with sqlite3.connect(db_path) as conn:\n" \
              "        conn.execute('INSERT INTO t (v) VALUES (7)')\n    return []\n"
    naive = ("import aiosqlite\n\n\nasync def main(db_path):\n    async with aiosqlite.connect(db_path) as conn:\n"
             "        await conn.execute('INSERT INTO t (v) VALUES (7)')\n    return []\n")
    assert _run(program, tmp_path, "before") != _run(naive, tmp_path, "naive")
