"""Unit tests for asyncfix.transforms.locks: which `with` statements hold a sync lock."""

from __future__ import annotations

import ast
import textwrap

import pytest

from asyncfix.transforms.locks import is_sync_lock, lock_like_name, lock_names


def _expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


@pytest.mark.parametrize(("text", "expected"), [
    ("lock", True),
    ("_lock", True),
    ("self._lock", True),
    ("self.lock", True),
    ("self.locks", True),
    ("rlock", True),
    ("Lock", True),
    ("STATE_MUTEX", True),
    ("write_lock", True),
    ("lock_file", True),
    ("sem", True),
    ("self.semaphores", True),
    ("cond", True),
    ("condition_var", True),
    ("self.write_guard", True),
    ("cls.registry.lock", True),
    ("block", False),
    ("clock", False),
    ("lockfile", False),
    ("guardian", False),
    ("self.secondary", False),
    ("db", False),
    ("self.lock.owner", False),
    ("get_lock()", False),
    ("locks[0]", False),
    ("self.locks[key]", False),
])
def test_lock_like_name(text, expected):
    assert lock_like_name(_expr(text)) is expected


def test_lock_names():
    tree = ast.parse(textwrap.dedent("""
        import threading, filelock
        A = threading.Lock()
        B = RLock()
        G = H = threading.Condition()
        S: threading.Semaphore = threading.BoundedSemaphore(2)
        BAR = threading.Barrier(3)
        EVENT = threading.Event()
        objs[0] = threading.Lock()
        NOT_CALLED = threading.Lock

        class Store:
            def __init__(self):
                self.gate = threading.Semaphore(2)
                self.fl = filelock.FileLock("x.lock")
                self.soft = SoftFileLock("y.lock")
                self.other = make_lock()

        def setup():
            local_lock = threading.RLock()
    """))
    assert lock_names(tree) == {"A", "B", "G", "H", "S", "BAR", "self.gate", "self.fl", "self.soft",
                                "local_lock"}


def _with(src: str) -> ast.stmt:
    return ast.parse(textwrap.dedent(src)).body[0]


KNOWN = frozenset({"self.gate", "GATE"})


@pytest.mark.parametrize(("src", "expected"), [
    pytest.param("with self._lock:\n    pass\n", True, id="lock-like-attribute"),
    pytest.param("with lock:\n    pass\n", True, id="lock-like-name"),
    pytest.param("with self._lock as held:\n    pass\n", True, id="with-as"),
    pytest.param("with self.gate:\n    pass\n", True, id="assigned-lock-attribute"),
    pytest.param("with GATE:\n    pass\n", True, id="assigned-lock-name"),
    pytest.param("with threading.Lock():\n    pass\n", True, id="lock-constructor"),
    pytest.param("with FileLock(path):\n    pass\n", True, id="filelock-constructor"),
    pytest.param("with open(p) as fh, self._lock:\n    pass\n", True, id="second-item"),
    pytest.param("with open(p) as fh:\n    pass\n", False, id="open"),
    pytest.param("with get_lock():\n    pass\n", False, id="call-returning-lock-unknown"),
    pytest.param("with self.gate.acquired():\n    pass\n", False, id="method-of-lock"),
    pytest.param("with OTHER:\n    pass\n", False, id="unknown-name"),
    pytest.param("async with self._lock:\n    pass\n", False, id="async-with-is-not-sync"),
    pytest.param("lock = 1\n", False, id="not-a-with"),
])
def test_is_sync_lock(src, expected):
    assert is_sync_lock(_with(src), KNOWN) is expected


def test_is_sync_lock_uses_known_names():
    stmt = _with("with registry:\n    pass\n")
    assert not is_sync_lock(stmt, frozenset())
    assert is_sync_lock(stmt, frozenset({"registry"}))
