"""A loopback HTTP/1.1 server for the http behaviour tests, and its session fixture `http_server`.

Every response carries a Content-Length or is chunked, so keep-alive works for `requests` and
`httpx` alike. `delay` (seconds) is slept in the server before every response; `delayed(s)` sets
it for a `with` block. Endpoints (any method; HEAD gets the headers without the body):

    /echo                   200 JSON {"method", "path", "query": {k: [values]},
                                      "headers": {lowercased name: value}, "body": latin-1 text}
    /json                   200 JSON {"hello": "world", "n": [1, 2, 3]}
    /status/<code>          <code> (200-599), text/plain body "status <code>" (a 3xx has no
                            Location; 204 and 304 have no body)
    /redirect/<n>           302 to /redirect/<n-1>; /redirect/0 -> 302 to /json
    /slow?s=<seconds>       sleeps s, then 200 JSON {"slept": s}
    /stream?chunks=n&size=m 200 chunked: n chunks of m bytes of b"0123456789"..., 10 ms apart
    /lines                  200 text/plain "alpha\\nbeta\\ngamma\\n"
    /text                   200 text/plain "café" (utf-8)
    /form                   200 JSON of the urlencoded body, parse_qs(keep_blank_values=True)
    /bad-json               200 application/json body `{not json`
    anything else           404 text/plain "not found" (a query value that is no number: 400)
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
DIGITS = b"0123456789"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response below is framed
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms Nagle stall
    server_version = "asyncfix-test"
    timeout = 30  # an idle keep-alive connection's thread ends after this

    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    # -- request body ---------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after the chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- responses ------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str = TEXT, headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if status in (204, 304):  # no body may follow: it would be read as the next response
            body = b""
        else:
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data, status: int = 200):
        self._send(status, json.dumps(data).encode(), JSON)

    def _stream(self, chunks: int, size: int):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            return
        piece = (DIGITS * (size // len(DIGITS) + 1))[:size]
        for index in range(chunks):
            if index:
                time.sleep(0.01)
            if piece:  # an empty chunk would end the body
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    # -- dispatch -------------------------------------------------------------------------------

    def _handle(self):
        try:
            body = self._read_body()
            split = urlsplit(self.path)
            path, query = split.path, parse_qs(split.query, keep_blank_values=True)
            delay = self.server.delay
            if delay > 0:
                time.sleep(delay)
            try:
                self._route(path, query, body)
            except ValueError:  # a query value that is not a number: nothing was sent yet
                self._send(400, b"bad request")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client went away mid-response
            self.close_connection = True

    def _route(self, path: str, query: dict, body: bytes):
        parts = path.strip("/").split("/")
        head = parts[0]
        if path == "/echo":
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            self._json({"method": self.command, "path": path, "query": query,
                        "headers": headers, "body": body.decode("latin-1")})
        elif path == "/json":
            self._json({"hello": "world", "n": [1, 2, 3]})
        elif head == "status" and len(parts) == 2 and parts[1].isdigit() and 200 <= int(parts[1]) < 600:
            code = int(parts[1])
            self._send(code, f"status {code}".encode())
        elif head == "redirect" and len(parts) == 2 and parts[1].isdigit():
            left = int(parts[1])
            target = f"/redirect/{left - 1}" if left > 0 else "/json"
            self._send(302, f"redirect to {target}".encode(), headers={"Location": target})
        elif path == "/slow":
            seconds = float(query.get("s", ["0"])[0])
            time.sleep(seconds)
            self._json({"slept": seconds})
        elif path == "/stream":
            self._stream(int(query.get("chunks", ["1"])[0]), int(query.get("size", ["10"])[0]))
        elif path == "/lines":
            self._send(200, b"alpha\nbeta\ngamma\n")
        elif path == "/text":
            self._send(200, "café".encode())
        elif path == "/form":
            self._json(parse_qs(body.decode("latin-1"), keep_blank_values=True))
        elif path == "/bad-json":
            self._send(200, b"{not json", JSON)
        else:
            self._send(404, b"not found")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    delay: float = 0.0


class HttpServer:
    """The running server: `url`, and `delay` (seconds slept before every response)."""

    def __init__(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.host, self.port = self._server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="http-test-server", daemon=True)
        self._thread.start()

    @property
    def delay(self) -> float:
        return self._server.delay

    @delay.setter
    def delay(self, seconds: float):
        self._server.delay = float(seconds)

    def set_delay(self, seconds: float):
        self.delay = seconds

    @contextlib.contextmanager
    def delayed(self, seconds: float):
        before = self.delay
        self.delay = seconds
        try:
            yield self
        finally:
            self.delay = before

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def serving():
    """A running server (the `http_server` fixture of conftest.py). A proxy set in the
    environment must not see loopback requests (requests and httpx both honour NO_PROXY)."""
    saved = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    for name, value in saved.items():
        os.environ[name] = ",".join(filter(None, [value, "127.0.0.1", "localhost"]))
    server = HttpServer()
    try:
        yield server
    finally:
        server.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
