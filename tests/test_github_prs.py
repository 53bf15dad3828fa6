"""`asyncfix.delivery.github_prs` against the loopback fake in `tests/github_api.py`."""

from __future__ import annotations

import logging
import socket
import traceback

import pytest

from asyncfix.delivery.github_prs import GitHubError, PullRequests, PullRequestSpec
from tests.github_api import FakeGitHub

TOKEN = "ghp_SECRET123"
REPO = "octo/widgets"


@pytest.fixture(autouse=True)
def no_write_throttle(monkeypatch):
    # production waits 1 s between writes (GitHub's advice); the fake needs no such care
    monkeypatch.setattr(PullRequests, "SECONDS_BETWEEN_WRITES", None)


@pytest.fixture
def fake():
    with FakeGitHub(REPO) as server:
        yield server


def client(api_url: str, repo: str = REPO, token: str = TOKEN, **options) -> PullRequests:
    options.setdefault("timeout", 5)
    options.setdefault("backoff", 0)
    return PullRequests(repo, token, api_url=api_url, **options)


def spec(body: str = "Replaces time.sleep in async code.", **fields) -> PullRequestSpec:
    values = dict(branch="asyncfix/sleep", base="main", title="asyncfix: sleep", body=body)
    values.update(fields)
    return PullRequestSpec(**values)


def failure(call) -> GitHubError:
    with pytest.raises(GitHubError) as caught:
        call()
    return caught.value


def assert_clean(exc: BaseException, secret: str = TOKEN) -> None:
    """One line, and the secret nowhere: message, repr, chained exceptions, printed traceback."""
    assert "\n" not in str(exc)
    assert exc.__cause__ is None and exc.__context__ is None
    seen = exc
    while seen is not None:
        assert secret not in str(seen) and secret not in repr(seen)
        seen = seen.__cause__ or seen.__context__
    assert secret not in "".join(traceback.format_exception(exc))


# -- create / update / close ---------------------------------------------------------------------

def test_create_then_rerun_is_unchanged(fake):
    prs = client(fake.url)
    first = prs.sync(spec(draft=True), branch_changed=True)
    assert (first.operation, first.number) == ("created", 1)
    assert first.url == f"{fake.url}/octo/widgets/pull/1"
    [post] = [c for c in fake.calls if c["method"] == "POST"]
    assert post["json"] == {"title": "asyncfix: sleep", "head": "asyncfix/sleep", "base": "main",
                            "body": "Replaces time.sleep in async code.", "draft": True,
                            "maintainer_can_modify": True}
    lookup = fake.calls[0]
    assert (lookup["method"], lookup["route"]) == ("GET", "/repos/octo/widgets/pulls")
    assert lookup["query"]["head"] == "octo:asyncfix/sleep" and lookup["query"]["state"] == "open"

    again = prs.sync(spec(draft=True), branch_changed=False)
    assert (again.operation, again.number, again.url) == ("unchanged", 1, first.url)
    assert fake.count("POST", r"/repos/octo/widgets/pulls") == 1
    assert fake.count("PATCH", r".*") == 0
    assert fake.pulls[1]["draft"] is True and fake.pulls[1]["maintainer_can_modify"] is True


def test_body_change_updates(fake):
    prs = client(fake.url)
    prs.sync(spec(), branch_changed=True)
    result = prs.sync(spec(body="Now also covers time.sleep in lambdas."), branch_changed=False)
    assert (result.operation, result.number) == ("updated", 1)
    [patch] = [c for c in fake.calls if c["method"] == "PATCH"]
    assert patch["route"] == "/repos/octo/widgets/pulls/1"
    assert patch["json"] == {"title": "asyncfix: sleep", "body": "Now also covers time.sleep in lambdas."}
    assert fake.pulls[1]["body"] == "Now also covers time.sleep in lambdas."


def test_branch_changed_with_same_text_updates(fake):
    prs = client(fake.url)
    prs.sync(spec(), branch_changed=True)
    assert prs.sync(spec(), branch_changed=True).operation == "updated"
    assert fake.count("PATCH", r"/repos/octo/widgets/pulls/1") == 1


