"""`apply --branch` and `pr`'s first half: rewrite the base once per category, in a snapshot of
it, and set each category's branch. Categories own their runs (see `apply.rewrite`'s universe),
so the branches never touch the same statements."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from asyncfix.catalog import Category
from asyncfix.delivery.branches import (BranchError, Change, Outcome, drop_branch, open_repo, resolve_base, snapshot,
                                        write_branch)


@dataclass
class Build:
    base_name: str  # what `git diff` takes: the ref given, or HEAD's branch
    base_sha: str
    outcomes: list[Outcome] = field(default_factory=list)
    changes: dict[str, Change] = field(default_factory=dict)  # by category name
    errors: list[str] = field(default_factory=list)  # `path: message`, one per file apply refused


def build_branches(paths: list[Path], base_ref: str | None, categories: list[Category],
                   run: Callable[[list[str], Category, Path], list], discover_files: Callable[[list[Path]], list[str]]) -> Build:
    """``run(files, category, root)``: `apply`'s results for ``category`` over ``files`` (nothing
    written); ``discover_files(paths)``: the files `apply` would take under ``paths``."""
    start = paths[0] if paths else Path(".")
    repo = open_repo(start)
    base = resolve_base(repo, base_ref)
    top = Path(repo.working_tree_dir).resolve()
    out = Build(base_ref or _head_name(repo) or base.hexsha[:12], base.hexsha)
    with tempfile.TemporaryDirectory(prefix="asyncfix-base-") as tmp:
        root = Path(tmp)
        snapshot(repo, base, root)
        inside = []
        for path in paths or [Path(".")]:
            try:
                rel = Path(path).resolve().relative_to(top)
            except ValueError:
                raise BranchError(f"{path} is outside the repository at {top}") from None
            if not (root / rel).exists():
                raise BranchError(f"{path} is not in {out.base_name} (a file only in the work tree?)")
            inside.append(root / rel)
        files = discover_files(inside)
        for category in categories:
            change = Change(category)
            for result in run(files, category, root):
                rel = Path(os.path.relpath(result.path, root)).as_posix()
                if result.error:
                    out.errors.append(f"{rel}: {result.error}")
                    continue
                if result.new:
                    from asyncfix.emit import SourceFile

                    source = SourceFile.from_bytes(Path(result.path), Path(result.path).read_bytes())
                    change.files[rel] = source.encode(result.new)
                    change.diffs[rel] = (result.old, result.new)
                    change.fixed += result.fixed
            if change.files:
                out.changes[category.name] = change
                out.outcomes.append(write_branch(repo, base, change))
            else:
                dropped = drop_branch(repo, base, category.name)
                if dropped is not None:
                    out.outcomes.append(dropped)
    return out


def _head_name(repo) -> str | None:
    try:
        return None if repo.head.is_detached else repo.head.ref.name
    except TypeError:
        return None
