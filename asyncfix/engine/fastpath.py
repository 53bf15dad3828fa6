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
from asyncfix.engine.textscan import chain_assignments, module_names

# Line-start patterns are written after a literal "\n" (sre then jumps from newline to newline,
# several times faster than `^` with MULTILINE); the first line is matched on its own.
_HEAD_BODY = r"(?:(@)|(?:async[ \t]+)?def[ \t]+(\w+)|class[ \t]+(\w+)[ \t]*(?:\(([^)]*)\))?)"
_HEAD, _HEAD_FIRST = re.compile("\n" + _HEAD_BODY), re.compile(_HEAD_BODY)
_CANDIDATE = re.compile(r"\n[^ \t\r\n#)\]}]")  # a line that may start a statement
_ASYNC_DEF = re.compile(r"async[ \t]+def\b")
_ASSIGN = re.compile(r"\n(\w+)[ \t]*(?::[^=\r\n]*)?=(?!=)([^\r\n]*)")
_IMPORT_WORD = re.compile(r"import[ \t(]")
_BREAKS = re.compile(r"\r\n|\r|\n")


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


def trigger_pattern(text: str, catalog: Catalog, blocks: list[Block] = (), imported=None):
    """What a function must mention to be worth parsing: a name bound to a catalog function or
    type, a catalog module followed by one of its catalog attributes (`os.remove`, not
    `os.environ`), a builtin like `open`, a local import, or something this module makes from
    those: a module-level object (`client = httpx.Client()`), an attribute chain some function
    assigns (`app.state.converter = DocumentConverter()`), a function whose return annotation
    names a catalog type."""
    words, dotted, modules = imported or imported_names(text, catalog)
    if words is None:
        return _EVERYTHING
    return _with_module_objects(text, blocks, set(words), set(dotted), modules)


def imported_names(text: str, catalog: Catalog):
    """(words, dotted patterns, modules) the module's imports make triggers; (None, ...) when a
    star import binds names we cannot list."""
    words = {"open", "input", "import", *catalog.method_names}
    dotted: set[str] = set()
    modules: dict[str, frozenset[str]] = {}  # `import os`: os -> the attributes that matter
    imports = _import_pattern(catalog)
    seen: set[int] = set()
    for word in _IMPORT_WORD.finditer(text):
        start = text.rfind("\n", 0, word.start()) + 1
        if start in seen:
            continue
        seen.add(start)
        match = imports.match(text, start)
        if match is None:
            continue
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
                    return None, None, None
                words.update(catalog.names_in_module(module))
                continue
            else:
                qual, local = f"{module}.{name}", bound or name
            if qual == "builtins":  # `builtins.open(p)`
                dotted.add(_dotted(local, _BUILTIN_WORDS))
                continue
            if not catalog.mentions(qual):
                continue
            children = catalog.children(qual)
            if children is None or catalog.function(qual) or catalog.annotation_type(qual) \
                    or catalog.result_type(qual):
                words.add(local)
            else:
                dotted.add(_dotted(local, children))
                modules[local] = children
    return frozenset(words), frozenset(dotted), modules


def mentions_beyond_imports(text: str, pattern: re.Pattern) -> bool:
    """Whether a trigger occurs anywhere but in a module-level import line. When none does, no
    function can mention one and no module-level object can be made from one: nothing to parse."""
    for found in pattern.finditer(text):
        line = text.rfind("\n", 0, found.start()) + 1
        if not _TOP_IMPORT.match(text, line) and not _attribute_named_like_builtin(text, found):
            return True
    return False


_BUILTIN_WORDS = frozenset({"open", "input"})


def _attribute_named_like_builtin(text: str, found: re.Match) -> bool:
    """`self.open(...)`, `reopen`, `user_input`: not the builtin. The pattern has no leading `\\b`
    (for speed), so this is checked per match instead."""
    at = found.start()
    return found.group() in _BUILTIN_WORDS and at > 0 and (text[at - 1].isalnum() or text[at - 1] in "_.")


