"""Control flow of one function body, and what it says about its locals at each statement: which
are certainly bound (`must`), possibly bound (`may`), and possibly read later (`live`).

The graph has a node per simple statement and per compound-statement header (an `if` test, a loop
step, a `with` entry, a handler match). Exceptions are edges of their own: every node that can
raise has one to the nearest handler dispatch, to the exit of a `with` whose context manager may
swallow, to the abrupt copy of a `finally` (a `finally` body is built twice: once on the normal
path, once on the paths that leave by raise, return, break or continue), or out of the function.
An exception edge carries the state from *before* the node: what the raising statement would have
bound never was. The planner asks these facts of a run of statements before moving it to a thread.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass, field

from asyncfix.engine.astutil import child_nodes, walk
from asyncfix.transforms.names import accesses, pattern_names
from asyncfix.transforms.swallow import may_swallow

_NO_RAISE = (ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal)


@dataclass(eq=False)
class Node:
    stmt: ast.AST | None  # the statement (or handler / match case) the node evaluates
    uses: frozenset = frozenset()
    defs: frozenset = frozenset()  # bound whenever the node completes normally
    maydefs: frozenset = frozenset()  # bound on some paths only (walrus in `and`, `if`, comprehension)
    kills: frozenset = frozenset()  # unbound (`del x`, the end of `except E as x:`)
    succ: list = field(default_factory=list)
    esucc: list = field(default_factory=list)  # where an exception raised here goes


class _WorkList:
    """A FIFO of nodes in which a node waits at most once."""

    def __init__(self, nodes) -> None:
        self.queue = deque()
        self.waiting: set[int] = set()
        self.extend(nodes)

    def __bool__(self) -> bool:
        return bool(self.queue)

    def popleft(self) -> Node:
        node = self.queue.popleft()
        self.waiting.discard(id(node))
        return node

    def extend(self, nodes) -> None:
        for node in nodes:
            if id(node) not in self.waiting:
                self.waiting.add(id(node))
                self.queue.append(node)


class _Jump:
    """Where abrupt exits of one kind go; wired once the construct that owns it is built."""

    def __init__(self) -> None:
        self.sources: list[tuple[Node, bool]] = []  # (node, by exception)

    def add(self, node: Node, exc: bool = False) -> None:
        self.sources.append((node, exc))

    def wire(self, target: Node) -> None:
        for node, exc in self.sources:
            (node.esucc if exc else node.succ).append(target)


@dataclass
class _Ctx:
    exc: _Jump
    ret: _Jump
    brk: _Jump | None = None
    cont: _Jump | None = None


class Flow:
    """The graph of ``func``'s body and the three facts, computed once."""

    def __init__(self, body: list[ast.stmt], params: set[str]):
        self.nodes: list[Node] = []
        self.of: dict[int, list[list[Node]]] = {}  # id(stmt) -> the node sets of each copy
        self._owner: list[list[Node]] = []  # node lists of the statements being built
        self.entry = self._new(None, defs=frozenset(params))
        self.exit = self._new(None)
        self.raised = self._new(None)
        exc, ret = _Jump(), _Jump()
        ends = self._block(body, [self.entry], _Ctx(exc, ret))
        self._link(ends, self.exit)
        exc.wire(self.raised)
        ret.wire(self.exit)
        self.must_in, self.may_in, self.live_in = self._solve()

    # -- building -----------------------------------------------------------------------------
    def _new(self, stmt, **facts) -> Node:
        node = Node(stmt, **facts)
        self.nodes.append(node)
        for owned in self._owner:
            owned.append(node)
        return node

    @staticmethod
    def _link(preds: list[Node], node: Node) -> None:
        for pred in preds:
            pred.succ.append(node)

    def _simple(self, stmt: ast.AST, preds: list[Node], ctx: _Ctx, uses=(), defs=(), maydefs=(),
                kills=(), raises: bool = True) -> Node:
        node = self._new(stmt, uses=frozenset(uses), defs=frozenset(defs), maydefs=frozenset(maydefs),
                         kills=frozenset(kills))
        self._link(preds, node)
        if raises:
            ctx.exc.add(node, exc=True)
        return node

    def _block(self, body: list[ast.stmt], preds: list[Node], ctx: _Ctx) -> list[Node]:
        for stmt in body:
            owned: list[Node] = []
            self._owner.append(owned)
            preds = self._stmt(stmt, preds, ctx)
            self._owner.pop()
            self.of.setdefault(id(stmt), []).append(owned)
        return preds

    def _stmt(self, s: ast.stmt, preds: list[Node], ctx: _Ctx) -> list[Node]:
        if isinstance(s, ast.If):
            head = self._expr_node(s, [s.test], preds, ctx)
            return self._block(s.body, [head], ctx) + (self._block(s.orelse, [head], ctx) if s.orelse else [head])
        if isinstance(s, ast.While):
            head = self._expr_node(s, [s.test], preds, ctx)
            brk, cont = _Jump(), _Jump()
            self._link(self._block(s.body, [head], _Ctx(ctx.exc, ctx.ret, brk, cont)), head)
            cont.wire(head)
            forever = isinstance(s.test, ast.Constant) and bool(s.test.value)
            ends = [] if forever else self._block(s.orelse, [head], ctx) if s.orelse else [head]
            return ends + [n for n, _ in brk.sources]
        if isinstance(s, (ast.For, ast.AsyncFor)):
            target = accesses([ast.Assign(targets=[s.target], value=ast.Constant(None))])
            first = self._expr_node(s, [s.iter], preds, ctx)
            step = self._simple(s, [first], ctx)  # next(iterator): the loop ends or goes on
            bind = self._simple(s, [step], ctx, uses=target.reads, defs=target.binds, raises=False)
            brk, cont = _Jump(), _Jump()
            self._link(self._block(s.body, [bind], _Ctx(ctx.exc, ctx.ret, brk, cont)), step)
            cont.wire(step)
            ends = self._block(s.orelse, [step], ctx) if s.orelse else [step]
            return ends + [n for n, _ in brk.sources]
        if isinstance(s, (ast.With, ast.AsyncWith)):
            names = accesses([ast.Assign(targets=[i.optional_vars], value=i.context_expr)
                              if i.optional_vars is not None else ast.Expr(i.context_expr) for i in s.items])
            head = self._simple(s, preds, ctx, uses=names.reads, defs=names.binds)
            if not may_swallow(s):
                return self._block(s.body, [head], ctx)
            swallowed = _Jump()
            inner = _Ctx(_Tee(swallowed, ctx.exc), ctx.ret, ctx.brk, ctx.cont)
            ends = self._block(s.body, [head], inner)
            out = self._new(s)  # after `__exit__` swallowed an exception from the body
            swallowed.wire(out)
            return ends + [out]
        if isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            return self._try(s, preds, ctx)
        if isinstance(s, ast.Match):
            head = self._expr_node(s, [s.subject], preds, ctx)
            ends, tests = [], [head]
            for case in s.cases:
                values = [c.value if isinstance(c, ast.MatchValue) else c.cls for c in walk(case.pattern)
                          if isinstance(c, (ast.MatchValue, ast.MatchClass))]
                uses = set(accesses([ast.Expr(v) for v in values]).reads)
                attempt = self._simple(case, tests, ctx, uses=uses)
                # The captures are bound before the guard runs, and stay bound if it fails.
                bound = self._simple(case, [attempt], ctx, defs=pattern_names(case.pattern), raises=False)
                tests = [attempt]
                entry = bound
                if case.guard is not None:
                    guard = accesses([ast.Expr(case.guard)])
                    maybe = _conditional_walrus(case.guard)
                    entry = self._simple(case, [bound], ctx, uses=guard.reads,
                                         defs=set(guard.binds) - maybe, maydefs=maybe)
                    tests.append(entry)
                ends += self._block(case.body, [entry], ctx)
                if _irrefutable(case):
                    tests = []
                    break
            return ends + tests
        if isinstance(s, ast.Delete):
            flat = [t for target in s.targets for t in _unpack(target)]
            names = {t.id for t in flat if isinstance(t, ast.Name)}
            others = accesses([ast.Expr(t) for t in flat if not isinstance(t, ast.Name)])
            return [self._simple(s, preds, ctx, uses=names | set(others.reads), kills=names)]
        if isinstance(s, ast.Assert):  # the message runs only when the assert fails, then raises
            got = accesses([ast.Expr(s.test)] + ([ast.Expr(s.msg)] if s.msg is not None else []))
            maybe = _conditional_walrus(s.test)
            bound = set(accesses([ast.Expr(s.test)]).binds) - maybe
            return [self._simple(s, preds, ctx, uses=got.reads, defs=bound, maydefs=maybe)]
        got = accesses([s])
        maybe = _conditional_walrus(s)
        node = self._simple(s, preds, ctx, uses=got.reads, defs=set(got.binds) - maybe, maydefs=maybe,
                            raises=not isinstance(s, _NO_RAISE))
        if isinstance(s, ast.Return):
            ctx.ret.add(node)
            return []
        if isinstance(s, ast.Raise):
            return []
        if isinstance(s, ast.Break):
            ctx.brk.add(node)
            return []
        if isinstance(s, ast.Continue):
            ctx.cont.add(node)
            return []
        return [node]

    def _expr_node(self, stmt: ast.stmt, exprs: list[ast.expr], preds: list[Node], ctx: _Ctx) -> Node:
        got = accesses([ast.Expr(e) for e in exprs])
        maybe = set().union(*(_conditional_walrus(e) for e in exprs))
        return self._simple(stmt, preds, ctx, uses=got.reads, defs=set(got.binds) - maybe, maydefs=maybe)

    def _try(self, s, preds: list[Node], ctx: _Ctx) -> list[Node]:
        final = bool(s.finalbody)
        # Inside a `finally`'s try, every abrupt exit passes through its abrupt copy first.
        inner = _Ctx(_Jump(), _Jump(), _Jump(), _Jump()) if final else ctx
        body_exc = _Jump() if s.handlers else inner.exc
        ends = self._block(s.body, preds, _Ctx(body_exc, inner.ret, inner.brk, inner.cont))
        ends = self._block(s.orelse, ends, inner) if s.orelse else ends
        if s.handlers:
            dispatch = self._new(s)
            body_exc.wire(dispatch)
            test, catch_all = dispatch, False
            for handler in s.handlers:
                uses = accesses([ast.Expr(handler.type)]).reads if handler.type is not None else ()
                match = self._simple(handler, [test], inner, uses=uses, defs={handler.name} if handler.name else ())
                if handler.name:  # `except E as e:` deletes `e` however the handler ends
                    hctx = _Ctx(_Jump(), _Jump(), _Jump() if inner.brk else None, _Jump() if inner.cont else None)
                    hends = self._block(handler.body, [match], hctx)
                    hends = [self._simple(handler, hends, inner, kills={handler.name}, raises=False)] if hends else []
                    for jump, outer in ((hctx.exc, inner.exc), (hctx.ret, inner.ret), (hctx.brk, inner.brk),
                                        (hctx.cont, inner.cont)):
                        if jump is not None and jump.sources:
                            kill = self._new(handler, kills=frozenset({handler.name}))
                            jump.wire(kill)
                            outer.add(kill)
                else:
                    hends = self._block(handler.body, [match], inner)
                ends += hends
                test = match
                if handler.type is None or (isinstance(handler.type, ast.Name) and handler.type.id == "BaseException"):
                    catch_all = True
                    break
            if not catch_all:
                inner.exc.add(test)  # no handler matched: the exception goes on
        if not final:
            return ends
        normal = self._block(s.finalbody, ends, ctx)
        jumps = [(inner.exc, ctx.exc), (inner.ret, ctx.ret), (inner.brk, ctx.brk), (inner.cont, ctx.cont)]
        if any(j.sources for j, _ in jumps):
            start = self._new(s)
            for jump, _ in jumps:
                jump.wire(start)
            abrupt = self._block(s.finalbody, [start], ctx)
            for jump, outer in jumps:
                if jump.sources and outer is not None:
                    for end in abrupt:
                        outer.add(end)
        return normal

    # -- solving ------------------------------------------------------------------------------
    def _solve(self):
        preds: dict[int, list[tuple[Node, bool]]] = {id(n): [] for n in self.nodes}
        for node in self.nodes:
            for s in node.succ:
                preds[id(s)].append((node, False))
            for s in node.esucc:
                preds[id(s)].append((node, True))
        must: dict[int, frozenset | None] = {id(n): None for n in self.nodes}
        may: dict[int, frozenset] = {id(n): frozenset() for n in self.nodes}
        must[id(self.entry)] = frozenset()
        # A node waits in the work list at most once: it reads its predecessors' latest facts
        # when its turn comes, and the fixpoint does not depend on the order of the work.
        work = _WorkList(self.nodes)
        while work:
            node = work.popleft()
            key = id(node)
            if node is not self.entry:
                incoming_must, incoming_may = None, frozenset()
                for pred, exc in preds[key]:
                    m = must[id(pred)]
                    if m is not None:
                        out = m if exc else (m | pred.defs) - pred.kills
                        incoming_must = out if incoming_must is None else incoming_must & out
                    pm = may[id(pred)]
                    incoming_may = incoming_may | (pm | pred.maydefs | pred.defs if exc else
                                                   (pm | pred.defs | pred.maydefs) - pred.kills)
                changed = incoming_must != must[key] or incoming_may != may[key]
                must[key], may[key] = incoming_must, incoming_may
            else:
                changed = True
                may[key] = frozenset()
            if changed:
                work.extend(node.succ)
                work.extend(node.esucc)
        live: dict[int, frozenset] = {id(n): frozenset() for n in self.nodes}
        work = _WorkList(reversed(self.nodes))
        rpreds = preds
        while work:
            node = work.popleft()
            out = frozenset().union(*(live[id(s)] for s in node.succ)) if node.succ else frozenset()
            eout = frozenset().union(*(live[id(s)] for s in node.esucc)) if node.esucc else frozenset()
            new = node.uses | ((out - node.defs) - node.kills) | eout
            if new != live[id(node)]:
                live[id(node)] = new
                work.extend(p for p, _ in rpreds[id(node)])
        return must, may, live

    # -- questions ----------------------------------------------------------------------------
    def copies(self, stmt: ast.stmt) -> list[list[Node]]:
        return self.of.get(id(stmt), [])

    def must_before(self, stmt: ast.stmt) -> frozenset:
        """Names bound on every path that reaches ``stmt`` (in every copy of it)."""
        out = None
        for nodes in self.copies(stmt):
            m = self.must_in[id(nodes[0])]
            if m is not None:
                out = m if out is None else out & m
        return out if out is not None else frozenset()

    def may_before(self, stmt: ast.stmt) -> frozenset:
        return frozenset().union(*(self.may_in[id(nodes[0])] for nodes in self.copies(stmt)))

    def reachable(self, stmt: ast.stmt) -> bool:
        return any(self.must_in[id(nodes[0])] is not None for nodes in self.copies(stmt))

    def exits(self, run: list[ast.stmt]) -> tuple[frozenset, frozenset]:
        """(live after the run completes or jumps out, live where an exception from it goes)."""
        inside = {id(n) for s in run for nodes in self.copies(s) for n in nodes}
        normal, raised = frozenset(), frozenset()
        for s in run:
            for nodes in self.copies(s):
                for node in nodes:
                    for t in node.succ:
                        if id(t) not in inside:
                            normal |= self.live_in[id(t)]
                    for t in node.esucc:
                        if id(t) not in inside:
                            raised |= self.live_in[id(t)]
        return normal, raised

    def live_in_at(self, stmt: ast.stmt) -> frozenset:
        return frozenset().union(*(self.live_in[id(nodes[0])] for nodes in self.copies(stmt)))


