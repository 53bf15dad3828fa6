"""The `asyncfix` command line."""

from __future__ import annotations

from dataclasses import replace

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
from asyncfix.discover import DiscoveryError, discover, discover_stream
from asyncfix.reporters import FORMATS
from asyncfix.reporters.summary import plural
from asyncfix.runner import CheckResult, check_stream, default_jobs
from asyncfix.selection import Layer, SelectionError, Universe, select_codes

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


def _split(values: List[str]) -> tuple[str, ...]:
    """`--select AF1,AF5` as ruff takes it, or the flag repeated."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _codes(config, catalog: Catalog, category: List[str], select: List[str], extend_select: List[str],
           ignore: List[str]) -> frozenset[str]:
    """The codes this run reports: the config's selection, then the command line's over it."""
    universe = Universe(catalog)
    try:
        select_codes(universe, [config.layer()])
    except SelectionError as exc:  # name the file the bad selector is in
        raise fail(f"{config.path}: {exc}")
    chosen = _split(category) + _split(select)
    try:
        return select_codes(universe, [config.layer(), Layer(chosen or None, _split(extend_select),
                                                             _split(ignore))])
    except SelectionError as exc:
        raise fail(str(exc))


def _opt_in(catalog: Catalog, codes: frozenset[str]) -> frozenset[str]:
    """The default-off codes selected: the catalog must be told, the engine skips them otherwise."""
    return codes & Universe(catalog).opt_in


def _use_color(no_color: bool) -> bool:
    """ruff's rule: colour only on a terminal, never with `--no-color` or a non-empty NO_COLOR."""
    return not no_color and not os.environ.get("NO_COLOR") and _stdout_is_tty()


def _stdout_is_tty() -> bool:
    return sys.stdout.isatty()


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

    folders: dict[str, str] = {}

    def show_file(path) -> str:
        """``show``, worked out once per folder (a run shows every file it checks)."""
        folder, name = os.path.split(str(path))
        if name in ("", ".", ".."):
            return show(path)
        shown = folders.get(folder)
        if shown is None:
            shown = folders[folder] = show(folder or ".")
        return name if shown == "." else f"{shown}/{name}"

    return show_file


SELECT_HELP = "Codes, prefixes (AF12) or categories to report (repeatable or comma-separated)."


