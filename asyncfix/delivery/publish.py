"""`pr`'s second half: push the category branches (force-with-lease, `asyncfix/*` only) and
open, update or close one pull request per category (`github_prs`, PyGithub)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from asyncfix.delivery.branches import PREFIX, BranchError
from asyncfix.delivery.build import Build

_REMOTE = re.compile(r"(?:[:/])([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")
_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")
CLOSE_COMMENT = "asyncfix finds nothing left to change in this category on `{base}`: closing."


@dataclass
class Published:
    branch: str
    pushed: bool  # the remote branch moved
    operation: str  # created | updated | unchanged | closed | deleted
    url: str | None = None


def repo_from_remote(url: str) -> str | None:
    """`owner/name` of a GitHub-style remote URL (`git@github.com:acme/backend.git`,
    `https://github.com/acme/backend`)."""
    match = _REMOTE.search(url.strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


def remote_url(repo, remote: str) -> str:
    try:
        return repo.remote(remote).url
    except ValueError:
        raise BranchError(f"no remote named {remote!r} (git remote -v lists them)") from None


def push(repo, remote: str, result: Build, secrets: list[str]) -> dict[str, bool]:
    """Pushes each built branch whose remote copy differs, with a lease on what the remote had;
    deletes the remote copy of a branch dropped here. Returns branch -> whether it moved."""
    import git

    remote_heads = _remote_heads(repo, remote, secrets)
    moved = {}
    for outcome in result.outcomes:
        ref = f"refs/heads/{outcome.branch}"
        had = remote_heads.get(ref, "")
        try:
            if outcome.status == "deleted":
                if had:
                    repo.git.push(f"--force-with-lease={ref}:{had}", remote, f":{ref}")
                moved[outcome.branch] = bool(had)
            elif outcome.status in ("created", "updated", "unchanged"):
                local = repo.commit(ref).hexsha
                if local != had:
                    repo.git.push(f"--force-with-lease={ref}:{had}", remote, f"{ref}:{ref}")
                moved[outcome.branch] = local != had
        except git.GitCommandError as exc:
            raise BranchError(f"push of {outcome.branch} to {remote} failed: {_first_line(exc, secrets)}") from None
    return moved


def publish(result: Build, moved: dict[str, bool], prs, categories: list, base: str, draft: bool) -> list[Published]:
    """One pull request per built branch; the open ones of selected categories with nothing
    left are closed."""
    from asyncfix.delivery.github_prs import PullRequestSpec
    from asyncfix.delivery.messages import pr_body, subject

    out = []
    for outcome in result.outcomes:
        change = result.changes.get(outcome.category)
        if outcome.status == "refused" or change is None:
            continue
        spec = PullRequestSpec(outcome.branch, base, subject(change.category),
                               pr_body(change.category, change.fixed, change.diffs, base), draft)
        done = prs.sync(spec, moved.get(outcome.branch, False))
        out.append(Published(outcome.branch, moved.get(outcome.branch, False), done.operation, done.url))
    built = {o.branch for o in result.outcomes if o.category in result.changes}
    selected = {PREFIX + c.name for c in categories}
    for branch in prs.open_branches(PREFIX):
        if branch in selected and branch not in built:
            closed = prs.close(branch, CLOSE_COMMENT.format(base=base))
            if closed is not None:
                out.append(Published(branch, moved.get(branch, False), "closed", closed.url))
    return out


def _remote_heads(repo, remote: str, secrets: list[str]) -> dict[str, str]:
    import git

    try:
        text = repo.git.ls_remote("--heads", remote, f"refs/heads/{PREFIX}*")
    except git.GitCommandError as exc:
        raise BranchError(f"cannot read {remote}'s branches: {_first_line(exc, secrets)}") from None
    heads = {}
    for line in text.splitlines():
        sha, _, ref = line.partition("\t")
        heads[ref.strip()] = sha.strip()
    return heads


def _first_line(exc, secrets: list[str]) -> str:
    """git's own words, one line, without credentials a remote URL may carry."""
    text = (getattr(exc, "stderr", "") or str(exc)).strip()
    line = next((l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("stderr:")), text)
    line = line.removeprefix("stderr: ").strip().strip("'")
    line = _CREDENTIALS.sub(r"\1***@", line)
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    return line
