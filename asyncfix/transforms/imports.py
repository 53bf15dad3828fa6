"""Adding `import x` lines the rewrite needs, where a reader expects them."""

from __future__ import annotations

import ast

from asyncfix.engine.astutil import name_nodes


def header(tree: ast.Module) -> list[ast.stmt]:
    """The module's leading docstring and import statements, up to its first other statement."""
    out = []
    for index, stmt in enumerate(tree.body):
        docstring = index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
            and isinstance(stmt.value.value, str)
        if not (docstring or isinstance(stmt, (ast.Import, ast.ImportFrom))):
            break
        out.append(stmt)
    return out


def import_insertion(tree: ast.Module, modules: set[str], present: set[str]) -> tuple[int, str] | None:
    """(line number to insert before, text) for the missing `import` lines: after the leading
    docstring, `__future__` imports and the top block of imports."""
    missing = sorted(modules - present)
    if not missing:
        return None
    text = "".join(f"import {m}\n" for m in missing)
    line, first_import, plain_seen = 1, None, False
    for stmt in header(tree):
        future = isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and not future and first_import is None:
            first_import = stmt.lineno
        if isinstance(stmt, ast.Import):
            plain_seen = True
            if stmt.names[0].name > missing[0]:
                return stmt.lineno, text  # in sorted place among the plain imports
        line = stmt.end_lineno + 1
    if not plain_seen and first_import is not None:
        return first_import, text  # stdlib first, before the `from` imports
    if first_import is None:
        # The module imported nothing: keep PEP 8's blank lines before what follows.
        following = next((s for s in tree.body if s.lineno >= line), None)
        if following is not None:
            text += "\n\n" if isinstance(following, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else "\n"
    return line, text


def imported_modules(tree: ast.Module) -> set[str]:
    """Modules imported whole at module level (`import asyncio`, `import asyncio as aio`)."""
    out = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def module_aliases(tree: ast.Module) -> dict[str, str]:
    """How the module spells each module it imports whole at top level (`import json as j`:
    {"json": "j"}); the first import of a module wins."""
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.setdefault(alias.name, alias.asname or alias.name)
    return out


def _binding(alias: ast.alias) -> str:
    return (alias.asname or alias.name).partition(".")[0]


def unused_by_rewrite(old: ast.Module, new: ast.Module) -> set[str]:
    """Names imported at module level that the old code used and the new code no longer does:
    the rewrite made them unused (`import time` once every `time.sleep` became async)."""
    def uses(tree: ast.Module) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in name_nodes(tree):
            if isinstance(node.ctx, ast.Load):
                counts[node.id] = counts.get(node.id, 0) + 1
        return counts

    before, after = uses(old), uses(new)
    imported = {_binding(a) for stmt in new.body if isinstance(stmt, (ast.Import, ast.ImportFrom))
                for a in stmt.names if a.name != "*"}
    return {name for name in imported if before.get(name) and not after.get(name)}


def removal_edits(tree: ast.Module, names: set[str], line_of, starts: list[int]) -> list[tuple[int, int, str]]:
    """Edits (offsets into the text ``tree`` was parsed from) that drop ``names`` from the
    module-level one-line import statements binding them: the line goes when nothing is left,
    else the statement keeps its other names (`import discord, requests` -> `import discord`)."""
    out = []
    for stmt in tree.body:
        if not isinstance(stmt, (ast.Import, ast.ImportFrom)) or stmt.lineno != stmt.end_lineno:
            continue
        keep = [a for a in stmt.names if a.name == "*" or _binding(a) not in names]
        line = line_of(stmt.lineno)
        span = line.encode("utf-8")[stmt.col_offset:stmt.end_col_offset].decode("utf-8", "replace")
        rest = line.encode("utf-8")[stmt.end_col_offset:].decode("utf-8", "replace").strip()
        if len(keep) == len(stmt.names) or stmt.col_offset or (rest and not rest.startswith("#")):
            continue  # not alone on its line (`import os; import time`): left as it is
        start = starts[stmt.lineno - 1]
        if not keep:
            out.append((start, starts[stmt.lineno], ""))
        else:
            kept = type(stmt)(**{**vars(stmt), "names": keep})
            out.append((start, start + len(span), ast.unparse(kept)))
    return out


def beside(tree: ast.Module, module: str, new: str) -> tuple[int, str] | None:
    """(line, text) putting `import <new>` just before the module's own top `import <module>`,
    in its group (`import httpx` beside `import requests`); None where there is none."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Import) and any(a.name == module for a in stmt.names):
            return stmt.lineno, f"import {new}\n"
        if not isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Expr)):
            break
    return None
