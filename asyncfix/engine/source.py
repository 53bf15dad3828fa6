"""Decoding a file the way Python does, and mapping ast byte offsets to character columns."""

from __future__ import annotations

import bisect
import io
import re
import tokenize

# Python counts only these as line ends (str.splitlines also splits on \f, \v, \x1c, ...).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def decode(data: bytes) -> str:
    """Text of a Python file, honouring a BOM and a PEP 263 coding cookie.

    Raises ``SyntaxError`` (like the compiler) for an unknown encoding or undecodable bytes.
    """
    try:
        head = data[:data.find(b"\n", data.find(b"\n") + 1) + 1 or len(data)]  # a cookie is on line 1 or 2
        if b"coding" not in head and not data.startswith(b"\xef\xbb\xbf"):
            return data.decode("utf-8")  # what detect_encoding would say, without its reads
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise SyntaxError(f"cannot decode file: {exc}") from None


class Lines:
    """Line access with the byte-offset-to-character-column conversion ast positions need."""

    def __init__(self, text: str):
        self.text = text
        self._lines: list[str] | None = None
        self._starts: list[int] | None = None
        self._ascii: bool | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = _LINE.findall(self.text) or [""]
        return self._lines

    def numbers_of(self, pattern: re.Pattern) -> list[int]:
        """1-based line numbers of the matches of ``pattern``, in order."""
        if "\r" in self.text:
            starts = self.starts
            return [bisect.bisect_right(starts, m.start()) for m in pattern.finditer(self.text)]
        out, line, pos = [], 1, 0
        for match in pattern.finditer(self.text):
            line += self.text.count("\n", pos, match.start())
            pos = match.start()
            out.append(line)
        return out

    @property
    def starts(self) -> list[int]:
        """Character offset of each line's start, plus the text's length at the end."""
        if self._starts is None:
            self._starts = [0]
            for line in self.lines:
                self._starts.append(self._starts[-1] + len(line))
        return self._starts

    def line(self, lineno: int) -> str:
        return self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""

    def char_col(self, lineno: int, byte_col: int) -> int:
        """0-based character column of a 0-based UTF-8 byte offset on a line."""
        if self._ascii is None:
            self._ascii = self.text.isascii()
        if self._ascii:
            return byte_col
        return len(self.line(lineno).encode("utf-8")[:byte_col].decode("utf-8", "replace"))
