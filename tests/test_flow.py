"""Unit tests for asyncfix.transforms.flow: must/may-bound names, liveness, exits, run_facts.

Each snippet is the body of `async def f(...)`; the statement on the line marked `# here` is the
one asked about.
"""

from __future__ import annotations

import ast
import textwrap

import pytest

from asyncfix.transforms.flow import Flow, run_facts


def _func(body: str, params: tuple[str, ...] = ()) -> tuple[str, ast.AsyncFunctionDef]:
    text = f"async def f({', '.join(params)}):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return text, ast.parse(text).body[0]


def _marked(text: str, func: ast.AST, tag: str = "# here") -> ast.stmt:
    line = next(n for n, src in enumerate(text.splitlines(), 1) if tag in src)
    # ast.walk is breadth-first: the outermost statement starting on that line comes first.
    return next(n for n in ast.walk(func) if isinstance(n, ast.stmt) and n is not func and n.lineno == line)


def _flow(body: str, params: tuple[str, ...] = ()) -> tuple[Flow, ast.stmt]:
    text, func = _func(body, params)
    return Flow(func.body, set(params)), _marked(text, func)


def _marked_run(body: str, params: tuple[str, ...] = ()) -> tuple[Flow, list[ast.stmt]]:
    """The statements marked `# run` (consecutive, in one block)."""
    text, func = _func(body, params)
    lines = [n for n, src in enumerate(text.splitlines(), 1) if "# run" in src]
    run = [n for n in ast.walk(func) if isinstance(n, ast.stmt) and n is not func and n.lineno in lines]
    run.sort(key=lambda s: s.lineno)
    return Flow(func.body, set(params)), run


def _stmts(src: str) -> list[ast.stmt]:
    return ast.parse(textwrap.dedent(src)).body


# -- must / may before a statement ------------------------------------------------------------

