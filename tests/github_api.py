"""A loopback fake of the few GitHub REST endpoints `asyncfix.delivery.github_prs` uses.

    with FakeGitHub() as gh:                       # repository "octo/widgets" on 127.0.0.1:<port>
        PullRequests("octo/widgets", "tok", api_url=gh.url)
        gh.calls                                   # every request, failed ones included
        gh.pulls                                   # {number: {...}} the pull requests' state

Endpoints, also under an /api/v3 prefix (GitHub Enterprise style; answers then carry URLs with
that prefix, as PyGithub follows the `url` fields it is given):

    GET   /repos/{o}/{r}                      the repository
    GET   /repos/{o}/{r}/pulls                ?state=open|closed|all &head=owner:branch &base=...
    POST  /repos/{o}/{r}/pulls                422 when an open PR for that head and base exists
    GET   /repos/{o}/{r}/pulls/{n}
    PATCH /repos/{o}/{r}/pulls/{n}            title, body, state, base, maintainer_can_modify
    POST  /repos/{o}/{r}/issues/{n}/comments  kept in `comments` as (n, body)

Knobs: `token` (when set, any other Authorization gets 401 Bad credentials), `delay` (seconds
slept before every answer) and `fail_next(status, times, body=None, headers=None, method=None,
processed=False)`: the next `times` requests (of `method`, if given) get `status` (a 429 gets
Retry-After: 0 unless headers say otherwise); `processed`: carried out first, like a gateway
timing out on a backend that did the work.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_GHE = "/api/v3"


class FakeGitHub:
    def __init__(self, repo: str = "octo/widgets", token: str | None = None):
        self.owner, self.name = repo.split("/")
        self.token = token
        self.delay = 0.0
        self.calls: list[dict] = []
        self.pulls: dict[int, dict] = {}
        self.comments: list[tuple[int, str]] = []
        self._failures: list[tuple] = []  # (status, body, headers, method, processed)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    # -- knobs and helpers ---------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1, body: dict | None = None,
                  headers: dict | None = None, method: str | None = None,
                  processed: bool = False) -> None:
        if headers is None and status == 429:
            headers = {"Retry-After": "0"}
        with self._lock:
            self._failures.extend([(status, body, headers, method, processed)] * times)

    def add_pull(self, branch: str, base: str = "main", title: str = "t", body: str = "b",
                 head_owner: str | None = None) -> int:
        """An open PR made outside the code under test (head_owner: a fork's owner)."""
        with self._lock:
            return self._new_pull(branch, base, title, body, False, head_owner or self.owner)

    def count(self, method: str, path: str) -> int:
        """Calls whose method matches and whose path (without /api/v3) matches the regex."""
        return sum(1 for c in self.calls if c["method"] == method and re.fullmatch(path, c["route"]))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeGitHub:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the API -------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers, body: bytes):
        """(status, json, extra headers) for one request; records it in `calls` first."""
        parts = urlsplit(raw_path)
        prefix = _GHE if parts.path.startswith(_GHE + "/") else ""
        route = parts.path[len(prefix):]
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = body.decode("latin-1")
        authorization = headers.get("Authorization")
        with self._lock:
            self.calls.append({"method": method, "path": parts.path, "route": route, "query": query,
                               "json": payload, "authorization": authorization})
            failure = next((f for f in self._failures if f[3] in (None, method)), None)
            if failure:
                self._failures.remove(failure)
                status, fail_body, fail_headers, _, processed = failure
                if processed:
                    self._route(method, route, query, payload, f"{self.url}{prefix}")
                return status, fail_body or {"message": HTTPStatus(status).phrase}, fail_headers
            if self.token is not None and authorization not in (f"token {self.token}",
                                                                 f"Bearer {self.token}"):
                return 401, {"message": "Bad credentials"}, None
            return self._route(method, route, query, payload, f"{self.url}{prefix}")

    def _route(self, method, route, query, payload, base):
        repo_path = f"/repos/{self.owner}/{self.name}"
        if route.lower() != repo_path.lower() and not route.lower().startswith(repo_path.lower() + "/"):
            return _not_found()
        rest = route[len(repo_path):]
        if rest == "" and method == "GET":
            return 200, self._repo_json(base), None
        if rest == "/pulls" and method == "GET":
            return 200, [self._pull_json(p, base) for p in self._matching(query)], None
        if rest == "/pulls" and method == "POST":
            return self._create(payload or {}, base)
        found = re.fullmatch(r"/(pulls|issues)/(\d+)(/comments)?", rest)
        if not found or int(found.group(2)) not in self.pulls:
            return _not_found()
        kind, number, comments = found.group(1), int(found.group(2)), found.group(3)
        pull = self.pulls[number]
        if kind == "pulls" and not comments and method == "GET":
            return 200, self._pull_json(pull, base), None
        if kind == "pulls" and not comments and method == "PATCH":
            for key in ("title", "body", "state", "base", "maintainer_can_modify"):
                if key in (payload or {}):
                    pull[key] = payload[key]
            return 200, self._pull_json(pull, base), None
        if kind == "issues" and comments and method == "POST":
            self.comments.append((number, payload["body"]))
            comment_id = len(self.comments)
            return 201, {"id": comment_id, "body": payload["body"],
                         "url": f"{base}{repo_path}/issues/comments/{comment_id}",
                         "html_url": f"{self.url}/{self.owner}/{self.name}/pull/{number}"
                                     f"#issuecomment-{comment_id}",
                         "user": {"login": "asyncfix-bot"}}, None
        return _not_found()

    def _matching(self, query):
        state = query.get("state", "open")
        head = query.get("head")
        for pull in sorted(self.pulls.values(), key=lambda p: p["number"]):
            if state != "all" and pull["state"] != state:
                continue
            if head:
                owner, _, ref = head.rpartition(":")
                if ref != pull["head"] or (owner and owner.lower() != pull["head_owner"].lower()):
                    continue
            if query.get("base") and pull["base"] != query["base"]:
                continue
            yield pull

    def _create(self, payload, base):
        missing = [k for k in ("title", "head", "base") if not payload.get(k)]
        if missing:
            return 422, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "field": k, "code": "missing_field"} for k in missing]}, None
        owner, _, branch = payload["head"].rpartition(":")
        owner = owner or self.owner
        if any(p["state"] == "open" and p["head"] == branch and p["base"] == payload["base"]
               and p["head_owner"].lower() == owner.lower() for p in self.pulls.values()):
            return 422, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "code": "custom",
                 "message": f"A pull request already exists for {owner}:{branch}."}]}, None
        number = self._new_pull(branch, payload["base"], payload["title"], payload.get("body"),
                                bool(payload.get("draft")), owner,
                                payload.get("maintainer_can_modify", False))
        return 201, self._pull_json(self.pulls[number], base), None

    def _new_pull(self, branch, base, title, body, draft, head_owner, can_modify=False) -> int:
        number = max(self.pulls, default=0) + 1
        self.pulls[number] = {"number": number, "head": branch, "head_owner": head_owner,
                              "base": base, "title": title, "body": body, "state": "open",
                              "draft": draft, "maintainer_can_modify": can_modify}
        return number

    # -- JSON shaped like GitHub's ---------------------------------------------------------------

    def _repo_json(self, base, owner=None):
        owner = owner or self.owner
        full = f"{owner}/{self.name}"
        return {"id": abs(hash(full)) % 10**6, "name": self.name, "full_name": full,
                "owner": {"login": owner, "type": "User", "url": f"{base}/users/{owner}"},
                "private": False, "default_branch": "main", "url": f"{base}/repos/{full}",
                "html_url": f"{self.url}/{full}"}

    def _pull_json(self, pull, base):
        repo_path = f"/repos/{self.owner}/{self.name}"
        n = pull["number"]
        part = lambda ref, owner: {"label": f"{owner}:{ref}", "ref": ref, "sha": "0" * 40,  # noqa: E731
                                   "user": {"login": owner}, "repo": self._repo_json(base, owner)}
        return {"id": 1000 + n, "number": n, "state": pull["state"], "title": pull["title"],
                "body": pull["body"], "draft": pull["draft"], "merged": False,
                "maintainer_can_modify": pull["maintainer_can_modify"],
                "url": f"{base}{repo_path}/pulls/{n}",
                "issue_url": f"{base}{repo_path}/issues/{n}",
                "comments_url": f"{base}{repo_path}/issues/{n}/comments",
                "html_url": f"{self.url}/{self.owner}/{self.name}/pull/{n}",
                "user": {"login": "asyncfix-bot"},
                "head": part(pull["head"], pull["head_owner"]),
                "base": part(pull["base"], self.owner)}


def _not_found():
    return 404, {"message": "Not Found",
                 "documentation_url": "https://docs.github.com/rest"}, None


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping `delay` must not hold up close()
    fake: FakeGitHub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests expects; every answer is framed
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = self.server.fake
        status, data, headers = fake.handle(self.command, self.path, self.headers, body)
        if fake.delay:
            time.sleep(fake.delay)
        raw = json.dumps(data).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer
