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


def first_param(func: ast.AST) -> str | None:
    """The first positional parameter of a function (`self` of a method), None without one."""
    args = getattr(func, "args", None)
    positional = (args.posonlyargs + args.args) if args is not None else []
    return positional[0].arg if positional else None


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


# -- memoized traversal ------------------------------------------------------------------------
# The rewrite planner walks the same code many times over (each analysis, each candidate run)
# and never changes a tree, so a node keeps what was computed about it in its own __dict__ (the
# tree's lifetime is the cache's; ast.dump, compile and unparse read only the _fields). What a
# node keeps never refers back to the node itself: a tree stays free of reference cycles, freed
# as soon as it is dropped.


def memo(node: ast.AST, name: str, compute):
    """``compute(node)`` (never None), computed once per node and kept on it under ``name``.
    Callers must not change the value they get."""
    cache = node.__dict__
    value = cache.get(name)
    if value is None:
        value = cache[name] = compute(node)
    return value


_AST = ast.AST


def _child_tuple(node: ast.AST) -> tuple[ast.AST, ...]:
    out = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, _AST):
            out.append(value)
        elif isinstance(value, list):
            out += [item for item in value if isinstance(item, _AST)]
    return tuple(out) if out else ()  # leaves share the empty tuple: fewer objects to collect


def child_nodes(node: ast.AST) -> tuple[ast.AST, ...]:
    """``tuple(ast.iter_child_nodes(node))``, same order, memoized."""
    cache = node.__dict__
    value = cache.get("_asyncfix_children")
    if value is None:
        value = cache["_asyncfix_children"] = _child_tuple(node)
    return value


def _walk_below(node: ast.AST) -> list[ast.AST]:
    # Children are not memoized here: most nodes of a whole-module walk are never walked again.
    out = list(_child_tuple(node))
    i = 0
    while i < len(out):  # breadth first, as ast.walk
        out += _child_tuple(out[i])
        i += 1
    return out


def walk(node: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(node))``, same order; the walk below ``node`` is memoized."""
    return [node, *memo(node, "_asyncfix_below", _walk_below)]


def parent_map(root: ast.AST) -> dict[ast.AST, ast.AST]:
    """Each node below ``root`` -> the node it is a child of."""
    return {child: node for node in walk(root) for child in child_nodes(node)}


_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
HOLDS_STATEMENTS = (ast.stmt, ast.ExceptHandler, ast.match_case)  # what no expression holds


def _statements_below(node: ast.AST) -> list[ast.AST]:
    out = []
    stack = [node]
    while stack:
        current = stack.pop()
        for name in _BLOCKS:
            block = getattr(current, name, None)
            if isinstance(block, list):
                out += block
                stack += block
    return out


def statements(node: ast.AST) -> list[ast.AST]:
    """Every statement under ``node`` (with the except handlers and match cases that hold
    them), in no particular order, memoized: what module-wide scans for imports, assignments
    and `global` need, without walking the expressions (most of a module's nodes)."""
    return memo(node, "_asyncfix_statements", _statements_below)


def _names_below(node: ast.AST) -> list[ast.Name]:
    out = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name):
            out.append(current)  # its only child is its ctx
            continue
        children = current.__dict__.get("_asyncfix_children")  # memoized where it is known
        stack += _child_tuple(current) if children is None else children
    return out


def name_nodes(node: ast.AST) -> list[ast.Name]:
    """Every ``ast.Name`` in ``node``, in no particular order, memoized: for module-wide name
    scans, which need neither a walk's order nor its other nodes kept."""
    return memo(node, "_asyncfix_names", _names_below)


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