MUST_MAY = [
    pytest.param("""
        if c:
            x = 1
        use(x)  # here
    """, set(), {"x"}, id="if-without-else"),
    pytest.param("""
        if c:
            x = 1
        else:
            x = 2
        use(x)  # here
    """, {"x"}, {"x"}, id="if-else-both-bind"),
    pytest.param("""
        if c:
            x = 1
        elif d:
            x = 2
        use(x)  # here
    """, set(), {"x"}, id="elif-without-else"),
    pytest.param("""
        if c:
            x = 1
        elif d:
            x = 2
        else:
            x = 3
        use(x)  # here
    """, {"x"}, {"x"}, id="elif-with-else"),
    pytest.param("""
        if c:
            x = 1
        else:
            y = 2
        use(x)  # here
    """, set(), {"x", "y"}, id="if-else-different-names"),
    pytest.param("""
        for i in items:
            x = i
        use(x)  # here
    """, set(), {"i", "x"}, id="for-may-not-run"),
    pytest.param("""
        for i in items:
            pass
        else:
            x = 1
        use(x)  # here
    """, {"x"}, {"i", "x"}, id="for-else-without-break"),
    pytest.param("""
        for i in items:
            if i:
                break
        else:
            x = 1
        use(x)  # here
    """, set(), {"i", "x"}, id="for-else-with-break"),
    pytest.param("""
        for i in items:
            pass
        use(i)  # here
    """, set(), {"i"}, id="for-target-after-loop"),
    pytest.param("""
        while c:
            x = 1
        use(x)  # here
    """, set(), {"x"}, id="while-may-not-run"),
    pytest.param("""
        while True:
            x = f()
            if x:
                break
        use(x)  # here
    """, {"x"}, {"x"}, id="while-true-break-after-bind"),
    pytest.param("""
        while True:
            if c:
                break
            x = f()
        use(x)  # here
    """, set(), {"x"}, id="while-true-break-before-bind"),
    pytest.param("""
        while 1:
            x = f()
            break
        use(x)  # here
    """, {"x"}, {"x"}, id="while-1-is-forever"),
    pytest.param("""
        while c:
            pass
        else:
            x = 1
        use(x)  # here
    """, {"x"}, {"x"}, id="while-else-without-break"),
    pytest.param("""
        while c:
            if d:
                break
        else:
            x = 1
        use(x)  # here
    """, set(), {"x"}, id="while-else-with-break"),
    pytest.param("""
        try:
            x = f()
        except E:
            log()
            raise
        use(x)  # here
    """, {"x"}, {"x"}, id="handler-reraises"),
    pytest.param("""
        try:
            x = f()
        except E:
            return None
        use(x)  # here
    """, {"x"}, {"x"}, id="handler-returns"),
    pytest.param("""
        try:
            x = f()
        except E:
            pass
        use(x)  # here
    """, set(), {"x"}, id="handler-swallows"),
    pytest.param("""
        try:
            x = f()
        except E:
            x = None
        use(x)  # here
    """, {"x"}, {"x"}, id="handler-binds-too"),
    pytest.param("""
        try:
            x = f()
        except KeyError:
            raise
        except ValueError:
            pass
        use(x)  # here
    """, set(), {"x"}, id="second-handler-swallows"),
    pytest.param("""
        try:
            x = f()
        except:
            raise
        use(x)  # here
    """, {"x"}, {"x"}, id="bare-except-reraises"),
    pytest.param("""
        try:
            x = f()
        except BaseException:
            x = 0
        use(x)  # here
    """, {"x"}, {"x"}, id="except-baseexception-binds"),
    pytest.param("""
        try:
            f()
        except E:
            return
        else:
            x = 1
        use(x)  # here
    """, {"x"}, {"x"}, id="try-else"),
    pytest.param("""
        try:
            x = f()
        except* E:
            return
        use(x)  # here
    """, {"x"}, {"x"}, id="try-star"),
    pytest.param("""
        try:
            x = f()
        finally:
            cleanup()  # here
    """, set(), {"x"}, id="finally-runs-after-a-raise-too"),
    pytest.param("""
        try:
            x = f()
        finally:
            cleanup()
        use(x)  # here
    """, {"x"}, {"x"}, id="after-try-finally"),
    pytest.param("""
        try:
            x = f()
            y = 1
        finally:
            z = x  # here
    """, set(), {"x", "y"}, id="finally-both-copies"),
    pytest.param("""
        for i in items:
            try:
                if i:
                    continue
                x = i
            finally:
                done()
            use(x)  # here
    """, {"i", "x"}, {"i", "x"}, id="continue-through-finally"),
    pytest.param("""
        try:
            f()
        except E as e:
            g(e)  # here
    """, {"e"}, {"e"}, id="except-as-inside-handler"),
    pytest.param("""
        try:
            f()
        except E as e:
            err = e
        use(e)  # here
    """, set(), {"err"}, id="except-as-unbound-after-handler"),
    pytest.param("""
        e = 1
        try:
            f()
        except E as e:
            pass
        use(e)  # here
    """, set(), {"e"}, id="except-as-deletes-outer-binding"),
    pytest.param("""
        with contextlib.suppress(KeyError):
            x = d[k]
        use(x)  # here
    """, set(), {"x"}, id="contextlib-suppress"),
    pytest.param("""
        with suppress(KeyError):
            x = d[k]
            y = 1
        use(x)  # here
    """, set(), {"x", "y"}, id="suppress"),
    pytest.param("""
        with cm():
            x = 1
        use(x)  # here
    """, set(), {"x"}, id="unknown-context-manager"),
    pytest.param("""
        with conn:
            x = 1
        use(x)  # here
    """, set(), {"x"}, id="unknown-bare-context-manager"),
    pytest.param("""
        with open(p) as fh:
            x = fh.read()
        use(x, fh)  # here
    """, {"fh", "x"}, {"fh", "x"}, id="open-is-transparent"),
    pytest.param("""
        with self._lock:
            x = 1
        use(x)  # here
    """, {"x"}, {"x"}, id="lock-is-transparent"),
    pytest.param("""
        with open(p) as fh, cm() as g:
            x = 1
        use(x)  # here
    """, {"fh", "g"}, {"fh", "g", "x"}, id="one-swallowing-item"),
    pytest.param("""
        try:
            with suppress(E):
                x = f()
            y = x
        except E:
            pass
        use(y)  # here
    """, set(), {"x", "y"}, id="suppress-inside-try"),
    pytest.param("""
        with cm():
            x = 1  # here
    """, set(), set(), id="inside-swallowing-with"),
    pytest.param("""
        match v:
            case [a]:
                x = a
            case other:
                x = other
        use(x)  # here
    """, {"x"}, {"a", "other", "x"}, id="match-capture-is-irrefutable"),
    pytest.param("""
        match v:
            case [a]:
                x = a
            case _:
                x = 0
        use(x)  # here
    """, {"x"}, {"a", "x"}, id="match-wildcard"),
    pytest.param("""
        match v:
            case [a]:
                x = a
            case _ as whole:
                x = whole
        use(x)  # here
    """, {"x"}, {"a", "whole", "x"}, id="match-wildcard-as"),
    pytest.param("""
        match v:
            case [a]:
                x = a
            case {"k": b}:
                x = b
        use(x)  # here
    """, set(), {"a", "b", "x"}, id="match-without-irrefutable-case"),
    pytest.param("""
        match v:
            case [a]:
                x = a
            case _ if c:
                x = 0
        use(x)  # here
    """, set(), {"a", "x"}, id="match-guarded-wildcard"),
    pytest.param("""
        match v:
            case 1 | 2:
                x = 1
            case _:
                x = 2
        use(x)  # here
    """, {"x"}, {"x"}, id="match-or-then-wildcard"),
    pytest.param("""
        match v:
            case Point(x=px):
                use(px)  # here
    """, {"px"}, {"px"}, id="match-case-body"),
    pytest.param("""
        if (y := g()) and c:
            pass
        use(y)  # here
    """, {"y"}, {"y"}, id="walrus-first-operand"),
    pytest.param("""
        if c and (y := g()):
            pass
        use(y)  # here
    """, set(), {"y"}, id="walrus-in-and"),
    pytest.param("""
        if c or (y := g()):
            pass
        use(y)  # here
    """, set(), {"y"}, id="walrus-in-or"),
    pytest.param("""
        v = (a := g()) if c else 0
        use(a, v)  # here
    """, {"v"}, {"a", "v"}, id="walrus-in-ternary-branch"),
    pytest.param("""
        z = [(w := i) for i in items]
        use(w, z)  # here
    """, {"z"}, {"w", "z"}, id="walrus-in-comprehension-element"),
    pytest.param("""
        z = [i for i in items if (w := i)]
        use(w)  # here
    """, {"z"}, {"w", "z"}, id="walrus-in-comprehension-if"),
    pytest.param("""
        z = [i for i in (w := items)]
        use(w, z)  # here
    """, {"w", "z"}, {"w", "z"}, id="walrus-in-first-iterable"),
    pytest.param("""
        while (line := read()):
            pass
        use(line)  # here
    """, {"line"}, {"line"}, id="walrus-in-while-test"),
    pytest.param("""
        x = 1
        del x
        use(x)  # here
    """, set(), set(), id="del"),
    pytest.param("""
        a = 1
        b = 2
        del a, b
        use(a)  # here
    """, set(), set(), id="del-two-names"),
    pytest.param("""
        x = 1
        del x
        x = 2
        use(x)  # here
    """, {"x"}, {"x"}, id="del-then-rebind"),
    pytest.param("""
        d = {}
        del d["k"]
        use(d)  # here
    """, {"d"}, {"d"}, id="del-item-keeps-name"),
    pytest.param("""
        x: int
        use(x)  # here
    """, set(), set(), id="annotation-only"),
    pytest.param("""
        import os.path
        from json import loads as parse
        def g():
            return q
        class K:
            pass
        use()  # here
    """, {"os", "parse", "g", "K"}, {"os", "parse", "g", "K"}, id="import-def-class"),
]


