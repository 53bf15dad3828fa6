"""Name resolution: imports, assignments, annotations and class attributes to catalog values."""

from __future__ import annotations

import ast
import builtins
from typing import Callable, Iterable

from asyncfix.catalog import Catalog
from asyncfix.engine.values import SHADOW, ClassInfo, Func, Inst, Ref, SelfOf, Value

BUILTINS = frozenset({"open", "input"})
_ALL_BUILTINS = frozenset(dir(builtins))


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
        base = _relative_base(node, catalog.package)
        for alias in node.names:
            if alias.name != "*":
                yield alias.asname or alias.name, Ref(f"{base}.{alias.name}") if base else SHADOW
        return
    for alias in node.names:
        if alias.name == "*":
            for name in catalog.names_in_module(node.module):
                yield name, Ref(f"{node.module}.{name}")
        else:
            yield alias.asname or alias.name, Ref(f"{node.module}.{alias.name}")


def _relative_base(node: ast.ImportFrom, package: str | None) -> str | None:
    """`from .storage import X` in package `docstore`: `docstore.storage` (known only where the
    run's project analysis says which package the module is in)."""
    if not package:
        return None
    parts = package.split(".")
    if node.level - 1 >= len(parts):
        return None
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


class Scope:
    """A chain of name -> value mappings: locals, enclosing functions, module, builtins."""

    def __init__(self, names: dict[str, Value], parent: "Scope | None" = None,
                 star_modules: tuple[str, ...] = ()):
        self.names = names
        self.parent = parent
        self.star_modules = star_modules  # `from cv2 import *` where cv2 has wildcard entries
        self.sizes: dict[str, object] = {}  # what locals hold, as evidence of size (engine.sizes)

    def lookup(self, name: str) -> Value:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            if scope.parent is None and scope.star_modules:
                # An unbound, non-builtin name can only come from the star import.
                if name not in _ALL_BUILTINS:
                    return Ref(f"{scope.star_modules[0]}.{name}")
            scope = scope.parent
        if name in BUILTINS:
            return Ref(f"builtins.{name}")
        return None

    def is_global(self, name: str) -> bool:
        """Whether ``name`` resolves in the module scope (or nowhere), not in a function."""
        scope: Scope | None = self
        while scope is not None and scope.parent is not None:
            if name in scope.names:
                return False
            scope = scope.parent
        return True


def dotted(node: ast.AST) -> str | None:
    """`app.state.converter` for an attribute chain rooted at a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or not parts:
        return None
    return ".".join([node.id, *reversed(parts)])


_SEQUENCES = frozenset({"list", "List", "Sequence", "MutableSequence", "Iterable", "Iterator",
                        "Collection", "set", "Set", "frozenset", "FrozenSet", "tuple", "Tuple",
                        "Generator", "deque"})


def element_type(typ: str | None) -> str | None:
    """`[T]` is the engine's spelling of a sequence of T."""
    return typ[1:-1] if typ and typ.startswith("[") else None


def tuple_type(types: list[str]) -> str:
    """`(A;B)` spells a tuple of known places ("" where unknown); `;` splits only the top level,
    as nested tuples are left unknown."""
    return "(" + ";".join("" if t.startswith("(") else t for t in types) + ")"


def tuple_places(typ: str | None) -> list[str] | None:
    return typ[1:-1].split(";") if typ and typ.startswith("(") else None


