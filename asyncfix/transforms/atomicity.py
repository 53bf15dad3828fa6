"""Check-then-act sections that a thread hop would split.

Between two awaits a coroutine runs alone: `if key not in self.items: self.items[key] = load(k)`
cannot interleave with another call. A thread hop is a new await: while the load runs, a second
call sees the key missing and loads again. A hop is refused where the coroutine's await-free
section around it reads shared state on one side of the hop and writes it on the other.
"""

from __future__ import annotations

import ast

from asyncfix.engine.astutil import FUNCS
from asyncfix.transforms.sharing import Sharing, _walk_own

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_AWAITS = (ast.Await, ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom)


def awaits(node: ast.AST) -> bool:
    return any(isinstance(n, _AWAITS) for n in _walk_own(node))


def _header(stmt: ast.stmt) -> list[ast.AST]:
    """The parts of a compound statement evaluated before its body."""
    if isinstance(stmt, (ast.If, ast.While)):
        return [stmt.test]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.iter, stmt.target]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [i.context_expr for i in stmt.items]
    if isinstance(stmt, ast.Match):
        return [stmt.subject]
    return []


def _block_of(stmt: ast.stmt, parent: ast.AST) -> list[ast.stmt] | None:
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and any(s is stmt for s in block):
            return block
    return None


def section(hop: list[ast.stmt], func: ast.AST, parents: dict) -> tuple[list[ast.AST], list[ast.AST]]:
    """What runs before and after the hop (the statements ``hop``) without an await between."""
    before: list[ast.AST] = []
    after: list[ast.AST] = []
    first, last = hop[0], hop[-1]
    open_before = open_after = True
    node_first, node_last = first, last
    while node_first is not func and node_first in parents and (open_before or open_after):
        parent = parents[node_first]
        block = _block_of(node_first, parent)
        if block is None:  # a handler or match case: climb to its statement
            node_first = node_last = parent
            continue
        i = next(k for k, s in enumerate(block) if s is node_first)
        j = next(k for k, s in enumerate(block) if s is node_last)
        if open_before:
            for s in reversed(block[:i]):
                if awaits(s):
                    open_before = False
                    break
                before.append(s)
        if open_after:
            for s in block[j + 1 :]:
                if awaits(s):
                    open_after = False
                    break
                after.append(s)
        if parent is func:
            break
        head = _header(parent) if block is getattr(parent, "body", None) else []
        if open_before:
            if any(awaits(h) for h in head):
                open_before = False
            else:
                before += head
        if isinstance(parent, _LOOPS) and not awaits(parent):
            # Another iteration runs the loop's whole body again on both sides of the hop.
            before.append(parent)
            after.append(parent)
        node_first = node_last = parent
    return before, after


def split_reason(hop: list[ast.stmt], inner: list[ast.AST], func: ast.AST, parents: dict,
                 sharing: Sharing, blocking: set[int], what: str = "a thread hop") -> str | None:
    """Why a thread hop at ``hop`` (statements; ``inner``: the moved parts, read during the hop)
    would split a check-then-act on shared state (None: it would not)."""
    before, after = section(hop, func, parents)
    outer: list[ast.AST] = []
    if not any(s is i for s in hop for i in inner):
        # A single call: its statement is on both sides of the hop; of a compound statement,
        # its header, and its body comes after.
        stmt = hop[0]
        head = _header(stmt)
        outer = head if head or isinstance(stmt, ast.Try) else [stmt]
        for s in getattr(stmt, "body", []) if head else []:
            if awaits(s):
                break
            after.append(s)
    read_before, write_before = sharing.accesses(before + inner, blocking, strict=False)
    read_after, write_after = sharing.accesses(after, blocking, strict=False)
    r_hop, w_hop = sharing.accesses(outer, blocking, strict=False)
    clash = (read_before | r_hop) & (write_after | w_hop) or (write_before | w_hop) & (read_after | r_hop)
    if clash:
        return (f"{what} here would let another call change `{sorted(clash)[0]}` between "
                f"its check and its update (they run without an await between them today)")
    return None
