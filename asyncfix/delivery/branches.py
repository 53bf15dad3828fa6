"""One branch per checklist category, `asyncfix/<category>`, each one commit off the base
holding only that category's rewrite (Renovate's model: a stable branch per update, rebuilt on
the base at each run).

The user's branch, index and work tree are never touched: the base is read from git (`git
archive`, into a temporary folder), rewritten there, and each commit is built with a temporary
index (`read-tree`, `update-index --cacheinfo`, `write-tree`, `commit-tree`) and set with
`update-ref`. A branch is rebuilt only while every commit on it past the base is asyncfix's
(the `Generated-by: asyncfix` trailer); one a person committed to is left alone, with the reason.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from asyncfix.catalog import Category
from asyncfix.delivery.messages import TRAILER, commit_message
from asyncfix.findings import Finding

PREFIX = "asyncfix/"
IDENTITY = {"GIT_AUTHOR_NAME": "asyncfix", "GIT_AUTHOR_EMAIL": "asyncfix@users.noreply.github.com",
            "GIT_COMMITTER_NAME": "asyncfix", "GIT_COMMITTER_EMAIL": "asyncfix@users.noreply.github.com"}


class BranchError(Exception):
    """One line, for the user: the run cannot go on (not a repository, an unknown base)."""


@dataclass
class Change:
    """One category's rewrite of the base: new bytes by repo-relative path."""

    category: Category
    files: dict[str, bytes] = field(default_factory=dict)
    diffs: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (before, after) text
    fixed: list[Finding] = field(default_factory=list)


@dataclass
class Outcome:
    category: str
    branch: str
    status: str  # created | updated | unchanged | deleted | refused
    changes: int = 0
    commit: str | None = None
    reason: str = ""


def open_repo(path: Path):
    import git  # GitPython: only the branch and PR commands need it

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise BranchError(f"not a git repository: {path}") from None


def resolve_base(repo, ref: str | None):
    import git

    try:
        return repo.commit(ref or "HEAD")
    except (git.BadName, ValueError, git.GitCommandError):
        raise BranchError(f"unknown base: {ref or 'HEAD'} (a branch, tag or commit of this repository)") from None


def snapshot(repo, commit, into: Path) -> None:
    """The base's files, as committed, in ``into`` (the work tree may hold other edits)."""
    data = io.BytesIO()
    repo.archive(data, treeish=commit.hexsha, format="tar")
    data.seek(0)
    with tarfile.open(fileobj=data) as tar:
        tar.extractall(into, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(into)


def write_branch(repo, base, change: Change) -> Outcome:
    """Sets `asyncfix/<category>` to one commit on ``base`` holding ``change``."""
    name = PREFIX + change.category.name
    outcome = Outcome(change.category.name, name, "created", len(change.fixed))
    existing = _head(repo, name)
    if existing is not None:
        why = _not_ours(repo, base, existing, name)
        if why:
            return Outcome(change.category.name, name, "refused", len(change.fixed), reason=why)
        outcome.status = "updated"
    tree = _tree(repo, base, change.files)
    if existing is not None and [p.hexsha for p in existing.parents] == [base.hexsha] \
            and existing.tree.hexsha == tree:
        return Outcome(change.category.name, name, "unchanged", len(change.fixed), existing.hexsha)
    env = {} if _has_identity(repo) else IDENTITY
    sha = _commit_tree(repo, tree, base, change, env)
    repo.git.update_ref(f"refs/heads/{name}", sha)
    outcome.commit = sha
    return outcome


def drop_branch(repo, base, category: str) -> Outcome | None:
    """A category with nothing left to change: its branch goes, if asyncfix made all of it."""
    name = PREFIX + category
    existing = _head(repo, name)
    if existing is None:
        return None
    why = _not_ours(repo, base, existing, name)
    if why:
        return Outcome(category, name, "refused", reason=why)
    repo.git.update_ref("-d", f"refs/heads/{name}")
    return Outcome(category, name, "deleted")


def _head(repo, name: str):
    try:
        return repo.commit(f"refs/heads/{name}")
    except Exception:  # noqa: BLE001 - GitPython raises several kinds for a missing ref
        return None


def _not_ours(repo, base, tip, name: str) -> str | None:
    """Why the branch may not be rebuilt (None: every commit past the base is asyncfix's, and it
    is not checked out)."""
    try:
        if not repo.head.is_detached and repo.head.ref.name == name:
            return f"{name} is checked out here: switch branches to let asyncfix rebuild it"
    except TypeError:  # an unborn HEAD
        pass
    merge_base = repo.merge_base(base, tip)
    since = merge_base[0].hexsha if merge_base else None
    commits = list(repo.iter_commits(f"{since}..{tip.hexsha}" if since else tip.hexsha))
    foreign = [c for c in commits if TRAILER not in c.message]
    if foreign:
        c = foreign[0]
        return (f"{name} has a commit asyncfix did not make ({c.hexsha[:8]} by {c.author.name}): "
                f"left as it is; delete the branch to let asyncfix rebuild it")
    return None


def _tree(repo, base, files: dict[str, bytes]) -> str:
    """The base's tree with ``files`` replaced, built in a temporary index."""
    with tempfile.TemporaryDirectory(prefix="asyncfix-index-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        repo.git.read_tree(base.hexsha, env=env)
        for path, data in sorted(files.items()):
            repo.git.update_index("--add", "--cacheinfo", f"{_mode(base, path)},{_blob(repo, data)},{path}", env=env)
        return repo.git.write_tree(env=env).strip()


def _blob(repo, data: bytes) -> str:
    """Writes ``data`` to the object store (bytes as given: encoding, BOM and line endings kept)."""
    from gitdb import IStream

    sha = repo.odb.store(IStream("blob", len(data), io.BytesIO(data))).hexsha
    return sha.decode() if isinstance(sha, bytes) else sha


def _commit_tree(repo, tree: str, base, change: Change, env: dict) -> str:
    message = commit_message(change.category, change.fixed)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as handle:
        handle.write(message)
    try:
        return repo.git.commit_tree(tree, "-p", base.hexsha, "-F", handle.name, env=env).strip()
    finally:
        os.unlink(handle.name)


def _mode(base, path: str) -> str:
    try:
        return f"{(base.tree / path).mode:o}"
    except KeyError:
        return "100644"


def _has_identity(repo) -> bool:
    reader = repo.config_reader()
    return reader.has_option("user", "name") and reader.has_option("user", "email")