@app.command()
def check(
    paths: List[Path] = typer.Argument(None, help="Files or folders to check (default: .); - reads stdin."),
    category: List[str] = typer.Option([], "--category", "-c", help="Short for --select (repeatable)."),
    select: List[str] = typer.Option([], "--select", help=SELECT_HELP),
    extend_select: List[str] = typer.Option([], "--extend-select", help="Codes to report besides the selected."),
    ignore: List[str] = typer.Option([], "--ignore", help="Codes, prefixes or categories not to report."),
    include_tests: bool = typer.Option(False, "--include-tests", help="Also report test and example code."),
    show_fixes: bool = typer.Option(False, "--show-fixes",
                                    help="Say which findings `asyncfix apply` fixes, and why it leaves the "
                                         "others (plans each file with findings: slower when cold)."),
    output_format: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
    no_color: bool = typer.Option(False, "--no-color", help="No colour in the text output."),
    stdin_filename: Optional[str] = typer.Option(None, "--stdin-filename",
                                                 help="The name of the file read from stdin (with -)."),
    exclude: List[str] = typer.Option([], "--exclude", help="Glob of paths to skip (repeatable)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (default: all cores)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir",
                                             help="Cache folder (default: .asyncfix_cache in the project root)."),
) -> None:
    """Report blocking calls inside `async def` functions. Exit 0 clean, 1 findings, 2 errors."""
    paths = paths or [Path(".")]
    stdin = any(str(p) == "-" for p in paths)
    if stdin and len(paths) > 1:
        raise fail("- (standard input) cannot be combined with other paths")
    try:
        config = load_config(Path(stdin_filename) if stdin and stdin_filename else Path(".") if stdin else paths[0])
    except ConfigError as exc:
        raise fail(str(exc))
    try:
        catalog = Catalog(CATEGORIES, config.blocking)
    except ValueError as exc:
        raise fail(f"{config.path}: {exc}")
    codes = _codes(config, catalog, category, select, extend_select, ignore)
    universe = _codes(config, catalog, [], [], extend_select, ignore)  # what `apply -c` plans with
    if jobs < 0:
        raise fail("--jobs must be 0 (all cores) or more")
    opt_in = _opt_in(catalog, codes)
    if stdin:
        run_catalog = Catalog(CATEGORIES, config.blocking, opt_in=opt_in) if opt_in else catalog
        result = _check_stdin(_display()(stdin_filename) if stdin_filename else "-", run_catalog,
                              codes if show_fixes else None, universe)
    else:
        try:  # a stream: the workers start on the first files while the tree is walked
            items = discover_stream(paths, list(config.exclude) + list(exclude), config.root,
                                    tests=not (include_tests or config.include_tests))
        except DiscoveryError as exc:
            raise fail(str(exc))
        # with --show-fixes findings carry apply's verdict for this selection: its own entry
        verdict = {"verdict_for": sorted(codes), "planned_with": sorted(universe)} if show_fixes else {}
        settings = {"blocking": config.blocking, **verdict, **({"opt_in": sorted(opt_in)} if opt_in else {})}
        cache = Cache(None if no_cache else (cache_dir or config.root / ".asyncfix_cache"), settings)
        result = check_stream(items, _display(), config.blocking, jobs or default_jobs(), cache,
                              opt_in, frozenset(codes) if show_fixes else None, frozenset(universe))
    result.findings = [f for f in result.findings if f.code in codes]
    if not show_fixes:  # only apply's plan can tell whether a call moves: no guess
        result.findings = [replace(f, fixable=None) if f.fixable else f for f in result.findings]
    result.test_findings = [f for f in result.test_findings if f.code in codes]
    if output_format is Format.text:
        sys.stdout.write(FORMATS["text"](result, catalog, color=_use_color(no_color)))
    else:
        sys.stdout.write(FORMATS[output_format.value](result, catalog))
    if result.findings or result.errors:
        raise typer.Exit(EXIT_FINDINGS)


def _check_stdin(shown: str, catalog: Catalog, codes: set[str] | None, universe: frozenset[str]) -> CheckResult:
    """One file read from stdin, as ruff's `check -`: named on the command line, so always checked;
    not cached (there is no file to stat)."""
    from asyncfix.engine.file import analyze_bytes
    from asyncfix.findings import FileError
    from asyncfix.runner import _decode_error

    stream = getattr(sys.stdin, "buffer", None)
    data = stream.read() if stream is not None else sys.stdin.read().encode()
    outcome = analyze_bytes(data, shown, catalog)
    if isinstance(outcome, FileError):
        return CheckResult(errors=[FileError(shown, _decode_error(outcome.message), outcome.line,
                                             outcome.column)], files=1)
    from asyncfix.engine.source import decode
    from asyncfix.verdict import with_apply_verdict

    if outcome and codes is not None:
        outcome = with_apply_verdict(decode(data), shown, catalog, frozenset(codes), outcome,
                                     universe=universe)
    return CheckResult(findings=sorted(outcome, key=lambda f: (f.line, f.column, f.code)), files=1)


class Offload(str, Enum):
    thread = "thread"
    process = "process"


class HttpClient(str, Enum):
    httpx = "httpx"
    httpx2 = "httpx2"


class SqliteFix(str, Enum):
    aiosqlite = "aiosqlite"
    thread = "thread"


class JsonLib(str, Enum):
    orjson = "orjson"
    stdlib = "stdlib"


