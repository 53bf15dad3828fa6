"""The `asyncfix` command line."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from asyncfix import __version__
from asyncfix.cache import Cache
from asyncfix.catalog import Catalog
from asyncfix.codemods import CATEGORIES
from asyncfix.config import ConfigError, load_config
from asyncfix.discover import DiscoveryError, discover
from asyncfix.reporters import FORMATS
from asyncfix.runner import check_files, default_jobs

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Find (and fix) blocking calls that freeze the event loop of Python async backends.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


def fail(message: str) -> "typer.Exit":
    """A one-line error on stderr and exit 2."""
    typer.echo(f"asyncfix: error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"asyncfix {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    pass


def _categories(selected: list[str], catalog: Catalog) -> set[str]:
    unknown = [c for c in selected if c not in catalog.categories]
    if unknown:
        raise fail(f"unknown category {unknown[0]!r}; known: {', '.join(catalog.categories)}")
    return set(selected) or set(catalog.categories)


def _display():
    """Paths as shown (and cached): relative to the working directory, with forward slashes."""
    cwd = os.getcwd()
    prefix = cwd.rstrip(os.sep) + os.sep

    def show(path) -> str:
        text = os.path.normpath(os.path.join(cwd, path))
        if text.startswith(prefix):
            text = text[len(prefix) :]
        else:
            text = os.path.relpath(text, cwd)
        return text.replace(os.sep, "/")

    return show


@app.command()
def check(
    paths: List[Path] = typer.Argument(None, help="Files or folders to check (default: .)."),
    category: List[str] = typer.Option([], "--category", "-c", help="Only this category (repeatable)."),
    output_format: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
    exclude: List[str] = typer.Option([], "--exclude", help="Glob of paths to skip (repeatable)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (default: all cores)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir",
                                             help="Cache folder (default: .asyncfix_cache in the project root)."),
) -> None:
    """Report blocking calls inside `async def` functions. Exit 0 clean, 1 findings, 2 errors."""
    paths = paths or [Path(".")]
    try:
        config = load_config(paths[0])
    except ConfigError as exc:
        raise fail(str(exc))
    try:
        catalog = Catalog(CATEGORIES, config.blocking)
    except ValueError as exc:
        raise fail(f"{config.path}: {exc}")
    wanted = _categories(list(category) or list(config.categories), catalog)
    if jobs < 0:
        raise fail("--jobs must be 0 (all cores) or more")
    try:
        files = discover(paths, list(config.exclude) + list(exclude), config.root)
    except DiscoveryError as exc:
        raise fail(str(exc))
    cache = Cache(None if no_cache else (cache_dir or config.root / ".asyncfix_cache"),
                  {"blocking": config.blocking})
    result = check_files(files, _display(), config.blocking, jobs or default_jobs(), cache)
    result.findings = [f for f in result.findings if f.category in wanted]
    sys.stdout.write(FORMATS[output_format.value](result, catalog))
    if result.findings or result.errors:
        raise typer.Exit(EXIT_FINDINGS)


class Offload(str, Enum):
    thread = "thread"
    process = "process"


@app.command()
def apply(
    paths: List[Path] = typer.Argument(None, help="Files or folders to fix (default: .)."),
    category: List[str] = typer.Option([], "--category", "-c", help="Only this category (repeatable)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Write nothing; print a unified diff per file."),
    diff: bool = typer.Option(False, "--diff", help="Also print the diff of each file written."),
    exclude: List[str] = typer.Option([], "--exclude", help="Glob of paths to skip (repeatable)."),
    offload: Offload = typer.Option(Offload.thread, "--offload", help="Where blocking work goes."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (default: all cores)."),
) -> None:
    """Rewrite blocking calls: offload them to threads through sync helpers, `time.sleep` to the
    async sleep. Exit 0 when nothing is left, 1 when unfixable findings remain, 2 on errors."""
    from asyncfix.apply import project_line_length
    from asyncfix.diff import colorize, unified_diff
    from asyncfix.progress import Progress
    from asyncfix.runner import apply_files

    paths = paths or [Path(".")]
    try:
        config = load_config(paths[0])
        catalog = Catalog(CATEGORIES, config.blocking)
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc))
    wanted = _categories(list(category) or list(config.categories), catalog)
    if jobs < 0:
        raise fail("--jobs must be 0 (all cores) or more")
    try:
        files = discover(paths, list(config.exclude) + list(exclude), config.root)
    except DiscoveryError as exc:
        raise fail(str(exc))
    options = {"categories": wanted, "write": not dry_run,
               "line_length": project_line_length(config.root), "offload": offload.value}
    color = sys.stdout.isatty()
    changed, errors, fixed, left = 0, 0, 0, []
    progress = Progress(len(files))
    try:
        for result in apply_files(files, _display(), config.blocking, jobs or default_jobs(), options,
                                  progress.update):
            if result.error:
                errors += 1
                with progress.pause():
                    sys.stdout.flush()  # the error shows beside its file's place in the output
                    typer.echo(f"asyncfix: error: {result.shown}: {result.error}", err=True)
                continue
            if result.new:
                changed += 1
                fixed += len(result.fixed)
                if dry_run or diff:
                    patch = unified_diff(result.shown, result.old, result.new)
                    with progress.pause():
                        sys.stdout.write(colorize(patch) if color else patch)
                        sys.stdout.flush()
            left += result.unfixable
    finally:
        progress.close()
    out = sys.stderr if dry_run or diff else sys.stdout
    for f in left:
        print(f"{f.path}:{f.line}:{f.column}: {f.code} left as is: {f.unfixable_reason}", file=out)
    verb = "would rewrite" if dry_run else "rewrote"
    print(f"{verb} {changed} file(s): {fixed} blocking call(s) moved off the loop, "
          f"{len(left)} left unfixable.", file=out)
    if errors:
        raise typer.Exit(EXIT_USAGE)
    if left:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def categories() -> None:
    """List the categories with the audit-checklist section each answers."""
    width = max(len(c.name) for c in CATEGORIES)
    for cat in CATEGORIES:
        codes = ", ".join(r.code for r in cat.rules)
        typer.echo(f"{cat.name:<{width}}  {cat.section:<7} {cat.title}  [{codes}]")


@app.command()
def explain(name: str = typer.Argument(..., help="A category (sqlite) or a code (AF301).")) -> None:
    """Print what a category flags, why it blocks, an example, the fix, and its safety."""
    for cat in CATEGORIES:
        if name == cat.name or any(name.upper() == r.code for r in cat.rules):
            break
    else:
        raise fail(f"unknown category or code {name!r}; see `asyncfix categories`")
    from asyncfix.apply import fixed_example

    doc = cat.doc
    rules = "\n".join(f"  {r.code}  {r.message.format(name='<call>')}" for r in cat.rules)
    example = "\n".join("    " + line for line in doc.example.splitlines())
    pair = fixed_example(cat, Catalog(CATEGORIES))
    if pair is None:
        fix = f"`asyncfix apply` leaves these calls as they are for now: {cat.unfixable_reason}."
    else:
        fix = "`asyncfix apply` rewrites\n\n" + _indent(pair[0]) + "\n\ninto\n\n" + _indent(pair[1])
    typer.echo(
        f"# {cat.name} ({cat.title}, checklist {cat.section})\n\n"
        f"## What it does\n{doc.what}\n\n## Why is this bad?\n{doc.why}\n\n"
        f"## Example\n{example}\n\n## Use instead\n{doc.instead}\n\n"
        f"## Fix\n{fix}\n\n## Fix safety\n{doc.fix_safety}\n\n## Codes\n{rules}\n"
    )


def _indent(code: str) -> str:
    return "\n".join("    " + line if line.strip() else "" for line in code.rstrip("\n").splitlines())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
