"""Finds blocking calls that run on the event loop in one parsed module.

Only code that runs on the loop counts: the body of an ``async def`` (not nested ``def`` or class
bodies), lambdas called on the spot or handed to a call that runs them now (``sorted(key=...)``),
comprehensions, default values, and arguments of offloading calls (``to_thread(f, json.dumps(x))``
encodes on the loop). The callable handed to ``asyncio.to_thread`` & co. does not.
"""

from __future__ import annotations

import ast
import bisect

from asyncfix.catalog import Catalog
from asyncfix.engine.astutil import FUNCS, flat_statements
from asyncfix.engine.fastpath import def_stub
from asyncfix.engine.helpers import Summaries
from asyncfix.engine.resolve import Evaluator, Scope, bind_target, dotted, import_bindings
from asyncfix.engine.source import Lines
from asyncfix.engine.textscan import ASYNC_DEF, module_chains
from asyncfix.engine.values import SHADOW, ClassInfo, Func, SelfOf, Value, outer
from asyncfix.engine.walker import FunctionWalker, RawFinding



class ModuleAnalysis:
    def __init__(self, tree: ast.Module, catalog: Catalog, lines: Lines | None = None):
        self.catalog = catalog
        self.lines = lines if lines is not None else Lines(ast.unparse(tree))
        self.text = self.lines.text
        self.tree = tree
        self.classes: dict[str, ClassInfo] = {}
        self.evaluator = Evaluator(catalog, self, self.classes.get)
        self.findings: list[RawFinding] = []
        self.scope = Scope({})
        self._async_lines: list[int] | None = None
        self._chains: set[str] | None = None  # textual `a.b.c = ...` targets
        self.chain_values: dict[str, Value] | None = None
        self.summaries = Summaries(self)
        self._module_names(tree.body)

    def full_def(self, node: ast.FunctionDef) -> ast.FunctionDef | None:
        """The function as written, or None for a stub: the fast path leaves a one-line
        `def name(self): pass` only of functions that cannot block (``fastpath``)."""
        stub = (len(node.body) == 1 and isinstance(node.body[0], ast.Pass) and node.end_lineno == node.lineno
                and self.lines.line(node.lineno).strip() != def_stub(node.name))
        return None if stub else node

    def written(self, node: ast.AST) -> str | None:
        if node.lineno != node.end_lineno:
            return None
        raw = self.lines.line(node.lineno).encode("utf-8")[node.col_offset : node.end_col_offset]
        return raw.decode("utf-8", "replace")

    def spans_async(self, node: ast.AST) -> bool:
        """Whether a sync function or class has an async def inside (then it is searched)."""
        if self._async_lines is None:
            self._async_lines = self.lines.numbers_of(ASYNC_DEF)
        i = bisect.bisect_left(self._async_lines, node.lineno)
        return i < len(self._async_lines) and self._async_lines[i] <= node.end_lineno

    # -- module level -------------------------------------------------------------------------
    def _module_names(self, body: list[ast.stmt]) -> None:
        names = self.scope.names
        ev = self.evaluator
        stars: list[str] = []
        for stmt in flat_statements(body):
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names.update(import_bindings(stmt, self.catalog))
                if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
                    stars.append(stmt.module or "")
            elif isinstance(stmt, FUNCS):
                names[stmt.name] = Func(stmt)
            elif isinstance(stmt, ast.ClassDef):
                names[stmt.name] = SelfOf(self.register_class(stmt))
            elif isinstance(stmt, ast.Assign):
                value = outer(ev.value(stmt.value, self.scope))
                for target in stmt.targets:
                    bind_target(names, target, value)
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                names[stmt.target.id] = outer(ev.declared(stmt, self.scope)) or SHADOW
            elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
                targets = [stmt.target] if isinstance(stmt, (ast.For, ast.AsyncFor)) else [
                    item.optional_vars for item in stmt.items if item.optional_vars is not None]
                for target in targets:
                    bind_target(names, target, SHADOW)
        # Unbound names resolve through a star import only when every star import is of a catalog
        # module whose entries are wildcards (we cannot list what `from cv2 import *` binds).
        if stars and all(self.catalog.children(m) is None and self.catalog.mentions(m) for m in stars):
            self.scope.star_modules = tuple(stars)

    def register_class(self, node: ast.ClassDef) -> ClassInfo:
        bases = []
        for base in node.bases:
            if isinstance(base, ast.Subscript):  # Repo[T]
                base = base.value
            bases.append(base.id if isinstance(base, ast.Name) else getattr(base, "attr", ""))
        info = self.classes[node.name] = ClassInfo(node.name, bases, node=node)
        for stmt in node.body:
            if isinstance(stmt, ast.ClassDef):
                self.register_class(stmt)
        return info

    def infer_attrs(self, info: ClassInfo) -> None:
        """What `self.x` holds: methods, class-body annotations and assignments, then
        `self.x = ...` in methods. Done on first use, so classes no coroutine touches cost
        nothing."""
        info.state = "computing"
        ev = self.evaluator
        for stmt in info.node.body:
            if isinstance(stmt, FUNCS):
                info.attrs.setdefault(stmt.name, Func(stmt))
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                value = ev.declared(stmt, self.scope)
                if value is not None:
                    info.attrs[stmt.target.id] = outer(value)
            elif isinstance(stmt, ast.Assign):
                value = outer(ev.value(stmt.value, self.scope))
                for target in stmt.targets:
                    if isinstance(target, ast.Name) and value is not None:
                        info.attrs[target.id] = value
        for stmt in info.node.body:
            if isinstance(stmt, FUNCS) and self.full_def(stmt) is not None:  # a stub sets nothing
                FunctionWalker(self, stmt, self.scope, info, stmt.name, mode="attrs").run()
        info.state = "done"

    def global_chain(self, node: ast.Attribute, scope: Scope) -> Value:
        """`app.state.converter` where some function of the module assigns that chain."""
        chain = dotted(node)
        if chain is None or chain.startswith(("self.", "cls.")):
            return None
        if self._chains is None:
            self._chains = {chain for chain, _ in module_chains(self.text)}
        if chain not in self._chains or not scope.is_global(chain.partition(".")[0]):
            return None
        if self.chain_values is None:
            self.chain_values = {}
            self._record_chains(self.tree.body, None)
        return self.chain_values.get(chain)

    def _record_chains(self, body, cls: ClassInfo | None) -> None:
        for stmt in flat_statements(body):
            if isinstance(stmt, FUNCS):
                FunctionWalker(self, stmt, self.scope, cls, stmt.name, mode="attrs").run()
            elif isinstance(stmt, ast.ClassDef):
                self._record_chains(stmt.body, self.classes.get(stmt.name))
            elif isinstance(stmt, ast.Assign):
                value = self.evaluator.value(stmt.value, self.scope)
                for target in stmt.targets:
                    chain = dotted(target) if isinstance(target, ast.Attribute) else None
                    if chain is not None and value is not None:
                        self.chain_values[chain] = outer(value)

    def analyze(self) -> list[RawFinding]:
        self._walk_defs(self.tree.body, self.scope, None, "")
        return self.findings

    def _walk_defs(self, body, scope: Scope, cls: ClassInfo | None, prefix: str) -> None:
        """Every function and method at this level: async ones are analysed, sync ones searched
        for async functions nested inside them."""
        for stmt in flat_statements(body):
            if isinstance(stmt, ast.AsyncFunctionDef):
                FunctionWalker(self, stmt, scope, cls, prefix + stmt.name, "loop").run()
            elif isinstance(stmt, ast.FunctionDef):
                if self.spans_async(stmt):
                    FunctionWalker(self, stmt, scope, cls, prefix + stmt.name, "search").run()
            elif isinstance(stmt, ast.ClassDef) and self.spans_async(stmt):
                info = self.classes.get(stmt.name)
                if info is None or info.node is not stmt:
                    info = self.register_class(stmt)
                self._walk_defs(stmt.body, scope, info, f"{prefix}{stmt.name}.")


def analyze_tree(tree: ast.Module, catalog: Catalog, lines: Lines | None = None) -> list[RawFinding]:
    return ModuleAnalysis(tree, catalog, lines).analyze()
