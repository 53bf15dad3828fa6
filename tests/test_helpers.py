"""`helpers` (AF661/AF662): the project's own blocking sync functions, called from coroutines, in
one module and across the modules of a run."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from asyncfix.cache import Cache
from asyncfix.catalog import Catalog
from asyncfix.codemods import CATEGORIES
from asyncfix.engine.file import analyze_source
from asyncfix.engine.helpers import Chain, Summaries
from asyncfix.engine.walker import RawFinding
from asyncfix.project import imported, module_name
from asyncfix.runner import check_files


def _write(root: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return sorted(str(root / name) for name in files)


def _check(root: Path, files: dict[str, str], cache: Cache | None = None) -> list[str]:
    paths = _write(root, files)
    result = check_files(paths, lambda p: Path(p).relative_to(root).as_posix(), {}, 1,
                         cache or Cache(None, {}), opt_in=frozenset({"AF663"}))
    return [f"{f.path}:{f.line} {f.code} {f.message}" for f in result.findings if f.category == "helpers"]


def _one(text: str) -> list[str]:
    found = analyze_source(textwrap.dedent(text), "m.py", Catalog(CATEGORIES))
    return [f"{f.line} {f.code} {f.message}" for f in found if f.category == "helpers"]


def test_a_chain_in_one_module_is_named_at_the_coroutine_s_call():
    assert _one("""
        import json

        def _write(path, data):
            with open(path, "w") as fh:
                json.dump(data, fh)

        def _save(path, data):
            data["v"] = 1
            _write(path, data)

        async def handler(path):
            _save(path, {})
    """) == ["13 AF661 `_save` blocks the event loop in a helper of the project: it calls `_write` -> "
             "`open` (line 5)"]


def test_a_dropped_finding_s_chain_is_not_inherited_by_a_finding_with_its_id():
    """A walked body's findings are dropped after its walk; CPython then hands the same address
    (the id) to the next finding made. Looked up by id alone, that finding took the old chain:
    `_settings ... it calls self._copy -> shutil.copyfile`, another helper's chain (found by the
    fast-path differential test, depending on what ran before)."""
    node = ast.parse("f()").body[0].value

    def raw() -> RawFinding:
        return RawFinding(node, None, "f", "f", "h", None)

    summaries = Summaries(module=None)
    first = raw()
    summaries.found(first, "_copy", Chain(("shutil.copyfile",), 68, False))
    assert summaries.chain_of(first) == Chain(("_copy", "shutil.copyfile"), 68, False)
    del first  # had the summaries not kept it, the next finding made would take its address
    made = [raw() for _ in range(1000)]
    assert [r for r in made if summaries.chain_of(r) is not None] == []


def test_pure_generator_decorated_and_silenced_helpers_are_quiet():
    assert _one("""
        import contextlib, time

        def _label(x):
            return f"x{x}"

        def _lines(path):
            yield from open(path)

        @contextlib.contextmanager
        def _cd(path):
            open(path).close()
            yield

        def _nap():
            time.sleep(1)  # asyncfix: ignore[sleep]

        async def handler(path):
            _label(1)
            _lines(path)
            _cd(path)
            _nap()
    """) == []


def test_a_helper_waiting_on_run_coroutine_threadsafe_deadlocks():
    found = _one("""
        import asyncio

        class Bridge:
            def _run(self, coro):
                return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

            async def publish(self, coro):
                return self._run(coro)
    """)
    assert found == ["9 AF662 `self._run` waits on the event loop for a coroutine handed to a loop: on that "
                     "loop it deadlocks: it calls `asyncio.run_coroutine_threadsafe(coro, self.loop).result` "
                     "(line 6)"]


def test_module_names_come_from_package_folders(tmp_path):
    _write(tmp_path, {"app/__init__.py": "", "app/store/__init__.py": "", "app/store/blob.py": "",
                      "script.py": ""})
    assert module_name(str(tmp_path / "app/store/blob.py")) == "app.store.blob"
    assert module_name(str(tmp_path / "app/store/__init__.py")) == "app.store"
    assert module_name(str(tmp_path / "script.py")) == "script"
    text = "from .blob import put, get as fetch\nfrom .. import config\nimport os, app.db as db\n"
    assert imported(text, "app.store.api", str(tmp_path / "app/store/api.py")) == [
        "app.config as config", "app.db as db", "app.store.blob.get as fetch", "app.store.blob.put as put"]


PROJECT = {
    "shop/__init__.py": "",
    "shop/disk.py": """
        import os

        def ensure(path):
            os.makedirs(path, exist_ok=True)
    """,
    "shop/store.py": """
        from shop.disk import ensure

        def put(root, name, data):
            ensure(root)
            return name

        class Store:
            def __init__(self, root):
                self.root = root

            def save(self, name, data):
                return put(self.root, name, data)

            def label(self, name):
                return name.upper()
    """,
    "shop/api.py": """
        from .store import Store, put

        async def upload(store: Store, name, data):
            store.label(name)
            store.save(name, data)
            put("/srv", name, data)

        async def make(root):
            return Store(root)
    """,
}


def test_chains_run_through_modules_with_relative_and_absolute_imports(tmp_path):
    assert _check(tmp_path, PROJECT) == [
        "shop/api.py:6 AF663 `store.save` blocks the event loop in a helper of another module of the project: it calls "
        "`put` -> `ensure` -> `os.makedirs` (shop/disk.py:5)",
        "shop/api.py:7 AF663 `put` blocks the event loop in a helper of another module of the project: it calls `ensure` -> "
        "`os.makedirs` (shop/disk.py:5)",
    ]


def test_the_cache_gives_the_same_findings_and_sees_a_changed_dependency(tmp_path):
    cache_dir = tmp_path / "cache"
    first = _check(tmp_path / "p", PROJECT, Cache(cache_dir, {}))
    assert _check(tmp_path / "p", PROJECT, Cache(cache_dir, {})) == first
    quiet = dict(PROJECT, **{"shop/disk.py": "def ensure(path):\n    return path\n"})
    assert _check(tmp_path / "p", quiet, Cache(cache_dir, {})) == []


def test_an_import_cycle_ends(tmp_path):
    assert _check(tmp_path, {
        "loop/__init__.py": "",
        "loop/a.py": "from loop.b import g\nimport time\n\ndef f():\n    time.sleep(1)\n    g()\n",
        "loop/b.py": "from loop.a import f\n\ndef g():\n    f()\n",
        "loop/c.py": "from loop.b import g\n\nasync def h():\n    g()\n",
    }) == ["loop/c.py:4 AF663 `g` blocks the event loop in a helper of another module of the project: it calls `f` -> "
           "`time.sleep` (loop/a.py:5)"]


def test_across_modules_is_opt_in(tmp_path):
    paths = _write(tmp_path, PROJECT)
    result = check_files(paths, str, {}, 1, Cache(None, {}))
    assert [f for f in result.findings if f.category == "helpers"] == []


COMPOSED = """
import os


class Repo:
    def __init__(self, root):
        self.root = root

    def load(self, name):
        with open(os.path.join(self.root, name)) as fh:
            return fh.read()


def fetch(name):
    return Repo("/srv").load(name)


class Service:
    def __init__(self):
        self.repo = Repo("/srv")

    async def get(self, name):
        return self.repo.load(name)


async def handler(name):
    return fetch(name)
"""


def test_methods_of_other_objects_are_not_followed_alike_on_both_paths():
    # the fast path keeps only what names a trigger or calls a helper by name or through self;
    # following `self.repo.load()` would make the full parse find what it cannot
    from asyncfix.engine.file import analyze_bytes

    data = COMPOSED.encode()
    fast = analyze_bytes(data, "m.py", Catalog(CATEGORIES), fast=True)
    assert fast == analyze_bytes(data, "m.py", Catalog(CATEGORIES), fast=False) == []
