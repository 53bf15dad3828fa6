"""Apply a `SqlitePlan` with LibCST: `await` on the connection's and cursors' methods (with the
parentheses precedence needs), and each connection's `async with aiosqlite.connect(...)` block."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from asyncfix.engine.source import Lines
from asyncfix.transforms.cst_edits import Unplaced, bracketed, end_of, served_body
from asyncfix.transforms.cst_edits import start_of
from asyncfix.transforms.sqlite_plan import CONNECT_POSITIONAL, SqlitePlan

__all__ = ["Unplaced", "apply_plan"]

_WITH_BODY = """\
async with aiosqlite.connect() as conn:
    pass
"""


def apply_plan(text: str, plan: SqlitePlan, lines: Lines) -> str:
    wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
    apply = _Apply(plan, lines)
    new = wrapper.visit(apply).code
    wanted = (len(apply.awaits), len(apply.blocks), len(apply.fors))
    if apply.placed != wanted:
        raise Unplaced(f"placed {apply.placed} of {wanted}")
    return new


class _Apply(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, plan: SqlitePlan, lines: Lines):
        super().__init__()
        self.awaits = {end_of(lines, n) for n in plan.awaits}
        # the owner's line -> (the close's line, None for a `with`; the connection's name)
        self.blocks = {b.owner.lineno: (b.end.lineno if b.end else None, b.name) for b in plan.blocks}
        self.isolation = {b.isolation.lineno for b in plan.blocks if b.isolation}
        # `for` statements by their start, comprehensions by their target's
        self.fors = {start_of(lines, getattr(n, "target", n) if not hasattr(n, "lineno") else n)
                     for n in plan.async_fors}
        self.done_awaits = self.done_blocks = self.done_fors = 0

    @property
    def placed(self) -> tuple[int, int, int]:
        return self.done_awaits, self.done_blocks, self.done_fors

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        if self._at(original, end=False) not in self.fors:
            return updated
        self.done_fors += 1
        return updated.with_changes(asynchronous=cst.Asynchronous())

    def leave_CompFor(self, original: cst.CompFor, updated: cst.CompFor) -> cst.CompFor:
        if self._at(original.target, end=False) not in self.fors:
            return updated
        self.done_fors += 1
        return updated.with_changes(asynchronous=cst.Asynchronous())

    def _moved_isolation(self, stmt: cst.BaseStatement) -> cst.BaseExpression | None:
        """The value of `conn.isolation_level = X` that goes into the connect, if ``stmt`` is it."""
        if self._at(stmt, end=False)[0] in self.isolation and isinstance(stmt, cst.SimpleStatementLine):
            return stmt.body[0].value
        return None

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
        # only blocks that read take this form (`sqlite_writes`): sqlite3's commit on leaving had
        # nothing to commit, so the block needs none
        template = cst.parse_statement(_WITH_BODY.replace("conn", name))
        body = list(updated.body.body)
        isolation = self._moved_isolation(original.body.body[0])
        if isolation is not None:
            body = body[1:]
        connect = _aiosqlite(updated.items[0].item, isolation)
        item = updated.items[0].with_changes(item=connect)
        return template.with_changes(items=[item], body=template.body.with_changes(body=body),
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
            isolation = self._moved_isolation(original.body[index + 1])
            if isolation is not None:
                nodes.pop(1)
            connect = _aiosqlite(owner.body[0].value, isolation)
            block = cst.With([cst.WithItem(connect, asname=cst.AsName(cst.Name(name)))],
                             served_body(nodes, updated.indent), asynchronous=cst.Asynchronous(),
                             leading_lines=owner.leading_lines)
            items[index:end + 1] = [(line, block)]
        return updated.with_changes(body=[node for _, node in items])


def _aiosqlite(call: cst.BaseExpression, isolation: cst.BaseExpression | None) -> cst.Call:
    """`sqlite3.connect(p, t)` -> `aiosqlite.connect(p, timeout=t)`: aiosqlite takes the path
    alone positionally and hands its keywords to sqlite3; the moved `isolation_level` joins them."""
    if isinstance(call, cst.Await):
        call = call.expression
    args = list(call.args)
    for index in range(1, len(args)):
        if args[index].keyword is None and not args[index].star:
            args[index] = args[index].with_changes(keyword=cst.Name(CONNECT_POSITIONAL[index]),
                                                   equal=cst.AssignEqual(cst.SimpleWhitespace(""),
                                                                         cst.SimpleWhitespace("")))
    if isolation is not None:
        if args:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(cst.Arg(isolation, keyword=cst.Name("isolation_level"),
                            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))))
    return call.with_changes(func=cst.Attribute(cst.Name("aiosqlite"), cst.Name("connect")), args=args,
                             lpar=[], rpar=[])
