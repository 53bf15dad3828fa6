"""Which methods of a kept class can matter, so the others become one-line stubs."""

from __future__ import annotations

import re

from asyncfix.engine.blocks import Block, def_blocks
from asyncfix.engine.textscan import ASYNC_DEF
from asyncfix.engine.triggers import Mentions, returns_trigger

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
            members.append(Member(text, item, mentions.within(item.start, item.end),
                                  returns_trigger(text, item, triggers)))
    return indent, members, attrs


def member_stubs(text: str, block: Block, chain: list[Block], mentions: Mentions,
                 helpers=None) -> list[tuple[Block, str]]:
    """Methods of a kept class that cannot matter: sync ones that neither set an attribute that
    may hold a catalog object nor return one nor may block, async ones that mention neither a
    trigger nor such an attribute nor call a method or module function that may block.
    ``helpers``: calls of the module's functions that may block."""
    scanned = [_members(text, c, mentions) for c in chain]
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
    indent, own, _ = scanned[0]
    stubs = []
    for member in own:
        if is_async(member):
            needed = relevant(member)
        else:
            needed = relevant(member) and (bool(member.assigns) or member.returns) or member.block.name in called
        if not needed:
            stubs.append((member.block, indent))
    return stubs