def found_in(pattern, text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether a trigger occurs in ``text[start:end]`` (a name that only looks like a builtin
    does not count)."""
    if isinstance(pattern, Triggers):
        return found_in(pattern.base, text, start, end) or found_in(pattern.extra, text, start, end)
    end = len(text) if end is None else end
    for found in pattern.finditer(text, start, end):
        if not _attribute_named_like_builtin(text, found):
            return True
    return False


_TOP_IMPORT = re.compile(r"(?:import|from)[ \t]")
_INDENTED_IMPORT = re.compile(r"\n[ \t]+(?:import|from[ \t][\w.]+[ \t]+import)[ \t]")  # a local import


def _with_module_objects(text: str, blocks, words: set[str], dotted: set[str], modules):
    base = _pattern(words, dotted)  # the same imports give the same pattern: cached
    # Classes whose code mentions a trigger: their instances may hold catalog objects.
    classes = {b.name for b in blocks if b.kind == "class" and found_in(base, text, b.start, b.end)}
    names = _Names(words | classes, modules)
    extra_words: set[str] = set()
    extra_dotted: set[str] = set()
    assigned = [m.groups() for m in _ASSIGN.finditer("\n" + text)]
    while True:  # module-level objects built from catalog calls (or from such objects)
        new = {name for name, value in assigned if name not in names.words and names.match(value)}
        if not new:
            break
        names.words |= new
        extra_words |= new
    for chain, value in chain_assignments(text, module_names(text)):  # `app.state.converter = ...`
        if names.match(value):
            extra_dotted.add(r"\s*\.\s*".join(map(re.escape, chain.split("."))))
    for block in blocks:
        if block.kind == "class" and block.name in classes:
            # `Cache.conn.execute(q)` reads a class attribute through the class name
            extra_dotted.add(rf"{re.escape(block.name)}\s*\.\s*\w+\s*\.")
        elif block.kind == "def" and block.name not in names.words and _returns_trigger(text, block, names):
            names.words.add(block.name)
            extra_words.add(block.name)
    if not (extra_words or extra_dotted):
        return base
    return Triggers(base, _pattern(extra_words, extra_dotted))


class Triggers:
    """Two patterns searched in turn: the one the imports give (shared by files with the same
    imports, so rarely compiled) and a small one of this file's own objects."""

    def __init__(self, base: re.Pattern, extra: re.Pattern):
        self.base = base
        self.extra = extra

    def search(self, text: str, pos: int = 0, endpos: int | None = None):
        endpos = len(text) if endpos is None else endpos
        return self.base.search(text, pos, endpos) or self.extra.search(text, pos, endpos)


_CHAINS = re.compile(r"[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*")


class _Names:
    """The trigger test for short texts (an assigned value, an annotation) without compiling a
    pattern: plain names, and modules followed by one of their catalog attributes."""

    def __init__(self, words: set[str], modules: dict[str, frozenset[str]]):
        self.words = set(words)
        self.modules = modules

    def match(self, text: str) -> bool:
        for chain in _CHAINS.findall(text):
            parts = chain.replace(" ", "").replace("\t", "").split(".")
            if parts[0] in self.words or (len(parts) > 1 and parts[1] in self.modules.get(parts[0], ())):
                return True
        return False

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> bool:
        return self.match(text[pos:endpos])


def _returns_trigger(text: str, block: Block, triggers) -> bool:
    """Whether a function's return annotation (`-> sqlite3.Connection`) names a trigger."""
    arrow = text.find("->", block.start, min(block.end, block.start + 2000))
    if arrow < 0:
        return False
    colon = text.find(":", arrow)
    return bool(triggers.search(text, arrow, colon if colon >= 0 else block.end))




_IMPORTS: dict[int, tuple[Catalog, re.Pattern]] = {}


def _import_pattern(catalog: Catalog) -> re.Pattern:
    """Import statements that can bind a catalog name (`from typing import ...` cannot)."""
    found = _IMPORTS.get(id(catalog))
    if found is None or found[0] is not catalog:  # an id may be reused once a catalog is gone
        roots = "|".join(sorted(map(re.escape, catalog.roots)))
        found = _IMPORTS[id(catalog)] = (catalog, re.compile(
            rf"[ \t]*(?:from[ \t]+((?:{roots})\b[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\r\n#;]+)"
            rf"|import[ \t]+([^\r\n#;]*\b(?:{roots})\b[^\r\n#;]*))"))
    return found[1]


_DOTTED: dict[tuple[str, frozenset], str] = {}


def _dotted(local: str, children: frozenset[str]) -> str:
    """`os\\s*\\.\\s*(?:remove|...)`: the module name followed by one of its catalog attributes."""
    key = (local, children)
    found = _DOTTED.get(key)
    if found is None:
        names = "|".join(sorted(map(re.escape, children)))
        found = _DOTTED[key] = rf"{re.escape(local)}\s*\.\s*(?:{names})"
    return found


_EVERYTHING = re.compile(r"(?s).")
_PATTERNS: dict[tuple[frozenset, frozenset], re.Pattern] = {}


def _pattern(words: set[str], dotted: set[str]) -> re.Pattern:
    key = (frozenset(words), frozenset(dotted))
    found = _PATTERNS.get(key)
    if found is None:
        if len(_PATTERNS) > 2000:
            _PATTERNS.clear()
        # No leading \b: it would stop sre from skipping ahead by the possible first characters
        # (3x slower). `reopen` then also counts as `open`: a block kept that was not needed.
        source = r"(?:" + "|".join(sorted(map(re.escape, words)) + sorted(dotted)) + r")\b"
        found = _PATTERNS[key] = re.compile(source)
    return found


def reduce_source(text: str, catalog: Catalog) -> str | None:
    """The module with irrelevant top-level functions and classes stubbed out; None when no
    coroutine can hold a finding."""
    async_at = [m.start() for m in _ASYNC_DEF.finditer(text)]
    if not async_at:
        return None
    if "\r" in text and re.search(r"\r(?!\n)", text):
        return text  # old Mac line ends: the scans below assume "\n"; parse it all
    imported = imported_names(text, catalog)
    if imported[0] is not None and not _INDENTED_IMPORT.search(text) and not mentions_beyond_imports(
            text, _pattern(imported[0] - {"import"}, imported[1])):
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
                triggers.append(trigger_pattern(text, catalog, blocks, imported))
            mentions[id(block)] = found_in(triggers[0], text, block.start, block.end)
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
    stubs = [(b, "") for b in blocks if id(b) not in keep]
    for block in blocks:
        if block.kind == "class" and id(block) in keep and spans_async(block):
            stubs += _member_stubs(text, block, _class_chain(block, classes), triggers[0])
    out, pos = [], 0
    for block, indent in sorted(stubs, key=lambda item: item[0].start):
        out.append(text[pos : block.start])
        breaks = text.count("\n", block.start, block.end)
        stub = f"{indent}def {block.name}(self): pass" if block.kind == "def" else f"{indent}class {block.name}: pass"
        out.append(stub + "\n" * breaks if breaks else stub)
        pos = block.end
    out.append(text[pos:])
    return "".join(out)


_MEMBER_HEAD = re.compile(r"\n([ \t]+)(?:@|(?:async[ \t]+)?def[ \t])")
_SELF_ASSIGN = re.compile(r"(?:self|cls)[ \t]*\.[ \t]*(\w+)[ \t]*(?::[^=\r\n]*)?=(?!=)")
_SELF_USE = re.compile(r"(?:self|cls)[ \t]*\.[ \t]*(\w+)")
_CLASS_LEVEL: dict[str, re.Pattern] = {}


class Member:
    """What the fast path needs to know of one method: does it mention a trigger, which
    attributes does it set and read (scanned only when asked), does it return a catalog type."""

    def __init__(self, text: str, block: Block, mentions: bool, returns: bool):
        self.text, self.block, self.mentions, self.returns = text, block, mentions, returns
        self._assigns: set[str] | None = None
        self._uses: set[str] | None = None

    @property
    def assigns(self) -> set[str]:
        if self._assigns is None:
            self._assigns = set(_SELF_ASSIGN.findall(self.text, self.block.start, self.block.end))
        return self._assigns

    @property
    def uses(self) -> set[str]:
        if self._uses is None:
            self._uses = set(_SELF_USE.findall(self.text, self.block.start, self.block.end))
        return self._uses


def _class_chain(block: Block, classes: dict[str, Block]) -> list[Block]:
    """The class and its base classes defined in the same module."""
    chain, stack = [], [block]
    while stack:
        item = stack.pop()
        if item not in chain:
            chain.append(item)
            stack += [classes[b] for b in item.bases if b in classes]
    return chain


def _members(text: str, block: Block, triggers) -> tuple[str, list[Member], set[str]]:
    """The class's indentation, its methods, and class-level attributes naming a trigger."""
    head = _MEMBER_HEAD.search(text, block.start, block.end)
    if head is None:
        return "", [], set()
    indent = head.group(1)
    blocks = def_blocks(text, indent, block.start, block.end)
    class_level = _CLASS_LEVEL.get(indent)
    if class_level is None:
        class_level = _CLASS_LEVEL[indent] = re.compile(rf"\n{re.escape(indent)}(\w+)[ \t]*[:=]([^\r\n]*)")
    attrs, pos = set(), block.start
    members = []
    for item in blocks + [None]:
        stop = item.start if item is not None else block.end
        attrs.update(m.group(1) for m in class_level.finditer(text, pos, stop) if triggers.search(m.group(2)))
        if item is None:
            break
        pos = item.end
        if item.kind == "def":
            members.append(Member(text, item, found_in(triggers, text, item.start, item.end),
                                  _returns_trigger(text, item, triggers)))
    return indent, members, attrs


def _member_stubs(text: str, block: Block, chain: list[Block], triggers) -> list[tuple[Block, str]]:
    """Methods of a kept class that cannot matter: sync ones that neither set an attribute that
    may hold a catalog object nor return one, async ones that mention neither a trigger nor such
    an attribute."""
    scanned = [_members(text, c, triggers) for c in chain]
    typed: set[str] = set().union(*(attrs for _, _, attrs in scanned))
    members = [m for _, ms, _ in scanned for m in ms]
    active = [m for m in members if m.mentions]
    typed |= {m.block.name for m in members if m.returns}
    while True:  # `self.cur = self.conn.cursor()` types cur once conn is typed
        grown = set().union(*(m.assigns for m in active)) - typed
        if not grown:
            break
        typed |= grown
        active = [m for m in members if m.mentions or m.uses & typed]
    indent, own, _ = scanned[0]
    stubs = []
    for member in own:
        relevant = member.mentions or bool(typed and member.uses & typed)
        if member.block.is_async or "async" in text[member.block.start : member.block.end]:
            needed = relevant
        else:
            needed = relevant and (bool(member.assigns) or member.returns)
        if not needed:
            stubs.append((member.block, indent))
    return stubs


def fast_parse(text: str, catalog: Catalog, filename: str) -> ast.Module:
    """The reduced module's tree (empty when nothing can hold a finding). Raises ``SyntaxError``
    when the reduced text does not parse; the caller then parses the whole file."""
    reduced = reduce_source(text, catalog)
    if reduced is None:
        return ast.Module(body=[], type_ignores=[])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(reduced, filename)
