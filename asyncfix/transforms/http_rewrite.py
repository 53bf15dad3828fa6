"""Apply an `HttpPlan` with LibCST: `await` where a request was, parentheses where precedence
needs them (`(await client.get(u)).json()`), `async with`/`async for`, renamed keywords and
attributes, new `except` classes, and the client block around a run of statements. Everything
else keeps its bytes. The plan was made on the stdlib ast: nodes are matched by position (the
end of an expression, the start of a statement), where both parsers agree.
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from asyncfix.engine.source import Lines
from asyncfix.transforms.cst_edits import Unplaced, bracketed, end_of, served_body, start_of
from asyncfix.transforms.http_plan import CallEdit, HttpPlan

_NO_SPACE = cst.SimpleWhitespace("")
_CST_TYPE = {"UnaryOp": "UnaryOperation"}


def apply_plan(text: str, plan: HttpPlan, lines: Lines, line_length: int) -> str:
    module = cst.parse_module(text)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    apply = _Apply(plan, lines, line_length)
    new = wrapper.visit(apply).code
    planned = {"calls": len(apply.calls), "exprs": len(apply.exprs), "fors": len(apply.fors),
               "withs": len(apply.withs), "clauses": len(apply.clauses), "wraps": len(apply.wraps),
               "blocks": len(apply.blocks), "prepend": len(apply.prepend), "guards": len(apply.guards)}
    missing = {k: n - apply.placed[k] for k, n in planned.items() if apply.placed[k] != n}
    if missing:
        raise Unplaced(f"edits not placed: {missing}")
    return new


def _first_line(node: ast.stmt) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


class _Apply(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, plan: HttpPlan, lines: Lines, line_length: int):
        super().__init__()
        self.line_length = line_length
        self.calls = {("Call",) + end_of(lines, n): e for n, e in plan.calls.items()}
        self.exprs = {(_CST_TYPE.get(type(n).__name__, type(n).__name__),) + end_of(lines, n): op
                      for n, op in plan.exprs.items()}
        self.fors = {start_of(lines, n) for n in plan.async_fors}
        self.withs = {start_of(lines, n): t for n, t in plan.withs.items()}
        self.prepend = {start_of(lines, n): t for n, t in plan.prepend.items()}
        self.guards = {start_of(lines, n): name for n, name in plan.guards.items()}
        self.clauses = {start_of(lines, n): t for n, t in plan.clauses.items()}
        self.wraps = {_first_line(w.first): (_first_line(w.last), w.header) for w in plan.wraps}
        self.blocks = {_first_line(b.owner): (_first_line(b.end), b.header) for b in plan.blocks}
        self.placed = dict.fromkeys(("calls", "exprs", "fors", "withs", "clauses", "wraps", "blocks",
                                     "prepend", "guards"), 0)

    def _key(self, node: cst.CSTNode, end: bool = True) -> tuple[int, int]:
        where = self.get_metadata(PositionProvider, node)
        point = where.end if end else where.start
        return point.line, point.column

    # -- expressions ---------------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        updated = updated.with_changes(func=bracketed(updated.func))
        key = ("Call",) + self._key(original)
        if key in self.calls:
            self.placed["calls"] += 1
            return _request(updated, self.calls[key])
        op = self.exprs.get(key)
        self.placed["exprs"] += op is not None
        if op and op.startswith("attr:"):  # `resp.read()` -> `resp.content`
            return cst.Attribute(updated.func.value, cst.Name(op[5:]), lpar=updated.lpar, rpar=updated.rpar)
        if op == "url()":  # `resp.geturl()` -> `str(resp.url)`
            url = cst.Attribute(updated.func.value, cst.Name("url"))
            return cst.Call(cst.Name("str"), [cst.Arg(url)], lpar=updated.lpar, rpar=updated.rpar)
        if op == "drop_decode":
            return updated.func.value.with_changes(lpar=updated.lpar, rpar=updated.rpar)
        if op in ("aiter_bytes", "aiter_text", "aiter_lines"):
            args = [a for a in updated.args if not (a.keyword and a.keyword.value == "decode_unicode")]
            if args:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(func=updated.func.with_changes(attr=cst.Name(op)), args=args)
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        updated = updated.with_changes(value=bracketed(updated.value))
        op = self.exprs.get(("Attribute",) + self._key(original))
        self.placed["exprs"] += op is not None
        if op in ("ok", "ok()"):
            inner = cst.UnaryOperation(cst.Not(), cst.Attribute(updated.value, cst.Name("is_error")))
            if op == "ok()" and not updated.lpar:
                return inner.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return inner.with_changes(lpar=updated.lpar, rpar=updated.rpar)
        if op and op.startswith("rename:"):
            return updated.with_changes(attr=cst.Name(op.partition(":")[2]))
        if op == "str":
            bare = updated.with_changes(lpar=[], rpar=[])
            return cst.Call(cst.Name("str"), [cst.Arg(bare)], lpar=updated.lpar, rpar=updated.rpar)
        return updated

    def leave_UnaryOperation(self, original: cst.UnaryOperation, updated: cst.UnaryOperation) -> cst.BaseExpression:
        if self.exprs.get(("UnaryOperation",) + self._key(original)) == "not_ok":
            self.placed["exprs"] += 1
            inner = updated.expression.with_changes(attr=cst.Name("is_error"))
            return inner.with_changes(lpar=updated.lpar, rpar=updated.rpar)
        return updated

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.Subscript:
        return updated.with_changes(value=bracketed(updated.value))

    # -- statements ----------------------------------------------------------------------------

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        """`r.raise_for_status()` -> `if r.is_error: r.raise_for_status()` (requests raised for
        4xx/5xx only, httpx for anything outside 2xx)."""
        name = self.guards.get(self._key(original, end=False))
        if name is None or len(updated.body) != 1:
            return updated
        self.placed["guards"] += 1
        inner = cst.IndentedBlock([updated.with_changes(leading_lines=())])
        return cst.If(cst.parse_expression(f"{name}.is_error"), inner, leading_lines=updated.leading_lines)

    def leave_For(self, original: cst.For, updated: cst.For) -> cst.For:
        if self._key(original, end=False) in self.fors:
            self.placed["fors"] += 1
            return updated.with_changes(asynchronous=cst.Asynchronous())
        return updated

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.With:
        key = self._key(original, end=False)
        if key not in self.withs:
            return updated
        self.placed["withs"] += 1
        new = self.withs[key]
        if new is None:
            return updated.with_changes(asynchronous=cst.Asynchronous())
        header = new if " as " in new else f"{new} as {updated.items[0].asname.name.value}"
        block = _client_block(header, key[1], self.line_length)
        body = updated.body
        if key in self.prepend:
            self.placed["prepend"] += 1
            first = cst.parse_statement(self.prepend[key] + "\n")
            body = body.with_changes(body=[first, *body.body])
        return block.with_changes(body=body, leading_lines=updated.leading_lines)

    def leave_ExceptHandler(self, original: cst.ExceptHandler, updated: cst.ExceptHandler) -> cst.ExceptHandler:
        key = self._key(original, end=False)
        new = self.clauses.get(key)
        if new is None:
            return updated
        self.placed["clauses"] += 1
        name = f" as {updated.name.name.value}" if updated.name else ""
        if new.startswith("(") and key[1] + len(f"except {new}{name}:") > self.line_length:
            new = "(\n" + "".join(f"    {c.strip()},\n" for c in new[1:-1].split(",")) + ")"
        return updated.with_changes(type=cst.parse_expression(new),
                                    whitespace_after_except=cst.SimpleWhitespace(" "))

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        """Client blocks: a run of statements under `async with <client>:` (wraps), and `s =
        Session()` ... `s.close()` (or a `try` closing it in `finally`) as `async with ... as s:`
        over what it serves (blocks). Last first, so the earlier positions stay valid; a block
        inside a run is made before the run."""
        items = list(zip((self._key(s, end=False) for s in original.body), updated.body))
        for index in range(len(items) - 1, -1, -1):
            for kind, table in (("blocks", self.blocks), ("wraps", self.wraps)):
                (line, column), first = items[index]
                if line not in table:
                    continue
                end_line, header = table[line]
                end = next((i for i in range(index, len(items)) if items[i][0][0] == end_line
                            and (kind == "wraps" or i > index)), None)
                if end is None:
                    continue
                self.placed[kind] += 1
                nodes = [node for _, node in items[index:end + 1]]
                # the new block indents as the one it is in does (files indented by 2 or 13 exist)
                if kind == "wraps":
                    inner = [first.with_changes(leading_lines=()), *nodes[1:]]
                    body = cst.IndentedBlock(inner, indent=updated.indent)
                else:
                    body = served_body(nodes, updated.indent)
                block = _client_block(header, column, self.line_length).with_changes(
                    body=body, leading_lines=first.leading_lines)
                items[index:end + 1] = [((line, column), block)]
        return updated.with_changes(body=[node for _, node in items])


def _client_block(header: str, column: int, line_length: int) -> cst.With:
    one = f"async with {header}:"
    if column + len(one) <= line_length or "(" not in header:
        return cst.parse_statement(f"{one}\n    pass\n")
    call, _, rest = header.rpartition(") as ")
    func, _, args = call.partition("(")
    text = f"async with {func}(\n    {args}\n) as {rest}:\n    pass\n"
    return cst.parse_statement(text)


def _request(call: cst.Call, edit: CallEdit) -> cst.BaseExpression:
    req = edit.request
    original = list(call.args)
    args = []
    for arg in original:
        name = arg.keyword.value if arg.keyword else None
        if name in req.drop:
            continue
        if name in req.replace:
            arg = arg.with_changes(value=cst.parse_expression(req.replace[name]))
        if name in req.rename:
            arg = arg.with_changes(keyword=cst.Name(req.rename[name]))
        args.append(arg)
    new = [cst.Arg(cst.parse_expression(t)) for t in req.first] + args + [
        cst.Arg(cst.parse_expression(v), keyword=cst.Name(k),
                equal=cst.AssignEqual(whitespace_before=_NO_SPACE, whitespace_after=_NO_SPACE))
        for k, v in req.add]
    # Separators: the call's own between arguments, its trailing comma (if any) at the end.
    sep = next((a.comma for a in original[:-1] if isinstance(a.comma, cst.Comma)), None) or cst.Comma(
        whitespace_after=cst.SimpleWhitespace(" "))
    trailing = original[-1].comma if original else cst.MaybeSentinel.DEFAULT
    for i, arg in enumerate(new):
        if i == len(new) - 1:
            new[i] = arg.with_changes(comma=trailing)
        elif not isinstance(arg.comma, cst.Comma) or (original and arg is args[-1] and arg.comma is trailing):
            new[i] = arg.with_changes(comma=sep)
    func = cst.Attribute(cst.Name(edit.receiver), cst.Name(req.method))
    out = call.with_changes(func=func, args=new, lpar=[], rpar=[])
    if not edit.awaited:
        return out.with_changes(lpar=call.lpar, rpar=call.rpar)
    if edit.checked:  # `(await client.get(u)).raise_for_status()`: the response, checked
        awaited = cst.Await(out, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return cst.Call(cst.Attribute(awaited, cst.Name("raise_for_status")), lpar=call.lpar, rpar=call.rpar)
    return cst.Await(out, lpar=call.lpar, rpar=call.rpar)
