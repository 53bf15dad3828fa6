"""Name resolution: imports, assignments, annotations and class attributes to catalog values."""

from __future__ import annotations

import ast
from typing import Callable, Iterable

from asyncfix.catalog import Catalog
from asyncfix.engine.values import SHADOW, ClassInfo, Inst, Ref, SelfOf, Value

BUILTINS = frozenset({"open", "input"})


def import_bindings(node: ast.Import | ast.ImportFrom, catalog: Catalog) -> Iterable[tuple[str, Value]]:
    """The names an import statement binds and what they refer to."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, Ref(alias.name)
            else:
                top = alias.name.partition(".")[0]
                yield top, Ref(top)
        return
    if node.level or not node.module:  # relative imports are the project's own modules
        for alias in node.names:
            if alias.name != "*":
                yield alias.asname or alias.name, SHADOW
        return
    for alias in node.names:
        if alias.name == "*":
            for name in catalog.names_in_module(node.module):
                yield name, Ref(f"{node.module}.{name}")
        else:
            yield alias.asname or alias.name, Ref(f"{node.module}.{alias.name}")


class Scope:
    """A chain of name -> value mappings: locals, enclosing functions, module, builtins."""

    def __init__(self, names: dict[str, Value], parent: "Scope | None" = None):
        self.names = names
        self.parent = parent

    def lookup(self, name: str) -> Value:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        if name in BUILTINS:
            return Ref(f"builtins.{name}")
        return None


class Evaluator:
    """Infers the value of an expression in a scope, using the catalog's type facts."""

    def __init__(self, catalog: Catalog, classes: Callable[[str], ClassInfo | None]):
        self.catalog = catalog
        self.classes = classes

    def value(self, node: ast.AST, scope: Scope) -> Value:
        cat = self.catalog
        if isinstance(node, ast.Name):
            return scope.lookup(node.id)
        if isinstance(node, ast.Attribute):
            base = self.value(node.value, scope)
            if isinstance(base, Ref):
                return Ref(f"{base.qual}.{node.attr}")
            if isinstance(base, Inst):
                typ = cat.attribute_type(base.type, node.attr)
                return Inst(typ, base.local) if typ else None
            if isinstance(base, SelfOf):
                return self.class_attr(base.cls, node.attr)
            return None
        if isinstance(node, ast.Call):
            return self.call_result(node, scope)
        if isinstance(node, ast.Subscript):
            base = self.value(node.value, scope)
            if isinstance(base, Inst) and base.type in cat.items:
                return Inst(cat.items[base.type], base.local)
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left = self.value(node.left, scope)
            if isinstance(left, Inst):
                typ = cat.result_type(f"{left.type}.__truediv__")
                return Inst(typ, left.local) if typ else None
            return None
        if isinstance(node, ast.NamedExpr):
            return self.value(node.value, scope)
        if isinstance(node, ast.Await):
            return self.awaited_result(node.value, scope)
        return None

    def call_result(self, node: ast.Call, scope: Scope) -> Value:
        func = node.func
        if isinstance(func, ast.Attribute):
            recv = self.value(func.value, scope)
            if isinstance(recv, Inst):  # a cursor is as local as the connection it came from
                typ = self.catalog.result_type(f"{recv.type}.{func.attr}")
                return Inst(typ, recv.local) if typ else None
            if isinstance(recv, Ref):
                typ = self.catalog.result_type(f"{recv.qual}.{func.attr}")
                return Inst(typ, True) if typ else None
            return None
        callee = self.value(func, scope)
        if isinstance(callee, Ref):
            typ = self.catalog.result_type(callee.qual)
            return Inst(typ, True) if typ else None
        return None

    def awaited_result(self, node: ast.AST, scope: Scope) -> Value:
        """`await asyncio.to_thread(sqlite3.connect, p)` yields what `sqlite3.connect(p)` would.

        The object was made on another thread, so it does not count as local.
        """
        if isinstance(node, ast.Call) and node.args and is_offload(self, node, scope):
            target = self.value(node.args[0], scope)
            if isinstance(target, Ref):
                typ = self.catalog.result_type(target.qual)
                return Inst(typ, False) if typ else None
        return None

    def class_attr(self, cls: ClassInfo, name: str, seen: frozenset = frozenset()) -> Value:
        if name in cls.attrs:
            return cls.attrs[name]
        for base in cls.bases:
            info = self.classes(base)
            if info is not None and info.name not in seen:
                found = self.class_attr(info, name, seen | {cls.name})
                if found is not None:
                    return found
        return None

    def annotation(self, node: ast.AST | None, scope: Scope) -> Value:
        """The instance an annotation promises: `conn: sqlite3.Connection`, `Optional[Path]`."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.annotation(node.left, scope) or self.annotation(node.right, scope)
        if isinstance(node, ast.Subscript):
            outer = self.value(node.value, scope)
            if isinstance(outer, Ref) and outer.qual.rpartition(".")[2] in ("Optional", "Union", "Annotated"):
                inner = node.slice
                parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
                if outer.qual.endswith("Annotated"):
                    parts = parts[:1]
                for part in parts:
                    found = self.annotation(part, scope)
                    if found is not None:
                        return found
            return None
        ref = self.value(node, scope)
        if isinstance(ref, Ref):
            typ = self.catalog.annotation_type(ref.qual)
            if typ:
                return Inst(typ, False)
        return None


# Callables that run their callable argument in a worker (or later), not on the spot.
OFFLOAD_FUNCTIONS = frozenset({
    "asyncio.to_thread",
    "anyio.to_thread.run_sync",
    "anyio.to_process.run_sync",
    "trio.to_thread.run_sync",
    "starlette.concurrency.run_in_threadpool",
    "fastapi.concurrency.run_in_threadpool",
    "asyncer.asyncify",
    "asgiref.sync.sync_to_async",
    "functools.partial",
    "threading.Thread",
    "threading.Timer",
})
OFFLOAD_METHODS = frozenset({"run_in_executor", "submit", "run_sync", "to_thread",
                             "run_in_threadpool", "add_task"})


def is_offload(evaluator: Evaluator, node: ast.Call, scope: Scope) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in OFFLOAD_METHODS:
        return True
    callee = evaluator.value(func, scope)
    return isinstance(callee, Ref) and callee.qual in OFFLOAD_FUNCTIONS

