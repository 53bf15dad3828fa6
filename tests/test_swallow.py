"""Unit tests for asyncfix.transforms.swallow: which `with` statements may swallow an exception."""

from __future__ import annotations

import ast

import pytest

from asyncfix.transforms.swallow import may_swallow


def _with(src: str) -> ast.With | ast.AsyncWith:
    stmt = ast.parse(src).body[0]
    if isinstance(stmt, ast.AsyncFunctionDef):
        stmt = stmt.body[0]
    assert isinstance(stmt, (ast.With, ast.AsyncWith))
    return stmt


@pytest.mark.parametrize("src", [
    pytest.param("with suppress(KeyError): pass", id="suppress"),
    pytest.param("with contextlib.suppress(KeyError): pass", id="contextlib-suppress"),
    pytest.param("with cm(): pass", id="unknown-call"),
    pytest.param("with conn: pass", id="unknown-name"),
    pytest.param("with self.session: pass", id="unknown-attribute"),
    pytest.param("with ExitStack() as stack: pass", id="exit-stack"),
    pytest.param("with pytest.raises(ValueError): pass", id="pytest-raises"),
    pytest.param("with warnings.catch_warnings(): pass", id="catch-warnings"),
    pytest.param("with get_lock(): pass", id="call-named-like-a-lock"),
    pytest.param("with self.lock_for(key): pass", id="method-named-like-a-lock"),
    pytest.param("with open(a) as f, cm(): pass", id="one-unknown-item"),
    pytest.param("with cm(), open(a) as f: pass", id="unknown-item-first"),
    pytest.param("with open: pass", id="open-not-called"),
    pytest.param("async def f():\n    async with session.get(u) as r: pass", id="async-unknown"),
])
def test_may_swallow(src):
    assert may_swallow(_with(src)) is True


@pytest.mark.parametrize("src", [
    pytest.param("with open(p) as f: pass", id="open"),
    pytest.param("with io.open(p) as f: pass", id="io-open"),
    pytest.param("with Image.open(p) as im: pass", id="image-open"),
    pytest.param("with os.fdopen(fd) as f: pass", id="fdopen"),
    pytest.param("with open(a) as f, open(b) as g: pass", id="two-files"),
    pytest.param("with tempfile.TemporaryDirectory() as d: pass", id="temporary-directory"),
    pytest.param("with NamedTemporaryFile() as f: pass", id="named-temporary-file"),
    pytest.param("with sqlite3.connect(p) as db: pass", id="connect"),
    pytest.param("with zipfile.ZipFile(p) as z: pass", id="zipfile"),
    pytest.param("with subprocess.Popen(cmd) as proc: pass", id="popen"),
    pytest.param("with os.scandir(p) as it: pass", id="scandir"),
    pytest.param("with ThreadPoolExecutor() as pool: pass", id="executor"),
    pytest.param("with threading.Lock(): pass", id="lock-constructor"),
    pytest.param("with closing(resource): pass", id="closing"),
    pytest.param("with contextlib.nullcontext(): pass", id="nullcontext"),
    pytest.param("with urllib.request.urlopen(u) as r: pass", id="urlopen"),
    pytest.param("with self._lock: pass", id="lock-attribute"),
    pytest.param("with lock, open(p) as f: pass", id="lock-and-file"),
    pytest.param("with STATE_MUTEX: pass", id="mutex"),
    pytest.param("async def f():\n    async with aiofiles.open(p) as f: pass", id="async-open"),
])
def test_transparent(src):
    assert may_swallow(_with(src)) is False
