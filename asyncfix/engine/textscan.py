"""Text-level scans shared by the fast path and the analyzer (no parsing)."""

from __future__ import annotations

import re
import sys
from typing import Iterable

ASYNC_DEF = re.compile(r"async[ \t]+def\b")  # where coroutines start
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
