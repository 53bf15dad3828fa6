"""Writing rewritten files back: atomically, keeping encoding, BOM, line endings and mode."""

from __future__ import annotations

import codecs
import errno
import io
import os
import re
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

_EOL = re.compile(r"\r\n|\r|\n")
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


@dataclass(frozen=True)
class SourceFile:
    """A file's text as Python reads it, and how to write text back byte-compatibly."""

    path: Path
    raw: bytes
    text: str  # decoded; line endings as in the file
    encoding: str
    bom: bool
    newline: str  # the file's dominant line ending

    @classmethod
    def read(cls, path: Path) -> "SourceFile":
        return cls.from_bytes(path, path.read_bytes())

    @classmethod
    def from_bytes(cls, path: Path, raw: bytes) -> "SourceFile":
        """Raises ``SyntaxError`` for bytes Python cannot decode, with the message `check` gives."""
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
            bom = raw.startswith(codecs.BOM_UTF8)
            text = raw.decode("utf-8-sig" if bom else encoding)
        except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
            raise SyntaxError(f"cannot decode file: {exc}") from None
        endings = _EOL.findall(text)
        newline = max(("\r\n", "\r", "\n"), key=endings.count) if endings else "\n"
        return cls(path, raw, text, "utf-8" if bom else encoding, bom, newline)

    def encode(self, text: str) -> bytes:
        """Bytes for new text, in the file's encoding and BOM. Line endings are left as they are:
        the rewrite writes its own lines with ``newline``, and untouched lines keep theirs (a file
        with mixed endings stays mixed)."""
        data = text.encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.bom else data


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename, keeping its permission bits; a crash leaves
    either the old file or the new one, never a mix.

    Raises ``OSError`` (the file untouched) for a read-only file or folder. The rename would
    replace a read-only file, and root may write anywhere: so write bits are honoured explicitly,
    a file or folder without any is not ours to change."""
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if not mode & _WRITE_BITS or not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, "read-only file")
    folder = path.parent
    if not os.stat(folder).st_mode & _WRITE_BITS or not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "read-only folder")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".asyncfix")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
