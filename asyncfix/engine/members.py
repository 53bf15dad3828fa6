"""Which methods of a kept class can matter, so the others become one-line stubs."""

from __future__ import annotations

import re

from asyncfix.engine.blocks import MEMBER_HEAD, Block, def_blocks
from asyncfix.engine.textscan import ASYNC_DEF
from asyncfix.engine.triggers import Mentions, returns_trigger

# `self.x = v`, `self.x: T = v`, `self.a, self.b = pair`; and `self.x: T` (declared, set
# later), which types the attribute by its annotation alone (group 2: where T starts).
_SELF_ASSIGN = re.compile(r"(?:self|cls)[ \t]*\.[ \t]*(\w+)[ \t]*(?::[^=\r\n]*=(?!=)|=(?!=)|,(?=[^=\r\n]*=(?!=))"
                          r"|:()[^=\r\n]*$)", re.MULTILINE)
_SELF_USE = re.compile(r"(?:self|cls)[ \t]*\.[ \t]*(\w+)")
_CLASS_LEVEL: dict[str, re.Pattern] = {}


class Member:
    """What the fast path needs to know of one method: does it mention a trigger, which
    attributes does it set and read (scanned only when asked), does it return a catalog type."""

    def __init__(self, text: str, block: Block, found: Mentions):
        self.text, self.block = text, block
        self._found = found  # asked on first use: many members are never asked
        self._mentions: bool | None = None
        self._returns: bool | None = None
        self._assigns: set[str] | None = None
        self._uses: set[str] | None = None

    @property
    def mentions(self) -> bool:
        if self._mentions is None:
            self._mentions = self._found.within_block(self.block)
        return self._mentions

    @property
    def returns(self) -> bool:
        if self._returns is None:
            self._returns = returns_trigger(self.text, self.block, self._found.triggers)
        return self._returns

    @property
    def assigns(self) -> set[str]:
        if self._assigns is None:
            found = set()
            for match in _SELF_ASSIGN.finditer(self.text, self.block.start, self.block.end):
                at = match.start(2)
                if at < 0 or self._found.names_trigger(at, match.end()):  # `self.sock: socket.socket`
                    found.add(match.group(1))
            self._assigns = found
        return self._assigns

    @property
    def uses(self) -> set[str]:
        if self._uses is None:
            self._uses = set(_SELF_USE.findall(self.text, self.block.start, self.block.end))
        return self._uses


def class_chain(block: Block, classes: dict[str, Block]) -> list[Block]:
    """The class and its base classes defined in the same module."""
    chain, stack = [], [block]
    while stack:
        item = stack.pop()
        if item not in chain:
            chain.append(item)
            stack += [classes[b] for b in item.bases if b in classes]
    return chain


def _members(text: str, block: Block, mentions: Mentions) -> tuple[str, list[Member], set[str]]:
    """The class's indentation, its methods, and class-level attributes naming a trigger."""
    triggers = mentions.triggers
    head = MEMBER_HEAD.search(text, block.start, block.end)
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
            members.append(Member(text, item, mentions))
    return indent, members, attrs


def _typed(scanned, members: list[Member]) -> set[str]:
    """Attributes that may hold a catalog object, and methods that return one."""
    typed: set[str] = set().union(*(attrs for _, _, attrs in scanned))
    active = [m for m in members if m.mentions]
    typed |= {m.block.name for m in members if m.returns}
    while True:  # `self.cur = self.conn.cursor()` types cur once conn is typed
        grown = set().union(*(m.assigns for m in active)) - typed
        if not grown:
            return typed
        typed |= grown
        active = [m for m in members if m.mentions or m.uses & typed]


def holds_catalog_objects(text: str, chain: list[Block], mentions: Mentions) -> bool:
    """Whether an instance of the class (``chain``: it and its bases) may hold a catalog object
    in an attribute or return one from a method: then code naming the class can matter
    (`svc: RAGService`, then `svc.weaviate.is_ready()`)."""
    for block in chain:  # what `_typed` would start from; any of it makes the set non-empty
        _, members, attrs = _members(text, block, mentions)
        if attrs or any((m.assigns and m.mentions) or m.returns for m in members):
            return True
    return False


def member_stubs(text: str, block: Block, chain: list[Block], mentions: Mentions,
                 helpers=None) -> dict[str, list[tuple[Block, str]]]:
    """Methods of a kept class and of its bases (``chain``), by class, that cannot matter to its
    coroutines: sync ones that neither set an attribute that may hold a catalog object nor
    return one nor may block, async ones that mention neither a trigger nor such an attribute
    nor call a method or module function that may block. ``helpers``: calls of the module's
    functions that may block."""
    scanned = [_members(text, c, mentions) for c in chain]
    members = [m for _, ms, _ in scanned for m in ms]
    typed = _typed(scanned, members)

    def is_async(member: Member) -> bool:  # a coroutine, or a method with one inside
        return member.block.is_async or ASYNC_DEF.search(text, member.block.start, member.block.end) is not None

    def calls_helper(member: Member) -> bool:
        return helpers is not None and bool(helpers.search(text, member.block.start, member.block.end))

    # sync methods that may block, and those calling them (a coroutine's call of one blocks)
    sync = [m for m in members if not is_async(m)]
    blocking = {m.block.name for m in sync if m.mentions or m.uses & typed or calls_helper(m)}
    while blocking:
        grown = {m.block.name for m in sync if m.uses & blocking} - blocking
        if not grown:
            break
        blocking |= grown
    def relevant(member: Member) -> bool:
        return (member.mentions or bool(typed and member.uses & typed) or bool(member.uses & blocking)
                or calls_helper(member))

    # of those, the ones the relevant coroutines call, directly or through one another
    called: set[str] = set()
    frontier = set().union(*(m.uses for m in members if is_async(m) and relevant(m))) & blocking
    while frontier:
        called |= frontier
        frontier = set().union(*(m.uses for m in sync if m.block.name in frontier)) & blocking - called
    def needed(member: Member) -> bool:
        if is_async(member):
            return relevant(member)
        return relevant(member) and (bool(member.assigns) or member.returns) or member.block.name in called

    return {cls.name: [(m.block, indent) for m in own if not needed(m)]
            for cls, (indent, own, _) in zip(chain, scanned)}
