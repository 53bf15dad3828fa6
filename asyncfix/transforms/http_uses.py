"""What a coroutine does with a requests response, and how each use reads on an httpx one
(migration-semantics.md, 1.3 and 1.4). A response that leaves the function (returned, stored,
passed on) keeps requests' type for code we cannot see: such calls are not swapped."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from asyncfix.transforms.http_kwargs import Refused

# Same name, same meaning on both.
SAME = frozenset({"status_code", "content", "text", "json", "elapsed", "links"})
# Mappings that read the same only by key: iterated, httpx's headers give lowercased names and
# requests' cookies give Cookie objects.
_BY_KEY = frozenset({"headers", "cookies"})
RENAMED = {"reason": "reason_phrase", "is_redirect": "has_redirect_location"}
_STREAM_READS = frozenset({"content", "text", "json"})
_SAFE_PARENTS = (ast.If, ast.While, ast.IfExp, ast.Assert, ast.BoolOp, ast.Return, ast.Assign,
                 ast.AnnAssign, ast.keyword, ast.comprehension)
TEXT_NOTE = ("`.text` of a `text/*` response without a charset: requests decoded it as "
             "ISO-8859-1, httpx decodes it as UTF-8")
STATUS_NOTE = ("`raise_for_status()` now runs under `if r.is_error:`: httpx's raises on any "
               "status outside 2xx (a 304, a redirect not followed), requests' on 4xx/5xx only")
CHUNKS_NOTE = ("`iter_content()` yielded 1-byte chunks; `aiter_bytes()` yields them as they "
               "arrive (the bytes are the same)")
LINES_NOTE = ("`iter_lines()` yielded bytes, `aiter_lines()` yields str (the `.decode()` went); "
              "requests could yield a spurious empty line where `\\r\\n` was split")


@dataclass
class Uses:
    """The edits and notes the uses of one response need."""

    exprs: dict[ast.AST, str] = field(default_factory=dict)  # node -> operation (see http_rewrite)
    async_fors: list[ast.For] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reads_json: list[ast.AST] = field(default_factory=list)  # `.json()` calls (for except clauses)
    raise_sites: list[ast.AST] = field(default_factory=list)  # `.raise_for_status()` calls
    guards: dict[ast.Expr, str] = field(default_factory=dict)  # such a statement -> its response


def attribute_use(attr: ast.Attribute, parents: dict, stream: bool, uses: Uses) -> None:
    """One `<response>.<name>` read: how it reads now, or Refused."""
    name, parent = attr.attr, parents.get(attr)
    if name == "raise_for_status":
        if not (isinstance(parent, ast.Call) and parent.func is attr and isinstance(parents.get(parent), ast.Expr)):
            raise Refused("it uses what `raise_for_status()` returns (httpx returns the response)")
        if not isinstance(attr.value, ast.Name):
            raise Refused("it calls `raise_for_status()` on a response it does not keep: httpx's "
                          "also raises on 3xx, and the check needs the response's name")
        uses.raise_sites.append(parent)
        uses.guards[parents[parent]] = attr.value.id
        uses.notes.append(STATUS_NOTE)
        return
    if stream and name in _STREAM_READS:
        raise Refused("it reads the body of a streamed response (httpx needs `await r.aread()`)")
    if name in ("iter_content", "iter_lines") and stream:
        raise Refused(f"its `{name}()` is used other than as a `for` loop's iterable")
    if name == "json" and isinstance(parent, ast.Call) and parent.func is attr:
        uses.reads_json.append(parent)
        return
    if name == "text":
        uses.notes.append(TEXT_NOTE)
    if name in SAME:
        return
    if name in _BY_KEY:
        if _by_key(attr, parent, parents):
            return
        raise Refused(f"it reads the response's `.{name}` other than by key (httpx's iterate "
                      "differently)")
    if name == "history":
        if (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "len") or (
                isinstance(parent, (ast.If, ast.While, ast.BoolOp)) or (
                isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not))):
            return
        raise Refused("it reads the responses of `.history`, which are httpx's")
    if name == "ok":
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
            uses.exprs[parent] = "not_ok"  # `not r.ok` -> `r.is_error`
        else:
            uses.exprs[attr] = "ok" if isinstance(parent, _SAFE_PARENTS) else "ok()"
        return
    if name in RENAMED:
        uses.exprs[attr] = "rename:" + RENAMED[name]
        return
    if name == "url":
        if not (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "str"):
            uses.exprs[attr] = "str"  # an httpx.URL, not a str
        return
    raise Refused(f"it uses the response's `.{name}`, which httpx lacks or gives another meaning")


def _by_key(attr: ast.Attribute, parent, parents: dict) -> bool:
    """`r.headers["x"]`, `r.headers.get("x")`, `"x" in r.headers`."""
    if isinstance(parent, ast.Subscript) and parent.value is attr and isinstance(parent.ctx, ast.Load):
        return True
    if isinstance(parent, ast.Attribute) and parent.attr == "get":
        return isinstance(parents.get(parent), ast.Call) and parents[parent].func is parent
    return isinstance(parent, ast.Compare) and attr in parent.comparators and all(
        isinstance(op, (ast.In, ast.NotIn)) for op in parent.ops)


def stream_loop(loop: ast.For, attr: ast.Attribute, fn: ast.AST, parents: dict, uses: Uses) -> None:
    """`for chunk in r.iter_content(n):` -> `async for chunk in r.aiter_bytes(n):`."""
    call = parents.get(attr)
    if not (isinstance(call, ast.Call) and call.func is attr and loop.iter is call):
        raise Refused(f"its `{attr.attr}()` is used other than as a `for` loop's iterable")
    kwargs = {k.arg: k.value for k in call.keywords}
    if attr.attr == "iter_content":
        text = kwargs.pop("decode_unicode", None)
        size = kwargs.pop("chunk_size", None) or (call.args[0] if call.args else None)
        if kwargs or len(call.args) > 1 or (text is not None and not isinstance(text, ast.Constant)):
            raise Refused("its `iter_content()` arguments are not known here")
        if text is not None and text.value:
            raise Refused("`iter_content(decode_unicode=True)` yields bytes where the encoding is "
                          "not known; `aiter_text()` always yields str")
        else:
            uses.exprs[call] = "aiter_bytes"
            if size is None:
                uses.notes.append(CHUNKS_NOTE)
    else:
        if call.args or call.keywords:
            raise Refused("its `iter_lines()` takes arguments that `aiter_lines()` does not")
        if not isinstance(loop.target, ast.Name):
            raise Refused("its lines are unpacked")
        _bytes_lines(loop.target.id, fn, parents, uses)
        uses.exprs[call] = "aiter_lines"
        uses.notes.append(LINES_NOTE)
    uses.async_fors.append(loop)


def _bytes_lines(name: str, fn: ast.AST, parents: dict, uses: Uses) -> None:
    """Every use of a line of `iter_lines()` must read the same on str: `.decode()` (dropped),
    a truth test, `json.loads(line)`."""
    for node in ast.walk(fn):
        if not (isinstance(node, ast.Name) and node.id == name) or isinstance(node.ctx, ast.Store):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.attr == "decode":
            call = parents.get(parent)
            if isinstance(call, ast.Call) and call.func is parent and not call.keywords and (
                    not call.args or (isinstance(call.args[0], ast.Constant)
                                      and str(call.args[0].value).lower().replace("-", "") in ("utf8",))):
                uses.exprs[call] = "drop_decode"
                continue
        if isinstance(parent, (ast.If, ast.While)) and parent.test is node:
            continue
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
            continue
        if isinstance(parent, ast.Call) and node in parent.args and isinstance(parent.func, ast.Attribute) \
                and parent.func.attr == "loads":
            continue
        raise Refused("a line of `iter_lines()` is used as bytes (httpx yields str)")
