"""Text-level scans shared by the fast path and the analyzer (no parsing)."""

from __future__ import annotations

import bisect
import functools
import re
import sys
from typing import Iterable

ASYNC_DEF = re.compile(r"async[ \t]+def\b")  # where coroutines start
_UNSET = object()


def per_text(compute):
    """``compute(text, *args)`` remembered for the last two texts asked about, by identity: the
    fast path asks about one module many times (each class again), then the analysis does, and
    about its blanked twin. Callers must not change what it returns."""
    recent: list[tuple[str, dict]] = []

    @functools.wraps(compute)
    def remembered(text: str, *args):
        for known, memo in recent:
            if known is text:
                break
        else:
            memo = {}
            recent[:] = [(text, memo)] + recent[:1]
        found = memo.get(args, _UNSET)
        if found is _UNSET:
            found = memo[args] = compute(text, *args)
        return found

    return remembered
_MODULE_NAME = re.compile(r"\n([A-Za-z_]\w*)[ \t]*(?::[^=\r\n]*)?=(?!=)")


def module_names(text: str) -> set[str]:
    """Names assigned at column 0: the module-level objects chains can hang from."""
    return set(_MODULE_NAME.findall("\n" + text))


# Possessive quantifiers (3.11+) keep sre from backtracking on every line; plain ones on 3.10.
_POSSESSIVE = "+" if sys.version_info >= (3, 11) else ""
_CHAIN = re.compile(
    r"\n[ \t]*{p}([A-Za-z_]\w*{p})[ \t]*{p}\.[ \t]*{p}(\w+{p}(?:[ \t]*{p}\.[ \t]*{p}\w+{p})*{p})"
    r"[ \t]*{p}(?::[^=\r\n]*{p})?=(?!=)([^\r\n]*)".format(p=_POSSESSIVE))


def chain_assignments(text: str, roots: Iterable[str]) -> list[tuple[str, str]]:
    """`(chain, value text)` for lines like `app.state.converter = DocumentConverter()`, where
    the chain hangs from one of ``roots`` (module-level names; `self.x` is a class attribute)."""
    roots = set(roots)
    return [(root + "." + _SPACE.sub("", rest), value)
            for root, rest, value in _CHAIN.findall("\n" + text) if root in roots]


_SPACE = re.compile(r"[ \t]")


@per_text
def module_chains(text: str) -> list[tuple[str, str]]:
    """``chain_assignments`` from the module's own names (the fast path and then the analysis ask)."""
    return chain_assignments(text, module_names(text))


# -- where multi-line string literals lie ---------------------------------------------------------
# Line scans take any line at the right indentation for a statement; a line inside a triple-quoted
# string (a prompt template at column 0) is not one. Tokenizing whole files with a regex costs more
# than the rest of the fast path, so only the logical lines holding a triple quote are tokenized:
# that tells an opening triple quote from one in a comment or a one-line string.


def _single(q: str) -> str:  # a one-line string; a backslash escapes anything, a newline too
    return rf"{q}[^{q}\\\r\n]*(?:\\(?:\r\n|[\s\S])[^{q}\\\r\n]*)*{q}"


def _triple(q: str) -> str:
    return rf"{q}{q}{q}[^{q}\\]*(?:(?:\\[\s\S]|{q}(?!{q}{q}))[^{q}\\]*)*{q}{q}{q}"


# Prefixes do not change where a literal ends (`r"\""` is one string too), so they are not read.
_TOKEN = re.compile("|".join([
    rf"(?P<triple>{_triple(chr(34))}|{_triple(chr(39))})",
    r"(?P<open>\"\"\"|''')",  # a triple quote that never closes
    rf"(?P<string>{_single(chr(34))}|{_single(chr(39))})",
    r"(?P<comment>\#[^\r\n]*)",
    r"(?P<unclosed>[\"'])",
]))


class _Unsure(Exception):
    """A line the token scan cannot read: an unclosed quote, or an f-string whose braces do not
    close (Python 3.12 lets a replacement field hold the f-string's own quotes)."""


def _ends_with_backslash(text: str, at: int) -> bool:
    """Whether the line before line start ``at`` ends with a backslash (in code or not)."""
    j = at - 1
    while j >= 0 and j >= at - 2 and text[j] in "\r\n":
        j -= 1
    return 0 <= j < at - 1 and text[j] == "\\"


def _logical_start(text: str, at: int, floor: int) -> int:
    """Start of the logical line holding ``at``, not before ``floor`` (known to be outside any
    literal): a one-line string may go on over a backslash-newline."""
    start = text.rfind("\n", floor, at) + 1 or floor
    while start > floor and _ends_with_backslash(text, start):
        start = text.rfind("\n", floor, start - 1) + 1 or floor
    return start


def _open_fstring(text: str, start: int, end: int) -> bool:
    """Whether the literal text[start:end], if an f-string (or t-string), leaves a replacement
    field open as scanned."""
    if not any(c in "fFtT" for c in text[max(start - 2, 0) : start]) or "{" not in text[start:end]:
        return False
    body = text[start:end].replace("{{", "").replace("}}", "")
    return body.count("{") > body.count("}")


