"""Make newer syntax readable by the running interpreter's ``ast``, keeping every position.

The engine analyses stdlib ``ast`` trees, but the ``ast`` of Python 3.11 cannot read PEP 695
generics or 3.12 f-strings, nor 3.10 ``except*``. libcst's native parser reads all of 3.8-3.14, so
for such a file we let libcst find those constructs and overwrite them in place with same-length
text the older grammar accepts. Nothing moves, so line and column of every call stay exact:

- ``def f[T](x)`` / ``class C[T]:``   -> the ``[T]`` becomes spaces;
- ``type X[T] = ...``                 -> ``pass`` followed by spaces (never evaluated on the loop);
- ``f"{a(x)!r:>{w}} {b}"`` (and t-strings) -> ``(a(x),    w,  b,)``: a tuple of the expressions,
  each at its own column, so calls inside still resolve (plain strings concatenated with it become
  spaces);
- ``except* E``                       -> ``except  E``;
- ``except A, B:`` (3.14)             -> ``except A| B:``.
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

_NEWLINE = re.compile(r"\r\n|\r|\n")


class _Spans(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, offset):
        self.offset = offset  # (line, column) -> index into the text
        self.edits: list[tuple[str, object]] = []

    def span(self, node) -> tuple[int, int]:
        pos = self.get_metadata(PositionProvider, node)
        return self.offset(pos.start.line, pos.start.column), self.offset(pos.end.line, pos.end.column)

    def visit_FunctionDef(self, node):
        if node.type_parameters is not None:
            self.edits.append(("blank", self.span(node.type_parameters)))

    def visit_ClassDef(self, node):
        if node.type_parameters is not None:
            self.edits.append(("blank", self.span(node.type_parameters)))

    def visit_TypeAlias(self, node):
        self.edits.append(("pass", self.span(node)))

    def _string(self, node):
        exprs = []
        stack = list(node.parts)
        while stack:
            part = stack.pop()
            if isinstance(part, (cst.FormattedStringExpression, cst.TemplatedStringExpression)):
                exprs.append(self.span(part.expression))
                stack.extend(part.format_spec or ())
        self.edits.append(("string", (self.span(node), exprs)))

    visit_FormattedString = _string
    visit_TemplatedString = _string

    def visit_ConcatenatedString(self, node):
        # `f"{a}" "z"` would become `(a,) "z"`, which is not an expression: blank the plain parts.
        leaves, stack = [], [node]
        while stack:
            item = stack.pop()
            if isinstance(item, cst.ConcatenatedString):
                stack += [item.left, item.right]
            else:
                leaves.append(item)
        if any(not isinstance(leaf, cst.SimpleString) for leaf in leaves):
            self.edits += [("blank", self.span(leaf)) for leaf in leaves
                           if isinstance(leaf, cst.SimpleString)]

    def visit_ExceptStarHandler(self, node):
        self.edits.append(("star", self.span(node)))
        self.visit_ExceptHandler(node)

    def visit_ExceptHandler(self, node):
        typ = node.type
        if isinstance(typ, cst.Tuple) and not typ.lpar:  # 3.14: `except A, B:`
            for left, right in zip(typ.elements, typ.elements[1:]):
                self.edits.append(("bar", (self.span(left.value)[1], self.span(right.value)[0])))


def _blank(buf: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if buf[i] not in "\r\n":
            buf[i] = " "


def mask_for_ast(text: str) -> str:
    """Same-length text that the running ``ast`` can parse. Raises if libcst cannot parse it."""
    module = cst.parse_module(text)
    starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
    visitor = _Spans(lambda line, col: starts[line - 1] + col)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(visitor)
    buf = list(text)
    for kind, data in visitor.edits:  # pre-order: outer strings before the strings inside them
        if kind == "blank":
            _blank(buf, *data)
        elif kind == "pass":
            start, end = data
            _blank(buf, start, end)
            buf[start : start + 4] = "pass"
        elif kind == "string":
            (start, end), exprs = data
            saved = [(s, e, buf[s:e]) for s, e in exprs]
            _blank(buf, start, end)
            for s, e, chars in saved:
                buf[s:e] = chars
                buf[e] = ","
            buf[start], buf[end - 1] = "(", ")"
        elif kind == "star":
            start, end = data
            star = text.index("*", start + len("except"), end)
            buf[star] = " "
        elif kind == "bar":
            start, end = data
            buf[text.index(",", start, end)] = "|"
    return "".join(buf)
