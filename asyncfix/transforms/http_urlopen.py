"""`urllib.request.urlopen(url)` -> httpx where the use is simple: an http(s) URL, the body read
once, the status, headers and final URL. urlopen follows up to 10 redirects and raises on any
final status outside 2xx, which `raise_for_status()` (returning the response) matches; its errors
are OSErrors, so no `except` around the call may remain (the caller's checks happen in
`http_plan`)."""

from __future__ import annotations

import ast

from asyncfix.transforms.http_kwargs import Refused, Request
from asyncfix.transforms.http_uses import Uses

NAME = "urllib.request.urlopen"
READS = frozenset({"urllib.request.urlopen", "http.client.HTTPResponse.read"})
# What reads the same on the httpx response (after the rewrite's edit, if any).
_SAME = frozenset({"headers"})
_RENAMED = {"status": "rename:status_code", "code": "rename:status_code", "reason": "rename:reason_phrase",
            "url": "str"}
_CALLS = {"read": "attr:content", "getcode": "attr:status_code", "geturl": "url()"}
NOTE = ("urlopen's errors (`urllib.error.HTTPError`/`URLError`, OSErrors) are httpx's now; "
        "urlopen followed 10 redirects at most, as the client does; httpx sends its own headers")


def urlopen_request(call: ast.Call, strings: dict[str, str]) -> Request:
    """``strings``: the module's constant strings (`API = "https://..."`), by name."""
    if len(call.args) != 1 or any(k.arg != "timeout" for k in call.keywords):
        raise Refused("urlopen is given data, a context or a Request object (not rewritten)")
    if not _http_url(call.args[0], strings):
        raise Refused("its URL may not be http(s): urlopen also opens file: and data: URLs")
    return Request(method="get", has_timeout=bool(call.keywords))


def _http_url(node: ast.expr, strings: dict[str, str]) -> bool:
    """Whether the URL certainly starts with `http://` or `https://`."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.startswith(("http://", "https://"))
    if isinstance(node, ast.Name):
        return node.id in strings and strings[node.id].startswith(("http://", "https://"))
    if isinstance(node, ast.FormattedValue):
        return node.conversion == -1 and node.format_spec is None and _http_url(node.value, strings)
    if isinstance(node, ast.JoinedStr):
        return bool(node.values) and _http_url(node.values[0], strings)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _http_url(node.left, strings)
    return False


def module_strings(tree: ast.Module) -> dict[str, str]:
    """Names bound once, at module level, to a string literal, and never declared global."""
    bound: dict[str, list] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(stmt.value)
    rebound = {name for node in ast.walk(tree) if isinstance(node, ast.Global) for name in node.names}
    return {name: values[0].value for name, values in bound.items() if len(values) == 1 and name not in rebound
            and isinstance(values[0], ast.Constant) and isinstance(values[0].value, str)}


def response_use(attr: ast.Attribute, parents: dict, uses: Uses, reads: list) -> None:
    """One `<urlopen response>.<name>`: how it reads on httpx's response, or Refused."""
    name, parent = attr.attr, parents.get(attr)
    if name in _CALLS:
        if not (isinstance(parent, ast.Call) and parent.func is attr and not parent.args and not parent.keywords):
            raise Refused(f"its `{name}` is used other than called without arguments")
        if name == "read":
            reads.append(parent)
            if len(reads) > 1:
                raise Refused("its body is read twice (urlopen's second read is empty)")
        uses.exprs[parent] = _CALLS[name]
        return
    if name in _RENAMED:
        uses.exprs[attr] = _RENAMED[name]
        return
    if name in _SAME:
        if isinstance(parents.get(parent), ast.Subscript) or not isinstance(parent, ast.Attribute):
            raise Refused("its headers are indexed (a missing one is None on urlopen's, KeyError on httpx's)")
        if parent.attr != "get":
            raise Refused(f"its headers' `{parent.attr}` differs on httpx")
        return
    raise Refused(f"it uses the response's `.{name}`, which httpx's lacks")
