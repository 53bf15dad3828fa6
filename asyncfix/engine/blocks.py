"""Top-level functions and classes, and the members of a class, found by a text scan.

Lines inside triple-quoted strings (a prompt template at column 0) and lines continued over a
backslash start nothing (``textscan.Literals``); where a line holding a triple quote cannot be
read, the fast path parses the whole file instead. Lines inside brackets are not tracked: a cut
there leaves an unmatched closing bracket, the reduced text does not parse, and the caller parses
the whole file.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from asyncfix.engine.textscan import literals, per_text

# Line-start patterns are written after a literal "\n" (sre then jumps from newline to newline,
# several times faster than `^` with MULTILINE); the first line is matched on its own.
_HEAD_BODY = r"(?:(@)|(?:async[ \t]+)?def[ \t]+(\w+)|class[ \t]+(\w+)[ \t]*(?:\(([^)]*)\))?)"
_HEAD_FIRST = re.compile(_HEAD_BODY)


@dataclass
class Block:
    """A top-level def or class (with its decorators): text[start:end]."""

    start: int
    end: int
    kind: str  # "def" or "class"
    name: str
    bases: tuple[str, ...] = ()
    is_async: bool = False


_SCANS: dict[str, tuple[re.Pattern, re.Pattern]] = {}


def _scans(indent: str) -> tuple[re.Pattern, re.Pattern]:
    """(lines at ``indent`` that may start a statement, def/class/decorator heads at ``indent``)."""
    scans = _SCANS.get(indent)
    if scans is None:
        scans = _SCANS[indent] = (
            re.compile("\n" + re.escape(indent) + r"[^ \t\r\n#)\]}]"),
            re.compile("\n" + re.escape(indent) + _HEAD_BODY))
    return scans


@per_text  # a class is asked about often: to keep it, for its members, for its instances
def def_blocks(text: str, indent: str = "", start: int = 0, end: int | None = None) -> list[Block]:
    """Functions and classes (with their decorators) at one indentation: top-level ones, or the
    members of a class body. A block runs to the next line at that indentation that can start a
    statement: not a closing bracket, not in a triple-quoted string, not after a
    backslash continuation."""
    end = len(text) if end is None else end
    code = literals(text)
    candidate_scan, head_scan = _scans(indent)
    heads = [(m.start() + 1, m) for m in head_scan.finditer(text, start, end)]
    if not indent and start == 0:
        first = _HEAD_FIRST.match(text)
        heads = ([(0, first)] if first else []) + heads
    candidates = [m.start() + 1 for m in candidate_scan.finditer(text, start, end)]
    blocks: list[Block] = []
    decorated_from = None
    for at, head in heads:
        if not code.starts_line(at):
            continue
        if head.group(1):  # a decorator: the block starts here, at its def or class
            if decorated_from is None:
                decorated_from = at
            continue
        block_start = decorated_from if decorated_from is not None else at
        decorated_from = None
        i = bisect.bisect_right(candidates, at)
        stop = candidates[i] if i < len(candidates) else end
        while stop < end and not code.starts_line(stop):
            i += 1
            stop = candidates[i] if i < len(candidates) else end
        blocks.append(_block(head, block_start, stop))
    return blocks


def _block(head: re.Match, start: int, stop: int) -> Block:
    name = head.group(2) or head.group(3)
    bases = tuple(b.partition("[")[0].strip().rpartition(".")[2] for b in _top_level(head.group(4) or "")
                  if b.strip() and "=" not in b)  # `BaseClient[httpx.Client, T]` is BaseClient
    return Block(start, stop, "def" if head.group(2) else "class", name, bases,
                 head.group(0).lstrip("\n \t").startswith("async"))


def _top_level(text: str) -> list[str]:
    """``text`` split at the commas outside brackets."""
    if "[" not in text:
        return text.split(",")
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "[({":
            depth += 1
        elif c in "])}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


_DEF_HEAD = re.compile(r"\n[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*(?:\[[^\]\r\n]*\][ \t]*)?\(")
_OPENS, _CLOSES = "([{", ")]}"


def parameters(text: str, block: Block) -> set[str] | None:
    """The parameter names of a function block, read from its signature; None where the scan
    cannot be sure (a string or comment in the signature, whose brackets would mislead it)."""
    head = None
    for found in _DEF_HEAD.finditer(text, max(block.start - 1, 0), block.end):
        if found.group(1) == block.name:
            head = found
            break
    if head is None:
        return None
    depth, pos, pieces, piece_start = 1, head.end(), [], head.end()
    limit = min(block.end, pos + 10_000)
    while pos < limit:
        c = text[pos]
        if c in "\"'#":
            return None
        if c in _OPENS:
            depth += 1
        elif c in _CLOSES:
            depth -= 1
            if depth == 0:
                pieces.append(text[piece_start:pos])
                break
        elif c == "," and depth == 1:
            pieces.append(text[piece_start:pos])
            piece_start = pos + 1
        pos += 1
    else:
        return None
    names = set()
    for piece in pieces:
        name = _PARAM.match(piece)
        if name is not None:
            names.add(name.group(1))
    return names


_PARAM = re.compile(r"\s*\**\s*(\w+)")


MEMBER_HEAD = re.compile(r"\n([ \t]+)(?:@|(?:async[ \t]+)?def[ \t])")


def member_blocks(text: str, block: Block) -> list[Block]:
    """The functions and classes of a class body, at the indentation of its first indented def
    or decorator (``members`` checks that this is the body's own)."""
    head = MEMBER_HEAD.search(text, block.start, block.end)
    return [] if head is None else def_blocks(text, head.group(1), block.start, block.end)
