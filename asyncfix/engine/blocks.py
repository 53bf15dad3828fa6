"""Top-level functions and classes, and the members of a class, found by a text scan.

The scan is not string-aware: a line at column 0 inside a triple-quoted string looks like a new
statement. Where that cuts a block the fast path stubs out, the reduced text no longer parses and
the caller parses the whole file instead.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# Line-start patterns are written after a literal "\n" (sre then jumps from newline to newline,
# several times faster than `^` with MULTILINE); the first line is matched on its own.
_HEAD_BODY = r"(?:(@)|(?:async[ \t]+)?def[ \t]+(\w+)|class[ \t]+(\w+)[ \t]*(?:\(([^)]*)\))?)"
_HEAD, _HEAD_FIRST = re.compile("\n" + _HEAD_BODY), re.compile(_HEAD_BODY)
_CANDIDATE = re.compile(r"\n[^ \t\r\n#)\]}]")  # a line that may start a statement


@dataclass
class Block:
    """A top-level def or class (with its decorators): text[start:end]."""

    start: int
    end: int
    kind: str  # "def" or "class"
    name: str
    bases: tuple[str, ...] = ()
    is_async: bool = False


_MEMBER_SCANS: dict[str, tuple[re.Pattern, re.Pattern]] = {}


def def_blocks(text: str, indent: str = "", start: int = 0, end: int | None = None) -> list[Block]:
    """Functions and classes (with their decorators) at one indentation: top-level ones, or the
    members of a class body. A block runs to the next line at that indentation that can start a
    statement (not a closing bracket, not after a backslash continuation)."""
    end = len(text) if end is None else end
    if indent:
        scans = _MEMBER_SCANS.get(indent)
        if scans is None:
            scans = _MEMBER_SCANS[indent] = (
                re.compile("\n" + re.escape(indent) + r"[^ \t\r\n#)\]}]"),
                re.compile("\n" + re.escape(indent) + _HEAD_BODY))
        candidate_scan, head_scan = scans
        heads = [(m.start() + 1, m) for m in head_scan.finditer(text, start, end)]
    else:
        candidate_scan = _CANDIDATE
        first = _HEAD_FIRST.match(text)
        heads = ([(0, first)] if first else []) + [(m.start() + 1, m) for m in _HEAD.finditer(text)]
    candidates = [m.start() + 1 for m in candidate_scan.finditer(text, start, end)]
    blocks: list[Block] = []
    decorated_from = None
    for at, head in heads:
        if _continued(text, at):
            continue
        if head.group(1):  # a decorator: the block starts here, at its def or class
            if decorated_from is None:
                decorated_from = at
            continue
        block_start = decorated_from if decorated_from is not None else at
        decorated_from = None
        i = bisect.bisect_right(candidates, at)
        stop = candidates[i] if i < len(candidates) else end
        while stop < end and _continued(text, stop):
            i += 1
            stop = candidates[i] if i < len(candidates) else end
        name = head.group(2) or head.group(3)
        bases = tuple(b.strip().rpartition(".")[2] for b in (head.group(4) or "").split(",") if b.strip())
        blocks.append(Block(block_start, stop, "def" if head.group(2) else "class", name, bases,
                            head.group(0).lstrip("\n \t").startswith("async")))
    return blocks


def _continued(text: str, at: int) -> bool:
    """Whether the line before offset ``at`` ends with a backslash continuation."""
    j = at - 1
    while j >= 0 and j >= at - 2 and text[j] in "\r\n":
        j -= 1
    return j >= 0 and j < at - 1 and text[j] == "\\"