def _token_at(text: str, at: int, floor: int) -> re.Match | None:
    """The string or comment covering offset ``at``; None when ``at`` is in code."""
    for token in _TOKEN.finditer(text, _logical_start(text, at, floor)):
        if token.start() > at:
            return None
        kind = token.lastgroup
        if kind in ("open", "unclosed") or (kind != "comment" and _open_fstring(text, *token.span())):
            raise _Unsure
        if token.end() > at:
            return token
    return None


_LEAD = re.compile(r"[ \t]*[rRbBuUfFtT]{0,2}")


def _triple_end(text: str, at: int) -> int:
    """End of the triple-quoted string opening at ``at`` (str.find outruns a regex here)."""
    quote, i = text[at : at + 3], at + 3
    while True:
        j = text.find(quote, i)
        if j < 0:
            raise _Unsure  # never closes
        k = j
        while text[k - 1] == "\\":
            k -= 1
        if (j - k) % 2 == 0:  # an odd run of backslashes escapes the first quote
            return j + 3
        i = j + 1


def _docstring_end(text: str, at: int, floor: int) -> int | None:
    """End of the string opening at ``at`` when only indentation and a prefix come before it on
    its line (docstrings, most templates): the common case, read without tokenizing the line."""
    start = text.rfind("\n", floor, at) + 1
    if not start and floor:
        return None  # the line began before ``floor`` (a string closed on it): tokenize it
    if _LEAD.fullmatch(text, start, at) is None or _ends_with_backslash(text, start):
        return None
    end = _triple_end(text, at)
    if _open_fstring(text, at, end):
        raise _Unsure
    return end


def _offsets(text: str, needle: str) -> list[int]:
    out, i = [], text.find(needle)
    while i >= 0:  # overlapping: in `"a""""` the string opens at the fourth quote
        out.append(i)
        i = text.find(needle, i + 1)
    return out


def _triple_strings(text: str) -> list[int]:
    """[start, end, start, end, ...] of the triple-quoted strings (from the opening quote)."""
    bounds: list[int] = []
    pos = 0
    for at in sorted(_offsets(text, '"""') + _offsets(text, "'''")):
        if at < pos:
            continue
        end = _docstring_end(text, at, pos)
        if end is not None:
            bounds += (at, end)
            pos = end
            continue
        token = _token_at(text, at, pos)
        if token is None:
            raise _Unsure  # a quote in code always starts a token
        if token.lastgroup == "triple" and token.start() == at:
            bounds += (at, token.end())
        pos = token.end()
    return bounds


class Literals:
    """Where a module's multi-line strings lie, for the line scans of the fast path.

    ``sure`` is False when some line holding a triple quote cannot be read; the fast path then
    parses the whole file."""

    def __init__(self, text: str):
        self.text = text
        self._blanked: str | None = None
        try:
            self.bounds, self.sure = _triple_strings(text), True
        except _Unsure:
            self.bounds, self.sure = [], False

    def inside(self, at: int) -> bool:
        """Whether offset ``at`` lies in a triple-quoted string, after its opening quote."""
        return bisect.bisect_left(self.bounds, at) % 2 == 1

    def continued(self, at: int) -> bool:
        """Whether line start ``at`` continues the line before over a backslash (one that ends
        a comment continues nothing)."""
        text = self.text
        if not _ends_with_backslash(text, at):
            return False
        backslash = text.rindex("\\", 0, at)
        i = bisect.bisect_right(self.bounds, backslash)
        if i % 2:
            return True  # a backslash-newline inside a triple-quoted string
        try:  # tokenize from the end of the last triple-quoted string before it
            token = _token_at(text, backslash, self.bounds[i - 1] if i else 0)
        except _Unsure:
            return True
        return token is None or token.lastgroup != "comment"

    def starts_line(self, at: int) -> bool:
        """Whether a statement may start at line start ``at`` (as far as literals tell)."""
        return not self.inside(at) and not self.continued(at)

    def blanked(self) -> str:
        """The text with the insides of triple-quoted strings turned to spaces (line ends kept):
        same length and lines, so offsets into it are offsets into the text, for scans that
        should see code only. F-strings stay: their replacement fields are code."""
        if self._blanked is None:
            text, bounds = self.text, self.bounds
            parts, pos = [], 0
            for start, end in zip(bounds[::2], bounds[1::2]):
                if any(c in "fFtT" for c in text[max(start - 2, 0) : start]):
                    continue
                parts += (text[pos : start + 3], _NOT_LINE_END.sub(_spaces, text[start + 3 : end - 3]))
                pos = end - 3
            parts.append(text[pos:])
            self._blanked = "".join(parts)
        return self._blanked


_NOT_LINE_END = re.compile(r"[^\r\n]+")


def _spaces(match: re.Match) -> str:
    return " " * len(match.group())


@per_text
def literals(text: str) -> Literals:
    """The literal map of ``text``."""
    return Literals(text)
