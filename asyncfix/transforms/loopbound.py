"""Work that belongs to the event loop's thread and must not move into a helper.

asyncio objects (tasks, futures, queues, events, the loop itself) are not thread-safe: used from a
worker thread they fail ("no running event loop") or corrupt the loop's state silently. A
`ContextVar.set` in a thread sets the thread's copy of the context. The web framework's request,
response and websocket objects are the loop's. And a write to state other calls share (`self`,
parameters, module variables) made from a thread races with the loop: the helper may compute the
value, but the loop makes the write. A statement holding any of these stays on the loop, and only
its blocking calls are offloaded one by one.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from asyncfix.engine.astutil import walk
from asyncfix.transforms.sharing import Sharing, walk_own, root

ASYNC_LIBS = ("asyncio", "anyio", "trio")
# Methods of asyncio/anyio/trio objects that must run on the loop's thread.
LOOP_METHODS = frozenset({
    "create_task", "call_soon", "call_later", "call_at", "run_in_executor", "put_nowait",
    "get_nowait", "set_result", "set_exception", "add_done_callback", "remove_done_callback",
    "create_future", "task_done", "cancel", "start_soon", "send_nowait", "receive_nowait",
    "run_until_complete", "add_signal_handler", "add_reader", "add_writer",
})
_FRAMEWORK_TYPES = frozenset({"Request", "WebSocket", "HTTPConnection", "Response", "StreamingResponse",
                              "JSONResponse", "BackgroundTasks", "WebSocketResponse", "StreamResponse"})
_FRAMEWORK_NAMES = frozenset({"request", "websocket", "ws"})


@dataclass
class ModuleLoopInfo:
    async_names: frozenset[str]  # names bound to asyncio/anyio/trio or things imported from them
    context_vars: frozenset[str]  # module variables holding a ContextVar
    loop_funcs: frozenset[str]  # the module's sync functions that touch the loop themselves

    @classmethod
    def of(cls, tree: ast.Module, nodes: list[ast.AST] | None = None) -> "ModuleLoopInfo":
        names, cvars = set(), set()
        for node in nodes if nodes is not None else walk(tree):
            if isinstance(node, ast.Import):
                names |= {(a.asname or a.name).partition(".")[0] for a in node.names
                          if a.name.partition(".")[0] in ASYNC_LIBS}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").partition(".")[0] in ASYNC_LIBS:
                names |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = node.value.func
                if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) == "ContextVar":
                    cvars |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        funcs = set()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and _touches_loop(node, names):
                funcs.add(node.name)
        return cls(frozenset(names), frozenset(cvars), frozenset(funcs))


def _touches_loop(func: ast.AST, async_names: set[str]) -> bool:
    for node in walk(func):
        if isinstance(node, ast.Name) and node.id in async_names:
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOOP_METHODS:
            return True
    return False


def framework_params(func: ast.AsyncFunctionDef) -> frozenset[str]:
    args = func.args
    out = set()
    for arg in args.posonlyargs + args.args + args.kwonlyargs:
        ann = arg.annotation
        if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
            try:
                ann = ast.parse(ann.value, mode="eval").body
            except SyntaxError:
                ann = None
        # `Request`, `web.Request`, `Optional[Request]`, `Annotated[WebSocket, ...]`
        named = {n.id for n in walk(ann) if isinstance(n, ast.Name)} | {
            n.attr for n in walk(ann) if isinstance(n, ast.Attribute)} if ann is not None else set()
        if arg.arg in _FRAMEWORK_NAMES or named & _FRAMEWORK_TYPES:
            out.add(arg.arg)
    return frozenset(out)


def loop_objects(func: ast.AsyncFunctionDef, info: ModuleLoopInfo) -> frozenset[str]:
    """Locals holding asyncio/anyio/trio objects: made by their calls (`ready = asyncio.Event()`,
    `loop = asyncio.get_running_loop()`, `fut = loop.create_future()`), or annotated so."""
    out = set()
    args = func.args
    for arg in args.posonlyargs + args.args + args.kwonlyargs:
        ann = arg.annotation
        if ann is not None and any(isinstance(n, ast.Name) and n.id in info.async_names for n in walk(ann)):
            out.add(arg.arg)
    changed = True
    nodes = [n for n in walk_own(func) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.NamedExpr))]
    while changed:
        changed = False
        for node in nodes:
            value = node.value
            if value is None or not _makes_loop_object(value, info, out):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in (n.id for n in walk(target) if isinstance(n, ast.Name)):
                    if name not in out:
                        out.add(name)
                        changed = True
    return frozenset(out)


def _makes_loop_object(value: ast.expr, info: ModuleLoopInfo, known: set[str]) -> bool:
    if _thread_result(value):  # what a sync function returned in a thread: not the loop's
        return False
    for node in walk(value):
        if isinstance(node, ast.Name) and (node.id in info.async_names or node.id in known):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOOP_METHODS:
            return True
    return False


_THREAD_HOPS = frozenset({"to_thread", "run_sync", "run_in_executor", "run_in_threadpool"})


def _thread_result(value: ast.expr) -> bool:
    """`await asyncio.to_thread(f, ...)`, `await anyio.to_thread.run_sync(f)`,
    `await loop.run_in_executor(None, f)`, the call awaited where it stands."""
    return isinstance(value, ast.Await) and isinstance(value.value, ast.Call) \
        and isinstance(value.value.func, ast.Attribute) and value.value.func.attr in _THREAD_HOPS


def loop_bound(stmt: ast.stmt, info: ModuleLoopInfo, framework: frozenset[str], sharing: Sharing,
               blocking: set[int], loop_names: frozenset[str] = frozenset()) -> str | None:
    """Why ``stmt`` must stay on the loop's thread (None: nothing in it belongs to the loop).
    ``blocking``: ids of the catalogued blocking calls in it, the work that may move."""
    for node in walk_own(stmt, False):
        if isinstance(node, ast.Name):
            if node.id in info.async_names:
                return f"it uses `{node.id}`, whose objects belong to the event loop's thread"
            if node.id in framework:
                return f"it uses `{node.id}`, the web framework's object, which belongs to the loop"
            if node.id in loop_names:
                return f"it uses `{node.id}`, an object of the event loop, which belongs to its thread"
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in LOOP_METHODS:
                return f"it calls `.{func.attr}()`, which must run on the event loop's thread"
            if isinstance(func, ast.Name) and func.id in info.loop_funcs:
                return f"it calls `{func.id}()`, which uses the event loop"
            if (isinstance(func, ast.Attribute) and func.attr in ("set", "reset")
                    and (r := root(func.value)) is not None and r.id in info.context_vars):
                return f"it sets the context variable `{r.id}`, which a thread would set in its own copy"
    _, writes = sharing.accesses([stmt], blocking)
    if writes:
        return f"it writes `{sorted(writes)[0]}`, state that other calls share: the loop must make that write"
    return None
