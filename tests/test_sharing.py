"""Unit tests for asyncfix.transforms.sharing: shared names, access keys, reads and writes."""

from __future__ import annotations

import ast
import textwrap

import pytest

from asyncfix.transforms.sharing import Sharing, is_logger, key, module_functions, root


def _func(src: str) -> ast.AsyncFunctionDef:
    return ast.parse(textwrap.dedent(src)).body[0]


def _sharing(func: ast.AsyncFunctionDef, outer_vars=()) -> Sharing:
    args = func.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    local_names = {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return Sharing.of(func, params, local_names - set(params), set(outer_vars))


def _accesses(src: str, strict: bool = True, outer_vars=(), blocking: str | None = None):
    """(shared, reads, writes) of the whole body; ``blocking``: the callee text of the catalogued
    blocking calls."""
    func = _func(src)
    sharing = _sharing(func, outer_vars)
    ids = {id(n) for n in ast.walk(func) if isinstance(n, ast.Call) and ast.unparse(n.func) == blocking}
    reads, writes = sharing.accesses(func.body, ids, strict)
    return sharing.shared, reads, writes


def _expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


# -- key / root ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("self.items[k].x", "self.items"),
    ("self.items", "self.items"),
    ("self.a.b.c", "self.a"),
    ("self.m().n", "self.m"),
    ("self.items.get(k)", "self.items"),
    ("CACHE[k]", "CACHE"),
    ("CACHE[k][j]", "CACHE"),
    ("x", "x"),
    ("(a or b).c", None),
    ("f()[0]", "f"),
])
def test_key(text, expected):
    assert key(_expr(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("self.items[k].x", "self"),
    ("CACHE[k]", "CACHE"),
    ("obj.method().attr", "obj"),
    ("x", "x"),
    ("(a or b).c", None),
    ("'s'.join", None),
])
def test_root(text, expected):
    got = root(_expr(text))
    assert (got.id if got is not None else None) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("logger.info", True),
    ("log.debug", True),
    ("logging.warning", True),
    ("LOGGER.error", True),
    ("_log.info", True),
    ("self.log.debug", True),
    ("self._logger.debug", True),
    ("self.audit_log.info", True),
    ("request_logger.info", True),
    ("self.logs.append", False),
    ("blog.post", False),
    ("catalog.get", False),
    ("self.items.append", False),
    ("info", False),
])
def test_is_logger(text, expected):
    assert is_logger(_expr(text)) is expected


# -- which names are shared ---------------------------------------------------------------------

@pytest.mark.parametrize(("src", "outer", "shared"), [
    pytest.param("""
        async def f(self, key):
            out = {}
            data = load()
    """, (), {"self", "key"}, id="params-only-fresh-objects-are-own"),
    pytest.param("""
        async def f(self):
            items = self.items
    """, (), {"self", "items"}, id="attribute-alias"),
    pytest.param("""
        async def f(self):
            for row in self.rows:
                pass
    """, (), {"self", "row"}, id="for-target-alias"),
    pytest.param("""
        async def f(self):
            names = [r.name for r in self.rows]
    """, (), {"self", "r"}, id="comprehension-target-alias"),
    pytest.param("""
        async def f(self):
            a = self.x
            b = a
            c = b[0]
    """, (), {"self", "a", "b", "c"}, id="aliases-of-aliases"),
    pytest.param("""
        async def f(self):
            c = b
            b = a
            a = self.x
    """, (), {"self", "a", "b", "c"}, id="aliases-in-any-order"),
    pytest.param("""
        async def f(self, cond):
            g = self.q if cond else None
            h = None or self.r
            if (w := self.s):
                pass
            v: dict = self.t
    """, (), {"self", "cond", "g", "h", "w", "v"}, id="ternary-boolop-walrus-annassign"),
    pytest.param("""
        async def f(self):
            n = len(self.items)
            s = str(self.name)
    """, (), {"self"}, id="call-results-are-own"),
    pytest.param("""
        async def f():
            x = CACHE
    """, {"CACHE"}, {"CACHE", "x"}, id="module-variable"),
    pytest.param("""
        async def f():
            CACHE = {}
    """, {"CACHE"}, set(), id="local-shadows-module-variable"),
    pytest.param("""
        async def f():
            global COUNT
            COUNT = 1
    """, (), {"COUNT"}, id="declared-global"),
    pytest.param("""
        async def f(self, c):
            if c:
                def g():
                    inner = self.items
            h = lambda: (other := self.items)
    """, (), {"self", "c"}, id="nested-function-and-lambda-not-entered"),
])
def test_shared(src, outer, shared):
    func = _func(src)
    assert _sharing(func, outer).shared == shared


