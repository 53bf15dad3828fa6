"""Runs the engine over many files: cache look-ups in this process, analysis in worker processes.

Work is handed to the workers in batches as soon as it is found; no worker is started when
everything comes from the cache. `apply` runs its files in worker processes too, one file per
task (a rewrite costs far more than the hand-off).
"""

from __future__ import annotations

import os
from pathlib import Path
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from asyncfix.cache import Cache, content_hash
from asyncfix.catalog import Catalog
from asyncfix.codemods import CATEGORIES
from asyncfix.engine.file import analyze_bytes
from asyncfix.findings import FileError, Finding
from asyncfix.project import link, module_name, place, project_uses

if TYPE_CHECKING:
    from asyncfix.apply import FileResult

BATCH = 48  # files per hand-off: large enough to amortise the round trip, small enough to balance
# The cache's digest of a file without `async`: nothing in it runs on a loop, so its content
# needs no hash (it is read again only when its size or mtime changes).
NO_COROUTINE = "no-coroutine"
_catalog: Catalog | None = None
_codes: frozenset[str] | None = None  # check's selection: fixable is what `apply` would fix of it
_universe: frozenset[str] | None = None  # what `apply -c` plans with (the selection before -c)


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files: int = 0
    test_findings: list[Finding] = field(default_factory=list)  # in test code left out: counted only
    test_files: int = 0


_UNDECODABLE = "syntax error: cannot decode file: "


def _decode_error(message: str) -> str:
    """The engine reports undecodable bytes as the compiler does, a SyntaxError; users read
    "syntax error" as broken code, so say what it is."""
    if message.startswith(_UNDECODABLE):
        return "cannot decode: " + message[len(_UNDECODABLE):]
    return message


def _init_worker(extra: dict[str, str], opt_in: frozenset[str] = frozenset(),
                 codes: frozenset[str] | None = None, universe: frozenset[str] | None = None) -> None:
    """``opt_in``: the default-off codes selected; the engine produces those findings only then.
    ``codes``: check's selection, for `apply`'s verdict on each finding (see verdict)."""
    global _catalog, _codes, _universe
    _catalog = Catalog(CATEGORIES, extra, opt_in=opt_in) if opt_in else Catalog(CATEGORIES, extra)
    _codes, _universe = codes, universe


def _analyze_batch(batch: list[tuple[str, str, str | None]]) -> list[tuple[str, object, list[str] | None]]:
    """Read, hash and analyse files in a worker: (digest, outcome, project uses) per file, outcome
    None when the digest equals the cached one (the file was touched, not changed); the project
    names it may call (``project.project_uses``) only where AF663 is selected."""
    out = []
    for path, shown, known in batch:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            out.append(("", FileError(shown, f"cannot read: {exc.strerror or exc}"), None))
            continue
        if b"async" not in data:  # no coroutine in the file: nothing can run on a loop
            out.append((NO_COROUTINE, None if known == NO_COROUTINE else [], None))
            continue
        digest = content_hash(data)
        if digest == known:
            out.append((digest, None, None))
        else:
            outcome = analyze_bytes(data, shown, _catalog)
            if outcome and _codes is not None and not isinstance(outcome, FileError):
                outcome = _verdict(data, path, shown, outcome)
            names = None
            if "AF663" in _catalog.opt_in and not isinstance(outcome, FileError):  # helpers across modules
                names = project_uses(data.decode("utf-8", "replace"), module_name(path), path)
            out.append((digest, outcome, names))
    return out


def _verdict(data: bytes, path: str, shown: str, findings: list[Finding]) -> list[Finding]:
    from asyncfix.apply import project_line_length
    from asyncfix.engine.source import decode
    from asyncfix.verdict import with_apply_verdict

    return with_apply_verdict(decode(data), shown, _catalog, _codes, findings,
                              project_line_length(Path(path).parent), _universe)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_files(files: list[str], display: Callable[[str], str], extra: dict[str, str],
                jobs: int, cache: Cache, tests: list[str] = (), opt_in: frozenset[str] = frozenset(),
                codes: frozenset[str] | None = None, universe: frozenset[str] | None = None) -> CheckResult:
    """``check_stream`` of listed files."""
    items = [(path, False) for path in files] + [(path, True) for path in tests]
    return check_stream(items, display, extra, jobs, cache, opt_in, codes, universe)


