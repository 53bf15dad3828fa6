"""Runs the engine over many files: cache look-ups in this process, analysis in worker processes.

Work is handed to the workers in batches as soon as it is found; no worker is started when
everything comes from the cache.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from asyncfix.cache import Cache, content_hash
from asyncfix.catalog import Catalog
from asyncfix.codemods import CATEGORIES
from asyncfix.engine.file import analyze_bytes
from asyncfix.findings import FileError, Finding

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