class _Tee(_Jump):
    """An exception inside `with` may be swallowed by `__exit__` or go on: both edges."""

    def __init__(self, a: _Jump, b: _Jump):
        super().__init__()
        self.a, self.b = a, b

    def add(self, node: Node, exc: bool = False) -> None:
        self.a.add(node, exc)
        self.b.add(node, exc)


def run_facts(run: list[ast.stmt], bound: frozenset) -> tuple[frozenset, frozenset]:
    """For a run on its own, entered with ``bound`` names bound: (the names it may read before
    it binds them, the names certainly bound when it completes normally)."""
    flow = Flow(run, set(bound))
    exposed = frozenset().union(*(flow.live_in[id(s)] for s in flow.entry.succ))
    at_end = flow.must_in[id(flow.exit)]
    return exposed, at_end if at_end is not None else frozenset()


def _unpack(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for e in target.elts for t in _unpack(e)]
    return [target]


def _irrefutable(case: ast.match_case) -> bool:
    pattern = case.pattern
    while isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        pattern = pattern.pattern
    return case.guard is None and isinstance(pattern, ast.MatchAs) and pattern.pattern is None


def _conditional_walrus(node: ast.AST) -> set[str]:
    """Walrus targets that are bound only on some paths through the expression."""
    out: set[str] = set()

    def visit(n: ast.AST, conditional: bool) -> None:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return  # its own scope
        if isinstance(n, ast.NamedExpr) and conditional:
            out.add(n.target.id)
        if isinstance(n, ast.BoolOp):
            visit(n.values[0], conditional)
            for v in n.values[1:]:
                visit(v, True)
            return
        if isinstance(n, ast.IfExp):
            visit(n.test, conditional)
            visit(n.body, True)
            visit(n.orelse, True)
            return
        if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            visit(n.generators[0].iter, conditional)
            for child in child_nodes(n):
                if child is not n.generators[0]:
                    visit(child, True)
            for gen in n.generators:
                for child in [gen.target, *gen.ifs] + ([gen.iter] if gen is not n.generators[0] else []):
                    visit(child, True)
            return
        for child in child_nodes(n):
            visit(child, conditional)

    visit(node, False)
    return out
