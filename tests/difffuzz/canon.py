"""Canonical text of the values a run leaves behind, so two runs compare as strings.

Nothing that differs between two faithful runs may leak in: object addresses, the temp dir's
path (`<base>`), set order. Objects are described by what a caller could observe: a queue by its
items, a lock by whether it is held, a context variable by its value in the current context.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import pathlib
import re
import types

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_LOCK_TYPES = tuple({type(__import__("threading").Lock()), type(__import__("threading").RLock())})
MAX_ITEMS = 40
MAX_DEPTH = 6


class Canon:
    def __init__(self, base: str, module_name: str = "", unordered: bool = False):
        self.base = base
        self.module_name = module_name
        self.unordered = unordered  # lists as multisets: the order concurrent calls wrote in is no outcome

    def text(self, s: str) -> str:
        # base/call<i> (per-call fixtures) is <base> too: the call a value came from shows in
        # its position, and must not when positions are not compared (unordered)
        s = re.sub(re.escape(self.base) + r"/call\d+", "<base>", s)
        return _HEX.sub("0x?", s.replace(self.base, "<base>"))

    def __call__(self, value, depth: int = 0, seen: frozenset = frozenset()) -> str:
        if depth > MAX_DEPTH:
            return "..."
        if id(value) in seen:
            return "<cycle>"
        seen = seen | {id(value)}
        rec = lambda v: self(v, depth + 1, seen)  # noqa: E731
        if value is None or isinstance(value, (bool, int, float)):
            return repr(value)
        if isinstance(value, (str, bytes)):
            return self.text(repr(value))
        if isinstance(value, (list, tuple)):
            if self.unordered and isinstance(value, list):  # all of it: sorted, then cut
                parts = sorted(rec(v) for v in value)[:MAX_ITEMS]
            else:
                parts = [rec(v) for v in value[:MAX_ITEMS]]
            inner = ", ".join(parts) + (f", ... {len(value)} items" if len(value) > MAX_ITEMS else "")
            return f"[{inner}]" if isinstance(value, list) else f"({inner})"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{rec(k)}: {rec(v)}" for k, v in list(value.items())[:MAX_ITEMS]) + "}"
        if isinstance(value, (set, frozenset)):
            return "set(" + ", ".join(sorted(rec(v) for v in value)) + ")"
        if isinstance(value, BaseException):
            return f"{type(value).__name__}({self.text(str(value))!r})"
        if isinstance(value, asyncio.Queue):
            return f"Queue({rec(list(value._queue))})"
        if isinstance(value, asyncio.Event):
            return f"Event(set={value.is_set()})"
        if isinstance(value, asyncio.Future):  # tasks too
            kind = "Task" if isinstance(value, asyncio.Task) else "Future"
            if not value.done():
                return f"{kind}(pending)"
            if value.cancelled():
                return f"{kind}(cancelled)"
            exc = value.exception()
            return f"{kind}({rec(exc) if exc is not None else rec(value.result())})"
        if isinstance(value, _LOCK_TYPES):
            return f"{type(value).__name__}({repr(value).split()[0].lstrip('<')})"
        if isinstance(value, contextvars.ContextVar):
            return f"ContextVar({value.name}={rec(value.get('<unset>'))})"
        if isinstance(value, contextvars.Token):
            return "Token"
        if isinstance(value, types.CoroutineType):
            return f"coroutine {value.__name__}"
        if isinstance(value, types.GeneratorType):
            return "generator"
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
            return f"function {getattr(value, '__name__', '?')}"
        if isinstance(value, pathlib.PurePath):
            return f"Path({self.text(str(value))!r})"
        if isinstance(value, io.IOBase):
            return f"file({self.text(str(getattr(value, 'name', '?')))}, closed={value.closed})"
        if isinstance(value, asyncio.AbstractEventLoop):
            return "loop"
        if type(value).__module__ == self.module_name:  # the program's own objects: their state
            return f"{type(value).__name__}({self.attrs(value, depth, seen)})"
        return f"<{type(value).__name__}>"

    def attrs(self, obj, depth: int = 0, seen: frozenset = frozenset()) -> str:
        """An instance's attributes, sorted: which order they were first set in is no behaviour."""
        items = sorted(vars(obj).items())
        return ", ".join(f"{k}={self(v, depth + 1, seen)}" for k, v in items)


def is_data(value) -> bool:
    """Module globals and class attributes worth comparing: state, not code or imports."""
    return not isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                                  type, staticmethod, classmethod, property))
