"""Runs the engine over many files: cache look-ups in this process, analysis in worker processes."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from asyncfix.cache import Cache, content_hash
from asyncfix.catalog import Catalog
from asyncfix.codemods import CATEGORIES
from asyncfix.engine.file import analyze_bytes
from asyncfix.findings import FileError, Finding

_catalog: Catalog | None = None


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files: int = 0


def _init_worker(extra: dict[str, str]) -> None:
    global _catalog
    _catalog = Catalog(CATEGORIES, extra)


def _analyze_batch(batch: list[tuple[str, str]]) -> list[list[Finding] | FileError]:
    out = []
    for path, display in batch:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            out.append(FileError(display, f"cannot read: {exc.strerror or exc}"))
            continue
        out.append(analyze_bytes(data, display, _catalog))
    return out


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_files(files: list[Path], display: Callable[[Path], str], extra: dict[str, str],
                jobs: int, cache: Cache) -> CheckResult:
    result = CheckResult(files=len(files))
    todo: list[tuple[str, str, str]] = []

    def collect(outcome: list[Finding] | FileError) -> None:
        if isinstance(outcome, FileError):
            result.errors.append(outcome)
        else:
            result.findings.extend(outcome)

    for path in files:
        shown = display(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            result.errors.append(FileError(shown, f"cannot read: {exc.strerror or exc}"))
            continue
        digest = content_hash(data)
        cached = cache.get(shown, digest)
        if cached is not None:
            collect(cached)
        elif b"async" not in data:  # no coroutine in the file: nothing can run on a loop
            cache.put(shown, digest, [])
        else:
            todo.append((str(path), shown, digest))

    batches = _batches([(p, s) for p, s, _ in todo], jobs)
    if jobs > 1 and len(batches) > 1:
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(extra,)) as pool:
            outcomes = [o for batch in pool.map(_analyze_batch, batches) for o in batch]
    else:
        _init_worker(extra)
        outcomes = [o for batch in batches for o in _analyze_batch(batch)]
    order = {shown: digest for _, shown, digest in todo}
    for (_, shown), outcome in zip([pair for batch in batches for pair in batch], outcomes):
        cache.put(shown, order[shown], outcome)
        collect(outcome)
    cache.save()
    result.findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    result.errors.sort(key=lambda e: e.path)
    return result


def _batches(items: list, jobs: int) -> list[list]:
    """Several batches per worker so a few large files do not leave a core idle."""
    if not items:
        return []
    count = max(1, min(len(items), jobs * 8 if jobs > 1 else 1))
    return [items[i::count] for i in range(count)]
