"""What a function must mention to be worth parsing, from the module's imports and the objects
it makes from them. Patterns are compiled once per import set; each scans a module once
(``Mentions``), and blocks look up their own ranges in what it found."""

from __future__ import annotations

import bisect
import re

from asyncfix.catalog import Catalog
from asyncfix.engine.blocks import Block
from asyncfix.engine.textscan import chain_assignments, module_names

_ASSIGN = re.compile(r"\n(\w+)[ \t]*(?::[^=\r\n]*)?=(?!=)([^\r\n]*)")
_IMPORT_WORD = re.compile(r"import[ \t(]")


def imported_names(text: str, catalog: Catalog):
    """(words, dotted patterns, modules) the module's imports make triggers; (None, ...) when a
    star import binds names we cannot list."""
    words = {"open", "input", *catalog.method_names_in(text)}
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
        module, names = match.group(1), (match.group(2) or match.group(3)).replace("\\", " ").strip("() \t\r\n")
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


_BUILTIN_WORDS = frozenset({"open", "input"})
# What may follow `open`/`input` where the analysis can see the builtin: a call (`open(`), a value
# that is assigned (`x = open`, `(open)`), or an argument (`map(open, ...)`, `key=open)`).
_BUILTIN_USE = re.compile(r"[ \t\f]*(?:[(,);#\\\r\n]|$)")


def _not_the_builtin(text: str, found: re.Match) -> bool:
    """`self.open(...)`, `reopen`, `user_input`: not the builtin; nor `input: str`, `open=True`,
    `"input"`, `the input.`, `input and output` (a parameter, a keyword, a string, prose), where
    nothing the analysis looks at can hold the builtin. The pattern has no leading `\\b` (for
    speed), so this is checked per match instead."""
    if found.group() not in _BUILTIN_WORDS:
        return False
    at = found.start()
    if at > 0 and (text[at - 1].isalnum() or text[at - 1] in "_."):
        return True
    return _BUILTIN_USE.match(text, found.end()) is None


class Mentions:
    """Where a module mentions its triggers. Each pattern scans the whole text once; the blocks,
    classes and methods that ask about their own ranges are answered by bisection, so no part of
    the text is searched twice."""

    def __init__(self, text: str, triggers):
        self.text = text
        self.triggers = triggers  # a pattern, Triggers, or EVERYTHING
        self._starts: dict[re.Pattern, list[int]] = {}

    def starts(self, pattern: re.Pattern) -> list[int]:
        found = self._starts.get(pattern)
        if found is None:
            text = self.text
            builtin = _BUILTIN_WORDS  # checked inline first: most matches are not `open`/`input`
            found = self._starts[pattern] = [
                m.start() for m in pattern.finditer(text)
                if m.group() not in builtin or not _not_the_builtin(text, m)]
        return found

    def within(self, start: int, end: int) -> bool:
        """Whether a trigger starts in ``text[start:end]``."""
        triggers = self.triggers
        if triggers is EVERYTHING:
            return start < end
        for pattern in (triggers.base, triggers.extra) if isinstance(triggers, Triggers) else (triggers,):
            starts = self.starts(pattern)
            i = bisect.bisect_left(starts, start)
            if i < len(starts) and starts[i] < end:
                return True
        return False

    def beyond_imports(self) -> bool:
        """Whether a trigger occurs anywhere but in a module-level import line. When none does,
        no function can mention one and no module-level object can be made from one."""
        text = self.text
        for at in self.starts(self.triggers):
            if not _TOP_IMPORT.match(text, text.rfind("\n", 0, at) + 1):
                return True
        return False


_TOP_IMPORT = re.compile(r"(?:import|from)[ \t]")


def add_module_objects(text: str, blocks: list[Block], imported, mentions: Mentions) -> None:
    """Add to ``mentions`` (made with the imports' pattern) what this module makes from those
    imports, which a function may mention instead: a module-level object (`client =
    httpx.Client()`), an attribute chain some function assigns (`app.state.converter =
    DocumentConverter()`), a function whose return annotation names a catalog type, a class
    attribute read through a class whose code mentions a trigger (`Cache.conn.execute`)."""
    words, _, modules = imported
    # Classes whose code mentions a trigger: their instances may hold catalog objects.
    classes = {b.name for b in blocks if b.kind == "class" and mentions.within(b.start, b.end)}
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
        elif block.kind == "def" and block.name not in names.words and returns_trigger(text, block, names):
            names.words.add(block.name)
            extra_words.add(block.name)
    if extra_words or extra_dotted:
        mentions.triggers = Triggers(mentions.triggers, _pattern(extra_words, extra_dotted))


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


def returns_trigger(text: str, block: Block, triggers) -> bool:
    """Whether a function's return annotation (`-> sqlite3.Connection`) names a trigger."""
    arrow = text.find("->", block.start, min(block.end, block.start + 2000))
    if arrow < 0:
        return False
    colon = text.find(":", arrow)
    return bool(triggers.search(text, arrow, colon if colon >= 0 else block.end))




_IMPORTS: dict[int, tuple[Catalog, re.Pattern]] = {}
_LINE_REST = r"(?:[^\r\n#;\\]|\\(?:\r\n|\r|\n)?)"  # up to the statement's end, across `\` continuations


def _import_pattern(catalog: Catalog) -> re.Pattern:
    """Import statements that can bind a catalog name (`from typing import ...` cannot)."""
    found = _IMPORTS.get(id(catalog))
    if found is None or found[0] is not catalog:  # an id may be reused once a catalog is gone
        roots = "|".join(sorted(map(re.escape, catalog.roots)))
        found = _IMPORTS[id(catalog)] = (catalog, re.compile(
            rf"[ \t]*(?:from[ \t]+((?:{roots})\b[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|{_LINE_REST}+)"
            rf"|import[ \t]+({_LINE_REST}*\b(?:{roots})\b{_LINE_REST}*))"))
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


EVERYTHING = re.compile(r"(?s).")  # a star import binds names we cannot list: all may matter
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


def pattern_for(words, dotted) -> re.Pattern:
    """The compiled (and cached) pattern for a set of words and dotted patterns."""
    return _pattern(set(words), set(dotted))
