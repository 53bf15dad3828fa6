"""The GitHub side of `asyncfix pr`: one pull request per category branch (`asyncfix/<category>`).

Every call goes through PyGithub; this module only decides what to call (create, edit, close) and
turns failures into one-line `GitHubError`s. The token is never part of a message, a repr or an
exception chain: error texts are built from scratch, redacted, and raised outside the `except`
block, so no requests/urllib3 exception (whose `.request` holds the Authorization header) is
attached as `__cause__` or `__context__`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import github
import requests
import urllib3
from urllib3.util import Retry

# GitHub names: owner is letters, digits and single hyphens; a repository adds "." and "_".
_REPO = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)/([A-Za-z0-9._-]+)$")
_RETRY_STATUSES = (429, 500, 502, 503, 504)
_MAX_MESSAGE = 300  # characters of GitHub's own text kept in a message
_MAX_RETRY_AFTER = 60.0  # seconds: a 429 asking for an hour should fail soon, not hang the run


@dataclass
class PullRequestSpec:
    branch: str  # head branch in the same repository, e.g. "asyncfix/sleep"
    base: str  # e.g. "main"
    title: str
    body: str
    draft: bool = False


@dataclass
class PullRequestResult:
    branch: str
    operation: str  # "created" | "updated" | "unchanged" | "closed"
    number: int | None
    url: str | None


class GitHubError(Exception):
    """One line, for the user; never holds the token."""


class PullRequests:
    """Opens, refreshes and closes the pull requests of one repository's `asyncfix/*` branches."""

    # GitHub asks for at least a second between writes (secondary rate limits); PyGithub sleeps
    # for it. A class attribute so the loopback tests can set it to None.
    SECONDS_BETWEEN_WRITES: float | None = 1.0

    def __init__(self, repo: str, token: str, api_url: str = "https://api.github.com",
                 timeout: float = 30.0, retries: int = 3, backoff: float = 0.5):
        found = _REPO.match(repo or "")
        if not found or found.group(2) in (".", ".."):
            raise GitHubError(f"bad repository {repo!r}: expected owner/name, e.g. octo/widgets")
        if not token:
            raise GitHubError("no GitHub token: set GITHUB_TOKEN or GH_TOKEN")
        api_url = api_url.rstrip("/")
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise GitHubError(f"bad GitHub API URL {api_url!r}: expected https://host[/api/v3]")
        self.repo = repo
        self.owner = found.group(1)
        self.api_url = api_url
        self._token = token
        # Plain urllib3 Retry rather than PyGithub's GithubRetry: GithubRetry also retries 403
        # rate-limit answers by sleeping until the limit resets (up to an hour) and leaves 429
        # out; a CLI should rather say "rate limited" at once. allowed_methods=None: POST and
        # PATCH are retried too (a repeated create is caught in `sync`, a PATCH is idempotent).
        # raise_on_status=False: once retries are spent the last 5xx/429 answer reaches PyGithub,
        # which raises GithubException with GitHub's message.
        retry = _CappedRetry(total=retries, backoff_factor=backoff,
                             status_forcelist=_RETRY_STATUSES, allowed_methods=None,
                             respect_retry_after_header=True, raise_on_status=False)
        # PyGithub takes whole seconds only (it asserts an int): round up, at least 1 s.
        self._timeout = max(1, math.ceil(timeout))
        self._retries = retries
        # lazy: the repository is named by URL and never fetched on its own, saving a request.
        self._github = github.Github(
            base_url=api_url, auth=github.Auth.Token(token), timeout=self._timeout, retry=retry,
            seconds_between_requests=None, seconds_between_writes=self.SECONDS_BETWEEN_WRITES,
            lazy=True)
        self._repository = self._github.get_repo(repo)

    def __repr__(self) -> str:
        return f"PullRequests(repo={self.repo!r}, api_url={self.api_url!r})"

    # -- public ----------------------------------------------------------------------------------

    def sync(self, spec: PullRequestSpec, branch_changed: bool) -> PullRequestResult:
        """Finds the open PR whose head is `<owner>:<branch>` (GET pulls?head=...&state=open).
        None: create it (title, head, base, body, draft, maintainer_can_modify=True) -> "created".
        Found: if branch_changed or its title or body differ from the spec, edit title/body
        (and base if it differs) -> "updated"; else -> "unchanged" (no write call at all)."""
        pull = self._call(self._find, spec.branch, spec.base)
        if pull is None:
            created, error = self._create(spec)
            if error is None:
                return _result(spec.branch, "created", created)
            # A 422 may be GitHub refusing a duplicate: our own POST, retried after a timeout or
            # a 5xx, may have gone through the first time. Then that PR is the one we created.
            pull = self._call(self._find, spec.branch, spec.base)
            if pull is None:
                raise GitHubError(error)
            if pull.title == spec.title and _same_text(pull.body, spec.body):
                return _result(spec.branch, "created", pull)
        if not branch_changed and pull.title == spec.title and _same_text(pull.body, spec.body):
            return _result(spec.branch, "unchanged", pull)
        changes = {"title": spec.title, "body": spec.body}
        if pull.base.ref != spec.base:
            changes["base"] = spec.base
        # The draft flag is left alone: the REST API cannot change it on an existing PR.
        self._call(pull.edit, **changes)
        return _result(spec.branch, "updated", pull)

    def close(self, branch: str, comment: str) -> PullRequestResult | None:
        """Closes the open PR of `branch` (after posting `comment` on it) -> "closed"; None when
        there is none."""
        pull = self._call(self._find, branch, None)
        if pull is None:
            return None
        if comment:  # the comment first: it tells the reader why the PR goes away
            self._call(pull.create_issue_comment, comment)
        self._call(pull.edit, state="closed")
        return _result(branch, "closed", pull)

    def open_branches(self, prefix: str = "asyncfix/") -> list[str]:
        """Head branch names (of this repository) of open PRs starting with prefix."""
        def names() -> list[str]:
            found = []
            for pull in self._repository.get_pulls(state="open"):
                head = pull.head
                # head.repo is None when a fork was deleted; forks' branches are not ours.
                if head.repo is None or head.repo.full_name.lower() != self.repo.lower():
                    continue
                if head.ref.startswith(prefix) and head.ref not in found:
                    found.append(head.ref)
            return found
        return self._call(names)

    # -- GitHub calls ------------------------------------------------------------------------------

    def _find(self, branch: str, base: str | None):
        """The open PR from `branch` of this repository; the one onto `base` when several."""
        pulls = list(self._repository.get_pulls(state="open", head=f"{self.owner}:{branch}"))
        for pull in pulls:
            if base is None or pull.base.ref == base:
                return pull
        return pulls[0] if pulls else None

    def _create(self, spec: PullRequestSpec):
        """(pull, None), or (None, message) for a 422, which `sync` double-checks."""
        try:
            return self._repository.create_pull(
                base=spec.base, head=spec.branch, title=spec.title, body=spec.body,
                draft=spec.draft, maintainer_can_modify=True), None
        except github.GithubException as exc:
            message = self._describe(exc)
            if exc.status == 422:
                return None, message
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            message = self._unreachable(exc)
        raise GitHubError(message)  # outside `except`: no chained exception, see module doc

    def _call(self, function, *args, **kwargs):
        """`function(...)`, any GitHub or network failure turned into a one-line GitHubError."""
        try:
            return function(*args, **kwargs)
        except github.GithubException as exc:
            message = self._describe(exc)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            message = self._unreachable(exc)
        raise GitHubError(message)  # outside `except`: no chained exception, see module doc

    # -- messages --------------------------------------------------------------------------------

    def _describe(self, exc: github.GithubException) -> str:
        status = exc.status
        data = exc.data if isinstance(exc.data, dict) else {}
        said = str(data.get("message") or data.get("data") or exc.message or "").strip()
        if status == 401:
            text = (f"GitHub rejected the token (401 {said or 'Unauthorized'}): set GITHUB_TOKEN "
                    "or GH_TOKEN to a token with pull-requests: write")
        elif status == 403 and str((exc.headers or {}).get("x-ratelimit-remaining")) == "0":
            text = f"GitHub API rate limit exhausted (403 {said or 'Forbidden'}): try again later"
        elif status == 403:
            text = (f"GitHub forbids this (403 {said or 'Forbidden'}): the token needs "
                    f"pull-requests: write and contents: read on {self.repo}, or its API rate "
                    "limit is exhausted")
        elif status == 404:
            text = f"not found (404): repository {self.repo}, or the token cannot see it"
        elif status == 422:
            errors = [_error_text(e) for e in data.get("errors") or ()]
            detail = "; ".join([said or "Unprocessable Entity"] + [e for e in errors if e])
            text = f"GitHub refused the request (422): {detail[:_MAX_MESSAGE]}"
        elif status in _RETRY_STATUSES:
            text = (f"GitHub answered {status} ({said[:_MAX_MESSAGE] or 'no message'}) after "
                    f"{self._retries} retries: try again later")
        else:
            text = f"GitHub answered {status}: {said[:_MAX_MESSAGE] or 'no message'}"
        return self._redact(text)

    def _unreachable(self, exc: BaseException) -> str:
        return self._redact(f"cannot reach {self.api_url}: {_short_reason(exc, self._timeout)}")

    def _redact(self, text: str) -> str:
        return " ".join(text.replace(self._token, "***").split())  # and one line


