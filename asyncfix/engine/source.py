"""Decoding a file the way Python does, and mapping ast byte offsets to character columns."""

from __future__ import annotations

import io
import tokenize


def decode(data: bytes) -> str:
    """Text of a Python file, honouring a BOM and a PEP 263 coding cookie.

    Raises ``SyntaxError`` (like the compiler) for an unknown encoding or undecodable bytes.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise SyntaxError(f"cannot decode file: {exc}") from None


class Lines:
    """Line access with the byte-offset-to-character-column conversion ast positions need."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.splitlines(keepends=True) or [""]
        self._ascii = text.isascii()

    def line(self, lineno: int) -> str:
        return self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""

    def char_col(self, lineno: int, byte_col: int) -> int:
        """0-based character column of a 0-based UTF-8 byte offset on a line."""
        if self._ascii:
            return byte_col
        return len(self.line(lineno).encode("utf-8")[:byte_col].decode("utf-8", "replace"))
