"""The commands' side of delivery: `apply --branch` and `pr` take the same options `apply` does,
build the category branches (`build`), and report them as a table."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from asyncfix.catalog import Catalog, Category
from asyncfix.codemods import CATEGORIES
from asyncfix.delivery.build import Build, build_branches


@dataclass
class RunOptions:
    """What `apply` was asked for, to rewrite the base once per category."""

    paths: list[Path]
    base: str | None
    codes: frozenset[str]  # the selection: the categories to deliver
    universe: frozenset[str]  # what the plan takes into account (the selection before -c)
    exclude: list[str]
    include_tests: bool
    offload: str
    http_client: str | None
    sqlite: str
    json_lib: str | None
    jobs: int
    blocking: dict
    opt_in: frozenset[str]


def categories_of(catalog: Catalog, codes: frozenset[str]) -> list[Category]:
    """The categories with selected codes, in checklist order."""
    return [c for c in CATEGORIES if any(r.code in codes for r in c.rules)]


def build(options: RunOptions, catalog: Catalog) -> Build:
    from asyncfix.apply import project_line_length
    from asyncfix.config import load_config
    from asyncfix.discover import discover
    from asyncfix.runner import apply_files
    from asyncfix.transforms.http_target import project_json, project_target

    def discover_files(paths: list[Path]) -> list[str]:
        config = load_config(paths[0])
        tests = None if options.include_tests or config.include_tests else []
        return discover(paths, list(config.exclude) + options.exclude, config.root, tests)

    def run(files: list[str], category: Category, root: Path) -> list:
        codes = frozenset(r.code for r in category.rules) & options.codes
        settings = {"categories": codes, "universe": options.universe | codes, "write": False,
                    "line_length": project_line_length(root), "offload": options.offload,
                    "http_client": options.http_client or project_target(root), "sqlite": options.sqlite,
                    "json_lib": options.json_lib or project_json(root)}
        return list(apply_files(files, lambda p: os.path.relpath(p, root), options.blocking, options.jobs,
                                settings, None, options.opt_in))

    return build_branches(options.paths, options.base, categories_of(catalog, options.codes), run,
                          discover_files)


def table(result: Build) -> str:
    """The branches, their change counts and status, and how to review each."""
    if not result.outcomes:
        return f"nothing to change on {result.base_name}: no branch made.\n"
    rows = [("branch", "changes", "status", "review")]
    for o in result.outcomes:
        review = f"git diff {result.base_name}...{o.branch}" if o.status in ("created", "updated", "unchanged") else ""
        rows.append((o.branch, str(o.changes) if o.status != "deleted" else "-", o.status, review))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip() for r in rows]
    for o in result.outcomes:
        if o.reason:
            lines.append(f"{o.branch}: {o.reason}")
    return "\n".join(lines) + "\n"