def _is_ellipsis(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


class Evaluator:
    """Infers the value of an expression in a scope, using the catalog's type facts."""

    def __init__(self, catalog: Catalog, module, classes: Callable[[str], ClassInfo | None]):
        self.catalog = catalog
        self.module = module  # for class attributes, global attribute chains, the module scope
        self.classes = classes

    def value(self, node: ast.AST, scope: Scope) -> Value:
        cat = self.catalog
        if isinstance(node, ast.Name):
            return scope.lookup(node.id)
        if isinstance(node, ast.Attribute):
            chain = self.module.global_chain(node, scope)
            if chain is not None:
                return chain
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
            if isinstance(base, Inst) and isinstance(node.slice, ast.Slice):
                return base  # reader.pages[:10] is still pages
            places = tuple_places(base.type) if isinstance(base, Inst) else None
            if places is not None:  # pair[1] of a `tuple[str, Path]`
                at = node.slice
                ok = isinstance(at, ast.Constant) and type(at.value) is int and -len(places) <= at.value < len(places)
                return Inst(places[at.value], base.local) if ok and places[at.value] else None
            if isinstance(base, Inst):
                typ = cat.items.get(base.type) or element_type(base.type)
                return Inst(typ, base.local) if typ else None
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left = self.value(node.left, scope)
            if isinstance(left, Inst):
                typ = cat.result_type(f"{left.type}.__truediv__")
                return Inst(typ, left.local) if typ else None
            return None
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            inner = Scope({}, scope)
            for gen in node.generators:
                item = self.item(self.value(gen.iter, inner))
                bind_target(inner.names, gen.target, item)
            elt = self.value(node.elt, inner)
            return Inst(f"[{elt.type}]", elt.local) if isinstance(elt, Inst) else None
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and node.elts:
            elt = self.value(node.elts[0], scope)
            return Inst(f"[{elt.type}]", elt.local) if isinstance(elt, Inst) else None
        if isinstance(node, ast.NamedExpr):
            return self.value(node.value, scope)
        if isinstance(node, ast.Await):
            return self.awaited_result(node.value, scope)
        return None

    def item(self, iterable: Value) -> Value:
        """What iterating over a value yields."""
        if isinstance(iterable, Inst):
            typ = self.catalog.items.get(iterable.type) or element_type(iterable.type)
            return Inst(typ, iterable.local) if typ else None
        return None

    def call_result(self, node: ast.Call, scope: Scope) -> Value:
        func = node.func
        if isinstance(func, ast.Attribute):
            recv = self.value(func.value, scope)
            if isinstance(recv, Inst):  # a cursor is as local as the connection it came from
                typ = self.catalog.result_type(f"{recv.type}.{func.attr}")
                return Inst(typ, recv.local or typ in self.catalog.fresh) if typ else None
        callee = self.value(func, scope)
        if isinstance(callee, Ref):
            if callee.qual == "contextlib.closing" and node.args:  # closing(x) is x, closed on exit
                return self.value(node.args[0], scope)
            typ = self.catalog.result_type(callee.qual)
            if typ and any(k.arg == "class_" for k in node.keywords):
                return None  # sessionmaker(class_=AsyncSession): a factory of another class
            return Inst(typ, True) if typ else None
        if isinstance(callee, Inst):  # SessionLocal(): calling an instance calls its `__call__`
            typ = self.catalog.result_type(f"{callee.type}.__call__")
            return Inst(typ, callee.local or typ in self.catalog.fresh) if typ else None
        if isinstance(callee, Func) and isinstance(callee.node, ast.FunctionDef):
            return self.returns(callee)
        if isinstance(callee, SelfOf):  # Repo(path): an instance of a class of this module
            return callee
        return None

    def returns(self, func: Func) -> Value:
        """A function of this module, by its return annotation; made elsewhere, so not local."""
        value = self.annotation(func.node.returns, self.module.scope)
        return Inst(value.type, False) if isinstance(value, Inst) else None

    def awaited_result(self, node: ast.AST, scope: Scope) -> Value:
        """`await asyncio.to_thread(sqlite3.connect, p)` yields what `sqlite3.connect(p)` would;
        `await self.client()` what `client` is annotated to return.

        Either way the object was made elsewhere, so it does not count as local.
        """
        if not isinstance(node, ast.Call):
            return None
        if is_offload(self, node, scope):
            index = 1 if isinstance(node.func, ast.Attribute) and node.func.attr == "run_in_executor" else 0
            if len(node.args) <= index:
                return None
            target = node.args[index]
            typ = None
            if isinstance(target, ast.Attribute):
                recv = self.value(target.value, scope)
                if isinstance(recv, Inst):
                    typ = self.catalog.result_type(f"{recv.type}.{target.attr}")
            if typ is None:
                ref = self.value(target, scope)
                if isinstance(ref, Ref):
                    typ = self.catalog.result_type(ref.qual)
                elif isinstance(ref, Func):
                    return self.returns(ref)
                elif isinstance(ref, SelfOf):  # to_thread(RAGService): an instance of it
                    return ref
            return Inst(typ, False) if typ else None
        callee = self.value(node.func, scope)
        if isinstance(callee, Func) and isinstance(callee.node, ast.AsyncFunctionDef):
            return self.returns(callee)
        return None

    def class_attr(self, cls: ClassInfo, name: str, seen: frozenset = frozenset()) -> Value:
        if cls.state == "new":
            self.module.infer_attrs(cls)
        if name in cls.attrs:
            return cls.attrs[name]
        for base in cls.bases:
            info = self.classes(base)
            if info is not None and info.name not in seen:
                found = self.class_attr(info, name, seen | {cls.name})
                if found is not None:
                    return found
        return None

    def declared(self, stmt: ast.AnnAssign, scope: Scope) -> Value:
        """What `x: T = v` binds: the instance the annotation promises, else the value's."""
        value = self.annotation(stmt.annotation, scope)
        if value is None and stmt.value is not None:
            value = self.value(stmt.value, scope)
        return value

    def annotation(self, node: ast.AST | None, scope: Scope) -> Value:
        """The instance an annotation promises: `conn: sqlite3.Connection`, `Optional[Path]`,
        `list[Path]` (a sequence of paths), `IO[bytes]` (an IO)."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node = _string_annotation(node.value)
            if node is None:
                return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.annotation(node.left, scope) or self.annotation(node.right, scope)
        if isinstance(node, ast.Subscript):
            outer = self.value(node.value, scope)
            inner = node.slice
            parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            if not parts:  # `tuple[()]`
                return None
            name = outer.qual.rpartition(".")[2] if isinstance(outer, Ref) else (
                node.value.id if isinstance(node.value, ast.Name) else "")
            if name in ("Optional", "Union", "Annotated"):
                for part in parts[:1] if name == "Annotated" else parts:
                    found = self.annotation(part, scope)
                    if found is not None:
                        return found
                return None
            if name in ("tuple", "Tuple") and len(parts) > 1 and not _is_ellipsis(parts[-1]):
                # `-> tuple[FileRecord, Path]`: what unpacking it binds, place by place
                elts = [self.annotation(part, scope) for part in parts]
                if not any(isinstance(e, Inst) for e in elts):
                    return None
                return Inst(tuple_type([e.type if isinstance(e, Inst) else "" for e in elts]), False)
            if name in _SEQUENCES:
                elt = self.annotation(parts[0], scope)
                return Inst(f"[{elt.type}]", False) if isinstance(elt, Inst) else None
            return self.annotation(node.value, scope)  # Queue[int] is a Queue
        ref = self.value(node, scope)
        if isinstance(ref, Ref):
            typ = self.catalog.annotation_type(ref.qual)
            if typ:
                return Inst(typ, False)
        return None


_ANNOTATIONS: dict[str, ast.expr | None] = {}


def _string_annotation(text: str) -> ast.expr | None:
    """A quoted annotation, parsed once per distinct text."""
    if text not in _ANNOTATIONS:
        if len(_ANNOTATIONS) > 10000:
            _ANNOTATIONS.clear()
        try:
            _ANNOTATIONS[text] = ast.parse(text.strip(), mode="eval").body
        except (SyntaxError, ValueError):
            _ANNOTATIONS[text] = None
    return _ANNOTATIONS[text]


def bind_target(names: dict, target: ast.AST, value: Value) -> None:
    """Bind an assignment or loop target; a tuple target learns the places of a known tuple
    (`_, path = await self._lookup(i)`), else nothing (but shadows)."""
    if isinstance(target, ast.Name):
        names[target.id] = value if value is not None else SHADOW
    elif isinstance(target, (ast.Tuple, ast.List)):
        places = tuple_places(value.type) if isinstance(value, Inst) else None
        if places is not None and (len(places) != len(target.elts)
                                   or any(isinstance(e, ast.Starred) for e in target.elts)):
            places = None
        for i, elt in enumerate(target.elts):
            held = Inst(places[i], value.local) if places and places[i] else None
            bind_target(names, elt.value if isinstance(elt, ast.Starred) else elt, held)


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
_OFFLOAD_NAMES = frozenset(q.rpartition(".")[2] for q in OFFLOAD_FUNCTIONS)
EXECUTORS = frozenset({"concurrent.futures.ThreadPoolExecutor", "concurrent.futures.ProcessPoolExecutor"})


def is_offload(evaluator: Evaluator, node: ast.Call, scope: Scope) -> bool:
    """Whether a call hands its callable (or generator) argument to another thread or to later."""
    func = node.func
    if isinstance(func, ast.Attribute):
        if func.attr in OFFLOAD_METHODS:
            return True
        if func.attr == "map":  # executor.map runs in the pool; builtin map() does not
            recv = evaluator.value(func.value, scope)
            return isinstance(recv, Inst) and recv.type in EXECUTORS
        name = func.attr
    elif isinstance(func, ast.Name):
        name = None  # may be an alias: `run_in_threadpool as threadpool`
    else:
        return False
    if name is not None and name not in _OFFLOAD_NAMES:
        return False
    callee = evaluator.value(func, scope)
    return isinstance(callee, Ref) and callee.qual in OFFLOAD_FUNCTIONS

