"""What the offloader needs for the `sqlite` findings aiosqlite leaves (or all of them, with
`--sqlite thread`): the atoms (blocks that move whole: a coroutine's own connection,
`sqlite_thread`; a stretch of uses of a shared connection, `sqlite_shared`), the lock each
shared stretch takes, and the lines that make those locks."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace

from asyncfix.engine.source import Lines
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms.sqlite_shared import shared_blocks
from asyncfix.transforms.sqlite_thread import thread_blocks


@dataclass
class SqliteOffload:
    atoms: list[list[ast.stmt]] = field(default_factory=list)
    locks: dict[int, str] = field(default_factory=dict)  # id(an atom's first statement) -> its lock
    refused: dict[int, str] = field(default_factory=dict)  # id(raw) -> why it stays
    notes: dict[int, list[str]] = field(default_factory=dict)  # id(raw) -> notes, if it moves
    cleared: dict[int, RawFinding] = field(default_factory=dict)  # id(raw) -> the raw, free to move
    lock_lines: list[tuple[list[int], int, str]] = field(default_factory=list)  # (ids of its raws, offset, text)

    def in_atoms(self) -> set[int]:
        return {id(n) for atom in self.atoms for s in atom for n in ast.walk(s)}


def plan(tree: ast.Module, raws: list[RawFinding], lines: Lines, newline: str, taken: set[str]) -> SqliteOffload:
    """``raws``: the module's sqlite findings to fix (those the walker refused as made elsewhere
    included: a shared connection's may move)."""
    out = SqliteOffload()
    own = [r for r in raws if not r.unfixable_reason]
    if own:
        blocks = thread_blocks(tree, own)
        out.atoms += blocks.atoms
        out.refused.update(blocks.refused)
    elsewhere = [r for r in raws if r.unfixable_reason]
    if not elsewhere:
        return out
    shared = shared_blocks(tree, elsewhere, taken)
    out.atoms += shared.atoms
    out.locks.update(shared.locks)
    out.refused.update(shared.refused)
    out.cleared = {id(r): replace(r, unfixable_reason=None) for r in elsewhere if id(r) in shared.notes}
    out.notes.update({id(out.cleared[key]): notes for key, notes in shared.notes.items()})
    for connection in shared.made:
        if connection.has_lock:
            continue
        made = connection.made
        indent = lines.line(made.lineno)[: lines.char_col(made.lineno, made.col_offset)]
        owner = f"{made.targets[0].value.id}." if connection.attr else ""
        at = lines.starts[made.end_lineno] if made.end_lineno < len(lines.starts) else len(lines.text)
        text = f"{indent}{owner}{connection.lock} = threading.Lock()  # one user of the connection at a time{newline}"
        if at == len(lines.text) and not lines.text.endswith(("\n", "\r")):
            text = newline + text.removesuffix(newline)
        users = [id(out.cleared[id(r)]) for r in elsewhere if id(r) in out.cleared
                 and shared.owner[id(r)] is connection]
        out.lock_lines.append((users, at, text))
    return out
