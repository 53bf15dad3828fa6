"""Where a helper goes and what it is called.

Helpers are module-level functions named after their class and coroutine (`_Store_save_sync`,
never with two leading underscores: inside a class Python would mangle such a name at the call),
numbered in source order, and defined before anything can call the coroutine: after the `def` or
`class` statement that holds it, or before any other top-level statement that does (a coroutine
defined in `if __name__ == "__main__":` may be called further down the same block).
"""

from __future__ import annotations

import ast
import re
import bisect
import builtins

from asyncfix.engine.astutil import walk

_BUILTINS = frozenset(dir(builtins))


def helper_base(class_names: list[str], func_name: str) -> str:
    parts = [p.strip("_") for p in [*class_names, func_name]]
    return "_" + "_".join(p for p in parts if p) + "_sync"


def anchor(tree: ast.Module, func: ast.AST, starts: list[int], line_end,
           top_lines: list[int] | None = None) -> tuple[int, bool]:
    """(offset, before): where the helpers of ``func`` go, and whether in front of its statement.
    ``top_lines``: the start lines of ``tree.body`` (a caller placing many helpers passes them)."""
    if top_lines is None:
        top_lines = [s.lineno for s in tree.body]
    k = bisect.bisect_right(top_lines, func.lineno) - 1
    if k >= 0:
        stmt = tree.body[k]
        if stmt.lineno <= func.lineno and func.end_lineno <= stmt.end_lineno:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                return line_end(stmt.end_lineno), False
            first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
            return starts[first - 1], True
    return line_end(func.end_lineno), False


def helpers_after(tree: ast.Module, text: str, anchor_offset: int, line_end) -> list[tuple[int, int]]:
    """The sync helpers an earlier run of `apply` put right after the top-level statement that
    ends at ``anchor_offset``: (where its call is, where its definition ends) for each. New
    helpers go among them in the order of their calls, as one run would have placed them all."""
    out = []
    ends = [line_end(s.end_lineno) for s in tree.body]
    if anchor_offset not in ends:
        return out
    for stmt in tree.body[ends.index(anchor_offset) + 1:]:
        if not (isinstance(stmt, ast.FunctionDef) and HELPER_NAME.fullmatch(stmt.name)):
            break
        call = re.search(rf"\b{re.escape(stmt.name)}\b", text)
        out.append((call.start() if call else anchor_offset, line_end(stmt.end_lineno)))
    return out


HELPER_NAME = re.compile(r"_\w+_sync(_\d+)?")


def first_bindings(tree: ast.Module) -> dict[str, int]:
    """The line of the first top-level statement binding each module name."""
    out: dict[str, int] = {}
    for stmt in tree.body:
        names: set[str] = set()
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names = {(a.asname or a.name).partition(".")[0] for a in stmt.names if a.name != "*"}
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = {stmt.name}
        elif isinstance(stmt, ast.Assign) or (isinstance(stmt, ast.AnnAssign) and stmt.value is not None):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}
        for name in names:
            out.setdefault(name, stmt.lineno)
    return out


def module_names_before(tree: ast.Module, line: int) -> frozenset[str]:
    """Names the module binds at top level in statements that start before ``line``."""
    return frozenset(n for n, first in first_bindings(tree).items() if first < line)


def future_annotations(tree: ast.Module) -> bool:
    return any(isinstance(s, ast.ImportFrom) and s.module == "__future__"
               and any(a.name == "annotations" for a in s.names) for s in tree.body)


def annotation_fits(ann: ast.expr, lazy: bool, known: frozenset[str]) -> bool:
    """Whether a parameter's annotation can be evaluated where the helper is defined."""
    if lazy or (isinstance(ann, ast.Constant) and isinstance(ann.value, str)):
        return True
    return all(n.id in known or n.id in _BUILTINS for n in walk(ann) if isinstance(n, ast.Name))
