"""`apply --branch` and `pr` on real git: temporary repositories, a bare remote, and a loopback
stand-in for GitHub's API (tests/github_api.py) that records the calls. No network."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from asyncfix.apply import checked_rewrite
from asyncfix.catalog import Catalog
from asyncfix.codemods import CATEGORIES
from tests.github_api import FakeGitHub

# One module per concern, several categories in each; `save` mixes json and file-io in one run.
SERVICE = '''\
import json
import sqlite3
import subprocess
import time

import requests

DB = "app.db"


async def save(doc, path):
    data = json.dumps(doc, indent=2)
    with open(path, "w") as fh:
        fh.write(data)
    return len(data)


async def fetch(url):
    resp = requests.get(url, timeout=10)
    resp.raise_for_status()
    return resp.json()


async def count(name):
    conn = sqlite3.connect(DB)
    n = conn.execute("SELECT count(*) FROM docs WHERE name = ?", (name,)).fetchone()[0]
    conn.close()
    return n


async def poll(job):
    while not job.done():
        time.sleep(0.5)
    return subprocess.run(["echo", job.name], capture_output=True, check=True).stdout
'''

WORKER = '''\
import json
import time


async def checkpoint(state, path):
    with open(path, "w") as fh:
        json.dump(state, fh)
    time.sleep(0.1)


async def read_config(path):
    with open(path) as fh:
        return fh.read()
'''


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
                               "GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
                               "HOME": str(cwd), "PATH": "/usr/bin:/bin"}).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "backend"
    (root / "app").mkdir(parents=True)
    (root / "app" / "service.py").write_text(SERVICE)
    (root / "app" / "worker.py").write_text(WORKER)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "backend")
    return root


def state(root: Path) -> tuple:
    """HEAD, index and work tree, as git sees them."""
    return (git(root, "rev-parse", "HEAD"), git(root, "symbolic-ref", "HEAD"), git(root, "diff", "--cached"),
            git(root, "diff"), git(root, "status", "--porcelain", "--untracked-files=all"))


def branches(root: Path) -> list[str]:
    return sorted(git(root, "for-each-ref", "--format=%(refname:short)", "refs/heads/asyncfix/").split())


def test_one_branch_per_category_one_commit_each_user_state_untouched(repo, cli):
    (repo / "app" / "worker.py").write_text(WORKER + "# staged edit\n")
    git(repo, "add", "app/worker.py")
    (repo / "app" / "service.py").write_text(SERVICE + "# unstaged edit\n")
    (repo / "notes.txt").write_text("untracked\n")
    before = state(repo)
    result = cli("apply", "--branch", "-j", "1", repo)
    assert result.exit_code == 0, result.output
    assert state(repo) == before
    assert branches(repo) == ["asyncfix/file-io", "asyncfix/http", "asyncfix/json", "asyncfix/sleep",
                              "asyncfix/sqlite", "asyncfix/subprocess"]
    main = git(repo, "rev-parse", "main").strip()
    for branch in branches(repo):
        assert git(repo, "rev-list", f"main..{branch}").split() == [git(repo, "rev-parse", branch).strip()]
        assert git(repo, "rev-parse", f"{branch}^").strip() == main
    sleep = git(repo, "diff", "main", "asyncfix/sleep")
    assert "+        await asyncio.sleep(0.5)" in sleep and "+    await asyncio.sleep(0.1)" in sleep
    assert "httpx" not in sleep and "aiosqlite" not in sleep and "to_thread" not in sleep
    message = git(repo, "log", "-1", "--format=%B", "asyncfix/sleep")
    assert message.startswith("asyncfix(sleep): Blocking sleep\n")
    assert "- app/service.py:" in message and "Generated-by: asyncfix" in message
    assert "git diff main...asyncfix/json" in result.output
    # the json branch takes `save`'s run whole: the open() of file-io in it too
    json_diff = git(repo, "diff", "main", "asyncfix/json")
    assert "def _save_sync(doc, path):" in json_diff and "def _checkpoint_sync(state, path):" in json_diff
    assert "_save_sync" not in git(repo, "diff", "main", "asyncfix/file-io")


def test_a_rerun_leaves_branches_as_they_are_and_refuses_one_a_person_committed_to(repo, cli):
    assert cli("apply", "--branch", "-j", "1", repo).exit_code == 0
    tips = {b: git(repo, "rev-parse", b) for b in branches(repo)}
    again = cli("apply", "--branch", "-j", "1", repo)
    assert again.exit_code == 0 and again.output.count("unchanged") == len(tips)
    assert {b: git(repo, "rev-parse", b) for b in branches(repo)} == tips
    git(repo, "worktree", "add", "-q", str(repo.parent / "wt"), "asyncfix/http")
    (repo.parent / "wt" / "extra.py").write_text("x = 1\n")
    git(repo.parent / "wt", "add", "extra.py")
    git(repo.parent / "wt", "commit", "-qm", "a fix by hand")
    hand = git(repo, "rev-parse", "asyncfix/http")
    third = cli("apply", "--branch", "-j", "1", repo)
    assert third.exit_code == 1
    assert "asyncfix/http has a commit asyncfix did not make" in third.output
    assert git(repo, "rev-parse", "asyncfix/http") == hand


def test_merging_the_branches_one_by_one_equals_one_apply_of_everything(repo, cli, catalog):
    expected = {}
    for name in ("service.py", "worker.py"):
        source = (repo / "app" / name).read_text()
        expected[name] = checked_rewrite(source, name, catalog, set(catalog.categories)).text
    for _ in range(len(CATEGORIES)):
        assert cli("apply", "--branch", "-j", "1", repo).exit_code in (0, 1)
        left = branches(repo)
        if not left:
            break
        git(repo, "merge", "-q", "--no-edit", left[-1])  # the last in name order: not checklist order
        git(repo, "branch", "-qD", left[-1])
    assert not branches(repo)
    for name, text in expected.items():
        assert (repo / "app" / name).read_text() == text


def test_bad_base_and_no_repository_are_one_line_errors(repo, tmp_path, cli):
    result = cli("apply", "--branch", "--base", "nope", repo)
    assert result.exit_code == 2 and "unknown base: nope" in result.output
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / "m.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    result = cli("apply", "--branch", outside)
    assert result.exit_code == 2 and "not a git repository" in result.output


TOKEN = "ghp_TESTTOKEN0123456789"


def test_pr_pushes_every_branch_and_opens_one_pull_request_each_once(repo, tmp_path, cli, monkeypatch):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    from asyncfix.delivery.github_prs import PullRequests

    monkeypatch.setattr(PullRequests, "SECONDS_BETWEEN_WRITES", None)  # GitHub's pacing, not the fake's
    with FakeGitHub("acme/backend", token=TOKEN) as gh:
        args = ("pr", "-j", "1", "--remote", "origin", "--repo", "acme/backend", "--api-url", gh.url, repo)
        first = cli(*args)
        assert first.exit_code == 0, first.output
        pushed = sorted(line.split("\t")[1] for line in git(repo, "ls-remote", "origin", "refs/heads/asyncfix/*")
                        .splitlines())
        assert pushed == [f"refs/heads/{b}" for b in branches(repo)]
        created = [c for c in gh.calls if c["method"] == "POST" and c["path"].endswith("/pulls")]
        assert len(created) == 6
        assert {c["json"]["base"] for c in created} == {"main"}
        sleep = next(c["json"] for c in created if c["json"]["head"] == "asyncfix/sleep")
        assert sleep["title"] == "asyncfix(sleep): Blocking sleep"
        assert "Why it blocks the event loop" in sleep["body"] and "```diff" in sleep["body"]
        assert "### Fix safety" in sleep["body"] and "### How to verify" in sleep["body"]
        second = cli(*args)
        assert second.exit_code == 0
        assert len([c for c in gh.calls if c["method"] == "POST" and c["path"].endswith("/pulls")]) == 6
        assert second.output.count("pull request unchanged") == 6
        # the sleep calls go on main: its pull request has nothing left, and is closed
        for name in ("service.py", "worker.py"):
            path = repo / "app" / name
            path.write_text(path.read_text().replace("time.sleep(0.5)", "pass").replace("    time.sleep(0.1)\n", ""))
        git(repo, "commit", "-qam", "no more sleeps")
        third = cli(*args)
        assert third.exit_code == 0, third.output
        assert "asyncfix/sleep: pull request closed" in third.output
        closed = [p for p in gh.pulls.values() if p["head"] == "asyncfix/sleep"]
        assert closed and closed[0]["state"] == "closed"
        for out in (first.output, second.output, third.output):
            assert TOKEN not in out
        assert all(TOKEN not in str(c.get("json")) for c in gh.calls)


def test_pr_without_a_token_or_repository_says_so(repo, cli, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    result = cli("pr", repo)
    assert result.exit_code == 2 and "set GITHUB_TOKEN or GH_TOKEN" in result.output
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    result = cli("pr", "--remote", "upstream", repo)
    assert result.exit_code == 2 and "no remote named 'upstream'" in result.output
    assert TOKEN not in result.output
