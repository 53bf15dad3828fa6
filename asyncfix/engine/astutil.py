"""Small ast helpers shared by the module-level analysis and the function walker."""

from __future__ import annotations

import ast
from typing import Iterator

from asyncfix.engine.resolve import Scope
from asyncfix.engine.values import SHADOW

FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def inside(inner: ast.AST, outer: ast.AST) -> bool:
    """Whether ``inner``'s source span lies within ``outer``'s."""
    return ((inner.lineno, inner.col_offset) >= (outer.lineno, outer.col_offset)
            and (inner.end_lineno, inner.end_col_offset) <= (outer.end_lineno, outer.end_col_offset))
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def flat_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a block, looking into if/try/with/for at the same scope level."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith,
                             ast.Try, getattr(ast, "TryStar", ast.Try))):
            for field in ("body", "orelse", "finalbody"):
                yield from flat_statements(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                yield from flat_statements(handler.body)
        elif isinstance(stmt, ast.Match):
            for case in stmt.cases:
                yield from flat_statements(case.body)


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def children(node: ast.AST) -> Iterator[ast.AST]:
    """Sub-expressions of an expression node (ast.iter_child_nodes, minus operator nodes)."""
    fields = _CHILD_FIELDS.get(type(node))
    if fields is None:
        fields = _CHILD_FIELDS[type(node)] = tuple(
            f for f in node._fields if f not in ("ctx", "op", "ops", "conversion", "is_async"))
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    yield item
        elif isinstance(value, ast.AST):
            yield value


def decorator_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def lambda_scope(node: ast.Lambda, scope: Scope) -> Scope:
    args = node.args
    params = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
    return Scope({p.arg: SHADOW for p in params}, scope)


def lambda_defaults(node: ast.Lambda) -> list[ast.expr]:
    return node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
