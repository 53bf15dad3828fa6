"""Check-then-act sections that a thread hop would split.

Between two awaits a coroutine runs alone: `if key not in self.items: self.items[key] = load(k)`
cannot interleave with another call. A thread hop is a new await: while the load runs, a second
call sees the key missing and loads again. A hop is refused where the coroutine's await-free
section around it reads shared state on one side of the hop and writes it on the other.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from asyncfix.engine.astutil import FUNCS, child_nodes, inside
from asyncfix.transforms.sharing import Sharing
from asyncfix.transforms.swallow import may_swallow

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_AWAITS = (ast.Await, ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom)


def always_awaits(node: ast.AST, silent: frozenset[int] = frozenset()) -> bool:
    """Whether every path through ``node`` that completes it awaits: only such a statement
    certainly ends the await-free section before it. ``silent``: ids of awaits that do not
    suspend (of a coroutine of the module that never does: see `quiet`)."""
    if isinstance(node, (ast.AsyncWith, ast.AsyncFor)):
        return True
    if isinstance(node, ast.If):
        return _expr_awaits(node.test, silent) or (
            _block_awaits(node.body, silent) and _block_awaits(node.orelse, silent))
    if isinstance(node, (ast.For, ast.While)):
        return _expr_awaits(node.iter if isinstance(node, ast.For) else node.test, silent)
    if isinstance(node, ast.With):  # a swallowed exception can skip the body's await
        return any(_expr_awaits(i.context_expr, silent) for i in node.items) or (
            _block_awaits(node.body, silent) and not may_swallow(node))
    if isinstance(node, ast.Match):
        return _expr_awaits(node.subject, silent)
    if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
        return _block_awaits(node.finalbody, silent)
    if isinstance(node, ast.stmt):
        return any(_expr_awaits(c, silent) for c in child_nodes(node) if isinstance(c, ast.expr))
    return False


def _block_awaits(block: list[ast.stmt], silent: frozenset[int]) -> bool:
    return any(always_awaits(s, silent) for s in block)


def _expr_awaits(expr: ast.AST, silent: frozenset[int]) -> bool:
    """An await outside short-circuited, conditional, lazy or nested parts of ``expr``."""
    if isinstance(expr, ast.Await) and id(expr) in silent:
        return _expr_awaits(expr.value, silent)
    if isinstance(expr, (ast.Await, ast.Yield, ast.YieldFrom)):
        return True
    if isinstance(expr, ast.BoolOp):
        return _expr_awaits(expr.values[0], silent)
    if isinstance(expr, ast.IfExp):
        return _expr_awaits(expr.test, silent) or (
            _expr_awaits(expr.body, silent) and _expr_awaits(expr.orelse, silent))
    if isinstance(expr, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return _expr_awaits(expr.generators[0].iter, silent)
    if isinstance(expr, (ast.Lambda, *FUNCS, ast.ClassDef)):
        return False
    return any(_expr_awaits(c, silent) for c in child_nodes(expr))


def _repeats_without_await(loop: ast.stmt, silent: frozenset[int]) -> bool:
    """A loop whose next iteration can start without an await in between."""
    if isinstance(loop, ast.AsyncFor):
        return False
    test = [loop.test] if isinstance(loop, ast.While) else []
    return not (any(_expr_awaits(t, silent) for t in test) or _block_awaits(loop.body, silent))


def header(stmt: ast.stmt) -> list[ast.AST]:
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


def _around(parent: ast.AST, came_from: ast.AST, silent: frozenset[int]) -> tuple[list[ast.AST], list[ast.AST]]:
    """What else of ``parent`` may run before and after the part ``came_from`` (a statement of
    one of its blocks, or one of its handlers), without counting awaits (conservative)."""
    def part(name):
        return getattr(parent, name, None) or []

    def holds(name):
        return any(s is came_from for s in part(name))

    before: list[ast.AST] = []
    after: list[ast.AST] = []
    if isinstance(parent, (ast.If, ast.With, ast.AsyncWith, ast.Match)):
        before += header(parent)
    elif isinstance(parent, (ast.For, ast.AsyncFor, ast.While)):
        if holds("body"):
            before += header(parent)
            if _repeats_without_await(parent, silent):  # the next iteration runs on both sides
                before += [*header(parent), *parent.body]
                after += [*header(parent), *parent.body]
            after += parent.orelse
        else:  # the `else` of a loop runs after all of its iterations
            before += [*header(parent), *parent.body]
    elif isinstance(parent, ast.Try) or type(parent).__name__ == "TryStar":
        if holds("body"):
            after += [*parent.handlers, *parent.orelse, *parent.finalbody]
        elif any(h is came_from for h in parent.handlers):
            before += parent.body
            after += parent.finalbody
        elif holds("orelse"):
            before += parent.body
            after += parent.finalbody
        else:
            before += [*parent.body, *parent.handlers, *parent.orelse]
    return before, after


def section(hop: list[ast.stmt], func: ast.AST, parents: dict, open_before: bool = True,
            open_after: bool = True, silent: frozenset[int] = frozenset()) -> tuple[list[ast.AST], list[ast.AST]]:
    """What runs before and after the hop (the statements ``hop``) without an await between;
    ``open_before``/``open_after`` False: the hop's own statement awaits on that side of it."""
    before, after, _, _ = reach(hop, func, parents, open_before, open_after, silent)
    return before, after