@pytest.mark.parametrize(("body", "must", "may"), MUST_MAY)
def test_must_and_may_before(body, must, may):
    flow, stmt = _flow(body)
    assert flow.reachable(stmt)
    assert flow.must_before(stmt) == must
    assert flow.may_before(stmt) == may


def test_parameters_are_bound_at_entry():
    flow, stmt = _flow("""
        if c:
            x = 1
        use(x)  # here
    """, params=("self", "c"))
    assert flow.must_before(stmt) == {"self", "c"}
    assert flow.may_before(stmt) == {"self", "c", "x"}


@pytest.mark.parametrize("body", [
    pytest.param("""
        try:
            x = f()
        except E:
            use(x)  # here
    """, id="single-statement"),
    pytest.param("""
        try:
            x = f()
            y = g()
        except E:
            use(x)  # here
    """, id="second-statement-raises-after-first-bound"),
    pytest.param("""
        for i in items:
            try:
                x = f(i)
            except E:
                use(x)  # here
    """, id="in-a-loop"),
])
def test_exception_edge_carries_state_before_the_raising_statement(body):
    flow, stmt = _flow(body)
    assert "x" not in flow.must_before(stmt)
    assert "x" in flow.may_before(stmt)


@pytest.mark.parametrize("body", [
    pytest.param("""
        return 1
        use(x)  # here
    """, id="after-return"),
    pytest.param("""
        raise E
        use(x)  # here
    """, id="after-raise"),
    pytest.param("""
        while True:
            f()
        use(x)  # here
    """, id="after-while-true-without-break"),
    pytest.param("""
        while True:
            f()
        else:
            g()  # here
    """, id="else-of-while-true"),
    pytest.param("""
        try:
            return f()
        finally:
            x = 1
        use(x)  # here
    """, id="after-finally-of-a-return"),
    pytest.param("""
        for i in items:
            continue
            use(i)  # here
    """, id="after-continue"),
])
def test_unreachable(body):
    flow, stmt = _flow(body)
    assert not flow.reachable(stmt)
    assert flow.must_before(stmt) == frozenset()


