"""Unit tests for asyncfix.transforms.quiet (coroutines that never suspend) and
asyncfix.transforms.callers (what their callers do around the await)."""

from __future__ import annotations

import ast
import textwrap

from asyncfix.transforms.callers import around
from asyncfix.engine.astutil import parent_map
from asyncfix.transforms.offload import _own_locals
from asyncfix.transforms.quiet import Coroutines
from asyncfix.transforms.sharing import Sharing

SOURCE = textwrap.dedent("""\
    import asyncio

    CACHE = {}


    async def leaf(p):
        return open(p).read()


    async def middle(p):
        return await leaf(p) + await leaf(p)


    async def loud(p):
        await asyncio.sleep(0)
        return p


    async def above_loud(p):
        return await loud(p)


    async def ping():
        return await pong()


    async def pong():
        return await ping()


    async def agen():
        yield 1


    async def uses_with(lock):
        async with lock:
            return 1


    class Box:
        async def run(self, p):
            return await self.get(p) + await Box.stat(p)

        async def get(self, p):
            return p

        @staticmethod
        async def stat(p):
            return p

        async def outer(self):
            async def inner():
                return 1
            return await inner()
""")


def _coroutines(source: str = SOURCE) -> tuple[ast.Module, Coroutines, dict]:
    tree = ast.parse(source)
    coroutines = Coroutines(tree)
    by_name = {f.name: f for f, _ in coroutines.all}
    return tree, coroutines, by_name


def _quiet_names(coroutines: Coroutines, by_name: dict) -> set[str]:
    return {name for name, f in by_name.items() if id(f) in coroutines.quiet}


def test_which_never_suspend():
    _, coroutines, by_name = _coroutines()
    assert _quiet_names(coroutines, by_name) == {
        "leaf", "middle", "ping", "pong", "run", "get", "stat", "outer", "inner"}


def test_silent_awaits_are_those_of_quiet_coroutines():
    _, coroutines, by_name = _coroutines()
    assert len(coroutines.silent(by_name["middle"])) == 2
    assert coroutines.silent(by_name["above_loud"]) == frozenset()
    assert len(coroutines.silent(by_name["run"])) == 2  # self.get(...) and Box.stat(...)
    assert len(coroutines.silent(by_name["outer"])) == 1  # a coroutine defined inside it


def test_a_name_defined_twice_is_each_of_its_definitions():
    _, coroutines, by_name = _coroutines(textwrap.dedent("""\
        import asyncio
        if X:
            async def co():
                return 1
        else:
            async def co():
                await asyncio.sleep(0)
        async def main():
            return await co()
    """))
    assert coroutines.silent(by_name["main"]) == frozenset()
    assert id(by_name["main"]) not in coroutines.quiet


def test_a_new_await_makes_it_and_its_quiet_callers_suspend():
    _, coroutines, by_name = _coroutines()
    coroutines.now_suspends(by_name["leaf"])
    assert id(by_name["leaf"]) not in coroutines.quiet_after
    assert coroutines.silent(by_name["middle"]) == frozenset()
    assert id(by_name["middle"]) not in coroutines.quiet_after
    assert id(by_name["middle"]) in coroutines.quiet  # today's code is unchanged
    assert len(coroutines.silent(by_name["middle"], today=True)) == 2


def test_order_puts_callees_first():
    _, coroutines, by_name = _coroutines()
    names = [f.name for f, _ in coroutines.order()]
    assert sorted(names) == sorted(by_name)
    assert names.index("leaf") < names.index("middle")
    assert names.index("loud") < names.index("above_loud")
    assert names.index("get") < names.index("run") and names.index("stat") < names.index("run")
    assert names.index("inner") < names.index("outer")


def test_sites_list_each_await_of_a_coroutine():
    _, coroutines, by_name = _coroutines()
    sites = coroutines.sites(by_name["leaf"])
    assert [s.caller.name for s in sites] == ["middle", "middle"]
    assert [s.bound for s in coroutines.sites(by_name["get"])] == [True]
    assert [s.bound for s in coroutines.sites(by_name["stat"])] == [True]  # a static method


CALLERS = textwrap.dedent("""\
    CACHE = {}
    LOG = []


    async def load(store, key):
        return open(key).read()


    async def main(key, store, other):
        if key not in CACHE:
            other.append(1)
            CACHE[key] = await load(store, key)
            store.x = 1
        return key


    class Box:
        async def run(self, key):
            asyncio.get_running_loop().call_soon(LOG.append, 1)
            value = await self.fetch(key)
            self.items = value

        async def fetch(self, key):
            return open(key).read()
""")


def _around(name: str):
    tree = ast.parse(CALLERS)
    coroutines = Coroutines(tree)
    by_name = {f.name: f for f, _ in coroutines.all}
    module_vars = {"CACHE", "LOG", "Box"}

    def view(func):
        args = func.args
        params = [a.arg for a in args.posonlyargs + args.args]
        sharing = Sharing.of(func, params, _own_locals(func), module_vars, {}, coroutines, module_vars)
        return parent_map(func), sharing, coroutines.silent(func, today=True)

    return around(by_name[name], coroutines, view, module_vars)


def test_callers_part_is_named_as_the_callee_names_it():
    got = _around("load")
    assert got.reads_before == {"CACHE", "key"}  # `key not in CACHE`: the caller's check
    assert got.writes_before == set()  # `other.append(1)`: load is not handed `other`
    assert got.writes_after == {"CACHE", "store.x"}  # `store` is load's `store`
    assert got.deferred_before == set()


def test_callers_part_maps_self_of_a_bound_call_and_scheduled_callbacks():
    got = _around("fetch")
    assert got.deferred_before == {"LOG"}
    assert got.writes_after == {"self.items"}


def test_reach_says_whether_the_section_meets_the_callers():
    from asyncfix.transforms.atomicity import reach

    func = ast.parse(textwrap.dedent("""\
        async def read(p):
            a = first(p)
            await asyncio.sleep(0)
            b = middle(p)
            await asyncio.sleep(0)
            if a:
                await asyncio.sleep(0)
            c = last(p)
            return a, b, c
    """)).body[0]
    parents = parent_map(func)
    flags = [reach([func.body[k]], func, parents)[2:] for k in (0, 2, 5)]
    # before the first await: one go with the caller's code before the call; after the last
    # certain await (the `if` may skip its await): with the caller's code after it
    assert flags == [(True, False), (False, False), (False, True)]


def test_a_nested_coroutine_is_found_in_the_callers_scope_first():
    _, coroutines, _ = _coroutines(textwrap.dedent("""\
        import asyncio

        async def run():
            async def f0():
                return 1
            return await f0()

        async def other():
            async def f0():
                await asyncio.sleep(0)
            async def inner():
                return await f0()
            return await f0()
    """))
    by_line = {f.lineno: f for f, _ in coroutines.all}
    run, f0_quiet, other, f0_loud, inner = (by_line[n] for n in (3, 4, 8, 9, 11))
    assert [f.name for f in (run, f0_quiet, other, f0_loud, inner)] == ["run", "f0", "other", "f0", "inner"]
    call = lambda func: next(n.value for n in ast.walk(func) if isinstance(n, ast.Await))  # noqa: E731
    assert coroutines.callee(call(run), run)[0] == [f0_quiet]
    assert coroutines.callee(call(inner), inner)[0] == [f0_loud]  # the scope around it
    assert id(run) in coroutines.quiet and id(other) not in coroutines.quiet