class _CappedRetry(Retry):
    """urllib3's Retry with Retry-After cut to _MAX_RETRY_AFTER (urllib3's own retry_after_max
    only exists in recent 2.x releases; this works with any version PyGithub accepts)."""

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, _MAX_RETRY_AFTER)


def _result(branch: str, operation: str, pull) -> PullRequestResult:
    return PullRequestResult(branch, operation, pull.number, pull.html_url)


def _same_text(have: str | None, want: str) -> bool:
    """Bodies compare without line-ending or edge-whitespace noise (GitHub's editor adds \\r\\n)."""
    return (have or "").replace("\r\n", "\n").strip() == (want or "").replace("\r\n", "\n").strip()


def _error_text(error) -> str:
    """One entry of a 422's "errors": its message, else "field code" (e.g. "head invalid")."""
    if not isinstance(error, dict):
        return str(error)
    return error.get("message") or " ".join(str(error[k]) for k in ("field", "code") if error.get(k))


def _short_reason(exc: BaseException, timeout: int) -> str:
    """'timed out after 30 s', '[Errno 111] Connection refused', ...: the innermost cause."""
    reason = exc
    for _ in range(5):  # requests error -> urllib3 MaxRetryError -> its .reason
        inner = getattr(reason, "reason", None)
        if not isinstance(inner, BaseException) and reason.args:
            inner = reason.args[0]
        if not isinstance(inner, BaseException) or inner is reason:
            break
        reason = inner
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # before its base class below
        text = str(reason)
        return text[text.find("[Errno"):] if "[Errno" in text else "connection failed"
    if isinstance(reason, (urllib3.exceptions.TimeoutError, requests.exceptions.Timeout,
                           TimeoutError)):
        return f"timed out after {timeout} s"
    text = re.sub(r"^\w+\(host=[^)]*\):\s*", "", str(reason))  # drop "HTTPConnectionPool(...): "
    return text or type(reason).__name__
