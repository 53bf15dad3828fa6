"""Content-hash cache: a file whose bytes (and the engine and settings) are unchanged is not
analysed again. One JSON file per settings key, under `.asyncfix_cache/` at the project root.

As in git's index, a file's size and mtime are checked first; only when they changed is the file
read and hashed, and an unchanged hash still counts as a hit. A file modified within a second of
being cached keeps no stat (it could change again within the clock's resolution unnoticed).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from asyncfix import __version__
from asyncfix.findings import FileError, Finding


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def engine_hash() -> str:
    """The hash of asyncfix's own sources: a catalog or engine change (an editable install, a
    development checkout) invalidates the cache as a new version would."""
    digest = hashlib.blake2b(digest_size=16)
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class Cache:
    def __init__(self, folder: Path | None, settings: dict):
        self.folder = folder
        key = json.dumps({"version": __version__, "engine": engine_hash(), **settings}, sort_keys=True)
        self.file = folder / f"check-{content_hash(key.encode())}.json" if folder else None
        self.entries: dict[str, list] = {}  # path -> [size, mtime_ns, digest, "ok"|"error", data]
        self.dirty = False
        if self.file is not None:
            try:
                self.entries = json.loads(self.file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    def by_stat(self, path: str, stat: os.stat_result) -> list[Finding] | FileError | None:
        entry = self.entries.get(path)
        if entry is None or entry[0] != stat.st_size or entry[1] != stat.st_mtime_ns:
            return None
        return self._result(entry)

    def digest(self, path: str) -> str | None:
        entry = self.entries.get(path)
        return entry[2] if entry is not None else None

    def get(self, path: str, digest: str, stat: os.stat_result | None = None):
        entry = self.entries.get(path)
        if entry is None or entry[2] != digest:
            return None
        if stat is not None:
            self._remember_stat(entry, stat)
        return self._result(entry)

    def put(self, path: str, digest: str, result: list[Finding] | FileError,
            stat: os.stat_result | None = None, imports: list[str] | None = None) -> None:
        if isinstance(result, FileError):
            entry = [None, None, digest, "error", result.__dict__]
        else:
            entry = [None, None, digest, "ok", [f.to_dict() for f in result]]
        if imports:
            entry.append(imports)
        if stat is not None:
            self._remember_stat(entry, stat)
        self.entries[path] = entry
        self.dirty = True

    def imports(self, path: str) -> list[str] | None:
        """The project names the file may call (``project.project_uses``), where AF663 was on."""
        entry = self.entries.get(path)
        return entry[5] if entry is not None and len(entry) > 5 else None

    def extra(self, kind: str, path: str, digest: str):
        """A run-level result about one file (``project``: its exports, its linked findings)."""
        entry = self.entries.get(f"\0{kind}:{path}")
        return entry[4] if entry is not None and entry[2] == digest else None

    def put_extra(self, kind: str, path: str, digest: str, data) -> None:
        self.entries[f"\0{kind}:{path}"] = [None, None, digest, kind, data]
        self.dirty = True

    def _remember_stat(self, entry: list, stat: os.stat_result) -> None:
        racy = stat.st_mtime_ns >= time.time_ns() - 1_000_000_000
        new = [None, None] if racy else [stat.st_size, stat.st_mtime_ns]
        if entry[:2] != new:
            entry[:2] = new
            self.dirty = True

    @staticmethod
    def _result(entry: list) -> list[Finding] | FileError:
        if entry[3] == "error":
            return FileError(**entry[4])
        return [Finding.from_dict(f) for f in entry[4]]

    def save(self) -> None:
        """Write atomically; a cache that cannot be written is not an error."""
        if self.file is None or not self.dirty:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            gitignore = self.folder / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Created by asyncfix\n*\n")
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                # dumps, not dump: json.dump always takes the pure-Python encoder (5x slower)
                out.write(json.dumps(self.entries, separators=(",", ":")))
            os.replace(tmp, self.file)
        except OSError:
            pass
