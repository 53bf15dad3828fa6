"""The `http` category's library swap: requests calls in coroutines become httpx.AsyncClient
calls where behaviour is kept (`http_plan`), applied with LibCST (`http_rewrite`); the rest is
left for the thread rewrite, with the reason."""

from __future__ import annotations

import ast

from asyncfix.engine.source import Lines
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms.http_names import module_resolver
from asyncfix.transforms.http_plan import CONTEXT, HttpPlanner
from asyncfix.transforms.http_target import module_target
from asyncfix.transforms.imports import beside, header, import_insertion, imported_modules
from asyncfix.transforms.library_swap import SWAPPED_HTTP, Swap

_CONTEXT_COMMENT = ("# One TLS context for the httpx clients below: each client would load the CA",
                    "# bundle again, ~55 ms of CPU on the event loop.")


def swap(text: str, tree: ast.Module, lines: Lines, raws: list[RawFinding], chosen: str | None,
         line_length: int, newline: str, plan_only: bool = False) -> Swap:
    if not any(r.name.startswith(SWAPPED_HTTP) for r in raws):
        return Swap("")
    library, spelled, add_import = module_target(tree, chosen)

    def source(expr: ast.AST) -> str:
        return ast.get_source_segment(text, expr) or ast.unparse(expr)

    def is_elif(stmt: ast.stmt) -> bool:
        line = lines.line(stmt.lineno)
        return isinstance(stmt, ast.If) and line[lines.char_col(stmt.lineno, stmt.col_offset):].startswith("elif")

    def starts_line(stmt: ast.stmt) -> bool:
        return not lines.line(stmt.lineno).encode("utf-8")[:stmt.col_offset].strip()

    def alone(stmt: ast.stmt) -> bool:
        rest = lines.line(stmt.end_lineno).encode("utf-8")[stmt.end_col_offset:].strip()
        return not rest or rest.startswith(b"#")

    plan = HttpPlanner(tree, raws, module_resolver(tree), source, spelled, is_elif, starts_line, alone).run()
    if not plan.calls or plan_only:
        return Swap("", plan.notes if plan.calls else {}, plan.refused)
    from asyncfix.transforms.http_rewrite import Unplaced, apply_plan  # LibCST: only when needed

    try:
        new = apply_plan(text, plan, lines, line_length)
    except Unplaced as exc:  # never seen: a guard, the calls then go to the thread rewrite
        reason = f"the swap could not place its edits ({exc})"
        return Swap("", refused={**plan.refused, **{key: reason for key in plan.notes}})
    # The header (docstring, imports) keeps its lines in the new text: offsets by line number.
    starts = Lines(new).starts
    inserts = []  # (offset, order at that offset, text)
    if add_import:
        insertion = beside(tree, "requests", library) or import_insertion(tree, {library}, imported_modules(tree))
        if insertion is not None:
            inserts.append((starts[insertion[0] - 1], 0, insertion[1].replace("\n", newline)))
    if plan.context and not _defines(tree, CONTEXT):
        anchor = _import_block_end(tree, plan.context)
        at = starts[anchor] if anchor else 0
        line = f"{CONTEXT} = {plan.context}.create_ssl_context()"
        inserts.append((at, 1, newline + newline.join(_CONTEXT_COMMENT + (line,)) + newline))
    for at, _, block in sorted(inserts, reverse=True):
        new = new[:at] + block + new[at:]
    return Swap(new, plan.notes, plan.refused)


def _import_block_end(tree: ast.Module, library: str) -> int:
    """The last line of the run of top-level imports that imports ``library`` (or `requests`,
    which the new import joins): the shared context must come after both."""
    body = tree.body
    for index, stmt in enumerate(body):
        if isinstance(stmt, ast.Import) and any(a.name in (library, "requests") for a in stmt.names):
            while index + 1 < len(body) and isinstance(body[index + 1], (ast.Import, ast.ImportFrom)):
                index += 1
            return body[index].end_lineno
    top = header(tree)
    return top[-1].end_lineno if top else 0


def _defines(tree: ast.Module, name: str) -> bool:
    return any(isinstance(t, ast.Name) and t.id == name for s in tree.body if isinstance(s, ast.Assign)
               for t in s.targets)
