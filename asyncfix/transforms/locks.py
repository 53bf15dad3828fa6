"""Sync locks (`threading`, `multiprocessing`, `filelock`) held by a coroutine.

Nothing may await while a sync lock is held: another coroutine reaching the same `with lock:`
would block the loop's thread on a lock that only the suspended coroutine can release, a deadlock.
So inside such a block no thread hop and no async sleep is inserted; the block may move to a
thread whole, lock and all, where blocking on it is harmless.
"""

from __future__ import annotations

import ast
import re

from asyncfix.engine.astutil import walk

_LOCK_WORD = re.compile(r"(^|_)(r?lock|mutex|sem|semaphore|cond|condition|guard)s?($|_)", re.I)
_LOCK_TYPES = frozenset({"Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "FileLock",
                         "SoftFileLock", "Barrier"})


def _text(expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        base = _text(expr.value)
        return f"{base}.{expr.attr}" if base else None
    return None


def lock_like_name(expr: ast.expr) -> bool:
    """`lock`, `self._lock`, `STATE_MUTEX`: named as a lock (sync locks are used bare in `with`)."""
    text = _text(expr)
    return bool(text) and bool(_LOCK_WORD.search(text.rpartition(".")[2]))


def lock_names(tree: ast.Module, nodes: list[ast.AST] | None = None) -> frozenset[str]:
    """Names and `self.x` attributes the module assigns a lock object to (`LOCK = threading.Lock()`)."""
    out = set()
    for node in nodes if nodes is not None else walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
            func = node.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _LOCK_TYPES:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                out |= {t for t in map(_text, targets) if t}
    return frozenset(out)


def is_sync_lock(stmt: ast.stmt, locks: frozenset[str]) -> bool:
    """A sync `with` whose context manager is a lock object (not a call: `with open(...)`)."""
    if not isinstance(stmt, ast.With):
        return False
    for item in stmt.items:
        expr = item.context_expr
        if isinstance(expr, ast.Call):
            func = expr.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _LOCK_TYPES:
                return True
            continue
        if lock_like_name(expr) or _text(expr) in locks:
            return True
    return False