def reach(hop: list[ast.stmt], func: ast.AST, parents: dict, open_before: bool = True,
          open_after: bool = True, silent: frozenset[int] = frozenset(), hops: frozenset[int] = frozenset()
          ) -> tuple[list[ast.AST], list[ast.AST], bool, bool]:
    """`section`, and whether it reaches back to the coroutine's start and on to its end (then
    the caller's code before and after its await of the coroutine is in the section too).
    ``hops``: ids of statements the rewrite already awaits in (planned earlier): they end it."""
    before: list[ast.AST] = []
    after: list[ast.AST] = []
    node_first, node_last = hop[0], hop[-1]
    while node_first is not func and node_first in parents and (open_before or open_after):
        parent = parents[node_first]
        block = _block_of(node_first, parent)
        if block is not None:
            i = next(k for k, s in enumerate(block) if s is node_first)
            j = next(k for k, s in enumerate(block) if s is node_last)
            if open_before:
                for s in reversed(block[:i]):
                    before.append(s)
                    if always_awaits(s, silent) or id(s) in hops:
                        open_before = False
                        break
            if open_after:
                for s in block[j + 1 :]:
                    after.append(s)
                    if always_awaits(s, silent) or id(s) in hops:
                        open_after = False
                        break
        if parent is func:
            return before, after, open_before, open_after
        grand = parents.get(parent)
        if isinstance(parent, (ast.ExceptHandler, ast.match_case)) and grand is not None:
            extra_before, extra_after = _around(grand, parent, silent)
            node_first = node_last = grand
            parent = None
        else:
            extra_before, extra_after = _around(parent, node_first, silent)
            node_first = node_last = parent
        if open_before:
            before += extra_before
        if open_after:
            after += extra_after
        if isinstance(parent, (ast.AsyncWith, ast.AsyncFor)):
            open_before = open_after = False  # entering, leaving, each iteration: awaited
    return before, after, False, False


@dataclass
class Around:
    """What the callers of a coroutine do, without an await, just before and just after they
    await it (keys of shared state as the coroutine names them): a hop put in the coroutine
    before its first suspension, or after its last, runs between the two."""

    reads_before: set[str] = field(default_factory=set)
    writes_before: set[str] = field(default_factory=set)
    deferred_before: set[str] = field(default_factory=set)  # callbacks they scheduled
    reads_after: set[str] = field(default_factory=set)
    writes_after: set[str] = field(default_factory=set)