def test_declared_global():
    func = _func("""
        async def f():
            global A, B
            A = 1
    """)
    assert _sharing(func).declared_global == {"A", "B"}


# -- reads and writes ---------------------------------------------------------------------------

ACCESSES = [
    pytest.param("""
        async def f(self, k):
            x = self.items[k].x
    """, {"self.items", "k"}, set(), id="read-keyed-by-first-attribute"),
    pytest.param("""
        async def f(self, k):
            self.items[k].x = 1
    """, {"k"}, {"self.items"}, id="write-through-subscript-and-attribute"),
    pytest.param("""
        async def f(self):
            self.data = 1
    """, set(), {"self.data"}, id="attribute-store"),
    pytest.param("""
        async def f(self, k):
            del self.items[k]
    """, {"k"}, {"self.items"}, id="del-is-a-write"),
    pytest.param("""
        async def f(self):
            self.count += 1
    """, {"self.count"}, {"self.count"}, id="augassign-reads-and-writes"),
    pytest.param("""
        async def f(self, k):
            items = self.items
            items[k] = 1
    """, {"self.items", "k"}, {"items"}, id="alias-write"),
    pytest.param("""
        async def f(self):
            for row in self.rows:
                row.done = True
    """, {"self.rows"}, {"row.done"}, id="for-alias-write"),
    pytest.param("""
        async def f(self):
            v = self.items.get("k")
            ks = self.items.keys()
            s = self.name.strip()
    """, {"self.items", "self.name"}, set(), id="read-only-methods"),
    pytest.param("""
        async def f(self):
            self.log.info("x")
            self._logger.debug("y")
    """, {"self.log", "self._logger"}, set(), id="logger-calls-read"),
    pytest.param("""
        async def f():
            logger.info("x")
    """, {"logger"}, set(), id="module-logger"),
    pytest.param("""
        async def f(self):
            x = 1
            out = {}
            out["a"] = x
            data = load()
            data.update(a=1)
    """, set(), set(), id="own-objects-are-not-shared"),
    pytest.param("""
        async def f(self, k):
            self.items[self.index] = k
    """, {"self.index", "k"}, {"self.items"}, id="subscript-slice-is-a-read"),
    pytest.param("""
        async def f(self):
            n = process(self.items)
    """, {"self.items"}, set(), id="argument-is-a-read"),
    pytest.param("""
        async def f(self):
            g = lambda: self.items.append(1)
            h = [self.x for _ in range(3)]
    """, {"self.x"}, set(), id="lambda-not-entered"),
]


@pytest.mark.parametrize(("src", "reads", "writes"), ACCESSES)
def test_accesses(src, reads, writes):
    _, got_reads, got_writes = _accesses(src, outer_vars={"logger"})
    assert got_reads == reads
    assert got_writes == writes


STRICTNESS = [
    # (call, strict writes, non-strict writes)
    pytest.param("self.items.append(1)", {"self.items"}, {"self.items"}, id="mutator"),
    pytest.param("self.items.setdefault(k, [])", {"self.items"}, {"self.items"}, id="setdefault"),
    pytest.param("self.queue.put_nowait(k)", {"self.queue"}, {"self.queue"}, id="put_nowait"),
    pytest.param("self.cache.store(k, 1)", {"self.cache"}, set(), id="unknown-method"),
    pytest.param("self.conn.execute(q)", {"self.conn"}, set(), id="unknown-method-2"),
    pytest.param("self.items.get(k)", set(), set(), id="read-only"),
]


