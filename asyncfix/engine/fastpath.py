"""Parse only what can hold a finding.

Parsing every file with ``async def`` costs far more than ruff's whole run, so a file is first cut
into its top-level statements by a text scan (``blocks``), and only these are parsed: module-level
code (imports and assignments that resolve names), top-level functions and classes that contain
an ``async def`` *and* mention something that can lead to a finding (``triggers``), and in such
classes only the methods that can matter (``members``). Every other function, class or method is
replaced by a one-line stub with its name (it still shadows) followed by blank lines, so every
kept line keeps its number and column. The analysis then runs on that reduced module exactly as
on the full one; the tests compare the two on every fixture and on generated variations of them.

The scans skip lines inside triple-quoted strings (a prompt template at column 0 must not end its
class) and backslashes in comments (``textscan.Literals``); a file with a line holding a triple
quote they cannot read is parsed whole.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings

from asyncfix.catalog import Catalog
from asyncfix.engine.blocks import MEMBER_HEAD, Block, def_blocks
from asyncfix.engine.members import class_chain, holds_catalog_objects, member_stubs
from asyncfix.engine.textscan import ASYNC_DEF, literals
from asyncfix.engine.triggers import (EVERYTHING, Finder, Mentions, add_module_objects, imported_names,
                                      returns_trigger)


def reduce_source(text: str, catalog: Catalog) -> str | None:
    """The module with irrelevant top-level functions and classes stubbed out; None when no
    coroutine can hold a finding."""
    async_at = [m.start() for m in ASYNC_DEF.finditer(text)]
    if not async_at:
        return None
    if "\r" in text and re.search(r"\r(?!\n)", text):
        return text  # old Mac line ends: the scans below assume "\n"; parse it all
    imported = imported_names(text, catalog)
    complete = imported[0] is None  # the module's own objects join the imports on first need
    if complete:
        mentions = Mentions(text, EVERYTHING)
    else:
        mentions = Mentions(text, Finder.of(imported[0], imported[1]))
        if not mentions.beyond_imports():
            return None
    if not literals(text).sure:
        return text  # a line the block scan cannot read safely: parse it all
    blocks = def_blocks(text)
    if _loose_coroutine(text, async_at, blocks):
        return text  # a coroutine in module-level code (`if sys.platform == ...:`): parse it all

    def spans_async(block: Block) -> bool:
        i = bisect.bisect_left(async_at, block.start)
        return i < len(async_at) and async_at[i] < block.end

    classes = {b.name: b for b in blocks if b.kind == "class"}

    def mentioned(block: Block) -> bool:
        nonlocal complete
        if not complete:
            add_module_objects(text, blocks, imported, mentions)
            complete = True
            mentions.watch({b.name for b in classes.values() if mentions.within_block(b)},
                           lambda name: _holds(text, classes[name], classes, mentions))
        return mentions.within_block(block)

    helper_names, helpers = helper_calls(text, blocks, mentioned, spans_async)

    def calls_helper(block: Block) -> bool:
        return helpers is not None and helpers.search(text, block.start, block.end)

    def relevant_class(block: Block, seen: frozenset = frozenset()) -> bool:
        return mentioned(block) or calls_helper(block) or any(
            relevant_class(classes[base], seen | {block.name})
            for base in block.bases if base in classes and base not in seen)

    keep: set[int] = set()
    for block in blocks:
        if not spans_async(block):
            # A sync helper whose return annotation names a catalog type: callers need it.
            if block.kind == "def" and mentioned(block) and returns_trigger(text, block, mentions.triggers):
                keep.add(id(block))
            continue
        if block.kind == "def" and (mentioned(block) or calls_helper(block)):
            keep.add(id(block))
        elif block.kind == "class" and relevant_class(block):
            # with its base classes: they may set the attributes the coroutines use
            keep.update(id(c) for c in class_chain(block, classes))
    if not keep:
        return None
    # the sync functions kept code calls, directly or through one another: `helpers` walks them
    if helpers is not None:
        by_name = {b.name: b for b in blocks if b.kind == "def" and b.name in helper_names and not spans_async(b)}
        frontier = [b for b in blocks if id(b) in keep]
        while frontier:
            called = set().union(*(helpers.within(b.start, b.end) for b in frontier))
            frontier = [by_name[n] for n in called if n in by_name and id(by_name[n]) not in keep]
            keep.update(id(b) for b in frontier)
    # module classes whose instances kept code may hold (`svc = Services()`) and that may hold
    # catalog objects: their attributes type `svc.db`, so they are kept, with their bases
    held: set[str] = set()
    frontier = [b for b in blocks if id(b) in keep]
    while frontier:
        named = set().union(*(mentions.classes_named(b.start, b.end) for b in frontier)) - held
        held |= named
        frontier = [c for name in named if name in classes for c in class_chain(classes[name], classes)
                    if id(c) not in keep]
        keep.update(id(c) for c in frontier)
    stubs = [(b, "") for b in blocks if id(b) not in keep]
    # Members no kept class needs, its own or a base class's (a mixin kept for its subclasses
    # keeps only what they use); a class some chain cannot read is kept whole.
    unneeded: dict[str, dict[int, tuple[Block, str]]] = {}
    whole: set[str] = set()
    for block in blocks:
        if block.kind == "class" and id(block) in keep and (spans_async(block) or block.name in held):
            chain = class_chain(block, classes)
            scanned = _member_scan_text(text, chain)
            if scanned is None:
                whole.update(c.name for c in chain)
                continue
            for name, found in member_stubs(scanned, block, chain, mentions, helpers).items():
                mine = {b.start: (b, indent) for b, indent in found}
                known = unneeded.get(name)
                unneeded[name] = mine if known is None else {at: known[at] for at in known.keys() & mine.keys()}
    for name, found in unneeded.items():
        if name not in whole:
            stubs += found.values()
    return stubbed(text, stubs)


def _loose_coroutine(text: str, async_at: list[int], blocks: list[Block]) -> bool:
    """Whether an `async def` starts a line of module-level code outside the top-level functions
    and classes (under an `if` or `try`): the blocks alone would not keep it."""
    starts = [b.start for b in blocks]
    code = literals(text)
    for at in async_at:
        i = bisect.bisect_right(starts, at) - 1
        if i >= 0 and at < blocks[i].end:
            continue
        line = text.rfind("\n", 0, at) + 1
        if not text[line:at].strip() and code.starts_line(line):
            return True
    return False


def _holds(text: str, block: Block, classes: dict[str, Block], mentions: Mentions) -> bool:
    """Whether the class's instances may hold catalog objects (``members``); so when its members
    cannot be read."""
    chain = class_chain(block, classes)
    scanned = _member_scan_text(text, chain)
    return scanned is None or holds_catalog_objects(scanned, chain, mentions)


def def_stub(name: str) -> str:
    """The one line a function that cannot matter becomes (``ModuleAnalysis.full_def`` knows it)."""
    return f"def {name}(self): pass"


def stubbed(text: str, stubs: list[tuple[Block, str]]) -> str:
    """``text`` with each block a one-line stub (at its indentation) and as many line breaks as
    it had, so every other line keeps its number and columns."""
    out, pos = [], 0
    for block, indent in sorted(stubs, key=lambda item: item[0].start):
        out.append(text[pos : block.start])
        breaks = text.count("\n", block.start, block.end)
        stub = indent + (def_stub(block.name) if block.kind == "def" else f"class {block.name}: pass")
        out.append(stub + "\n" * breaks if breaks else stub)
        pos = block.end
    out.append(text[pos:])
    return "".join(out)


def helper_calls(text: str, blocks: list[Block], mentioned, spans_async) -> tuple[set[str], "Occurrences | None"]:
    """The module's sync functions that may block (`helpers`: a coroutine calling one blocks):
    those that mention a trigger and those that call one of these; and where they are called."""
    sync = [b for b in blocks if b.kind == "def" and not b.is_async and not spans_async(b)]
    names = {b.name for b in sync if mentioned(b)}
    if not names:
        return names, None
    calls = Occurrences(text, names, call=True)
    while True:
        grown = {b.name for b in sync if b.name not in names and calls.search(text, b.start, b.end)}
        if not grown:
            return names, calls
        names |= grown
        calls.add(grown)


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


class Occurrences:
    """Where the names of a set occur in a text as whole words (``call``: called by their bare
    name, `name(`), found with `str.find` (far cheaper than a regex over every identifier) and
    asked range by range by bisection."""

    def __init__(self, text: str, names: set[str], call: bool = False):
        self.text, self.call = text, call
        self.found: list[tuple[int, str]] = []
        self.names: set[str] = set()
        self.add(names)

    def add(self, names: set[str]) -> None:
        text, found = self.text, self.found
        for name in names - self.names:
            at = text.find(name)
            while at >= 0:
                end = at + len(name)
                before = text[at - 1] if at else " "
                if not _word(before) and not (end < len(text) and _word(text[end])) and (
                        not self.call or before != "." and text[end:end + 1 + 8].lstrip(" \t")[:1] == "("):
                    found.append((at, name))
                at = text.find(name, end)
        self.names |= names
        found.sort()
        self.starts = [at for at, _ in found]

    def within(self, start: int, end: int) -> set[str]:
        i = bisect.bisect_left(self.starts, start)
        j = bisect.bisect_left(self.starts, end, i)
        return {name for _, name in self.found[i:j]}

    def search(self, text: str, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, start)
        return i < len(self.starts) and self.starts[i] < end


def _member_scan_text(text: str, chain: list[Block]) -> str | None:
    """The text ``members`` can scan for a class and its bases: the module, or the module with its
    strings blanked when a docstring example would give a wrong member indentation; None (keep
    the class whole) when neither can be read."""
    if all(_members_readable(text, c) for c in chain):
        return text
    blanked = literals(text).blanked()
    return blanked if all(_members_readable(blanked, c) for c in chain) else None


_SHALLOWER: dict[int, re.Pattern] = {}


def _members_readable(text: str, block: Block) -> bool:
    """Whether ``members`` reads the class right. It takes the body's indentation from the first
    indented def or decorator, which must be a member: not in a docstring, not in a nested class
    (no code line above it is indented less). In a class without one, it reads no class-level
    attributes (`conn: sqlite3.Connection` in a base class)."""
    head = MEMBER_HEAD.search(text, block.start, block.end)
    if head is None:
        return False
    code = literals(text)
    if not code.starts_line(head.start() + 1):
        return False
    width = len(head.group(1))
    if width < 2:
        return True
    shallower = _SHALLOWER.get(width)
    if shallower is None:
        shallower = _SHALLOWER[width] = re.compile(r"\n[ \t]{1,%d}[^ \t\r\n#)\]}]" % (width - 1))
    above = shallower.finditer(text, block.start, head.start())
    return not any(code.starts_line(m.start() + 1) for m in above)


def fast_parse(text: str, catalog: Catalog, filename: str) -> ast.Module:
    """The reduced module's tree (empty when nothing can hold a finding). Raises ``SyntaxError``
    when the reduced text does not parse; the caller then parses the whole file."""
    reduced = reduce_source(text, catalog)
    if reduced is None:
        return ast.Module(body=[], type_ignores=[])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(reduced, filename)
