"""Runs the engine over many files: cache look-ups in this process, analysis in worker processes.

Work is handed to the workers in batches as soon as it is found; no worker is started when
everything comes from the cache. `apply` runs its files in worker processes too, one file per
task (a rewrite costs far more than the hand-off).
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

from asyncfix.cache import Cache, content_hash
from asyncfix.catalog import Catalog
from asyncfix.codemods import CATEGORIES
from asyncfix.engine.file import analyze_bytes
from asyncfix.findings import FileError, Finding

if TYPE_CHECKING:
    from asyncfix.apply import FileResult

BATCH = 48  # files per hand-off: large enough to amortise the round trip, small enough to balance
_catalog: Catalog | None = None


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files: int = 0


def _init_worker(extra: dict[str, str]) -> None:
    global _catalog
    _catalog = Catalog(CATEGORIES, extra)


def _analyze_batch(batch: list[tuple[str, str, str | None]]) -> list[tuple[str, object]]:
    """Read, hash and analyse files in a worker: (digest, outcome) per file, outcome None when
    the digest equals the cached one (the file was touched, not changed)."""
    out = []
    for path, shown, known in batch:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            out.append(("", FileError(shown, f"cannot read: {exc.strerror or exc}")))
            continue
        digest = content_hash(data)
        if digest == known:
            out.append((digest, None))
        elif b"async" not in data:  # no coroutine in the file: nothing can run on a loop
            out.append((digest, []))
        else:
            out.append((digest, analyze_bytes(data, shown, _catalog)))
    return out


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_files(files: list[str], display: Callable[[str], str], extra: dict[str, str],
                jobs: int, cache: Cache) -> CheckResult:
    """This process only stats files and looks them up in the cache; reading, hashing and
    analysis happen in the workers, so the two cores do the work and this one hands it out."""
    result = CheckResult(files=len(files))
    pending: list[tuple[list[tuple[str, os.stat_result]], Future | list]] = []
    batch: list[tuple[str, str, str | None]] = []
    meta: list[tuple[str, os.stat_result]] = []
    pool: ProcessPoolExecutor | None = None
    local_ready = False  # this process's catalog, built for this run's extras

    def collect(outcome: list[Finding] | FileError) -> None:
        if isinstance(outcome, FileError):
            result.errors.append(outcome)
        else:
            result.findings.extend(outcome)

    def hand_off(final: bool) -> None:
        nonlocal pool, batch, meta, local_ready
        if not batch:
            return
        if pool is None and jobs > 1 and not final:
            pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(extra,))
        if pool is not None:
            pending.append((meta, pool.submit(_analyze_batch, batch)))
        else:  # a handful of files: not worth starting processes
            if not local_ready:
                _init_worker(extra)
                local_ready = True
            pending.append((meta, _analyze_batch(batch)))
        batch, meta = [], []

    try:
        for path in files:
            shown = display(path)
            try:
                stat = os.stat(path)
            except OSError as exc:
                result.errors.append(FileError(shown, f"cannot read: {exc.strerror or exc}"))
                continue
            cached = cache.by_stat(shown, stat)
            if cached is not None:
                collect(cached)
                continue
            batch.append((path, shown, cache.digest(shown)))
            meta.append((shown, stat))
            if len(batch) >= BATCH:
                hand_off(final=False)
        hand_off(final=True)
        for metas, outcomes in pending:
            if isinstance(outcomes, Future):
                outcomes = outcomes.result()
            for (shown, stat), (digest, outcome) in zip(metas, outcomes):
                if outcome is None:
                    outcome = cache.get(shown, digest, stat)
                elif digest:
                    cache.put(shown, digest, outcome, stat)
                collect(outcome)
    finally:
        if pool is not None:
            pool.shutdown()
    cache.save()
    result.findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    result.errors.sort(key=lambda e: e.path)
    return result


def _apply_one(path: str, shown: str, options: dict) -> "FileResult":
    """`apply_file` in a worker (or here); a crash in one file is that file's error, not the
    run's end: the other files still get their verdict."""
    from asyncfix.apply import FileResult, apply_file

    try:
        return apply_file(path, shown, _catalog, **options)
    except Exception as exc:  # a bug in asyncfix: report it, leave the file as it was
        return FileResult(path, shown, error=f"internal error: {type(exc).__name__}: {exc}")


def apply_files(files: list[str], display: Callable[[str], str], extra: dict[str, str], jobs: int,
                options: dict, on_done: Callable[[int], None] | None = None) -> Iterator["FileResult"]:
    """`apply_file` over ``files`` (``options`` are its keyword arguments past the catalog),
    results in the order of ``files`` whatever the number of jobs; ``on_done(count)`` is called
    here, in this process, as files finish."""
    shown = [display(path) for path in files]
    if jobs <= 1 or len(files) <= 1:  # one file cannot be split: not worth starting processes
        _init_worker(extra)
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

    pool = ProcessPoolExecutor(min(jobs, len(files)), initializer=_init_worker, initargs=(extra,))
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
