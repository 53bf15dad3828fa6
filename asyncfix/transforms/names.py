"""Which names a run of statements reads and binds, in evaluation order, scope-aware.

A helper extracted from a coroutine takes as parameters the locals the run reads before
binding them, and returns the locals it binds that the coroutine reads afterwards.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from asyncfix.engine.astutil import child_nodes, walk

_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass
class Access:
    reads: list[str] = field(default_factory=list)  # every name read, first-seen order
    binds: list[str] = field(default_factory=list)  # every name bound, first-seen order

    def read(self, name: str, bound: set[str]) -> None:
        if name not in self.reads:
            self.reads.append(name)

    def bind(self, name: str, bound: set[str]) -> None:
        bound.add(name)
        if name not in self.binds:
            self.binds.append(name)


def accesses(statements: list[ast.stmt]) -> Access:
    out, bound = Access(), set()
    for stmt in statements:
        _stmt(stmt, out, bound)
    return out


def _stmt(node: ast.stmt, out: Access, bound: set[str]) -> None:
    if isinstance(node, ast.Assign):
        _expr(node.value, out, bound)
        for target in node.targets:
            _target(target, out, bound)
    elif isinstance(node, ast.AugAssign):
        _expr(node.value, out, bound)
        if isinstance(node.target, ast.Name):
            out.read(node.target.id, bound)
        _target(node.target, out, bound)
    elif isinstance(node, ast.AnnAssign):
        if node.value is not None:
            _expr(node.value, out, bound)
            _target(node.target, out, bound)
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        _expr(node.iter, out, bound)
        _target(node.target, out, bound)
        for stmt in node.body + node.orelse:
            _stmt(stmt, out, bound)
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            _expr(item.context_expr, out, bound)
            if item.optional_vars is not None:
                _target(item.optional_vars, out, bound)
        for stmt in node.body:
            _stmt(stmt, out, bound)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        for dec in node.decorator_list:
            _expr(dec, out, bound)
        if not isinstance(node, ast.ClassDef):
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
                _expr(default, out, bound)
        inner = set(bound)  # free names inside read the enclosing binding when called
        for child in walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                out.read(child.id, inner)
        out.bind(node.name, bound)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if alias.name != "*":
                out.bind((alias.asname or alias.name).partition(".")[0], bound)
    elif isinstance(node, ast.Match):
        _expr(node.subject, out, bound)
        for case in node.cases:
            for name in sorted(pattern_names(case.pattern)):
                out.bind(name, bound)
            for child in walk(case.pattern):  # value patterns read names: `case Color.RED`
                if isinstance(child, ast.MatchValue):
                    _expr(child.value, out, bound)
            if case.guard is not None:
                _expr(case.guard, out, bound)
            for stmt in case.body:
                _stmt(stmt, out, bound)
    elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
        for stmt in node.body:
            _stmt(stmt, out, bound)
        for handler in node.handlers:
            if handler.type is not None:
                _expr(handler.type, out, bound)
            if handler.name:
                out.bind(handler.name, bound)
            for stmt in handler.body:
                _stmt(stmt, out, bound)
        for stmt in node.orelse + node.finalbody:
            _stmt(stmt, out, bound)
    else:  # Expr, Return, If, While, Raise, Assert, Delete, Match...: expressions, then bodies
        for name, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ast.stmt):
                    _stmt(item, out, bound)
                elif isinstance(item, ast.expr):
                    _expr(item, out, bound)
                elif isinstance(item, ast.AST):  # match cases, etc.
                    for child in walk(item):
                        if isinstance(child, ast.Name):
                            (out.read if isinstance(child.ctx, ast.Load) else out.bind)(child.id, bound)


def _target(node: ast.expr, out: Access, bound: set[str]) -> None:
    if isinstance(node, ast.Name):
        out.bind(node.id, bound)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for elt in node.elts:
            _target(elt, out, bound)
    elif isinstance(node, ast.Starred):
        _target(node.value, out, bound)
    else:  # attribute or subscript: reads its object
        _expr(node, out, bound)


def _expr(node: ast.expr, out: Access, bound: set[str]) -> None:
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load):
            out.read(node.id, bound)
        return
    if isinstance(node, ast.NamedExpr):
        _expr(node.value, out, bound)
        out.bind(node.target.id, bound)
        return
    if isinstance(node, _SCOPES):
        own = _scope_names(node)
        for child in walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load) and child.id not in own:
                out.read(child.id, bound)
            elif isinstance(child, ast.NamedExpr) and not isinstance(node, ast.Lambda):
                out.bind(child.target.id, bound)  # a walrus in a comprehension binds outside
        return
    for child in child_nodes(node):
        if isinstance(child, ast.expr):
            _expr(child, out, bound)
        elif isinstance(child, ast.keyword):
            _expr(child.value, out, bound)


def _scope_names(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Lambda):
        args = node.args
        return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs} | {
            a.arg for a in (args.vararg, args.kwarg) if a}
    names = set()
    for gen in node.generators:
        for child in walk(gen.target):
            if isinstance(child, ast.Name):
                names.add(child.id)
    return names


def pattern_names(pattern: ast.AST) -> set[str]:
    """Names a `match` pattern binds."""
    out = set()
    for node in walk(pattern):
        if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            out.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            out.add(node.rest)
    return out
