"""LibCST pieces both library swaps (http, sqlite) apply their plans with. The plans are made on
the stdlib ast; nodes are matched by position (an expression's end, a statement's start), where
both parsers agree. Imported only when a swap has something to apply: LibCST costs ~0.3 s to
import, and most files `apply` touches need none."""

from __future__ import annotations

import ast

import libcst as cst

from asyncfix.engine.source import Lines


class Unplaced(Exception):
    """A planned edit found no node at its position: the plan is dropped whole (a call awaited
    on a client whose block is missing would fail only when it runs)."""


def end_of(lines: Lines, node: ast.AST) -> tuple[int, int]:
    """(line, character column) where ``node`` ends, as LibCST's PositionProvider counts."""
    return node.end_lineno, lines.char_col(node.end_lineno, node.end_col_offset)


def start_of(lines: Lines, node: ast.AST) -> tuple[int, int]:
    return node.lineno, lines.char_col(node.lineno, node.col_offset)


def bracketed(node: cst.BaseExpression) -> cst.BaseExpression:
    """`await x` as the object of `.attr`, `[i]` or `(...)` needs parentheses."""
    if isinstance(node, cst.Await) and not node.lpar:
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node


def served_body(nodes: list[cst.BaseStatement], indent: str | None) -> cst.IndentedBlock:
    """What an `async with` made of `x = Make()` ... `x.close()` holds: the statements between,
    or the body of the `try` whose `finally` closed it (``nodes``: from the assignment to the
    close). ``indent``: the enclosing block's."""
    if isinstance(nodes[-1], cst.Try):
        return cst.IndentedBlock(list(nodes[-1].body.body), indent=nodes[-1].body.indent)
    return cst.IndentedBlock(nodes[1:-1], indent=indent)
