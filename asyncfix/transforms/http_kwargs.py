"""A requests call's arguments, as httpx takes them (migration-semantics.md, 1.1 and 1.2).

Each keyword is kept, renamed, moved to the client, or refuses the rewrite with the reason; what
httpx does differently even then becomes a note for the reviewer.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# httpx's `.get`/`.delete`/`.head`/`.options` take no body: such calls go through `.request`.
BODYLESS = frozenset({"get", "delete", "head", "options"})
VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
_PER_REQUEST = frozenset({"params", "headers", "timeout", "json"})
_AUTH = {"requests.auth.HTTPBasicAuth": "BasicAuth", "requests.HTTPBasicAuth": "BasicAuth",
         "requests.auth.HTTPDigestAuth": "DigestAuth", "requests.HTTPDigestAuth": "DigestAuth"}
_STR_METHODS = frozenset({"encode", "format", "join", "dumps", "decode", "replace", "strip"})
JSON_NOTE = ("`json=` bodies are serialised compactly by httpx (`{\"a\":1}`, UTF-8 kept): the "
             "bytes differ from requests' if they are signed, hashed or compared")
TIMEOUT_NOTE = ("requests had no timeout here; `timeout=None` keeps that (httpx would time out "
                "after 5 s): a finite timeout is advised")
TIMEOUT_SCOPE_NOTE = ("httpx applies `timeout=` to connect, read, write and pool waits where "
                      "requests applied it to connect and read")
PARAMS_NOTE = "httpx sends `params` keys whose value is None as `k=` where requests dropped them"


@dataclass
class Request:
    """How one requests call is written for httpx."""

    method: str  # the client method: "get", "request", "stream"...
    first: list[str] = field(default_factory=list)  # positional text put first (the HTTP method)
    rename: dict[str, str] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)
    replace: dict[str, str] = field(default_factory=dict)  # keyword -> new value text
    add: list[tuple[str, str]] = field(default_factory=list)
    client: dict[str, str] = field(default_factory=dict)  # keywords that go on the client
    follows: bool | None = True  # whether redirects are followed (None: not known)
    has_timeout: bool = False
    stream: bool = False
    headers: ast.expr | None = None
    notes: list[str] = field(default_factory=list)


class Refused(Exception):
    """The call cannot become an httpx call without changing behaviour; the message says why."""


def request_for(call: ast.Call, verb: str, resolve, source, hoistable, session: bool,
                headers_of=lambda name: None, strings: dict[str, str] | None = None) -> Request:
    """The httpx form of ``call`` (`requests.<verb>(...)`, or a session's `<verb>`).

    ``resolve(expr)``: the dotted name an expression refers to; ``source(expr)``: its text;
    ``hoistable(expr)``: whether it may be evaluated once, before the calls (client keywords);
    ``headers_of(name)``: the dict literal a local name is bound to, if it is bound once;
    ``strings``: the module's string constants.
    """
    strings = strings or {}
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise Refused("its arguments are unpacked (`*args`/`**kwargs`): which keywords reach "
                      "requests is not known")
    positional = 2 if verb == "request" else 1
    if len(call.args) > positional:
        raise Refused("it passes request options by position")
    keywords = {k.arg: k.value for k in call.keywords}
    out = Request(method=verb)
    if verb == "request":
        method = call.args[0] if call.args else keywords.get("method")
        literal = method.value.upper() if isinstance(method, ast.Constant) and isinstance(method.value, str) else None
        if literal is None and method is None:
            raise Refused("its HTTP method is not given")
    else:
        literal = verb.upper()
    url = call.args[positional - 1] if len(call.args) >= positional else keywords.get("url")
    if isinstance(url, ast.Constant) and isinstance(url.value, str):
        parts = urlsplit(url.value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused("its URL is malformed: requests raises InvalidURL (a ValueError too), "
                          "httpx another error, or a ValueError where cookies are set")
    redirects = keywords.get("allow_redirects")
    if redirects is not None:
        out.rename["allow_redirects"] = "follow_redirects"
        out.follows = redirects.value if isinstance(redirects, ast.Constant) and isinstance(redirects.value, bool) else None
    elif verb == "head":
        # requests' `head()` alone does not follow; the client we make follows for the others
        out.add.append(("follow_redirects", "False"))
        out.follows = False
    for name, value in keywords.items():
        if name in ("url", "method", "allow_redirects") or name in _PER_REQUEST:
            continue
        if name == "data":
            kind = _body_kind(value, resolve)
            if kind == "raw":
                out.rename["data"] = "content"
            elif kind != "form":
                raise Refused("its `data=` may be form fields or a raw body (httpx takes them "
                              "apart), and which is not known here")
        elif name == "auth":
            out.replace.update(_auth(value, resolve, source))
        elif name == "stream":
            if not (isinstance(value, ast.Constant) and isinstance(value.value, bool)):
                raise Refused("whether it streams (`stream=`) is not known here")
            out.stream = value.value
            out.drop.add("stream")
        elif name in ("verify", "cookies", "cert", "proxies"):
            if session:
                raise Refused(f"it passes `{name}=` per request, which httpx takes only on the client")
            if name in ("cert", "proxies") or not hoistable(value) or (
                    name == "verify" and not (isinstance(value, ast.Constant) and isinstance(value.value, bool))):
                raise Refused(f"its `{name}=` would need a client of its own (not rewritten)")
            out.client[name] = source(value)
            out.drop.add(name)
        elif name == "files":
            raise Refused("it uploads files: httpx reads sync files on the loop (and refuses "
                          "text-mode ones)")
        elif name == "hooks":
            raise Refused("it passes `hooks=`: httpx hooks must be async and ignore return values")
        else:
            raise Refused(f"requests' `{name}=` has no httpx equivalent that keeps behaviour")
    if "params" in keywords:
        params = keywords["params"]
        if isinstance(params, ast.Dict):
            if any(isinstance(v, ast.Constant) and v.value is None for v in params.values):
                raise Refused(PARAMS_NOTE)
        elif not isinstance(params, (ast.List, ast.Tuple, ast.Constant)):
            out.notes.append(PARAMS_NOTE)
        url = call.args[positional - 1] if len(call.args) == positional else keywords.get("url")
        if not (isinstance(params, ast.Constant) and params.value is None) and not _no_query(url, strings):
            raise Refused("its URL may carry a query, which httpx's `params=` would replace "
                          "(requests adds to it)")
    if "headers" in keywords:
        _check_headers(keywords["headers"], headers_of, strings)
    if "json" in keywords:
        out.notes.append(JSON_NOTE)
    out.has_timeout = "timeout" in keywords
    if out.has_timeout and not (isinstance(keywords["timeout"], ast.Constant) and keywords["timeout"].value is None):
        out.notes.append(TIMEOUT_SCOPE_NOTE)
    out.headers = keywords.get("headers")
    body = any(k in keywords for k in ("json", "data"))
    if out.stream:
        out.method = "stream"
        if verb != "request":
            out.first = [f'"{literal}"']
    elif verb in BODYLESS and body:
        out.method, out.first = "request", [f'"{literal}"']
    return out


def _no_query(url: ast.expr | None, strings: dict[str, str]) -> bool:
    """Whether the URL certainly has no `?`: literals, the module's string constants, and
    f-strings and `+` of those."""
    if isinstance(url, ast.Constant):
        return isinstance(url.value, str) and "?" not in url.value
    if isinstance(url, ast.Name):
        return url.id in strings and "?" not in strings[url.id]
    if isinstance(url, ast.FormattedValue):
        return url.format_spec is None and _no_query(url.value, strings)
    if isinstance(url, ast.JoinedStr):
        return all(_no_query(part, strings) for part in url.values)
    if isinstance(url, ast.BinOp) and isinstance(url.op, ast.Add):
        return _no_query(url.left, strings) and _no_query(url.right, strings)
    return False


HEADER_NOTE = ("its header values may be None or not strings: requests drops None and rejects "
               "others with InvalidHeader, httpx raises TypeError")


def _check_headers(headers: ast.expr, headers_of, strings: dict[str, str]) -> None:
    """Header values httpx takes as requests did: strings (literals, f-strings, `str(...)`, the
    module's string constants), not None, not starting with whitespace (requests rejects that
    before connecting, httpx after)."""
    if isinstance(headers, ast.Name):
        headers = headers_of(headers.id) or headers
    if isinstance(headers, ast.Constant) and headers.value is None:
        return
    if not isinstance(headers, ast.Dict) or None in headers.keys or not all(
            header_value_ok(v, strings) for v in headers.values):
        raise Refused(HEADER_NOTE)


def header_value_ok(value: ast.expr, strings: dict[str, str]) -> bool:
    """Whether ``value`` is certainly a str requests would send as it is."""
    if isinstance(value, ast.Constant):
        return isinstance(value.value, str) and not value.value[:1].isspace() and not (
            "\n" in value.value or "\r" in value.value)
    if isinstance(value, ast.Name):
        return value.id in strings and header_value_ok(ast.Constant(strings[value.id]), strings)
    if isinstance(value, ast.JoinedStr):  # always a str; a leading literal must not be blank
        return not value.values or not isinstance(value.values[0], ast.Constant) or header_value_ok(
            value.values[0], strings)
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        return header_value_ok(value.left, strings)
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "str"


def _body_kind(value: ast.expr, resolve) -> str | None:
    """"raw" for str/bytes, "form" for a literal dict without None values, None when unknown."""
    if isinstance(value, ast.Constant):
        return "raw" if isinstance(value.value, (str, bytes)) else None
    if isinstance(value, ast.JoinedStr):
        return "raw"
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Mod)) and _body_kind(value.left, resolve) == "raw":
        return "raw"
    if isinstance(value, ast.Call):
        func = value.func
        if resolve(func) in ("json.dumps", "str", "bytes") or (
                isinstance(func, ast.Attribute) and func.attr in _STR_METHODS):
            return "raw"
    if isinstance(value, ast.Dict) and None not in value.keys and not any(
            isinstance(v, ast.Constant) and v.value is None for v in value.values):
        return "form"
    return None


def _auth(value: ast.expr, resolve, source) -> dict[str, str]:
    if isinstance(value, ast.Tuple) and len(value.elts) == 2:
        return {}
    if isinstance(value, ast.Call) and resolve(value.func) in _AUTH and not value.keywords:
        args = ", ".join(source(a) for a in value.args)
        return {"auth": f"{{httpx}}.{_AUTH[resolve(value.func)]}({args})"}
    raise Refused("its `auth=` may be a custom requests auth class (httpx needs `httpx.Auth`)")
