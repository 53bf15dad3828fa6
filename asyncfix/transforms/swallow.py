"""Which `with` statements may swallow an exception from their body.

Any `__exit__` may return True and so resume after the block as if it had completed: code after
it then runs with only part of the body's names bound. Only context managers known not to do so
(files, temporary files and folders, connections, locks, pools) count as transparent.
"""

from __future__ import annotations

import ast

from asyncfix.transforms.locks import lock_like_name

# Constructors and functions whose context managers close or release, and never swallow.
_TRANSPARENT = frozenset({
    "open", "fdopen", "TemporaryDirectory", "NamedTemporaryFile", "TemporaryFile",
    "SpooledTemporaryFile", "connect", "ZipFile", "TarFile", "Popen", "scandir",
    "ThreadPoolExecutor", "ProcessPoolExecutor", "Lock", "RLock", "Semaphore", "BoundedSemaphore",
    "Condition", "socket", "create_connection", "urlopen", "PdfReader", "PdfWriter", "Image",
    "closing", "nullcontext",
})


def may_swallow(stmt: ast.With | ast.AsyncWith) -> bool:
    return not all(_transparent(item.context_expr) for item in stmt.items)


def _transparent(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Call):
        func = expr.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in _TRANSPARENT
    return lock_like_name(expr)
