"""The `sqlite` category's library swap: connections a coroutine makes and closes become
aiosqlite blocks (`sqlite_plan`), applied with LibCST (`sqlite_rewrite`); every other sqlite call stays as it is,
with the reason (a sqlite3 connection cannot cross threads)."""

from __future__ import annotations

import ast

from asyncfix.engine.source import Lines
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms.imports import beside, import_insertion, imported_modules
from asyncfix.transforms.library_swap import Swap
from asyncfix.transforms.sqlite_plan import SqlitePlanner

def swap(text: str, tree: ast.Module, lines: Lines, raws: list[RawFinding], backend: str,
         newline: str, plan_only: bool = False) -> Swap:
    plan = SqlitePlanner(tree, raws, backend).run()
    if not plan.blocks or plan_only:
        return Swap("", plan.notes if plan.blocks else {}, plan.refused)
    from asyncfix.transforms.sqlite_rewrite import Unplaced, apply_plan  # LibCST: only when needed

    try:
        new = apply_plan(text, plan, lines)
    except Unplaced as exc:
        reason = f"the swap could not place its edits ({exc})"
        return Swap("", refused={**plan.refused, **{key: reason for key in plan.notes}})
    insertion = beside(tree, "sqlite3", "aiosqlite") or import_insertion(tree, {"aiosqlite"}, imported_modules(tree))
    if insertion is not None and "aiosqlite" not in imported_modules(tree):
        at = Lines(new).starts[insertion[0] - 1]
        new = new[:at] + insertion[1].replace("\n", newline) + new[at:]
    return Swap(new, plan.notes, plan.refused)
