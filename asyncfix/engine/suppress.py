"""Suppression comments: `# asyncfix: ignore[...]` and ruff/flake8 `# noqa[: CODES]`."""

from __future__ import annotations

import re

from asyncfix.catalog import Match

_IGNORE = re.compile(r"#\s*asyncfix:\s*ignore(?:\[([^\]]*)\])?", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa(?::\s*([A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def _codes(text: str) -> set[str]:
    return {part.strip().upper() for part in re.split(r"[\s,]+", text) if part.strip()}


def comment_of(line: str) -> str:
    """The comment of a source line: from the first `#` outside a string literal."""
    quote, i = None, 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif c == "#":
            return line[i:]
        elif c in "\"'":
            quote = line[i : i + 3] if line[i : i + 3] in ('"""', "\'\'\'") else c
            i += len(quote)
            continue
        i += 1
    return ""


def suppressed(line: str, match: Match) -> bool:
    """Whether a comment on ``line`` silences a finding of ``match``.

    `# asyncfix: ignore` silences everything; `# asyncfix: ignore[http,AF501]` the named categories
    or codes; `# noqa` (as in ruff, everything) or `# noqa: ASYNC210` for the calls that ruff's or
    flake8-async's rule of that code covers, or our own code.
    """
    if "#" not in line:
        return False
    line = comment_of(line)
    own = {match.rule.code, *match.rule.upstream}
    for found in _IGNORE.finditer(line):
        if found.group(1) is None:
            return True
        wanted = {w.strip().lower() for w in found.group(1).split(",") if w.strip()}
        if match.category.name in wanted or match.rule.code.lower() in wanted:
            return True
    for found in _NOQA.finditer(line):
        if found.group(1) is None or own & _codes(found.group(1)):
            return True
    return False
