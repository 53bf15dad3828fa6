"""Unit tests for asyncfix.transforms.atomicity: check-then-act sections a thread hop would split.

In each snippet the blocking call is `load(...)`: a hop is either that call alone (awaited in a
thread where it stands) or the statements marked `# run` (moved into a helper).
"""

from __future__ import annotations

import ast
import textwrap

import pytest

from asyncfix.transforms.atomicity import always_awaits, section, split_reason
from asyncfix.transforms.sharing import Sharing


def _clash(name: str, what: str = "a thread hop") -> str:
    return (f"{what} here would let another call change `{name}` between its check and its update "
            f"(they run without an await between them today)")


class _Case:
    def __init__(self, src: str):
        text = textwrap.dedent(src)
        self.func = ast.parse(text).body[0]
        args = self.func.args
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        local_names = {n.id for n in ast.walk(self.func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        self.sharing = Sharing.of(self.func, params, local_names - set(params), set())
        self.parents = {c: n for n in ast.walk(self.func) for c in ast.iter_child_nodes(n)}
        self.calls = [n for n in ast.walk(self.func) if isinstance(n, ast.Call) and ast.unparse(n.func) == "load"]
        self.blocking = {id(c) for c in self.calls}
        marked = {n for n, line in enumerate(text.splitlines(), 1) if "# run" in line}
        self.run = sorted((n for n in ast.walk(self.func) if isinstance(n, ast.stmt) and n is not self.func
                           and n.lineno in marked), key=lambda s: s.lineno)

    def statement_of(self, node: ast.AST) -> ast.stmt:
        while not isinstance(node, ast.stmt):
            node = self.parents[node]
        return node

    def single(self, what: str = "a thread hop") -> str | None:
        call = self.calls[0]
        return split_reason([self.statement_of(call)], [call], self.func, self.parents, self.sharing,
                            self.blocking, what)

    def helper(self) -> str | None:
        assert self.run, "no statement marked `# run`"
        return split_reason(self.run, self.run, self.func, self.parents, self.sharing, self.blocking)

    def section(self) -> tuple[list[str], list[str]]:
        hop = self.run or [self.statement_of(self.calls[0])]
        before, after = section(hop, self.func, self.parents)
        first = lambda nodes: [ast.unparse(n).splitlines()[0] for n in nodes]  # noqa: E731
        return first(before), first(after)


ROW5 = """
async def get(self, key, p):
    if key not in self.items:
        self.items[key] = load(p)
    return self.items[key]
"""


def test_row5_single_call_hop_splits_check_then_act():
    assert _Case(ROW5).single() == _clash("self.items")


def test_row5_without_the_return():
    src = """
        async def get(self, key, p):
            if key not in self.items:
                self.items[key] = load(p)
    """
    assert _Case(src).single() == _clash("self.items")


def test_row5_section():
    assert _Case(ROW5).section() == (["key not in self.items"], ["return self.items[key]"])


def test_what_names_the_new_await():
    assert _Case(ROW5).single("an async sleep") == _clash("self.items", "an async sleep")


SINGLE = [
    pytest.param("""
        async def f(self, p):
            self.state = 'loading'
            self.data = load(p)
    """, None, id="write-write-is-not-a-clash"),
    pytest.param("""
        async def f(self, p):
            self.items.clear()
            x = load(p)
            self.items.append(x)
    """, None, id="mutator-write-write-is-not-a-clash"),
    pytest.param("""
        async def f(self, p):
            self.ready = False
            x = load(p)
            if self.ready:
                pass
    """, _clash("self.ready"), id="write-before-read-after"),
    pytest.param("""
        async def f(self, p):
            n = len(self.items)
            x = load(p)
            self.items.append(x)
    """, _clash("self.items"), id="read-before-mutator-after"),
    pytest.param("""
        async def f(self, p):
            x = load(p)
            if p not in self.items:
                self.items[p] = x
    """, None, id="check-and-act-both-after"),
    pytest.param("""
        async def f(self, key, p):
            if key not in self.items:
                await asyncio.sleep(0)
                self.items[key] = load(p)
    """, None, id="await-between-check-and-hop"),
    pytest.param("""
        async def f(self, key, p):
            if key in self.items:
                return
            x = load(p)
            self.items[key] = x
    """, _clash("self.items"), id="check-before-act-after"),
    pytest.param("""
        async def f(self, key, p):
            if key in self.items:
                return
            x = load(p)
            await self.flush()
            self.items[key] = x
    """, None, id="section-ends-at-an-await"),
    pytest.param("""
        async def f(self, key, c, p):
            if key in self.items:
                return
            if c:
                await g()
            else:
                await h()
            self.items[key] = load(p)
    """, None, id="await-on-every-branch-ends-section"),
    pytest.param("""
        async def f(self, key, c, p):
            if key in self.items:
                return
            if c:
                await g()
            self.items[key] = load(p)
    """, _clash("self.items"), id="await-on-one-branch-does-not"),
    pytest.param("""
        async def f(self, key, p):
            if key in self.items:
                return
            try:
                g()
            finally:
                await h()
            self.items[key] = load(p)
    """, None, id="await-in-finally-ends-section"),
    pytest.param("""
        async def f(self, key, p):
            if key in self.items:
                return
            try:
                await h()
            except E:
                pass
            self.items[key] = load(p)
    """, _clash("self.items"), id="await-in-try-body-may-be-skipped"),
    pytest.param("""
        async def f(self, key, p):
            if key in self.items:
                return
            async def later():
                await h()
            self.items[key] = load(p)
    """, _clash("self.items"), id="await-in-nested-def-does-not-run"),
    pytest.param("""
        async def f(self, key, p):
            if key not in self.items:
                try:
                    self.items[key] = load(p)
                except OSError:
                    pass
    """, _clash("self.items"), id="inside-try-body"),
    pytest.param("""
        async def f(self, key, p):
            if key not in self.items:
                try:
                    pass
                except OSError:
                    self.items[key] = load(p)
    """, _clash("self.items"), id="inside-handler"),
    pytest.param("""
        async def f(self, key, p):
            try:
                known = key in self.items
            finally:
                self.items[key] = load(p)
    """, _clash("self.items"), id="inside-finally"),
    pytest.param("""
        async def f(self, paths, key, p):
            for q in paths:
                if q in self.items:
                    break
            else:
                self.items[key] = load(p)
    """, _clash("self.items"), id="loop-else-after-body"),
    pytest.param("""
        async def f(self, p):
            if self.items.get(p) is None:
                pass
            with load(p) as fh:
                self.items[p] = fh.read()
    """, _clash("self.items"), id="call-in-with-header-body-comes-after"),
    pytest.param("""
        async def f(self, key, p):
            if self.cache.has(key):
                return
            self.cache.store(key, load(p))
    """, None, id="unknown-methods-are-not-accesses"),
    pytest.param("""
        async def f(self, key, p):
            if key in self.cache:
                return
            self.cache.update({key: load(p)})
    """, _clash("self.cache"), id="mutator-around-the-call"),
    pytest.param("""
        async def f(self, key, p):
            if not validate(self):
                return
            self.items[key] = load(p)
    """, _clash("self"), id="object-passed-whole-covers-its-attributes"),
    pytest.param("""
        async def f(self, p):
            self.n = 0
            x = load(p)
            self.n += x
    """, _clash("self.n"), id="augassign-reads"),
    pytest.param("""
        async def f(self, p):
            out = {}
            if p not in out:
                out[p] = load(p)
    """, None, id="own-objects"),
    pytest.param("""
        async def f(self, paths):
            for p in paths:
                x = load(p)
                if p not in self.seen:
                    self.seen.add(p)
    """, _clash("self.seen"), id="loop-without-await-repeats-the-section"),
    pytest.param("""
        async def f(self, paths):
            for p in paths:
                x = load(p)
                if p not in self.seen:
                    self.seen.add(p)
                await asyncio.sleep(0)
    """, None, id="loop-with-await"),
    pytest.param("""
        async def f(self, paths):
            out = []
            for p in paths:
                out.append(load(p))
    """, None, id="loop-on-own-objects"),
    pytest.param("""
        async def f(self, p):
            while self.pending:
                x = load(p)
                self.pending.pop()
    """, _clash("self.pending"), id="while-header-and-body"),
]


@pytest.mark.parametrize(("src", "reason"), SINGLE)
def test_single_call_hop(src, reason):
    assert _Case(src).single() == reason


HELPER = [
    pytest.param("""
        async def f(self, key, p):
            known = key in self.items  # run
            data = load(p)  # run
            if not known:
                self.items[key] = data
    """, _clash("self.items"), id="check-in-helper-act-after"),
    pytest.param("""
        async def f(self, key, p):
            cached = self.items.get(key)
            data = load(p)  # run
            size = len(data)  # run
            self.items[key] = data
    """, _clash("self.items"), id="check-before-act-after"),
    pytest.param("""
        async def f(self, p):
            self.items.clear()
            data = load(p)  # run
            n = len(self.items)  # run
    """, _clash("self.items"), id="write-before-read-in-helper"),
    pytest.param("""
        async def f(self, key, p):
            data = load(p)  # run
            size = len(data)  # run
            self.items[key] = data
    """, None, id="act-after-only"),
    pytest.param("""
        async def f(self, key, p):
            data = load(p)  # run
            known = key in self.items  # run
            await self.flush()
            self.items[key] = data
    """, None, id="await-after-helper"),
]


@pytest.mark.parametrize(("src", "reason"), HELPER)
def test_helper_hop(src, reason):
    assert _Case(src).helper() == reason


SECTIONS = [
    pytest.param("""
        async def f(self, p):
            a = 1
            await g()
            b = 2
            x = load(p)
            c = 3
            await h()
            d = 4
    """, (["b = 2", "await g()"], ["c = 3", "await h()"]), id="bounded-by-awaits"),
    pytest.param("""
        async def f(self, p):
            a = 1
            b = 2
            x = load(p)
            c = 3
    """, (["b = 2", "a = 1"], ["c = 3"]), id="before-is-nearest-first"),
    pytest.param("""
        async def f(self, c, p):
            if c:
                x = load(p)
            else:
                y = 2
            z = 3
    """, (["c"], ["z = 3"]), id="if-header-before-body"),
    pytest.param("""
        async def f(self, c, p):
            if c:
                y = 2
            else:
                x = load(p)
    """, (["c"], []), id="if-header-before-else"),
    pytest.param("""
        async def f(self, v, p):
            match v:
                case [a]:
                    x = load(p)
            z = 1
    """, (["v"], ["z = 1"]), id="match-subject-before-case"),
    pytest.param("""
        async def f(self, paths):
            for p in paths:
                x = load(p)
                await g()
    """, (["paths", "p"], ["await g()"]), id="loop-with-await"),
]


@pytest.mark.parametrize(("src", "expected"), SECTIONS)
def test_section(src, expected):
    assert _Case(src).section() == expected


def test_section_of_loop_without_await_holds_the_whole_body_on_both_sides():
    before, after = _Case("""
        async def f(self, paths):
            n = 0
            for p in paths:
                x = load(p)
                n += 1
    """).section()
    assert set(before) == {"paths", "p", "x = load(p)", "n += 1", "n = 0"}
    assert set(after) == {"paths", "p", "x = load(p)", "n += 1"}
    assert before[-1] == "n = 0"
    assert after[0] == "n += 1"


@pytest.mark.parametrize(("src", "expected"), [
    ("x = await f()", True),
    ("async for x in y:\n    pass", True),
    ("async with y:\n    pass", True),
    ("x = yield 1", True),
    ("x = yield from g()", True),
    ("if await c():\n    pass", True),
    ("if c:\n    await f()\nelse:\n    await g()", True),
    ("if c:\n    await f()", False),
    ("for x in await y():\n    pass", True),
    ("for x in y:\n    await f()", False),
    ("while await c():\n    pass", True),
    ("while c:\n    await f()", False),
    ("with (await get_cm()):\n    pass", True),
    ("try:\n    pass\nfinally:\n    await f()", True),
    ("try:\n    await f()\nexcept E:\n    pass", False),
    ("match await g():\n    case _:\n        pass", True),
    ("x = (await a()) or b", True),
    ("x = a or await b()", False),
    ("x = a if await c() else b", True),
    ("x = (await a()) if c else b", False),
    ("x = [v for v in await g()]", True),
    ("x = [await g(v) for v in vs]", False),
    ("x = f()", False),
    ("async def g():\n    await f()", False),
    ("if c:\n    async def g():\n        await f()", False),
    ("x = lambda: (yield)", False),
])
def test_always_awaits(src, expected):
    wrapped = "async def outer():\n" + textwrap.indent(src, "    ")
    stmt = ast.parse(wrapped).body[0].body[0]
    assert always_awaits(stmt) is expected


# -- regressions: each passed a hop that splits a check-then-act before the fix -----------------

@pytest.mark.parametrize("src", [
    pytest.param("""
        async def get(key, p):
            if key not in CACHE:
                CACHE[key] = load(p)
    """, id="module-dict-used-whole-in-the-check"),
    pytest.param("""
        async def get(self, key, p):
            items = self.items
            if key not in items:
                items[key] = load(p)
    """, id="alias-used-whole-in-the-check"),
    pytest.param("""
        async def get(self, key, p, other):
            if key in self.items:
                return
            with suppress(KeyError):
                v = other[key]
                await h()
            self.items[key] = load(p)
    """, id="await-a-swallowing-with-may-skip"),
])
def test_check_then_act_regressions(src):
    case = _Case(src)
    if "CACHE" in src:
        case.sharing = Sharing.of(case.func, ["key", "p"], set(), {"CACHE"})
    assert case.single() is not None


# -- found by the long fuzz run (seed 13) --------------------------------------------------------

def test_a_call_that_may_raise_into_a_handler_does_not_end_the_section_at_its_await():
    from asyncfix.transforms.atomicity import _may_resume

    func = ast.parse(textwrap.dedent("""\
        async def main(items):
            with Quiet():
                await small(size(p))
            try:
                await small(size(p))
            finally:
                done()
            await small(size(p))
    """)).body[0]
    parents = {c: n for n in ast.walk(func) for c in ast.iter_child_nodes(n)}
    stmts = [func.body[0].body[0], func.body[1].body[0], func.body[2]]
    assert [_may_resume(s, func, parents) for s in stmts] == [True, True, False]


def test_a_statement_planned_to_await_ends_a_later_hop_s_section():
    from asyncfix.transforms.atomicity import reach

    func = ast.parse(textwrap.dedent("""\
        async def main(p):
            n = COUNTER
            a = first(p)
            b = second(p)
    """)).body[0]
    parents = {c: n for n in ast.walk(func) for c in ast.iter_child_nodes(n)}
    before, _, to_start, _ = reach([func.body[2]], func, parents)
    assert len(before) == 2 and to_start
    before, _, to_start, _ = reach([func.body[2]], func, parents, hops=frozenset({id(func.body[1])}))
    assert before == [func.body[1]] and not to_start


def test_a_with_block_that_always_awaits_ends_its_header_hop_s_section():
    # every path that completes the block awaits in its body: the write after it is another section
    assert _Case("""
        async def main(self, p):
            n = len(self.items)
            with open(load(p)) as fh:
                text = fh.read()
                await asyncio.sleep(0)
            self.items.append(text)
    """).single() is None
    # a block whose body may skip its await (a swallowing manager around the await): not so
    assert _Case("""
        async def main(self, p):
            n = len(self.items)
            with open(load(p)) as fh:
                with suppress(OSError):
                    await asyncio.sleep(0)
            self.items.append(n)
    """).single() == _clash("self.items")