def test_line_endings_alone_are_no_change(fake):
    number = fake.add_pull("asyncfix/sleep", title="asyncfix: sleep", body="a\r\nb\r\n")
    result = client(fake.url).sync(spec(body="a\nb"), branch_changed=False)
    assert (result.operation, result.number) == ("unchanged", number)


def test_other_base_is_moved(fake):
    fake.add_pull("asyncfix/sleep", base="develop", title="asyncfix: sleep")
    result = client(fake.url).sync(spec(), branch_changed=False)
    assert result.operation == "updated"
    [patch] = [c for c in fake.calls if c["method"] == "PATCH"]
    assert patch["json"]["base"] == "main" and fake.pulls[1]["base"] == "main"


def test_close_comments_then_closes(fake):
    prs = client(fake.url)
    prs.sync(spec(), branch_changed=True)
    result = prs.close("asyncfix/sleep", "No findings left in this category.")
    assert (result.operation, result.number) == ("closed", 1)
    writes = [(c["method"], c["route"], c["json"]) for c in fake.calls if c["method"] != "GET"][1:]
    assert writes == [
        ("POST", "/repos/octo/widgets/issues/1/comments", {"body": "No findings left in this category."}),
        ("PATCH", "/repos/octo/widgets/pulls/1", {"state": "closed"}),
    ]
    assert fake.pulls[1]["state"] == "closed"
    assert prs.close("asyncfix/sleep", "again") is None  # closed PRs are not found again


def test_close_without_pr_is_none(fake):
    assert client(fake.url).close("asyncfix/sleep", "bye") is None
    assert [c["method"] for c in fake.calls] == ["GET"]


def test_open_branches_filters_prefix_and_forks(fake):
    fake.add_pull("asyncfix/sleep")
    fake.add_pull("feature/login")
    fake.add_pull("asyncfix/requests", head_owner="someone-else")  # from a fork: not ours
    closed = fake.add_pull("asyncfix/old")
    fake.pulls[closed]["state"] = "closed"
    fake.add_pull("asyncfix/subprocess")
    prs = client(fake.url)
    assert prs.open_branches() == ["asyncfix/sleep", "asyncfix/subprocess"]
    assert prs.open_branches("feature/") == ["feature/login"]


# -- retries -------------------------------------------------------------------------------------

def test_502_twice_then_success(fake):
    fake.fail_next(502, times=2)
    result = client(fake.url, retries=3).sync(spec(), branch_changed=True)
    assert result.operation == "created"
    assert fake.count("GET", r"/repos/octo/widgets/pulls") == 3


def test_502_forever_gives_up(fake):
    fake.fail_next(502, times=100)
    exc = failure(lambda: client(fake.url, retries=2).sync(spec(), branch_changed=True))
    assert "502" in str(exc) and "after 2 retries" in str(exc)
    assert len(fake.calls) == 3  # the first try and two retries
    assert_clean(exc)


def test_429_with_retry_after_zero_then_success(fake):
    fake.fail_next(429, times=2)  # Retry-After: 0
    assert client(fake.url, retries=3).open_branches() == []
    assert len(fake.calls) == 3


def test_long_retry_after_is_capped():
    from urllib3 import HTTPResponse

    from asyncfix.delivery.github_prs import _CappedRetry
    retry = _CappedRetry(total=3).new()  # .new(): the copies urllib3 makes keep the cap
    assert retry.get_retry_after(HTTPResponse(headers={"Retry-After": "3600"})) == 60
    assert retry.get_retry_after(HTTPResponse(headers={"Retry-After": "2"})) == 2
    assert retry.get_retry_after(HTTPResponse(headers={})) is None


def test_retried_create_that_went_through_is_created(fake):
    # the POST is carried out but answered 502; the retry then gets GitHub's duplicate 422
    fake.fail_next(502, method="POST", processed=True)
    result = client(fake.url).sync(spec(), branch_changed=True)
    assert (result.operation, result.number) == ("created", 1)
    assert fake.count("POST", r"/repos/octo/widgets/pulls") == 2 and len(fake.pulls) == 1


