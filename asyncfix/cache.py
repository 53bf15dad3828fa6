"""Content-hash cache: a file whose bytes (and the engine and settings) are unchanged is not
analysed again. One JSON file per settings key, under `.asyncfix_cache/` at the project root."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from asyncfix import __version__
from asyncfix.findings import FileError, Finding


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Cache:
    def __init__(self, folder: Path | None, settings: dict):
        self.folder = folder
        key = json.dumps({"version": __version__, **settings}, sort_keys=True)
        self.file = folder / f"check-{content_hash(key.encode())}.json" if folder else None
        self.entries: dict[str, list] = {}
        self.dirty = False
        if self.file is not None:
            try:
                self.entries = json.loads(self.file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    def get(self, path: str, digest: str) -> list[Finding] | FileError | None:
        entry = self.entries.get(path)
        if entry is None or entry[0] != digest:
            return None
        if entry[1] == "error":
            return FileError(**entry[2])
        return [Finding.from_dict(f) for f in entry[2]]

    def put(self, path: str, digest: str, result: list[Finding] | FileError) -> None:
        if isinstance(result, FileError):
            self.entries[path] = [digest, "error", result.__dict__]
        else:
            self.entries[path] = [digest, "ok", [f.to_dict() for f in result]]
        self.dirty = True

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
                json.dump(self.entries, out, separators=(",", ":"))
            os.replace(tmp, self.file)
        except OSError:
            pass
