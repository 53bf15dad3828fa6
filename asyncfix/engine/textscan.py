"""Text-level scans shared by the fast path and the analyzer (no parsing)."""

from __future__ import annotations

import re

_DOT_ASSIGN = re.compile(r"\.\w+[ \t]*(?::[^=\r\n]*)?=(?!=)")
_CHAIN = re.compile(r"[ \t]*([A-Za-z_]\w*(?:\.\w+)+)[ \t]*(?::[^=\r\n]*)?=(?!=)([^\r\n]*)")


def chain_assignments(text: str) -> list[tuple[str, str]]:
    """`(chain, value text)` for lines like `app.state.converter = DocumentConverter()`, where
    the chain is not rooted at `self`/`cls` (those are class attributes)."""
    out, seen = [], set()
    for found in _DOT_ASSIGN.finditer(text):
        start = text.rfind("\n", 0, found.start()) + 1
        if start in seen:
            continue
        seen.add(start)
        match = _CHAIN.match(text, start)
        if match and not match.group(1).startswith(("self.", "cls.")):
            out.append((match.group(1), match.group(2)))
    return out
