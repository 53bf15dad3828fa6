"""Which files a run looks at: git-tracked or not ignored, never virtualenvs or build output."""

from __future__ import annotations

import fnmatch
import os
import subprocess
from pathlib import Path
from typing import Iterable, Iterator

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "build", "dist", "__pycache__", "node_modules",
                       ".tox", ".nox", ".venv", "venv", ".mypy_cache", ".pytest_cache",
                       ".ruff_cache", ".asyncfix_cache", ".eggs"})


# Test and example code: blocking there slows a test, not a server, so it is left out by default.
TEST_DIRS = frozenset({"tests", "test", "testing", "examples"})


class DiscoveryError(Exception):
    pass


def is_test_code(rel: str) -> bool:
    """Whether a path (relative to the folder given, forward slashes) is test or example code."""
    *folders, name = rel.split("/")
    return (name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")
            or any(part in TEST_DIRS for part in folders))


def _excluded(rel: str, patterns: Iterable[str]) -> bool:
    parts = rel.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatch(rel, pattern) or any(fnmatch.fnmatch(p, pattern) for p in parts):
            return True
        if any(fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) for i in range(len(parts))):
            return True
    return False


def _is_venv(folder: str, memo: dict[str, bool]) -> bool:
    if folder not in memo:
        memo[folder] = os.path.isfile(os.path.join(folder, "pyvenv.cfg"))
    return memo[folder]


def _skipped_dir(rel: str, base: str, memo: dict[str, bool]) -> bool:
    """A path inside a skipped folder: build output, caches, VCS data, or any virtualenv."""
    parts = rel.split("/")[:-1]
    folder = base
    for part in parts:
        if part in SKIP_DIRS or part.endswith(".egg-info"):
            return True
        folder = os.path.join(folder, part)
        if _is_venv(folder, memo):
            return True
    return False


def _git_files(folder: str) -> list[str] | None:
    """Files git tracks or would track (not ignored) under ``folder``, relative to it; None
    outside a work tree."""
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            cwd=folder, capture_output=True, check=False,
        )
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    return sorted({n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n})


def _walk(folder: str, memo: dict[str, bool]) -> Iterator[str]:
    """`*.py` files under ``folder`` (relative), pruning skipped folders as it goes."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")
                             and not _is_venv(os.path.join(dirpath, d), memo))
        rel = os.path.relpath(dirpath, folder)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        yield from (prefix + f for f in sorted(filenames) if f.endswith(".py"))


def _given_parts(folder: str) -> list[str]:
    """The components of a folder given, below the working directory (where a user's "tests"
    would be), else its own name: /home/me/testing/app is not a test folder."""
    rel = os.path.relpath(os.path.abspath(folder))
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return [os.path.basename(os.path.abspath(folder))]
    return rel.split(os.sep)


def discover(paths: list[Path], exclude: Iterable[str] = (), root: Path | None = None,
             tests: list[str] | None = None) -> list[str]:
    """Python files under ``paths``. A file named explicitly is always included.

    With ``tests`` (a list), test and example code found in folders (``is_test_code`` of the path
    relative to the folder given) goes there instead; a folder given that is itself test code
    (`check tests/`) is checked whole.

    An exclude glob matches the path relative to the folder given or to ``root`` (the project
    root, where pyproject.toml's globs are written from), or any of its components.
    Raises ``DiscoveryError`` for a path that does not exist.
    """
    found: dict[str, None] = {}
    for path, test in _each(paths, tuple(exclude), root, tests is not None):
        if test:
            tests.append(path)
        else:
            found[path] = None
    if tests is not None:  # a test file also reached through another path given is not test code
        checked = {os.path.normpath(f) for f in found}
        tests[:] = [t for t in dict.fromkeys(tests) if os.path.normpath(t) not in checked]
    return list(found)


def discover_stream(paths: list[Path], exclude: Iterable[str] = (), root: Path | None = None,
                    tests: bool = False) -> Iterator[tuple[str, bool]]:
    """``discover``'s files as (path, test code) pairs, yielded as the walk finds them, so the
    workers start on the first files while the rest of the tree is walked. One folder only (with
    several paths a file may be reached twice, which only the whole list can tell); otherwise the
    whole list. Raises ``DiscoveryError`` here, before the first file, for a path that does not
    exist."""
    for given in paths:
        if not given.exists():
            raise DiscoveryError(f"{given}: no such file or directory")
    if len(paths) == 1 and paths[0].is_dir():
        return _each(paths, tuple(exclude), root, tests)
    listed: list[str] | None = [] if tests else None
    files = discover(paths, exclude, root, listed)
    return iter([(f, False) for f in files] + [(t, True) for t in listed or []])


def _each(paths: list[Path], exclude: tuple[str, ...], root: Path | None, tests: bool) -> Iterator[tuple[str, bool]]:
    """(path, test code) of each file under ``paths``, in walk order; test code is marked only
    with ``tests``."""
    root_dir = os.path.abspath(root) if root is not None else None
    memo: dict[str, bool] = {}
    for given in paths:
        if not given.exists():
            raise DiscoveryError(f"{given}: no such file or directory")
        if given.is_file():
            yield str(given), False
            continue
        base = str(given)
        # A test folder named on the command line (`check tests/`) is asked for: checked whole.
        asked_for_tests = tests and any(part in TEST_DIRS for part in _given_parts(base))
        listed = _git_files(base)
        if listed is None:
            candidates = _walk(base, memo)
        else:
            candidates = (rel for rel in listed if rel.endswith(".py")
                          and not _skipped_dir(rel, base, memo)
                          and os.path.isfile(os.path.join(base, rel)))  # deleted but tracked
        for rel in candidates:
            if exclude and (_excluded(rel, exclude) or (root_dir is not None and _excluded(
                    os.path.relpath(os.path.join(os.path.abspath(base), rel), root_dir).replace(os.sep, "/"),
                    exclude))):
                continue
            # strings: a Path per file costs more than the scan
            yield os.path.join(base, rel), tests and not asked_for_tests and is_test_code(rel)
