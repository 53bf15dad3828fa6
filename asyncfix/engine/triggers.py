"""What a function must mention to be worth parsing, from the module's imports and the objects
it makes from them. A ``Finder`` lists the words and attribute chains that count; it scans a
module once (``Mentions``), and blocks look up their own ranges in what it found."""

from __future__ import annotations

import bisect
import re

from asyncfix.catalog import Catalog
from asyncfix.engine.blocks import Block, member_blocks, parameters
from asyncfix.engine.textscan import module_chains

_ASSIGN = re.compile(r"\n(\w+)[ \t]*(?::[^=\r\n]*)?=(?!=)([^\r\n]*)")
_IMPORT_WORD = re.compile(r"import[ \t(]")


def imported_names(text: str, catalog: Catalog):
    """(words, dotted, modules) the module's imports make triggers (``dotted``: a module's local
    name -> the attributes that matter, `os` -> {remove, ...}; ``modules``: the same without
    `builtins`); (None, ...) when a star import binds names we cannot list."""
    words = {"open", "input", *catalog.method_names_in(text)}
    dotted: dict[str, frozenset[str]] = {}
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
                dotted[local] = dotted.get(local, frozenset()) | _BUILTIN_WORDS
                continue
            if not catalog.mentions(qual):
                continue
            children = catalog.children(qual)
            if children is None or catalog.function(qual) or catalog.annotation_type(qual) \
                    or catalog.result_type(qual):
                words.add(local)
            else:
                dotted[local] = modules[local] = modules.get(local, frozenset()) | children
    return frozenset(words), dotted, modules


_BUILTIN_WORDS = frozenset({"open", "input"})
# What may follow `open`/`input` where the analysis can see the builtin: a call (`open(`), a value
# that is assigned (`x = open`, `(open)`), or an argument (`map(open, ...)`, `key=open)`).
_BUILTIN_USE = re.compile(r"[ \t\f]*(?:[(,);#\\\r\n]|$)")


def _not_the_builtin(text: str, at: int, end: int, size: int) -> bool:
    """`self.open(...)`: not the builtin; nor `input: str`, `open=True`, `"input"`, `the input.`,
    `input and output` (a parameter, a keyword, a string, prose), where nothing the analysis looks
    at can hold the builtin. (`reopen`, `user_input` are other names: ``Finder`` skips them.)"""
    return (at > 0 and text[at - 1] == ".") or _BUILTIN_USE.match(text, end, size) is None


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"  # what the regex `\w` matches


ANY = None  # a part of a chain: any attribute (`Cache.<any>.`)
DOT = ""  # a chain's last part: the dot alone
_ATTR = re.compile(r"\s*\.\s*(\w*)")  # `.name` after a head, across spaces and line breaks


class Finder:
    """The triggers of a module: words (`open`, `requests`, `client`) and attribute chains
    (`os.remove`, `app.state.converter`, `Cache.<any>.`), each found from its head word with
    `str.find`. A regex alternation of them had to be compiled per import set (a compile cost
    more than the module's whole scan) and was slower to run than a `find` per head.

    ``heads``: head word -> its tails; a tail is a tuple of parts, each a set of attribute names,
    ``ANY`` or (last) ``DOT``; the empty tail is the word alone. An occurrence is a whole name:
    `AsyncOpenAI` is not `OpenAI` (a name that may hold what a trigger makes is a trigger of its
    own, ``add_module_objects``), while `self.os.remove` still counts as `os.remove`."""

    def __init__(self, heads: dict[str, tuple[tuple, ...]]):
        self.heads = heads

    @classmethod
    def of(cls, words=(), dotted=None, chains=()) -> "Finder":
        """From words, ``dotted`` (a module's name -> the attributes that matter) and chains (a
        head followed by parts)."""
        heads: dict[str, set[tuple]] = {}
        for word in words:
            heads.setdefault(word, set()).add(())
        for local, children in (dotted or {}).items():
            heads.setdefault(local, set()).add((frozenset(children),))
        for head, *parts in chains:
            heads.setdefault(head, set()).add(tuple(parts))
        return cls({head: tuple(tails) for head, tails in heads.items()})

    def merged(self, other: "Finder") -> "Finder":
        heads = dict(self.heads)
        for head, tails in other.heads.items():
            heads[head] = tuple(set(heads.get(head, ())) | set(tails))
        return Finder(heads)

    def starts(self, text: str, pos: int = 0, endpos: int | None = None,
               heads: dict[int, str] | None = None) -> list[int]:
        """Where the triggers start in ``text[pos:endpos]``, in order (the builtin `open` and
        `input` only where the analysis can see them); ``heads`` gets each start's head word."""
        size = len(text) if endpos is None else min(endpos, len(text))
        found = []
        for head, tails in self.heads.items():
            width = len(head)
            builtin = head in _BUILTIN_WORDS
            at = text.find(head, pos, size)
            while at >= 0:
                end = at + width
                if at and _word(text[at - 1]):
                    at = text.find(head, end, size)
                    continue
                for tail in tails:
                    if not tail:
                        if (end == size or not _word(text[end])) and not (
                                builtin and _not_the_builtin(text, at, end, size)):
                            found.append(at)
                            if heads is not None:
                                heads[at] = head
                            break
                    elif _follows(text, end, size, tail):
                        found.append(at)
                        if heads is not None:
                            heads[at] = ""  # a chain: never the builtin
                        break
                at = text.find(head, end, size)
        found.sort()
        return found

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> bool:
        """Whether a trigger occurs in ``text[pos:endpos]`` (a short text: an annotation, a value)."""
        size = len(text) if endpos is None else min(endpos, len(text))
        if size - pos < 4096:  # most such texts name no head at all: `in` tells at C speed
            chunk = text[pos:size]
            if not any(head in chunk for head in self.heads):
                return False
        return bool(self.starts(text, pos, size))