# -- errors --------------------------------------------------------------------------------------

def test_bad_token_is_one_line_and_never_shown(fake, caplog):
    caplog.set_level(logging.DEBUG)  # PyGithub and urllib3 log requests at DEBUG
    fake.token = "ghp_THE_RIGHT_ONE"
    prs = client(fake.url)
    exc = failure(lambda: prs.sync(spec(), branch_changed=True))
    assert "/repos/octo/widgets/pulls" in caplog.text and TOKEN not in caplog.text
    assert str(exc) == ("GitHub rejected the token (401 Bad credentials): set GITHUB_TOKEN or "
                        "GH_TOKEN to a token with pull-requests: write")
    assert_clean(exc)
    assert TOKEN not in repr(prs) and TOKEN not in str(vars(prs).get("_github"))


def test_token_echoed_by_github_is_redacted(fake):
    fake.fail_next(422, method="POST", body={"message": f"Validation Failed for {TOKEN}\nsecond line",
                                             "errors": [{"message": f"head {TOKEN} invalid"}]})
    exc = failure(lambda: client(fake.url).sync(spec(), branch_changed=True))
    assert str(exc).startswith("GitHub refused the request (422): Validation Failed for *** second line")
    assert "head *** invalid" in str(exc)
    assert_clean(exc)


def test_422_message_is_short(fake):
    fake.fail_next(422, method="POST", body={"message": "Validation Failed", "errors": [
        {"resource": "PullRequest", "code": "custom", "message": "No commits between main and asyncfix/sleep"}]})
    exc = failure(lambda: client(fake.url).sync(spec(), branch_changed=True))
    assert str(exc) == ("GitHub refused the request (422): Validation Failed; "
                        "No commits between main and asyncfix/sleep")


def test_403_hints_at_permissions(fake):
    fake.fail_next(403, body={"message": "Resource not accessible by integration"})
    exc = failure(lambda: client(fake.url).open_branches())
    assert str(exc).startswith("GitHub forbids this (403 Resource not accessible by integration)")
    assert "pull-requests: write" in str(exc) and "rate limit" in str(exc)


def test_unknown_repository_is_404(fake):
    exc = failure(lambda: client(fake.url, repo="octo/gadgets").open_branches())
    assert str(exc) == "not found (404): repository octo/gadgets, or the token cannot see it"


@pytest.mark.parametrize("repo", ["", "octo", "octo/", "/widgets", "octo/widgets/x", "octo/..",
                                  "https://github.com/octo/widgets", "-octo/widgets"])
def test_malformed_repository(repo):
    exc = failure(lambda: PullRequests(repo, TOKEN, api_url="http://127.0.0.1:9"))
    assert "expected owner/name" in str(exc)


def test_timeout_is_cannot_reach(fake):
    fake.delay = 1.5  # PyGithub counts whole seconds: 0.3 becomes 1
    exc = failure(lambda: client(fake.url, timeout=0.3, retries=0).open_branches())
    assert str(exc) == f"cannot reach {fake.url}: timed out after 1 s"
    assert_clean(exc)


def test_connection_refused_is_cannot_reach():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    exc = failure(lambda: client(url, retries=1).open_branches())
    assert str(exc).startswith(f"cannot reach {url}: ") and "refused" in str(exc)
    assert_clean(exc)


# -- endpoints and auth --------------------------------------------------------------------------

def test_enterprise_api_url(fake):
    prs = client(f"{fake.url}/api/v3/")
    assert prs.sync(spec(), branch_changed=True).operation == "created"
    assert prs.sync(spec(body="new"), branch_changed=False).operation == "updated"
    assert prs.close("asyncfix/sleep", "done").operation == "closed"
    assert prs.open_branches() == []
    assert len(fake.calls) == 8
    assert all(c["path"].startswith("/api/v3/repos/octo/widgets/") for c in fake.calls)


def test_authorization_header_carries_the_token(fake):
    client(fake.url).open_branches()
    assert fake.calls[0]["authorization"] in (f"token {TOKEN}", f"Bearer {TOKEN}")
