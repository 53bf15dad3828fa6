"""Apply a `SqlitePlan` with LibCST: `await` on the connection's and cursors' methods (with the
parentheses precedence needs), and each connection's `async with aiosqlite.connect(...)` block."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from asyncfix.engine.source import Lines
from asyncfix.transforms.cst_edits import Unplaced, bracketed, end_of, served_body
from asyncfix.transforms.sqlite_plan import SqlitePlan

__all__ = ["Unplaced", "apply_plan"]

_WITH_BODY = """\
async with aiosqlite.connect() as conn:
    try:
        pass
        await conn.commit()
    except BaseException:
        await conn.rollback()
        raise
"""


def apply_plan(text: str, plan: SqlitePlan, lines: Lines) -> str:
    wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
    apply = _Apply(plan, lines)
    new = wrapper.visit(apply).code
    if apply.placed != (len(apply.awaits), len(apply.blocks)):
        raise Unplaced(f"placed {apply.placed} of {(len(apply.awaits), len(apply.blocks))}")
    return new


class _Apply(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, plan: SqlitePlan, lines: Lines):
        super().__init__()
        self.awaits = {end_of(lines, n) for n in plan.awaits}
        # the owner's line -> (the close's line, None for a `with`; the connection's name)
        self.blocks = {b.owner.lineno: (b.end.lineno if b.end else None, b.name) for b in plan.blocks}
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
        name = self.blocks[line][1]
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
            end_line, name = self.blocks[line]
            end = next((i for i in range(index + 1, len(items)) if items[i][0] == end_line), None)
            if end is None or not isinstance(owner, cst.SimpleStatementLine):
                continue
            self.done_blocks += 1
            nodes = [node for _, node in items[index:end + 1]]
            connect = _aiosqlite(owner.body[0].value)
            block = cst.With([cst.WithItem(connect, asname=cst.AsName(cst.Name(name)))],
                             served_body(nodes, updated.indent), asynchronous=cst.Asynchronous(),
                             leading_lines=owner.leading_lines)
            items[index:end + 1] = [(line, block)]
        return updated.with_changes(body=[node for _, node in items])


def _aiosqlite(call: cst.BaseExpression) -> cst.Call:
    """`sqlite3.connect(p, ...)` -> `aiosqlite.connect(p, ...)` (its keywords go to sqlite3)."""
    if isinstance(call, cst.Await):
        call = call.expression
    return call.with_changes(func=cst.Attribute(cst.Name("aiosqlite"), cst.Name("connect")), lpar=[], rpar=[])