@pytest.mark.parametrize(("call", "strict_writes", "loose_writes"), STRICTNESS)
def test_strict_and_non_strict_method_calls(call, strict_writes, loose_writes):
    src = f"async def f(self, k, q):\n    {call}\n"
    _, _, strict = _accesses(src, strict=True)
    _, _, loose = _accesses(src, strict=False)
    assert strict == strict_writes
    assert loose == loose_writes


def test_unknown_method_reads_its_object_when_not_strict():
    # not a known mutator: no write for check-then-act sections, but it may read its object
    _, reads, writes = _accesses("async def f(self):\n    self.cache.store(1)\n", strict=False)
    assert (reads, writes) == ({"self.cache"}, set())


def test_blocking_calls_are_excluded():
    src = """
        async def f(self, path):
            text = self.fs.read_text(path)
    """
    # The call's own object is I/O, not state; the parameter it is handed whole is read.
    assert _accesses(src, blocking="self.fs.read_text")[1:] == ({"path"}, set())
    # not catalogued: a method that may change its object, handed a parameter (read)
    assert _accesses(src)[1:] == ({"path"}, {"self.fs"})


def test_blocking_call_arguments_still_count():
    src = """
        async def f(self):
            self.fs.write_text(self.path, self.body)
    """
    _, reads, writes = _accesses(src, blocking="self.fs.write_text")
    assert reads == {"self.path", "self.body"}
    assert writes == set()


def test_module_variable_write_and_read():
    src = """
        async def f(p):
            CACHE[p] = 1
            v = CACHE.get("k")
    """
    _, reads, writes = _accesses(src, outer_vars={"CACHE"})
    assert reads == {"CACHE", "p"}
    assert writes == {"CACHE"}


def test_declared_global_names_read_and_write():
    src = """
        async def f():
            global COUNT, LIMIT
            COUNT = LIMIT + 1
    """
    _, reads, writes = _accesses(src)
    assert reads == {"LIMIT"}
    assert writes == {"COUNT"}


def test_only_given_nodes_are_scanned():
    func = _func("""
        async def f(self):
            self.a = 1
            x = self.b
    """)
    sharing = _sharing(func)
    assert sharing.accesses([func.body[1]], set()) == ({"self.b"}, set())
    assert sharing.accesses([func.body[0]], set()) == (set(), {"self.a"})
    assert sharing.accesses([func.body[1].value], set()) == ({"self.b"}, set())


# -- shared objects handed to calls -------------------------------------------------------------

MODULE_WITH_FUNCTIONS = """
def _save(store, path):
    store.items[path] = 1
    n = len(store.log)

def _read(store):
    return store.items.get(1)

async def f(self, p):
    _save(self, p)
    await asyncio.to_thread(_save, self, p)
    validate(self)
    process(data=self)
    x = _read(self)
    y = unknown(p, q)
    z = local_only(1)
"""


def _module_sharing():
    tree = ast.parse(MODULE_WITH_FUNCTIONS)
    func = tree.body[-1]
    return func, Sharing.of(func, ["self", "p"], {"x", "y", "z"}, set(), module_functions(tree))


def test_module_functions():
    tree = ast.parse(MODULE_WITH_FUNCTIONS)
    assert set(module_functions(tree)) == {"_save", "_read"}


@pytest.mark.parametrize(("index", "reads", "writes"), [
    pytest.param(0, {"self.log", "p"}, {"self.items"}, id="own-function-followed"),
    pytest.param(1, {"self.log", "p"}, {"self.items"}, id="own-function-handed-to-to_thread"),
    pytest.param(2, {"self"}, set(), id="passed-whole-is-a-read"),
    pytest.param(3, {"self"}, set(), id="keyword-passed-whole-is-a-read"),
    pytest.param(4, {"self.items"}, set(), id="own-function-read-only"),
    pytest.param(5, {"p"}, set(), id="only-shared-arguments"),
    pytest.param(6, set(), set(), id="no-shared-arguments"),
])
def test_calls(index, reads, writes):
    func, sharing = _module_sharing()
    for strict in (True, False):
        assert sharing.accesses([func.body[index]], set(), strict) == (reads, writes)


def test_blocking_call_is_not_followed():
    func, sharing = _module_sharing()
    stmt = func.body[0]
    # A blocking call is not looked into; what it is handed whole, it reads.
    assert sharing.accesses([stmt], {id(stmt.value)}) == ({"self", "p"}, set())


