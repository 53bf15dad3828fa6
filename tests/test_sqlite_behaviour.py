"""The sqlite3 -> aiosqlite rewrite keeps what reaches the database file, and frees the loop.

Cases are the golden pairs fixtures/apply/sqlite/<case>.py (before) and <case>.fixed.py (after).
Each module's `setup(db_path)` makes a fresh database file for each side; every top-level
`async def` whose first parameter is `db_path` runs on it. Both sides must return the same and
leave the same rows in every table (the `with` commit, a rollback on error, a close without
commit). Entries named `heavy_*` also measure the loop: the original stalls a 5 ms ticker for the
whole query, the rewrite by less than 60 ms.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3

import pytest

from tests.conftest import FIXTURES
from tests.lag import with_lag
from tests.modules import load_file

FOLDER = FIXTURES / "apply" / "sqlite"
PAIRS = sorted(p for p in FOLDER.glob("*.py") if not p.name.endswith(".fixed.py")
               and p.with_name(p.stem + ".fixed.py").exists()  # a case left as it is has nothing to run
               and p.with_name(p.stem + ".fixed.py").read_text() != p.read_text())


def entries(path) -> list[str]:
    module = load_file(path, f"sqlite_entries_{path.stem}")
    return [name for name, fn in vars(module).items() if inspect.iscoroutinefunction(fn)
            and fn.__module__ == module.__name__ and list(inspect.signature(fn).parameters)[:1] == ["db_path"]]


CASES = [(path, entry) for path in PAIRS for entry in entries(path)]


def dump(db_path) -> dict:
    conn = sqlite3.connect(db_path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        conn.close()


def run_side(path, entry, db_path, role, measure=False):
    module = load_file(path, f"sqlite_{role}_{path.stem}")
    module.setup(db_path)
    work = getattr(module, entry)
    if measure:
        return asyncio.run(with_lag(lambda: work(str(db_path))))
    try:
        return asyncio.run(work(str(db_path))), None
    except Exception as exc:  # noqa: BLE001 - both sides must raise alike
        return None, f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("path, entry", CASES, ids=[f"{p.stem}/{e}" for p, e in CASES])
def test_same_rows_and_results(path, entry, tmp_path):
    before = run_side(path, entry, tmp_path / "before.db", "before")
    after = run_side(path.with_name(path.stem + ".fixed.py"), entry, tmp_path / "after.db", "after")
    assert after == before
    assert dump(tmp_path / "after.db") == dump(tmp_path / "before.db")


HEAVY = [(p, e) for p, e in CASES if e.startswith("heavy_")]


@pytest.mark.parametrize("path, entry", HEAVY, ids=[f"{p.stem}/{e}" for p, e in HEAVY])
def test_heavy_query_frees_the_loop(path, entry, tmp_path):
    run_side(path.with_name(path.stem + ".fixed.py"), entry, tmp_path / "warm.db", "warm")  # imports
    result_before, lag_before = run_side(path, entry, tmp_path / "before.db", "before", measure=True)
    result_after, lag_after = run_side(path.with_name(path.stem + ".fixed.py"), entry, tmp_path / "after.db",
                                       "after", measure=True)
    assert result_after == result_before
    assert lag_before > 0.1, lag_before  # the query stalls the loop where it stood
    assert lag_after < 0.06, (lag_before, lag_after)


def test_the_cases_are_there():
    assert {p.stem for p in PAIRS} >= {"connect_close", "with_transaction"} and HEAVY


DEMO = FIXTURES / "demo_backend" / "app" / "db.py"


async def _demo_session(module):
    await module.insert_document("d1", "a.pdf", "pdf")
    await module.insert_document("d2", "b.png", "image", "processing")
    await module.update_status("d1", "done")
    await module.record_page_count("d1", 12)
    try:
        await module.insert_document("d1", "again.pdf", "pdf")  # primary key taken
    except sqlite3.IntegrityError as exc:
        failed = str(exc)
    got = await module.get_document("d1")
    return failed, {k: got[k] for k in ("id", "filename", "status")}, await module.get_document("nope"), \
        sorted((d["id"], d["status"]) for d in await module.list_documents())


def test_the_demo_backend_db_module_keeps_its_rows(tmp_path, catalog, monkeypatch):
    """fixtures/demo_backend/app/db.py, rewritten (every sqlite call of it leaves the loop),
    gives the same answers and leaves the same rows."""
    from asyncfix.apply import checked_rewrite
    from asyncfix.engine.file import analyze_source
    from tests.modules import load

    monkeypatch.syspath_prepend(str(DEMO.parent.parent))  # `from app.config import DATA_DIR`
    source = DEMO.read_text()
    result = checked_rewrite(source, "db.py", catalog, set(catalog.categories))
    assert "aiosqlite.connect(DB_PATH)" in result.text and not result.unfixable
    assert not [f for f in analyze_source(result.text, "db.py", catalog) if f.category == "sqlite"]
    outcomes = []
    for role, text in (("before", source), ("after", result.text)):
        module = load(text, tmp_path, f"demo_db_{role}")
        module.DB_PATH = tmp_path / f"{role}.db"
        module.init_db()
        outcomes.append((asyncio.run(_demo_session(module)), dump(module.DB_PATH)))
    assert outcomes[0][0][1]["status"] == "done" and outcomes[0][1]["documents"]
    assert [(r, {t: [row[:3] for row in rows] for t, rows in d.items()}) for r, d in outcomes[1:]] == \
        [(outcomes[0][0], {t: [row[:3] for row in rows] for t, rows in outcomes[0][1].items()})]


WRITERS = '''\
import asyncio
import sqlite3
import time


async def add(db_path, i):
    conn = sqlite3.connect(db_path, timeout=1)
    conn.execute("INSERT INTO t (v) VALUES (?)", (i,))
    conn.commit()
    conn.close()


async def busy():
    for _ in range(15):
        time.sleep(0.3)  # work the loop still does (here: a call asyncfix does not move)
        await asyncio.sleep(0)


async def main(db_path):
    results = await asyncio.gather(busy(), *(add(db_path, i) for i in range(30)), return_exceptions=True)
    return sorted(type(r).__name__ for r in results if isinstance(r, Exception))
'''


def test_concurrent_writers_beside_a_stalled_loop_keep_their_writes(tmp_path, catalog):
    """The original serialises its writes on the loop: all 30 rows land. The rewrite must not
    lose any (`database is locked`) because the loop is slow elsewhere."""
    from asyncfix.apply import checked_rewrite
    from tests.modules import load

    rewritten = checked_rewrite(WRITERS, "writers.py", catalog, {"sqlite"}).text
    outcomes = []
    for role, text in (("before", WRITERS), ("after", rewritten)):
        db = tmp_path / f"{role}.db"
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE t (v INTEGER)")
        conn.commit()
        conn.close()
        errors = asyncio.run(load(text, tmp_path, f"writers_{role}").main(str(db)))
        outcomes.append((errors, len(dump(db)["t"])))
    assert outcomes[0] == ([], 30)
    assert outcomes[1] == outcomes[0]