def check_stream(items: Iterable[tuple[str, bool]], display: Callable[[str], str], extra: dict[str, str],
                 jobs: int, cache: Cache, opt_in: frozenset[str] = frozenset(),
                 codes: frozenset[str] | None = None, universe: frozenset[str] | None = None) -> CheckResult:
    """This process only stats files and looks them up in the cache; reading, hashing and
    analysis happen in the workers, so the two cores do the work and this one hands it out, as
    ``items`` (path, test code) come (``discover_stream``: the walk overlaps the analysis).

    Test code (left out of the report) is analysed like the rest, with the cache, so the summary
    can say how many findings were left out; its findings go to ``test_findings`` and its errors
    nowhere."""
    result = CheckResult()
    test_shown: set[str] = set()
    files: list[str] = []
    tests: list[str] = []
    pending: list[tuple[list[tuple[str, os.stat_result]], Future | list]] = []
    batch: list[tuple[str, str, str | None]] = []
    meta: list[tuple[str, str, os.stat_result]] = []
    pool: ProcessPoolExecutor | None = None
    local_ready = False  # this process's catalog, built for this run's extras
    imports: dict[str, tuple[str, list[str]]] = {}  # path -> (shown, what it imports), for `project`
    known: dict[str, set] = {}  # shown -> its findings' places: what `project` adds is the rest

    across = "AF663" in opt_in  # the project's helpers in other modules: `project.link`

    def collect(shown: str, outcome: list[Finding] | FileError) -> None:
        if across and outcome and not isinstance(outcome, FileError):
            known.setdefault(shown, set()).update(map(place, outcome))
        if shown in test_shown:
            if not isinstance(outcome, FileError):
                result.test_findings.extend(outcome)
        elif isinstance(outcome, FileError):  # here, not in the worker: cached errors too
            result.errors.append(FileError(outcome.path, _decode_error(outcome.message), outcome.line,
                                           outcome.column))
        else:
            result.findings.extend(outcome)

    def hand_off(final: bool) -> None:
        nonlocal pool, batch, meta, local_ready
        if not batch:
            return
        if pool is None and jobs > 1 and not final:
            pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(extra, opt_in, codes, universe))
        if pool is not None:
            pending.append((meta, pool.submit(_analyze_batch, batch)))
        else:  # a handful of files: not worth starting processes
            if not local_ready:
                _init_worker(extra, opt_in, codes, universe)
                local_ready = True
            pending.append((meta, _analyze_batch(batch)))
        batch, meta = [], []

    try:
        for path, test in items:
            shown = display(path)
            if test:
                tests.append(path)
                test_shown.add(shown)
            else:
                files.append(path)
            try:
                stat = os.stat(path)
            except OSError as exc:
                collect(shown, FileError(shown, f"cannot read: {exc.strerror or exc}"))
                continue
            cached = cache.by_stat(shown, stat)
            if cached is not None:
                collect(shown, cached)
                names = cache.imports(shown)
                if names:
                    imports[path] = (shown, names)
                continue
            batch.append((path, shown, cache.digest(shown)))
            meta.append((path, shown, stat))
            if len(batch) >= BATCH:
                hand_off(final=False)
        hand_off(final=True)
        for metas, outcomes in pending:
            if isinstance(outcomes, Future):
                outcomes = outcomes.result()
            for (path, shown, stat), (digest, outcome, names) in zip(metas, outcomes):
                if outcome is None:
                    outcome = cache.get(shown, digest, stat)
                    names = cache.imports(shown)
                elif digest:
                    cache.put(shown, digest, outcome, stat, names)
                collect(shown, outcome)
                if names:
                    imports[path] = (shown, names)
    finally:
        if pool is not None:
            pool.shutdown()
    result.files, result.test_files = len(files), len(tests)
    if across and imports and len(files) + len(tests) > 1:
        catalog = Catalog(CATEGORIES, extra, opt_in=opt_in)
        for shown, found in link(imports, [*files, *tests], display, catalog, cache, known):
            collect(shown, found)
    cache.save()
    result.findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    result.errors.sort(key=lambda e: e.path)
    return result


def _apply_one(path: str, shown: str, options: dict) -> "FileResult":
    """`apply_file` in a worker (or here); a crash in one file is that file's error, not the
    run's end: the other files still get their verdict."""
    from asyncfix.apply import FileResult, apply_file

    try:
        result = apply_file(path, shown, _catalog, **options)
        if result.error:
            result.error = _decode_error(result.error)
        return result
    except Exception as exc:  # a bug in asyncfix: report it, leave the file as it was
        return FileResult(path, shown, error=f"internal error: {type(exc).__name__}: {exc}")


def apply_files(files: list[str], display: Callable[[str], str], extra: dict[str, str], jobs: int,
                options: dict, on_done: Callable[[int], None] | None = None,
                opt_in: frozenset[str] = frozenset()) -> Iterator["FileResult"]:
    """`apply_file` over ``files`` (``options`` are its keyword arguments past the catalog),
    results in the order of ``files`` whatever the number of jobs; ``on_done(count)`` is called
    here, in this process, as files finish."""
    shown = [display(path) for path in files]
    if jobs <= 1 or len(files) <= 1:  # one file cannot be split: not worth starting processes
        _init_worker(extra, opt_in)
        for count, (path, name) in enumerate(zip(files, shown), 1):
            result = _apply_one(path, name, options)
            if on_done:
                on_done(count)
            yield result
        return

    def size(index: int) -> int:
        try:
            return os.stat(files[index]).st_size
        except OSError:
            return 0

    pool = ProcessPoolExecutor(min(jobs, len(files)), initializer=_init_worker, initargs=(extra, opt_in))
    try:
        futures: list[Future | None] = [None] * len(files)
        # The biggest files first, so that no long one starts last while the other workers idle.
        for index in sorted(range(len(files)), key=size, reverse=True):
            futures[index] = pool.submit(_apply_one, files[index], shown[index], options)
        pending, done, emitted = set(futures), 0, 0
        while emitted < len(files):
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            done += len(finished)
            if on_done:
                on_done(done)
            while emitted < len(files) and futures[emitted].done():
                result = futures[emitted].result()
                futures[emitted] = None  # printed: the texts need not stay in memory
                emitted += 1
                yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
