"""Unit tests for asyncfix.transforms.loopbound: work that must stay on the event loop's thread."""

from __future__ import annotations

import ast
import textwrap

import pytest

from asyncfix.transforms.loopbound import ModuleLoopInfo, framework_params, loop_bound
from asyncfix.transforms.sharing import Sharing

ASYNC_NAME = "it uses `{}`, whose objects belong to the event loop's thread"
LOOP_METHOD = "it calls `.{}()`, which must run on the event loop's thread"
LOOP_FUNC = "it calls `{}()`, which uses the event loop"
CONTEXT_VAR = "it sets the context variable `{}`, which a thread would set in its own copy"
FRAMEWORK = "it uses `{}`, the web framework's object, which belongs to the loop"
SHARED_WRITE = "it writes `{}`, state that other calls share: the loop must make that write"


def _module(src: str) -> ast.Module:
    return ast.parse(textwrap.dedent(src))


def _reason(src: str, blocking=("load", "self.store.load")) -> str | None:
    """loop_bound() of the last statement of the module's (only) coroutine. ``blocking``: the
    callee texts of the catalogued blocking calls."""
    tree = _module(src)
    info = ModuleLoopInfo.of(tree)
    func = next(n for n in tree.body if isinstance(n, ast.AsyncFunctionDef))
    args = func.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    local_names = {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    module_vars = {t.id for s in tree.body if isinstance(s, ast.Assign) for t in s.targets
                   if isinstance(t, ast.Name)}
    sharing = Sharing.of(func, params, local_names - set(params), module_vars)
    stmt = func.body[-1]
    ids = {id(n) for n in ast.walk(stmt) if isinstance(n, ast.Call) and ast.unparse(n.func) in blocking}
    return loop_bound(stmt, info, framework_params(func), sharing, ids)


# -- ModuleLoopInfo -----------------------------------------------------------------------------

def test_async_names():
    info = ModuleLoopInfo.of(_module("""
        import asyncio
        import anyio.abc as aabc
        import trio.lowlevel
        import os, json
        import asyncio_extras
        from asyncio import Queue, sleep as asleep
        from anyio.streams import memory
        from collections import deque
        from trio_util import periodic
    """))
    assert info.async_names == {"asyncio", "aabc", "trio", "Queue", "asleep", "memory"}


def test_context_vars():
    info = ModuleLoopInfo.of(_module("""
        import contextvars
        from contextvars import ContextVar
        REQ = ContextVar("req")
        TRACE = contextvars.ContextVar("trace", default=None)
        A = B = ContextVar("ab")
        obj.attr = ContextVar("attr")
        OTHER = make_var("x")
        PLAIN = 1
    """))
    assert info.context_vars == {"REQ", "TRACE", "A", "B"}
    assert info.async_names == frozenset()


def test_loop_funcs():
    info = ModuleLoopInfo.of(_module("""
        import asyncio

        def by_name():
            return asyncio.get_event_loop()

        def by_method(fut):
            fut.set_result(1)

        def by_task(task):
            task.cancel()

        def plain(path):
            return open(path).read()

        async def coroutine():
            asyncio.sleep(1)

        class K:
            def method(self):
                asyncio.get_event_loop()
    """))
    assert info.loop_funcs == {"by_name", "by_method", "by_task"}


# -- framework_params ---------------------------------------------------------------------------

@pytest.mark.parametrize(("signature", "expected"), [
    pytest.param("request", {"request"}, id="by-name-request"),
    pytest.param("websocket, ws", {"websocket", "ws"}, id="by-name-websocket"),
    pytest.param("req: Request", {"req"}, id="annotation"),
    pytest.param("req: starlette.requests.Request", {"req"}, id="dotted-annotation"),
    pytest.param("req: 'Request'", {"req"}, id="string-annotation"),
    pytest.param("req: 'fastapi.Request'", {"req"}, id="dotted-string-annotation"),
    pytest.param("sock: WebSocket, conn: HTTPConnection", {"sock", "conn"}, id="websocket-connection"),
    pytest.param("resp: web.StreamResponse, bg: BackgroundTasks", {"resp", "bg"}, id="response-background"),
    pytest.param("*, r: JSONResponse", {"r"}, id="keyword-only"),
    pytest.param("r: Request, /", {"r"}, id="positional-only"),
    pytest.param("self, path: str, requests, wss, data: RequestData", set(), id="none"),
    pytest.param("a: Optional[Request], b: Request | None", {"a", "b"}, id="wrapped-annotation"),
    pytest.param("c: Annotated[WebSocket, Depends()], d: 'Optional[Request]'", {"c", "d"},
                 id="annotated-and-string-wrapped"),
])
def test_framework_params(signature, expected):
    func = _module(f"async def f({signature}):\n    pass\n").body[0]
    assert framework_params(func) == expected


# -- loop_bound ---------------------------------------------------------------------------------

LOOP_BOUND = [
    pytest.param("""
        import asyncio
        async def f(p):
            q = asyncio.Queue()
    """, ASYNC_NAME.format("asyncio"), id="asyncio-module"),
    pytest.param("""
        from asyncio import Queue
        async def f(p):
            q = Queue()
    """, ASYNC_NAME.format("Queue"), id="name-imported-from-asyncio"),
    pytest.param("""
        import anyio as aio
        async def f(p):
            ev = aio.Event()
    """, ASYNC_NAME.format("aio"), id="anyio-alias"),
    pytest.param("""
        async def f(p, fut):
            fut.set_result(load(p))
    """, LOOP_METHOD.format("set_result"), id="set_result-on-any-object"),
    pytest.param("""
        async def f(p, loop):
            loop.call_soon(print)
    """, LOOP_METHOD.format("call_soon"), id="call_soon"),
    pytest.param("""
        async def f(p):
            self_queue = make()
            self_queue.put_nowait(load(p))
    """, LOOP_METHOD.format("put_nowait"), id="put_nowait-on-local"),
    pytest.param("""
        async def f(p, tg):
            tg.start_soon(work, load(p))
    """, LOOP_METHOD.format("start_soon"), id="start_soon"),
    pytest.param("""
        from contextvars import ContextVar
        REQ = ContextVar("r")
        async def f(p):
            REQ.set(load(p))
    """, CONTEXT_VAR.format("REQ"), id="contextvar-set"),
    pytest.param("""
        import contextvars
        REQ = contextvars.ContextVar("r")
        async def f(p, token):
            REQ.reset(token)
    """, CONTEXT_VAR.format("REQ"), id="contextvar-reset"),
    pytest.param("""
        from contextvars import ContextVar
        REQ = ContextVar("r")
        async def f(p):
            value = REQ.get()
    """, None, id="contextvar-get"),
    pytest.param("""
        async def f(p, cfg):
            cfg.set("k", load(p))
    """, SHARED_WRITE.format("cfg"), id="set-on-parameter-is-a-shared-write"),
    pytest.param("""
        async def f(p):
            box = make()
            box.set(load(p))
    """, None, id="set-on-own-object"),
    pytest.param("""
        async def f(request, p):
            data = request.body_sync()
    """, FRAMEWORK.format("request"), id="framework-by-name"),
    pytest.param("""
        async def f(req: Request, p):
            data = req.json_sync()
    """, FRAMEWORK.format("req"), id="framework-by-annotation"),
    pytest.param("""
        async def f(self, p):
            self.data = load(p)
    """, SHARED_WRITE.format("self.data"), id="shared-attribute-write"),
    pytest.param("""
        CACHE = {}
        async def f(p):
            CACHE[p] = load(p)
    """, SHARED_WRITE.format("CACHE"), id="module-variable-write"),
    pytest.param("""
        async def f(self, p):
            self.store.save(p)
    """, SHARED_WRITE.format("self.store"), id="unknown-method-on-shared-is-a-write"),
    pytest.param("""
        async def f(self, p):
            self.store.save(load(p))
    """, SHARED_WRITE.format("self.store"), id="blocking-argument-of-a-shared-write"),
    pytest.param("""
        async def f(self, p):
            self.store.load(p)
    """, None, id="blocking-method-on-shared-is-not-a-write"),
    pytest.param("""
        async def f(self, p):
            self.b = 1
            self.a = load(p)
            self.items[p] = load(p)
    """, SHARED_WRITE.format("self.items"), id="first-write-in-sorted-order"),
    pytest.param("""
        async def f(self, p):
            value = self.store.get(p)
    """, None, id="read-only-method"),
    pytest.param("""
        async def f(self, p):
            self.log.info("loaded %s", load(p))
    """, None, id="logger"),
    pytest.param("""
        async def f(self, p):
            data = load(p)
    """, None, id="plain-blocking-call"),
    pytest.param("""
        async def f(p):
            out = {}
            out[p] = load(p)
    """, None, id="own-object-write"),
    pytest.param("""
        import asyncio
        def helper():
            asyncio.get_event_loop().call_soon(print)
        async def f(p):
            x = helper()
    """, LOOP_FUNC.format("helper"), id="module-function-touches-loop"),
    pytest.param("""
        def helper(fut):
            fut.set_result(1)
        async def f(p, fut):
            x = helper
    """, None, id="module-function-referenced-not-called"),
    pytest.param("""
        def helper():
            return 1
        async def f(p):
            x = helper()
    """, None, id="plain-module-function"),
]


@pytest.mark.parametrize(("src", "reason"), LOOP_BOUND)
def test_loop_bound(src, reason):
    assert _reason(src) == reason


def test_async_name_beats_shared_write():
    src = """
        import asyncio
        async def f(self, p):
            self.task = asyncio.ensure_future(load(p))
    """
    assert _reason(src) == ASYNC_NAME.format("asyncio")


def test_framework_param_used_anywhere_in_statement():
    src = """
        async def f(websocket, p):
            if load(p):
                data = process(websocket.state)
    """
    assert _reason(src) == FRAMEWORK.format("websocket")



def test_locals_holding_loop_objects():
    """`ready = asyncio.Event()` then `ready.set()` in a run: an asyncio object used from a thread."""
    from asyncfix.transforms.loopbound import loop_objects

    tree = _module("""
        import asyncio

        async def f(q: asyncio.Queue, n):
            ready = asyncio.Event()
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            alias = fut
            size = n + 1
    """)
    func = tree.body[1]
    assert loop_objects(func, ModuleLoopInfo.of(tree)) == {"q", "ready", "loop", "fut", "alias"}