def test_must_before_unknown_statement_is_empty():
    flow, _ = _flow("x = 1  # here")
    stranger = ast.parse("y = 2").body[0]
    assert flow.copies(stranger) == []
    assert flow.must_before(stranger) == frozenset()
    assert not flow.reachable(stranger)


def test_finally_body_is_built_twice():
    text, func = _func("""
        try:
            x = f()
        finally:
            close()
    """)
    flow = Flow(func.body, set())
    close = func.body[0].finalbody[0]
    assert len(flow.copies(close)) == 2
    assert len(flow.copies(func.body[0].body[0])) == 1


# -- liveness after a statement -----------------------------------------------------------------

LIVE_AFTER = [
    pytest.param("""
        x = f()  # here
        x = g()
        use(x)
    """, {"g", "use"}, id="rebound-before-read"),
    pytest.param("""
        x = f()  # here
        use(x)
    """, {"use", "x"}, id="read-later"),
    pytest.param("""
        x = f()  # here
    """, set(), id="never-read"),
    pytest.param("""
        x = f()  # here
        if c:
            use(x)
    """, {"c", "use", "x"}, id="read-on-one-branch"),
    pytest.param("""
        x = f()  # here
        if c:
            x = g()
        use(x)
    """, {"c", "g", "use", "x"}, id="rebound-on-one-branch"),
    pytest.param("""
        x = None
        for i in items:
            use(x)
            x = i  # here
    """, {"use", "x"}, id="read-at-top-of-next-iteration"),
    pytest.param("""
        for i in items:
            x = i  # here
            use(x)
        done()
    """, {"use", "x", "done"}, id="read-later-in-same-iteration"),
    pytest.param("""
        for i in items:
            x = i  # here
        done()
    """, {"done"}, id="loop-variable-not-read"),
    pytest.param("""
        x = 0
        while c:
            x = step(x)  # here
    """, {"c", "step", "x"}, id="while-reads-previous-value"),
    pytest.param("""
        x = f()  # here
        try:
            g()
        finally:
            close(x)
    """, {"g", "close", "x"}, id="read-in-finally"),
    pytest.param("""
        e = 1  # here
        try:
            f()
        except E as e:
            pass
        use(e)
    """, {"E", "e", "f", "use"}, id="except-as-on-no-exception-path"),
    pytest.param("""
        e = 1  # here
        try:
            f()
        except E as e:
            use(e)
    """, {"E", "f", "use"}, id="except-as-rebinds-before-read"),
    pytest.param("""
        x = f()  # here
        del x
    """, {"x"}, id="del-reads"),
    pytest.param("""
        x = f()  # here
        return x
    """, {"x"}, id="returned"),
]


@pytest.mark.parametrize(("body", "live"), LIVE_AFTER)
def test_live_after(body, live):
    flow, stmt = _flow(body)
    normal, _ = flow.exits([stmt])
    assert normal == live


def test_live_in_at():
    flow, stmt = _flow("""
        x = f()
        y = x + 1  # here
        use(y)
    """)
    assert flow.live_in_at(stmt) == {"x", "use"}


# -- exits of a run -----------------------------------------------------------------------------

def test_exits_of_run_inside_try_are_live_at_the_handler():
    flow, run = _marked_run("""
        try:
            data = read(p)  # run
            parsed = parse(data)  # run
        except ValueError:
            log(data)
            raise
        return parsed
    """, params=("p",))
    assert len(run) == 2
    normal, raised = flow.exits(run)
    assert normal == {"parsed"}
    assert raised == {"ValueError", "log", "data"}


def test_exits_of_run_inside_try_handler_falls_through():
    flow, run = _marked_run("""
        try:
            x = f()  # run
        except E:
            pass
        use(x)
    """)
    normal, raised = flow.exits(run)
    assert normal == {"use", "x"}
    assert raised == {"E", "use", "x"}


def test_exits_of_run_outside_try_raise_out_of_function():
    flow, run = _marked_run("""
        x = f()  # run
        y = g(x)  # run
        use(y)
    """)
    normal, raised = flow.exits(run)
    assert normal == {"use", "y"}
    assert raised == frozenset()