def test_nested_function_statement_is_its_own_scope():
    func = _func("""
        async def f(self):
            def g():
                global COUNT
                inner = self.items
            COUNT = 1
    """)
    sharing = Sharing.of(func, ["self"], {"g", "COUNT"}, set())
    assert "inner" not in sharing.shared and "COUNT" not in sharing.declared_global
    assert sharing.accesses([func.body[1]], set()) == (set(), set())


def test_storing_a_shared_value_on_an_own_object_does_not_share_it():
    func = _func("""
        async def f(limit):
            wp = Update()
            wp.limit = limit
    """)
    assert "wp" not in Sharing.of(func, ["limit"], {"wp"}, set()).shared


def test_a_mutator_handed_over_is_a_write():
    """`loop.call_soon(LOG.append, x)`: the append runs later, on the loop."""
    func = _func("""
        async def f(loop):
            loop.call_soon(LOG.append, 1)
    """)
    sharing = Sharing.of(func, ["loop"], set(), {"LOG"})
    assert sharing.accesses(func.body, set(), strict=False) == ({"loop"}, {"LOG"})


def test_only_logging_methods_of_a_logger_are_thread_safe():
    """`LOG = []` then `LOG.append(x)`: a write, though the name looks like a logger's."""
    func = _func("""
        async def f(x):
            LOG.append(x)
            LOG.info(x)
    """)
    sharing = Sharing.of(func, ["x"], set(), {"LOG"})
    assert sharing.accesses([func.body[0]], set()) == ({"x"}, {"LOG"})
    assert sharing.accesses([func.body[1]], set()) == ({"LOG", "x"}, set())


# -- found by the long fuzz run (seed 13) --------------------------------------------------------

def test_type_of_an_object_is_its_class_state():
    assert key(_expr("type(self).count")) == "self.count"
    assert root(_expr("type(self).count")).id == "self"
    _, reads, writes = _accesses("""
        async def run(self):
            type(self).count += 1
    """, strict=False)
    assert (reads, writes) == ({"self.count"}, {"self.count"})


def test_an_unknown_method_of_shared_state_reads_it():
    # `self.describe()` may read anything of `self`: not a write unless strict, but a read
    _, reads, writes = _accesses("""
        async def run(self):
            s = self.describe()
    """, strict=False)
    assert (reads, writes) == ({"self"}, set())


def test_a_sync_method_of_the_class_is_looked_inside():
    from asyncfix.transforms.quiet import Coroutines

    tree = ast.parse(textwrap.dedent("""\
        class Box:
            def describe(self):
                return "box:" + self.tag

            def bump(self):
                self.n += 1

            async def run(self):
                a = self.describe()
                self.bump()
    """))
    run = tree.body[0].body[2]
    sharing = Sharing.of(run, ["self"], {"a"}, set(), module_functions(tree), Coroutines(tree))
    assert sharing.accesses(run.body[:1], set(), strict=False) == ({"self.tag"}, set())
    assert sharing.accesses(run.body[1:], set(), strict=False) == ({"self.n"}, {"self.n"})


def test_a_coroutine_defined_inside_sees_the_enclosing_names():
    from asyncfix.transforms.quiet import Coroutines

    tree = ast.parse(textwrap.dedent("""\
        class Box:
            async def run(self):
                async def peek():
                    return self.tag
                seen = await peek()
    """))
    run = tree.body[0].body[0]
    sharing = Sharing.of(run, ["self"], {"peek", "seen"}, set(), module_functions(tree), Coroutines(tree))
    assert sharing.accesses(run.body[1:], set(), strict=False) == ({"self.tag"}, set())


def test_a_class_attribute_by_class_name_is_what_self_reads():
    # found by the long fuzz run (seed 16): `Box.count += 1`, then `self.count` after a hop
    from dataclasses import replace

    func = _func("""
        async def run(self):
            Box.count += 1
    """)
    sharing = replace(_sharing(func, outer_vars={"Box"}), self_name="self", class_names=frozenset({"Box"}))
    reads, writes = sharing.accesses(func.body, set(), strict=False)
    assert writes == {"Box.count", "self.count"} and "self.count" in reads