def _follows(text: str, end: int, size: int, tail: tuple) -> bool:
    """Whether the parts of ``tail`` follow ``text[:end]`` (within ``text[:size]``)."""
    for part in tail:
        attr = _ATTR.match(text, end, size)
        if attr is None:
            return False
        if part == DOT:
            return True
        name = attr.group(1)
        if not name or (part is not ANY and name not in part):
            return False
        end = attr.end()
    return True


class Mentions:
    """Where a module mentions its triggers. The finder scans the whole text once; the blocks,
    classes and methods that ask about their own ranges are answered by bisection, so no part of
    the text is searched twice."""

    def __init__(self, text: str, triggers):
        self.text = text
        self.triggers = triggers  # a Finder, or EVERYTHING
        self._starts: list[int] | None = None
        self._heads: dict[int, str] = {}  # start -> its word ("" for a chain)
        self._classes: tuple | None = None  # (finder, holds, known) of ``watch``
        self._class_starts: list[int] | None = None
        self._class_heads: dict[int, str] = {}
        self._asking = False  # while ``holds`` runs: it must not depend on the class names

    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = self.triggers.starts(self.text, heads=self._heads)
        return self._starts

    def add(self, extra: Finder) -> None:
        """Count the module's own objects too (``add_module_objects``)."""
        if self.triggers is EVERYTHING:
            return
        starts = self.starts()
        self.triggers = self.triggers.merged(extra)
        self._starts = sorted(starts + extra.starts(self.text, heads=self._heads))

    def watch(self, classes: set[str], holds) -> None:
        """Also count the names of these module classes, each where ``holds(name)`` says its
        instances may hold a catalog object (`svc = RAGService()`, then `svc.weaviate.is_ready()`).
        ``holds`` is asked only about a class some block names where it matters (a block that
        mentions nothing else, kept code), and once per class."""
        if classes:
            self._classes = (Finder.of(classes), holds, {})

    def _names_class(self, start: int, end: int) -> bool:
        return bool(self.classes_named(start, end, first=True))

    def classes_named(self, start: int, end: int, first: bool = False) -> set[str]:
        """The watched classes named in ``text[start:end]`` whose instances may hold catalog
        objects (``first``: stop at one)."""
        if self._classes is None or self._asking:
            return set()
        finder, holds, known = self._classes
        if self._class_starts is None:
            self._class_starts = finder.starts(self.text, heads=self._class_heads)
        starts = self._class_starts
        i = bisect.bisect_left(starts, start)
        found = set()
        for at in starts[i:bisect.bisect_left(starts, end, i)]:
            name = self._class_heads[at]
            if name not in known:
                self._asking = True  # the answer must not depend on the class names themselves
                try:
                    known[name] = holds(name)
                finally:
                    self._asking = False
            if known[name]:
                found.add(name)
                if first:
                    break
        return found

    def within(self, start: int, end: int) -> bool:
        """Whether a trigger starts in ``text[start:end]``."""
        if self.triggers is EVERYTHING:
            return start < end
        starts = self.starts()
        i = bisect.bisect_left(starts, start)
        return i < len(starts) and starts[i] < end

    def names_trigger(self, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` (an annotation) names a trigger or a watched class."""
        return self.within(start, end) or self._names_class(start, end)

    def within_block(self, block: Block) -> bool:
        """``within`` for a top-level function or class, or a method. The builtin `input` or
        `open` where it is a parameter of the function using it (`def invoke(self, input)`,
        then `input=input,`) is that parameter (nested functions and classes see it too), and
        does not count; the name of a watched class does (``watch``)."""
        if self.triggers is EVERYTHING:
            return block.start < block.end
        places = self._builtins_only(block.start, block.end)
        if places is None:
            return True
        if not places:
            return self._names_class(block.start, block.end)
        if block.kind == "def":
            return not self._parameters(block, places) or self._names_class(block.start, block.end)
        for member in member_blocks(self.text, block):
            inside = [at for at in places if member.start <= at < member.end]
            if inside and member.kind == "def" and self._parameters(member, inside):
                places = [at for at in places if not member.start <= at < member.end]
        return bool(places) or self._names_class(block.start, block.end)

    def _builtins_only(self, start: int, end: int) -> list[int] | None:
        """The starts in ``text[start:end]`` when all are the builtin words; else None."""
        starts = self.starts()
        i = bisect.bisect_left(starts, start)
        places = starts[i:bisect.bisect_left(starts, end, i)]
        heads = self._heads
        return places if all(heads.get(at) in _BUILTIN_WORDS for at in places) else None

    def _parameters(self, block: Block, places: list[int]) -> bool:
        """Whether the builtin words at ``places`` are parameters of the function ``block``."""
        params = parameters(self.text, block)
        return (params is not None and {self._heads[at] for at in places} <= params
                and _REBINDS.search(self.text, block.start, block.end) is None)

    def beyond_imports(self) -> bool:
        """Whether a trigger occurs anywhere but in a module-level import line. When none does,
        no function can mention one and no module-level object can be made from one."""
        text = self.text
        for at in self.starts():
            if not _TOP_IMPORT.match(text, text.rfind("\n", 0, at) + 1):
                return True
        return False


_TOP_IMPORT = re.compile(r"(?:import|from)[ \t]")
# A name a function's scope may rebind away from its parameter: then the text cannot tell.
_REBINDS = re.compile(r"\b(?:global|nonlocal|del|import)\b")


def add_module_objects(text: str, blocks: list[Block], imported, mentions: Mentions) -> None:
    """Add to ``mentions`` (made with the imports' pattern) what this module makes from those
    imports, which a function may mention instead: a module-level object (`client =
    httpx.Client()`), an attribute chain some function assigns (`app.state.converter =
    DocumentConverter()`), a function whose return annotation names a catalog type, a class
    attribute read through a class whose code mentions a trigger (`Cache.conn.execute`)."""
    words, _, modules = imported
    # Classes whose code mentions a trigger: their instances may hold catalog objects.
    classes = {b.name for b in blocks if b.kind == "class" and mentions.within_block(b)}
    names = _Names(words | classes, modules)
    extra_words: set[str] = set()
    chains: list[tuple] = []
    assigned = [m.groups() for m in _ASSIGN.finditer("\n" + text)]
    while True:  # module-level objects built from catalog calls (or from such objects)
        new = {name for name, value in assigned if name not in names.words and names.match(value)}
        if not new:
            break
        names.words |= new
        extra_words |= new
    for chain, value in module_chains(text):  # `app.state.converter = ...`
        if names.match(value):
            head, *parts = chain.split(".")
            chains.append((head, *(frozenset({part}) for part in parts)))
    for block in blocks:
        if block.kind == "class" and block.name in classes:
            # `Cache.conn.execute(q)` reads a class attribute through the class name
            chains.append((block.name, ANY, DOT))
        elif block.kind == "def" and block.name not in names.words and returns_trigger(text, block, names):
            names.words.add(block.name)
            extra_words.add(block.name)
    if extra_words or chains:
        mentions.add(Finder.of(extra_words, chains=chains))


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


EVERYTHING = re.compile(r"(?s).")  # a star import binds names we cannot list: all may matter