def test_exits_of_run_inside_suppress_resume_after_block():
    flow, run = _marked_run("""
        with suppress(KeyError):
            v = d[k]  # run
        use(v)
    """)
    normal, raised = flow.exits(run)
    assert normal == {"use", "v"}
    assert raised == {"use", "v"}


def test_exits_of_run_inside_try_finally():
    flow, run = _marked_run("""
        try:
            x = f()  # run
        finally:
            close(x)
        return x
    """)
    normal, raised = flow.exits(run)
    assert normal == {"close", "x"}
    assert raised == {"close", "x"}


def test_exits_of_run_ending_in_return_inside_loop():
    flow, run = _marked_run("""
        for i in items:
            x = f(i)  # run
            if x:  # run
                return x
        use(x)
    """)
    normal, raised = flow.exits(run)
    # back to the loop step (the next iteration rebinds x), or the return, or out to use(x)
    assert normal == {"f", "use", "x"}
    assert raised == frozenset()


# -- run_facts ----------------------------------------------------------------------------------

RUN_FACTS = [
    pytest.param("x = a + 1\ny = x\n", {"a"}, {"a"}, {"a", "x", "y"}, id="straight-line"),
    pytest.param("x = 1\ny = x\n", {"x"}, set(), {"x", "y"}, id="rebound-before-read-not-exposed"),
    pytest.param("if c:\n    x = a\ny = x\n", {"a", "c"}, {"a", "c", "x"}, {"a", "c", "y"},
                 id="if-without-else"),
    pytest.param("if c:\n    x = 1\nelse:\n    x = 2\nz = x\n", {"c"}, {"c"}, {"c", "x", "z"},
                 id="if-else"),
    pytest.param("for i in items:\n    t = t + i\n", {"items", "t"}, {"items", "t"}, {"items", "t"},
                 id="for-loop-may-not-run"),
    pytest.param("with open(p) as fh:\n    d = fh.read()\n", {"p"}, {"open", "p"}, {"d", "fh", "p"},
                 id="with-open"),
    pytest.param("with cm(p):\n    d = load()\n", {"p"}, {"cm", "load", "p"}, {"p"},
                 id="with-unknown-cm"),
    pytest.param("try:\n    d = load()\nexcept E:\n    d = None\n", set(), {"load", "E"}, {"d"},
                 id="try-handler-binds"),
    pytest.param("try:\n    d = load()\nexcept E:\n    pass\n", set(), {"load", "E"}, set(),
                 id="try-handler-swallows"),
    pytest.param("x = 1\nreturn x\n", set(), set(), {"x"}, id="return"),
    pytest.param("y = x\ndel x\n", {"x"}, {"x"}, {"y"}, id="del"),
    pytest.param("while True:\n    line = read()\n    if not line:\n        break\n", set(), {"read"},
                 {"line"}, id="while-true-break"),
]


@pytest.mark.parametrize(("src", "bound", "exposed", "at_end"), RUN_FACTS)
def test_run_facts(src, bound, exposed, at_end):
    got_exposed, got_at_end = run_facts(_stmts(src), frozenset(bound))
    assert got_exposed == exposed
    assert got_at_end == at_end


# -- regressions: each failed before the fix named in its id ------------------------------------

@pytest.mark.parametrize(("body", "must", "may"), [
    pytest.param("""
        a = 1
        del (a,)
        use(a)  # here
    """, set(), set(), id="del-tuple-unbinds"),
    pytest.param("""
        assert c, (m := "msg")
        use(m)  # here
    """, set(), set(), id="assert-message-runs-only-on-failure"),
    pytest.param("""
        while True:
            try:
                f()
            except E as e:
                break
        use(e)  # here
    """, set(), set(), id="handler-name-unbound-on-break"),
    pytest.param("""
        match v:
            case [a] if (y := g(a)):
                use(y)  # here
    """, {"a", "y"}, {"a", "y"}, id="walrus-in-guard-binds"),
])
def test_must_and_may_regressions(body, must, may):
    flow, stmt = _flow(body)
    assert (set(flow.must_before(stmt)), set(flow.may_before(stmt))) == (must, may)


def test_del_tuple_is_not_bound_at_the_end_of_a_run():
    assert "a" not in run_facts(_stmts("a = 1\ndel (a,)\n"), frozenset())[1]


def test_match_guard_reads_the_capture_not_the_earlier_value():
    flow, stmt = _flow("""
        a = 1  # here
        match v:
            case [a] if a:
                pass
    """, ("v",))
    normal, _ = flow.exits([stmt])
    assert normal == {"v"}