@app.command()
def apply(
    paths: List[Path] = typer.Argument(None, help="Files or folders to fix (default: .)."),
    category: List[str] = typer.Option([], "--category", "-c", help="Short for --select (repeatable)."),
    select: List[str] = typer.Option([], "--select", help="Codes, prefixes or categories to rewrite."),
    extend_select: List[str] = typer.Option([], "--extend-select", help="Codes to rewrite besides the selected."),
    ignore: List[str] = typer.Option([], "--ignore", help="Codes, prefixes or categories to leave alone."),
    include_tests: bool = typer.Option(False, "--include-tests", help="Also rewrite test and example code."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Write nothing; print a unified diff per file."),
    diff: bool = typer.Option(False, "--diff", help="Also print the diff of each file written."),
    exclude: List[str] = typer.Option([], "--exclude", help="Glob of paths to skip (repeatable)."),
    offload: Offload = typer.Option(Offload.thread, "--offload", help="Where blocking work goes."),
    http_client: Optional[HttpClient] = typer.Option(
        None, "--http-client", help="What requests becomes (default: httpx2 where the project "
        "depends on it, else httpx)."),
    sqlite: SqliteFix = typer.Option(SqliteFix.aiosqlite, "--sqlite", help="What sqlite3 connections "
        "become: aiosqlite (a thread, block by block, where it does not fit) or thread."),
    json_lib: Optional[JsonLib] = typer.Option(None, "--json", help="What moved json.dumps/dump become "
        "where it writes the same text: orjson (default where the project depends on it) or stdlib."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (default: all cores)."),
    branch: bool = typer.Option(False, "--branch", help="Leave the work tree alone: commit each category's "
                                "rewrite of the base on its own branch, asyncfix/<category>."),
    base: Optional[str] = typer.Option(None, "--base", help="With --branch: the ref the branches start from "
                                       "(default: HEAD)."),
) -> None:
    """Rewrite blocking calls: requests to httpx.AsyncClient, sqlite3 to aiosqlite, the rest to
    threads through sync helpers, `time.sleep` to the async sleep. Exit 0 when nothing is left, 1
    when unfixable findings remain (or a branch was left alone), 2 on errors."""
    from asyncfix.apply import project_line_length
    from asyncfix.transforms.http_target import project_json, project_target
    from asyncfix.diff import colorize, unified_diff
    from asyncfix.progress import Progress
    from asyncfix.project import linked, place
    from asyncfix.runner import apply_files

    paths = paths or [Path(".")]
    config, catalog, codes, universe = _rewrite_selection(paths, category, select, extend_select, ignore, jobs)
    if base is not None and not branch:
        raise fail("--base goes with --branch")
    if branch:
        if dry_run or diff:
            raise fail("--branch writes branches, not the work tree: --dry-run and --diff do not apply")
        _apply_branches(_run_options(paths, base, codes, universe, exclude, include_tests, offload, http_client,
                                     sqlite, json_lib, jobs, config, catalog), catalog)
        return
    tests: list[str] | None = None if include_tests or config.include_tests else []
    try:
        files = discover(paths, list(config.exclude) + list(exclude), config.root, tests)
    except DiscoveryError as exc:
        raise fail(str(exc))
    # apply_file takes codes where it took category names: it moves what check reports, no more
    options = {"categories": codes, "write": not dry_run,
               "line_length": project_line_length(config.root), "offload": offload.value,
               "http_client": http_client.value if http_client else project_target(config.root),
               "sqlite": sqlite.value, "universe": universe,
               "json_lib": json_lib.value if json_lib else project_json(config.root)}
    color = sys.stdout.isatty()
    changed, errors, fixed, left, noted = 0, 0, 0, [], []
    progress = Progress(len(files))
    try:
        for result in apply_files(files, _display(), config.blocking, jobs or default_jobs(), options,
                                  progress.update, _opt_in(catalog, codes | universe)):
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
            noted += [f for f in result.fixed if f.notes]
    finally:
        progress.close()
    # calls of the project's blocking helpers in other modules: reported, never moved
    if "AF663" in codes:
        known: dict[str, set] = {}
        for f in left:
            known.setdefault(f.path, set()).add(place(f))
        left += [f for f in linked(files, _display(), catalog, known) if f.code in codes]
    out = sys.stderr if dry_run or diff else sys.stdout
    if dry_run or diff:  # what each change's reviewer should know, beside its diff
        seen = set()  # a note shared by the calls of one coroutine is said once, at the first
        for f in noted:
            for note in f.notes:
                if (f.path, f.function, note) not in seen:
                    seen.add((f.path, f.function, note))
                    print(f"{f.path}:{f.line}:{f.column}: {f.code} note: {note}", file=out)
    for f in left:
        print(f"{f.path}:{f.line}:{f.column}: {f.code} left as is: {f.unfixable_reason}", file=out)
    verb = "would rewrite" if dry_run else "rewrote"
    print(f"{verb} {plural(changed, 'file')}: {plural(fixed, 'blocking call')} moved off the loop, "
          f"{len(left)} left unfixable.", file=out)
    if tests:
        print(f"{plural(len(tests), 'file')} of test and example code left out (--include-tests "
              "rewrites them).", file=out)
    if errors:
        raise typer.Exit(EXIT_USAGE)
    if left:
        raise typer.Exit(EXIT_FINDINGS)


def _rewrite_selection(paths, category, select, extend_select, ignore, jobs):
    """apply's and pr's config, catalog, codes to deliver, and the universe the plan sees (a run
    of statements moves with its first category, whatever -c says)."""
    try:
        config = load_config(paths[0])
        catalog = Catalog(CATEGORIES, config.blocking)
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc))
    codes = _codes(config, catalog, category, select, extend_select, ignore)
    universe = _codes(config, catalog, [], [], extend_select, ignore)
    if jobs < 0:
        raise fail("--jobs must be 0 (all cores) or more")
    return config, catalog, codes, universe


