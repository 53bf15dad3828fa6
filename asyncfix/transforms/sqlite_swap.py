"""The `sqlite` category's library swap: connections a coroutine makes and closes become
aiosqlite blocks (`sqlite_plan`), applied with LibCST; every other sqlite call stays as it is,
with the reason (a sqlite3 connection cannot cross threads)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from asyncfix.engine.source import Lines
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms.http_rewrite import Unplaced, bracketed
from asyncfix.transforms.imports import import_insertion, imported_modules
from asyncfix.transforms.sqlite_plan import SqlitePlan, SqlitePlanner

_WITH_BODY = """\
async with aiosqlite.connect() as conn:
    try:
        pass
        await conn.commit()
    except BaseException:
        await conn.rollback()
        raise
"""


@dataclass
class SqliteSwap:
    text: str  # "" when nothing was swapped
    notes: dict[int, list[str]] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)


def swap(text: str, tree: ast.Module, lines: Lines, raws: list[RawFinding], backend: str,
         newline: str) -> SqliteSwap:
    plan = SqlitePlanner(tree, raws, backend).run()
    if not plan.blocks:
        return SqliteSwap("", refused=plan.refused)
    try:
        new = _apply(text, plan, lines)
    except Unplaced as exc:
        reason = f"the swap could not place its edits ({exc})"
        return SqliteSwap("", refused={**plan.refused, **{key: reason for key in plan.notes}})
    insertion = _beside_sqlite3(tree) or import_insertion(tree, {"aiosqlite"}, imported_modules(tree))
    if insertion is not None and "aiosqlite" not in imported_modules(tree):
        at = Lines(new).starts[insertion[0] - 1]
        new = new[:at] + insertion[1].replace("\n", newline) + new[at:]
    return SqliteSwap(new, plan.notes, plan.refused)


def _beside_sqlite3(tree: ast.Module) -> tuple[int, str] | None:
    for stmt in tree.body:
        if isinstance(stmt, ast.Import) and any(a.name == "sqlite3" for a in stmt.names):
            return stmt.lineno, "import aiosqlite\n"
        if not isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Expr)):
            break
    return None


def _apply(text: str, plan: SqlitePlan, lines: Lines) -> str:
    wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
    apply = _Apply(plan, lines)
    new = wrapper.visit(apply).code
    if apply.placed != (len(apply.awaits), len(apply.blocks)):
        raise Unplaced(f"placed {apply.placed} of {(len(apply.awaits), len(apply.blocks))}")
    return new


def _point(lines: Lines, line: int, byte_col: int) -> tuple[int, int]:
    return line, lines.char_col(line, byte_col)


class _Apply(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, plan: SqlitePlan, lines: Lines):
        super().__init__()
        self.awaits = {_point(lines, n.end_lineno, n.end_col_offset) for n in plan.awaits}
        self.blocks = {}
        for block in plan.blocks:
            first = block.owner.lineno
            end = block.end.lineno if block.end is not None else None
            self.blocks[first] = (end, isinstance(block.end, ast.Try), block.name)
        self.done_awaits = self.done_blocks = 0

    @property
    def placed(self) -> tuple[int, int]:
        return self.done_awaits, self.done_blocks

    def _at(self, node, end=True) -> tuple[int, int]:
        where = self.get_metadata(PositionProvider, node)
        point = where.end if end else where.start
        return point.line, point.column

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        updated = updated.with_changes(func=bracketed(updated.func))
        if self._at(original) in self.awaits:
            self.done_awaits += 1
            return cst.Await(updated.with_changes(lpar=[], rpar=[]), lpar=updated.lpar, rpar=updated.rpar)
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        return updated.with_changes(value=bracketed(updated.value))

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.Subscript:
        return updated.with_changes(value=bracketed(updated.value))

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.BaseStatement:
        line = self._at(original, end=False)[0]
        if line not in self.blocks or self.blocks[line][0] is not None:
            return updated
        self.done_blocks += 1
        name = self.blocks[line][2]
        template = cst.parse_statement(_WITH_BODY.replace("conn", name))
        try_ = template.body.body[0]
        commit = try_.body.body[1]
        new_try = try_.with_changes(body=try_.body.with_changes(body=[*updated.body.body, commit]))
        connect = _aiosqlite(updated.items[0].item)
        item = updated.items[0].with_changes(item=connect)
        return template.with_changes(items=[item], body=template.body.with_changes(body=[new_try]),
                                     leading_lines=updated.leading_lines)

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        items = list(zip((self._at(s, end=False)[0] for s in original.body), updated.body))
        for index in range(len(items) - 1, -1, -1):
            line, owner = items[index]
            if line not in self.blocks or self.blocks[line][0] is None:
                continue
            end_line, is_try, name = self.blocks[line]
            end = next((i for i in range(index + 1, len(items)) if items[i][0] == end_line), None)
            if end is None or not isinstance(owner, cst.SimpleStatementLine):
                continue
            self.done_blocks += 1
            nodes = [node for _, node in items[index:end + 1]]
            if is_try:
                inner, indent = list(nodes[-1].body.body), nodes[-1].body.indent
            else:
                inner, indent = nodes[1:-1], updated.indent
            connect = _aiosqlite(owner.body[0].value)
            block = cst.With([cst.WithItem(connect, asname=cst.AsName(cst.Name(name)))],
                             cst.IndentedBlock(inner, indent=indent), asynchronous=cst.Asynchronous(),
                             leading_lines=owner.leading_lines)
            items[index:end + 1] = [(line, block)]
        return updated.with_changes(body=[node for _, node in items])


def _aiosqlite(call: cst.BaseExpression) -> cst.Call:
    """`sqlite3.connect(p, ...)` -> `aiosqlite.connect(p, ...)` (its keywords go to sqlite3)."""
    if isinstance(call, cst.Await):
        call = call.expression
    return call.with_changes(func=cst.Attribute(cst.Name("aiosqlite"), cst.Name("connect")), lpar=[], rpar=[])
