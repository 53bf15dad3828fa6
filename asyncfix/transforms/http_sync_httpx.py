"""Sync httpx (or httpx2) in a coroutine -> its AsyncClient. The response, exception and default
types are the same on both sides (no redirects followed, 5 s timeouts), so only the client and
what streams change: `httpx.get(...)` runs through a client opened for it, a `with httpx.Client()
as c:` made in the coroutine becomes `async with httpx.AsyncClient() as c:`, and a streamed body
is read with `aiter_*`."""

from __future__ import annotations

import ast

from asyncfix.transforms.http_kwargs import Refused, Request
from asyncfix.transforms.http_uses import Uses

VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"})
# `httpx.get(...)` makes a Client from these; the others go to the request.
_CLIENT_ONLY = frozenset({"cookies", "proxy", "proxies", "verify", "cert", "trust_env", "mounts",
                          "transport"})
# A sync transport or sync hooks do not work in an AsyncClient.
_SYNC_ONLY = frozenset({"transport", "mounts", "event_hooks"})
CLIENT_STATE = frozenset({"headers", "cookies", "auth", "params", "base_url", "timeout",
                          "build_request"})
_ITERS = {"iter_bytes": "aiter_bytes", "iter_text": "aiter_text", "iter_lines": "aiter_lines",
          "iter_raw": "aiter_raw"}


def httpx_request(call: ast.Call, verb: str, hoistable, source, module_function: bool) -> Request:
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise Refused("its arguments are unpacked (`*args`/`**kwargs`)")
    out = Request(method=verb, has_timeout=True, stream=verb == "stream")
    for keyword in call.keywords:
        if keyword.arg in _SYNC_ONLY:
            raise Refused(f"its `{keyword.arg}=` is sync: an AsyncClient needs an async one")
        if module_function and keyword.arg in _CLIENT_ONLY:
            if not hoistable(keyword.value):
                raise Refused(f"its `{keyword.arg}=` is computed where the call is")
            out.client[keyword.arg] = source(keyword.value)
            out.drop.add(keyword.arg)
    return out


def client_item(ctx: ast.expr, resolve, source, context: str | None = None) -> str | None:
    """`httpx.AsyncClient(...)` for a `httpx.Client(...)` constructor, None for anything else;
    with the shared TLS ``context`` where the client would build the default one itself."""
    if not (isinstance(ctx, ast.Call) and isinstance(ctx.func, ast.Attribute) and ctx.func.attr == "Client"
            and resolve(ctx.func) in ("httpx.Client", "httpx2.Client")):
        return None
    if any(k.arg in _SYNC_ONLY or k.arg is None for k in ctx.keywords) or ctx.args:
        return None
    func = source(ctx.func)
    args = [source(k) for k in ctx.keywords]
    if context and not {"verify", "cert", "trust_env"} & {k.arg for k in ctx.keywords}:
        args.append(f"verify={context}")
    return func[: -len("Client")] + "AsyncClient(" + ", ".join(args) + ")"


def stream_use(attr: ast.Attribute, parents: dict, uses: Uses) -> None:
    """One `<streamed httpx response>.<name>` inside its `with` block."""
    if attr.attr in _ITERS:
        call = parents.get(attr)
        loop = parents.get(call)
        if not (isinstance(call, ast.Call) and call.func is attr and isinstance(loop, ast.For) and loop.iter is call):
            raise Refused(f"its `{attr.attr}()` is used other than as a `for` loop's iterable")
        uses.exprs[call] = _ITERS[attr.attr]
        uses.async_fors.append(loop)
    elif attr.attr in ("read", "close", "iter_bytes", "num_bytes_downloaded"):
        raise Refused(f"it calls `{attr.attr}()` on a streamed response (`await r.a{attr.attr}()` there)")
