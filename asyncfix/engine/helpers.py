"""Which sync functions of the module block, and through what: the chains `helpers` reports.

A coroutine's call of a sync function or method of the same module (`self._save(doc)`,
`_write_manifest(p, m)`, `Store(root)` for its `__init__`) is looked up here. The callee's body is
walked once as if it ran on the loop, into a list of its own; its first blocking call that a
comment does not silence is what the call blocks on. Helpers it calls in turn are summarised the
same way, so a chain is found however deep, each function once (cycles end the search).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asyncfix.catalog import canonical
from asyncfix.engine.astutil import decorator_name
from asyncfix.engine.resolve import Scope
from asyncfix.engine.suppress import suppressed
from asyncfix.engine.values import ClassInfo, Func, SelfOf

if TYPE_CHECKING:
    from asyncfix.engine.analyzer import ModuleAnalysis
    from asyncfix.engine.walker import RawFinding

# Decorators that leave a plain call of the function running its body there and then.
_PLAIN = frozenset({"staticmethod", "classmethod", "lru_cache", "cache", "wraps", "override",
                    "typing.override", "functools.lru_cache", "functools.cache"})
_DEADLOCK_CODES = frozenset({"AF623", "AF662"})


@dataclass(frozen=True)
class Chain:
    """What a call blocks on: the callees from the call on, the last one the blocking call."""

    steps: tuple[str, ...]
    line: int  # of the blocking call
    deadlock: bool
    path: str | None = None  # the file of the blocking call, when not the caller's

    def describe(self) -> str:
        where = f"{self.path}:{self.line}" if self.path else f"line {self.line}"
        return (" -> ".join(f"`{s}`" for s in self.steps) + f" ({where})").replace("{", "{{").replace("}", "}}")


class Summaries:
    def __init__(self, module: "ModuleAnalysis"):
        self.module = module
        self._done: dict[int, Chain | None] = {}
        # helper findings in walked bodies: their chain. The finding is kept with it: its walk's
        # list is dropped, and a later finding given the same id must not inherit the chain.
        self._chains: dict[int, tuple["RawFinding", Chain]] = {}

    def callee(self, node: ast.Call, scope: Scope, self_name: str | None = None,
               recv=None) -> tuple[Func, ClassInfo | None, Scope] | None:
        """The sync function of this module a call runs, with its class and defining scope:
        a function by its name, a method of the caller's own class through `self`/`cls`
        (``self_name``; ``recv``: the receiver, when the walker already has it). Not a method of another
        object of a module class (`self.repo.load()`, `Repo(root)`): the fast path would have to
        keep every function naming such a class, and its result must equal a full parse's."""
        ev = self.module.evaluator
        func = node.func
        if isinstance(func, ast.Name):
            held = scope.lookup(func.id)
            home = self.module.scope if scope.is_global(func.id) else scope
            if isinstance(held, Func):
                return (held, None, home) if isinstance(held.node, ast.FunctionDef) else None
            return None
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id in (self_name, "cls")):
            recv = ev.value(func.value, scope) if recv is None else recv
            if isinstance(recv, SelfOf):
                held = ev.class_attr(recv.cls, func.attr)
                if isinstance(held, Func) and isinstance(held.node, ast.FunctionDef):
                    return held, recv.cls, self.module.scope
        return None

    def of(self, func: Func, cls: ClassInfo | None, scope: Scope) -> Chain | None:
        """The chain a call of ``func`` blocks through, or None."""
        key = id(func.node)
        if key in self._done:
            return self._done[key]
        self._done[key] = None  # a cycle ends here
        node = self.module.full_def(func.node)
        found = None
        if node is not None and _runs_when_called(node, self.module.lines):
            found = self._walk(node, cls, scope)
        self._done[key] = found
        return found

    def found(self, raw: "RawFinding", name: str, chain: Chain) -> None:
        self._chains[id(raw)] = (raw, Chain((name,) + chain.steps, chain.line, chain.deadlock, chain.path))

    def chain_of(self, raw: "RawFinding") -> Chain | None:
        """The chain ``found`` recorded for this very finding."""
        entry = self._chains.get(id(raw))
        return entry[1] if entry is not None and entry[0] is raw else None

    def _walk(self, node: ast.FunctionDef, cls: ClassInfo | None, scope: Scope) -> Chain | None:
        from asyncfix.engine.walker import FunctionWalker  # the walker asks this module back

        sink: list[RawFinding] = []
        FunctionWalker(self.module, node, scope, cls, node.name, "loop", findings=sink).run()
        catalog, lines = self.module.catalog, self.module.lines
        for raw in sorted(sink, key=lambda r: (r.node.end_lineno, r.node.end_col_offset)):  # inner calls first
            if not catalog.enabled(raw.match.rule) or suppressed(lines.line(raw.node.lineno), raw.match):
                continue
            inner = self.chain_of(raw)
            if inner is not None:
                return inner
            step = raw.written or canonical(raw.name)
            beyond = catalog.chains.get(raw.name)  # a blocking function of another module
            if beyond is not None:
                return Chain((step,) + beyond.steps, beyond.line, beyond.deadlock, beyond.path)
            return Chain((step,), raw.node.lineno, raw.match.rule.code in _DEADLOCK_CODES)
        return None


def _runs_when_called(node: ast.FunctionDef, lines) -> bool:
    """Not a generator (its body runs when iterated), not wrapped by a decorator that may defer
    or move it (a context manager, a task, a cached property)."""
    if any(decorator_name(d) not in _PLAIN for d in node.decorator_list):
        return False
    starts = lines.starts
    if node.end_lineno < len(starts) and "yield" not in lines.text[starts[node.lineno - 1]:starts[node.end_lineno]]:
        return True  # the text says it before the tree is walked
    stack = list(node.body)
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.Yield, ast.YieldFrom)):
            return False
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(item))
    return True
