"""`except` clauses around a request: requests' exceptions and httpx's (migration-semantics.md,
1.5). requests' are `OSError`s, httpx's are not; some have no httpx twin."""

from __future__ import annotations

import ast

from asyncfix.transforms.http_kwargs import Refused

# requests exception -> httpx classes that are raised where it was (None: no twin).
_TWINS: dict[str, tuple[str, ...] | None] = {
    "RequestException": ("HTTPError", "InvalidURL"),
    "HTTPError": ("HTTPStatusError",),
    "ConnectionError": ("NetworkError", "ConnectTimeout", "ProxyError", "RemoteProtocolError"),
    "ConnectTimeout": ("ConnectTimeout",),
    "ReadTimeout": ("ReadTimeout",),
    "Timeout": ("TimeoutException",),
    "ProxyError": ("ProxyError",),
    "TooManyRedirects": ("TooManyRedirects",),
    "MissingSchema": ("UnsupportedProtocol",),
    "InvalidSchema": ("UnsupportedProtocol",),
    "InvalidURL": ("InvalidURL", "UnsupportedProtocol"),
    "ChunkedEncodingError": ("RemoteProtocolError",),
    "ContentDecodingError": ("DecodingError",),
}
# Builtins that caught requests' errors (they subclass OSError; MissingSchema also ValueError).
_BUILTINS = frozenset({"OSError", "IOError", "EnvironmentError", "ValueError", "socket.error"})
_HARMLESS = frozenset({"Exception", "BaseException"})
STREAM_ERROR = "StreamError"


def requests_exception(name: str | None) -> str | None:
    """`RequestException` for `requests.RequestException`, `requests.exceptions.RequestException`."""
    if name is None:
        return None
    for prefix in ("requests.exceptions.", "requests."):
        if name.startswith(prefix) and "." not in name[len(prefix):]:
            return name[len(prefix):]
    return None


def handled_types(handler: ast.ExceptHandler) -> list[ast.expr]:
    if handler.type is None:
        return []
    return list(handler.type.elts) if isinstance(handler.type, ast.Tuple) else [handler.type]


def catches_requests_errors(handler: ast.ExceptHandler, resolve) -> bool:
    """Whether the clause catches requests' errors by name or as OSError/ValueError."""
    for typ in handled_types(handler):
        name = resolve(typ)
        if requests_exception(name) or name in _BUILTINS or (name or "").startswith("urllib.error."):
            return True
    return False


def twin_clause(handler: ast.ExceptHandler, resolve, reads_json: bool, streams: bool) -> tuple[str, ...] | None:
    """The httpx classes this clause must name now (None: leave it as it is).

    Raises Refused where no clause keeps what it catches: `except OSError`, an exception with no
    twin, `e.response` read where httpx errors have none, or bad JSON caught as a RequestException.
    """
    names = [resolve(t) for t in handled_types(handler)]
    if not names or all(n in _HARMLESS for n in names):
        return None
    out: list[str] = []
    mapped = False
    for typ, name in zip(handled_types(handler), names):
        short = requests_exception(name)
        if name in _BUILTINS:
            raise Refused(f"an `except {name}` around it caught requests' errors, which are "
                          "OSErrors; httpx's are not")
        if short is None:
            out.append(f"={ast.unparse(typ)}")  # any other class stays as written
            continue
        twins = _TWINS.get(short)
        if twins is None:
            raise Refused(f"requests' `{short}` caught around it has no httpx equivalent")
        if short == "RequestException" and reads_json:
            raise Refused("an `except RequestException` around it caught bad JSON too "
                          "(httpx raises a plain json.JSONDecodeError)")
        if short == "RequestException" and streams:
            twins = twins + (STREAM_ERROR,)
        mapped = True
        out += [t for t in twins if t not in out]
    if not mapped:
        return None
    if handler.name and any(t != "HTTPStatusError" for t in out if not t.startswith("=")) and _reads_response(handler):
        raise Refused("its `except` reads `.response`, which httpx's non-status errors lack")
    return tuple(out)


def _reads_response(handler: ast.ExceptHandler) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "response" and isinstance(n.value, ast.Name)
               and n.value.id == handler.name for stmt in handler.body for n in ast.walk(stmt))


def clause_text(classes: tuple[str, ...], httpx: str) -> str:
    """`httpx.HTTPStatusError` or `(httpx.NetworkError, httpx.ConnectTimeout)`."""
    parts = [c[1:] if c.startswith("=") else f"{httpx}.{c}" for c in classes]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"
