"""Parse only what can hold a finding.

Parsing every file with ``async def`` costs far more than ruff's whole run, so a file is first cut
into its top-level statements by a text scan (string- and comment-aware), and only these are
parsed: module-level code (imports and assignments that resolve names), and top-level functions
and classes that contain an ``async def`` *and* mention something that can lead to a finding
(see ``trigger_pattern``). Every other function or class is replaced by a one-line stub with its
name (it still shadows) followed by blank lines, so every kept line keeps its number and column. The analysis then runs
on that reduced module exactly as on the full one.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from dataclasses import dataclass

from asyncfix.catalog import Catalog
from asyncfix.engine.textscan import chain_assignments

_HEAD = re.compile(r"^(?:(@)|(?:async[ \t]+)?def[ \t]+(\w+)|class[ \t]+(\w+)[ \t]*(?:\(([^)]*)\))?)", re.MULTILINE)
_CANDIDATE = re.compile(r"^[^ \t\r\n#)\]}]", re.MULTILINE)  # a line that may start a statement
_ASYNC_DEF = re.compile(r"async[ \t]+def\b")
_ASSIGN = re.compile(r"^(\w+)[ \t]*(?::[^=\r\n]*)?=(?!=)(.*)$", re.MULTILINE)
_BREAKS = re.compile(r"\r\n|\r|\n")


@dataclass
class Block:
    """A top-level def or class (with its decorators): text[start:end]."""

    start: int
    end: int
    kind: str  # "def" or "class"
    name: str
    bases: tuple[str, ...] = ()


def def_blocks(text: str) -> list[Block]:
    """Top-level functions and classes. A block runs to the next line at column 0 that can start
    a statement (not a closing bracket, not after a backslash continuation)."""
    candidates = [m.start() for m in _CANDIDATE.finditer(text)]
    blocks: list[Block] = []
    decorated_from = None
    for head in _HEAD.finditer(text):
        at = head.start()
        if _continued(text, at):
            continue
        if head.group(1):  # a decorator: the block starts here, at its def or class
            if decorated_from is None:
                decorated_from = at
            continue
        start = decorated_from if decorated_from is not None else at
        decorated_from = None
        i = bisect.bisect_right(candidates, at)
        end = candidates[i] if i < len(candidates) else len(text)
        while end < len(text) and _continued(text, end):
            i += 1
            end = candidates[i] if i < len(candidates) else len(text)
        name = head.group(2) or head.group(3)
        bases = tuple(b.strip().rpartition(".")[2] for b in (head.group(4) or "").split(",") if b.strip())
        blocks.append(Block(start, end, "def" if head.group(2) else "class", name, bases))
    return blocks


def _continued(text: str, at: int) -> bool:
    """Whether the line before offset ``at`` ends with a backslash continuation."""
    j = at - 1
    while j >= 0 and j >= at - 2 and text[j] in "\r\n":
        j -= 1
    return j >= 0 and j < at - 1 and text[j] == "\\"


def trigger_pattern(text: str, catalog: Catalog, blocks: list[Block] = ()) -> re.Pattern:
    """What a function must mention to be worth parsing: a name bound to a catalog function or
    type, a catalog module followed by one of its catalog attributes (`os.remove`, not
    `os.environ`), a builtin like `open`, a local import, or something this module makes from
    those: a module-level object (`client = httpx.Client()`), an attribute chain some function
    assigns (`app.state.converter = DocumentConverter()`), a function whose return annotation
    names a catalog type."""
    words = {"open", "input", "import", *catalog.method_names}
    dotted: set[str] = set()
    for match in _import_pattern(catalog).finditer(text):
        module, names = match.group(1), (match.group(2) or match.group(3)).strip("() \t\r\n")
        for item in names.split(","):
            parts = item.split()
            if not parts:
                continue
            name = parts[0]
            bound = parts[2] if len(parts) == 3 and parts[1] == "as" else None
            if module is None:
                qual = name if bound else name.partition(".")[0]
                local = bound or qual
            elif name == "*":
                if catalog.children(module) is None:  # cannot list what it binds: keep all
                    return re.compile(r"(?s).")
                words.update(catalog.names_in_module(module))
                continue
            else:
                qual, local = f"{module}.{name}", bound or name
            if not catalog.mentions(qual):
                continue
            children = catalog.children(qual)
            if children is None or catalog.function(qual) or catalog.annotation_type(qual) \
                    or catalog.result_type(qual):
                words.add(local)
            else:
                dotted.add(rf"{re.escape(local)}\s*\.\s*(?:{'|'.join(map(re.escape, sorted(children)))})")
    pattern = _pattern(words, dotted)
    for match in _ASSIGN.finditer(text):  # module-level objects built from catalog calls
        if match.group(1) not in words and pattern.search(match.group(2)):
            words.add(match.group(1))
            pattern = _pattern(words, dotted)
    grown = False
    for chain, value in chain_assignments(text):  # `app.state.converter = DocumentConverter()`
        if pattern.search(value):
            dotted.add(r"\s*\.\s*".join(map(re.escape, chain.split("."))))
            grown = True
    for block in blocks:
        if block.kind == "class" and pattern.search(text, block.start, block.end):
            # `Cache.conn.execute(q)` reads a class attribute through the class name
            dotted.add(rf"{re.escape(block.name)}\s*\.\s*\w+\s*\.")
            grown = True
        elif block.kind == "def" and block.name not in words and _returns_trigger(text, block, pattern):
            words.add(block.name)
            grown = True
    return _pattern(words, dotted) if grown else pattern


def _returns_trigger(text: str, block: Block, pattern: re.Pattern) -> bool:
    """Whether a function's return annotation (`-> sqlite3.Connection`) names a trigger."""
    arrow = text.find("->", block.start, min(block.end, block.start + 2000))
    if arrow < 0:
        return False
    colon = text.find(":", arrow)
    return pattern.search(text, arrow, colon if colon >= 0 else block.end) is not None