def _run_options(paths, base, codes, universe, exclude, include_tests, offload, http_client, sqlite, json_lib,
                 jobs, config, catalog):
    from asyncfix.delivery.command import RunOptions

    return RunOptions(list(paths), base, frozenset(codes), frozenset(universe), list(exclude), include_tests,
                      offload.value, http_client.value if http_client else None, sqlite.value,
                      json_lib.value if json_lib else None, jobs or default_jobs(), config.blocking,
                      _opt_in(catalog, codes | universe))


def _apply_branches(options, catalog: Catalog) -> None:
    from asyncfix.delivery.branches import BranchError
    from asyncfix.delivery.command import build, table

    try:
        result = build(options, catalog)
    except BranchError as exc:
        raise fail(str(exc))
    for error in result.errors:
        typer.echo(f"asyncfix: error: {error}", err=True)
    sys.stdout.write(table(result))
    if result.errors:
        raise typer.Exit(EXIT_USAGE)
    if any(o.status == "refused" for o in result.outcomes):
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def pr(
    paths: List[Path] = typer.Argument(None, help="Files or folders to fix (default: .)."),
    category: List[str] = typer.Option([], "--category", "-c", help="Short for --select (repeatable)."),
    select: List[str] = typer.Option([], "--select", help="Codes, prefixes or categories to deliver."),
    extend_select: List[str] = typer.Option([], "--extend-select", help="Codes to rewrite besides the selected."),
    ignore: List[str] = typer.Option([], "--ignore", help="Codes, prefixes or categories to leave alone."),
    include_tests: bool = typer.Option(False, "--include-tests", help="Also rewrite test and example code."),
    exclude: List[str] = typer.Option([], "--exclude", help="Glob of paths to skip (repeatable)."),
    offload: Offload = typer.Option(Offload.thread, "--offload", help="Where blocking work goes."),
    http_client: Optional[HttpClient] = typer.Option(None, "--http-client", help="What requests becomes."),
    sqlite: SqliteFix = typer.Option(SqliteFix.aiosqlite, "--sqlite", help="What sqlite3 connections become."),
    json_lib: Optional[JsonLib] = typer.Option(None, "--json", help="What moved json.dumps/dump become."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (default: all cores)."),
    remote: str = typer.Option("origin", "--remote", help="The git remote to push the branches to."),
    repo: Optional[str] = typer.Option(None, "--repo", help="OWNER/NAME on GitHub (default: read from the "
                                       "remote's URL)."),
    api_url: str = typer.Option("https://api.github.com", "--api-url", help="GitHub's REST API (GitHub "
                                "Enterprise: https://HOST/api/v3)."),
    base: Optional[str] = typer.Option(None, "--base", help="The branch the pull requests go into and the "
                                       "branches start from (default: the current branch)."),
    draft: bool = typer.Option(False, "--draft", help="Open new pull requests as drafts."),
) -> None:
    """Build one branch per category (as `apply --branch`), push them, and open or update one pull
    request per category; close those whose category has nothing left. Token: GITHUB_TOKEN or
    GH_TOKEN."""
    from asyncfix.delivery.branches import BranchError, open_repo
    from asyncfix.delivery.command import build, categories_of, table
    from asyncfix.delivery.publish import publish, push, remote_url, repo_from_remote

    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        raise fail("set GITHUB_TOKEN or GH_TOKEN to a token that may push and open pull requests")
    paths = paths or [Path(".")]
    config, catalog, codes, universe = _rewrite_selection(paths, category, select, extend_select, ignore, jobs)
    from asyncfix.delivery.github_prs import GitHubError, PullRequests

    try:
        git_repo = open_repo(paths[0])
        base_branch = base or _current_branch(git_repo)
        slug = repo or repo_from_remote(remote_url(git_repo, remote))
        if not slug:
            raise fail(f"cannot tell the GitHub repository from {remote}'s URL: pass --repo OWNER/NAME")
        result = build(_run_options(paths, base_branch, codes, universe, exclude, include_tests, offload,
                                    http_client, sqlite, json_lib, jobs, config, catalog), catalog)
        for error in result.errors:
            typer.echo(f"asyncfix: error: {error}", err=True)
        sys.stdout.write(table(result))
        moved = push(git_repo, remote, result, [token])
        prs = PullRequests(slug, token, api_url)
        published = publish(result, moved, prs, categories_of(catalog, codes), base_branch, draft)
    except (BranchError, GitHubError) as exc:
        raise fail(str(exc).replace(token, "***"))
    for item in published:
        typer.echo(f"{item.branch}: pull request {item.operation}" + (f": {item.url}" if item.url else ""))
    if result.errors:
        raise typer.Exit(EXIT_USAGE)
    if any(o.status == "refused" for o in result.outcomes):
        raise typer.Exit(EXIT_FINDINGS)


def _current_branch(repo) -> str:
    from asyncfix.delivery.branches import BranchError

    try:
        if not repo.head.is_detached:
            return repo.head.ref.name
    except TypeError:
        pass
    raise BranchError("HEAD is not on a branch: pass --base BRANCH, the branch the pull requests go into")


@app.command()
def categories() -> None:
    """List the categories with the audit-checklist section each answers."""
    width = max(len(c.name) for c in CATEGORIES)
    opt_in = Universe(Catalog(CATEGORIES)).opt_in
    for cat in CATEGORIES:
        codes = ", ".join(r.code + (" (opt-in)" if r.code in opt_in else "") for r in cat.rules)
        typer.echo(f"{cat.name:<{width}}  {cat.section:<7} {cat.title}  [{codes}]")


def _calls(rule) -> list[str]:
    """The calls a rule matches, as users write them: `time.sleep`, `Connection.execute`."""
    out = [f for f in rule.functions]
    for type_name, methods in rule.methods.items():
        short = type_name.rpartition(".")[2]
        out += [f"{short}.{m}" if m != "*" else f"{short}.*" for m in methods]
    out += [f"obj.{m}" for m in rule.method_names]
    return out


def _rule_line(rule, rules) -> str:
    """`AF501  `time.sleep` blocks the event loop ...`, with every call the code matches (an
    opt-in code for the calls other rules report without evidence: theirs)."""
    calls = _calls(rule) or [c for r in rules if r.weak_code == rule.code for c in _calls(r)]
    line = f"  {rule.code}  {rule.message.format(name=calls[0] if calls else 'call')}"
    if len(calls) > 1:
        line += "\n         calls: " + ", ".join(f"`{c}`" for c in calls)
    return line


@app.command()
def explain(name: str = typer.Argument(..., help="A category (sqlite) or a code (AF301), any case.")) -> None:
    """Print what a category flags, why it blocks, an example, the fix, and its safety."""
    for cat in CATEGORIES:
        if name.strip().lower() == cat.name or any(name.strip().upper() == r.code for r in cat.rules):
            break
    else:
        raise fail(f"unknown category or code {name!r}; see `asyncfix categories`")
    from asyncfix.apply import fixed_example

    doc = cat.doc
    rules = "\n".join(_rule_line(r, cat.rules) for r in cat.rules)
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