def split_reason(hop: list[ast.stmt], inner: list[ast.AST], func: ast.AST, parents: dict,
                 sharing: Sharing, blocking: set[int], what: str = "a thread hop",
                 silent: frozenset[int] = frozenset(), around: Around | None = None,
                 hops: frozenset[int] = frozenset()) -> str | None:
    """Why a thread hop at ``hop`` (statements; ``inner``: the moved parts, read during the hop)
    would split a check-then-act on shared state (None: it would not). ``silent``: the awaits
    that do not suspend; ``around``: the callers' part, where the section reaches them;
    ``hops``: statements already planned to await (see `reach`)."""
    single = not any(s is i for s in hop for i in inner)
    cut_before = cut_after = False
    if single:  # the statement's own awaits: before the call, or after it (awaiting its result)
        call = inner[0]
        for node in _certain_awaits(hop[0], silent):
            if inside(call, node) or (node.lineno, node.col_offset) > (call.lineno, call.col_offset):
                cut_after = True
            else:
                cut_before = True
        if header(hop[0]) and always_awaits(hop[0], silent):
            cut_after = True  # a compound statement whose every completed path awaits after its header
        if cut_after and _may_resume(hop[0], func, parents):
            cut_after = False  # the call may raise past its await into a handler that goes on
    before, after, to_start, to_end = reach(hop, func, parents, not cut_before, not cut_after, silent,
                                            hops)
    outer: list[ast.AST] = []
    if single:
        # A single call: its statement is on both sides of the hop; of a compound statement,
        # its header, and its body comes after.
        stmt = hop[0]
        head = header(stmt)
        outer = head if head or isinstance(stmt, ast.Try) else [stmt]
        # What runs after the header: its body, and the other branch (`elif`/`else`, a loop's
        # `else`, the other cases of a match), each up to an await on every path.
        branches = [getattr(stmt, "body", []), getattr(stmt, "orelse", [])] + [
            c.body for c in getattr(stmt, "cases", [])]
        for branch in branches if head else []:
            for s in branch:
                after.append(s)
                if always_awaits(s, silent):
                    break
    read_before, write_before = sharing.accesses(before, blocking, strict=False)
    read_after, write_after = sharing.accesses(after, blocking, strict=False)
    r_hop, w_hop = sharing.accesses(outer, blocking, strict=False)
    r_in, _ = sharing.accesses(inner, blocking, strict=False)  # read in the thread, during the hop
    deferred_before = sharing.deferred(before)

    def clashes() -> tuple[set[str], set[str]]:
        clash = _clash(read_before | r_hop | r_in, write_after | w_hop) | _clash(
            write_before | w_hop, read_after | r_hop | r_in)
        # A mutator handed to the loop before the hop runs during it: before the writes after it.
        return clash, _clash(deferred_before, write_after | w_hop)

    clash, deferred = clashes()
    update, today = "the update that follows", "today it runs after"
    check = "its check and its update (they run without an await between them today)"
    if around is not None and (to_start or to_end) and not (clash or deferred):
        if to_start:
            read_before |= around.reads_before
            write_before |= around.writes_before
            deferred_before |= around.deferred_before
        if to_end:
            read_after |= around.reads_after
            write_after |= around.writes_after
        clash, deferred = clashes()
        update = "an update of a caller that awaits this coroutine"
        today += ": the coroutine does not suspend in between today"
        check = ("a check and an update of a caller that awaits this coroutine (the coroutine "
                 "does not suspend in between today, so they run in one go)")
    if deferred and not clash:
        return (f"{what} here would let a callback scheduled before it change `{sorted(deferred)[0]}` "
                f"before {update} ({today})")
    if clash:
        return f"{what} here would let another call change `{sorted(clash)[0]}` between {check}"
    return None


def _may_resume(stmt: ast.stmt, func: ast.AST, parents: dict) -> bool:
    """Whether an exception raised in ``stmt`` can be caught or swallowed inside ``func`` (or
    run a `finally` there): the code after it then runs without the statement's later awaits."""
    node = stmt
    while node is not func and node in parents:
        parent = parents[node]
        if isinstance(parent, ast.Try) or type(parent).__name__ == "TryStar":
            if any(s is node for s in parent.body) and (parent.handlers or parent.finalbody):
                return True
            if (any(h is node for h in parent.handlers) or any(s is node for s in parent.orelse)) \
                    and parent.finalbody:
                return True
        if isinstance(parent, (ast.With, ast.AsyncWith)) and any(s is node for s in parent.body) \
                and may_swallow(parent):
            return True
        node = parent
    return False


def _certain_awaits(stmt: ast.stmt, silent: frozenset[int]) -> list[ast.Await]:
    """The awaits of a statement's own expressions that run whenever it runs (and suspend)."""
    out: list[ast.Await] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Await) and id(node) not in silent:
            out.append(node)
        if isinstance(node, (ast.Lambda, *FUNCS, ast.ClassDef)) or (isinstance(node, ast.stmt) and node is not stmt):
            return
        if isinstance(node, ast.BoolOp):
            visit(node.values[0])
            return
        if isinstance(node, ast.IfExp):
            visit(node.test)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            visit(node.generators[0].iter)
            return
        for child in child_nodes(node):
            visit(child)

    for part in (header(stmt) or [stmt]):
        visit(part)
    return out


def _clash(a: set[str], b: set[str]) -> set[str]:
    """Keys of ``a`` that name the same state as a key of ``b``: equal, or one is the root of the
    other (`self`, passed whole to a function, covers `self.items`)."""
    return {x for x in a for y in b if x == y or x.partition(".")[0] == y or y.partition(".")[0] == x}