def _import_pattern(catalog: Catalog) -> re.Pattern:
    """Import statements that can bind a catalog name (`from typing import ...` cannot).

    re.compile's own cache is keyed by the pattern text, so each catalog's pattern is built once.
    """
    roots = "|".join(sorted(map(re.escape, catalog.roots)))
    return re.compile(
        rf"^[ \t]*(?:from[ \t]+((?:{roots})\b[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\r\n#;]+)"
        rf"|import[ \t]+([^\r\n#;]*\b(?:{roots})\b[^\r\n#;]*))", re.MULTILINE)


_PATTERNS: dict[str, re.Pattern] = {}


def _pattern(words: set[str], dotted: set[str]) -> re.Pattern:
    source = r"\b(?:" + "|".join(sorted(map(re.escape, words)) + sorted(dotted)) + r")"
    found = _PATTERNS.get(source)
    if found is None:
        if len(_PATTERNS) > 2000:
            _PATTERNS.clear()
        found = _PATTERNS[source] = re.compile(source)
    return found


def reduce_source(text: str, catalog: Catalog) -> str | None:
    """The module with irrelevant top-level functions and classes stubbed out; None when no
    coroutine can hold a finding."""
    async_at = [m.start() for m in _ASYNC_DEF.finditer(text)]
    if not async_at:
        return None
    blocks = def_blocks(text)
    triggers: list[re.Pattern] = []  # built on first need: most files never get that far

    def spans_async(block: Block) -> bool:
        i = bisect.bisect_left(async_at, block.start)
        return i < len(async_at) and async_at[i] < block.end

    classes = {b.name: b for b in blocks if b.kind == "class"}
    mentions: dict[int, bool] = {}

    def mentioned(block: Block) -> bool:
        if id(block) not in mentions:
            if not triggers:
                triggers.append(trigger_pattern(text, catalog, blocks))
            mentions[id(block)] = triggers[0].search(text, block.start, block.end) is not None
        return mentions[id(block)]

    def relevant_class(block: Block, seen: frozenset = frozenset()) -> bool:
        return mentioned(block) or any(
            relevant_class(classes[base], seen | {block.name})
            for base in block.bases if base in classes and base not in seen)

    keep: set[int] = set()
    for block in blocks:
        if not spans_async(block):
            # A sync helper whose return annotation names a catalog type: callers need it.
            if block.kind == "def" and mentioned(block) and _returns_trigger(text, block, triggers[0]):
                keep.add(id(block))
            continue
        if block.kind == "def" and mentioned(block):
            keep.add(id(block))
        elif block.kind == "class" and relevant_class(block):
            keep.add(id(block))
            stack = [block]
            while stack:  # base classes may set the attributes the coroutines use
                for base in stack.pop().bases:
                    if base in classes and id(classes[base]) not in keep:
                        keep.add(id(classes[base]))
                        stack.append(classes[base])
    if not keep:
        return None
    out, pos = [], 0
    newline_only = "\r" not in text
    for block in blocks:
        if id(block) in keep:
            continue
        out.append(text[pos : block.start])
        breaks = text.count("\n", block.start, block.end) if newline_only else len(
            _BREAKS.findall(text, block.start, block.end))
        stub = f"def {block.name}(): pass" if block.kind == "def" else f"class {block.name}: pass"
        out.append(stub + "\n" * breaks if breaks else stub)
        pos = block.end
    out.append(text[pos:])
    return "".join(out)


def fast_parse(text: str, catalog: Catalog, filename: str) -> ast.Module:
    """The reduced module's tree (empty when nothing can hold a finding). Raises ``SyntaxError``
    when the reduced text does not parse; the caller then parses the whole file."""
    reduced = reduce_source(text, catalog)
    if reduced is None:
        return ast.Module(body=[], type_ignores=[])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(reduced, filename)
