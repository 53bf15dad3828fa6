"""The thread form of the `sqlite` fix (migration-semantics.md, section 3): a sqlite3 connection
refuses use from any thread but the one that made it, so its calls never move one by one. What
moves is a connection's whole block, made, used and closed in one sync helper, one thread hop:

- `conn = sqlite3.connect(p)` ... its last use (`conn.close()`, or the `try` whose `finally`
  closes it, or the last statement that reads it or its cursors when nothing closes it: the
  connection then closes as the helper returns instead of when the coroutine ends);
- `with sqlite3.connect(p) as conn: BODY` (sqlite3's transaction, kept as it is);
- a statement that connects and uses the connection at once (`sqlite3.connect(p).execute(q)`).

A block whose connection, or a cursor bound in it, is read after it, stays: the helper would
hand a sqlite3 object to the loop's thread. These blocks are "atoms" of the offloader: they
move whole in one run, or not at all.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field

from asyncfix.engine.astutil import parent_map
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms.http_tree import by_coroutine, in_block, own_nodes
from asyncfix.transforms.sqlite_plan import GIVES_CURSOR, CONNECT, TIMEOUT_NOTE

THREAD_NOTE = ("the connection's whole block (made, used, closed) runs in one thread: sqlite3 "
               "objects cannot cross threads")



@dataclass
class Objects:
    """The sqlite3 objects of a block: the connection (a local name, a module global, `self.db`)
    and the cursors the block binds from it."""

    conn: Callable[[ast.AST], bool]
    cursors: set[str] = field(default_factory=set)

    def __contains__(self, node: ast.AST) -> bool:
        return self.conn(node) or (isinstance(node, ast.Name) and node.id in self.cursors)

    @staticmethod
    def named(name: str) -> "Objects":
        return Objects(lambda n: isinstance(n, ast.Name) and n.id == name)


@dataclass
class ThreadPlan:
    atoms: list[list[ast.stmt]] = field(default_factory=list)  # contiguous statements of one body
    refused: dict[int, str] = field(default_factory=dict)  # id(raw) -> why its block cannot move


def thread_blocks(tree: ast.Module, raws: list[RawFinding]) -> ThreadPlan:
    """The blocks of the coroutines' own connections among ``raws`` (the sqlite findings left
    after the aiosqlite swap)."""
    plan = ThreadPlan()
    for fn, own in by_coroutine(tree, raws):
        parents = parent_map(fn)
        for raw in own:
            if raw.name != CONNECT or not isinstance(raw.node, ast.Call):
                continue
            atom, why = _block(raw.node, fn, parents)
            if atom:
                plan.atoms.append(atom)
            else:
                plan.refused[id(raw)] = why
    return plan


def thread_notes(raw: RawFinding, swap_refused: str | None) -> list[str]:
    """What the reviewer of a connection's block moved to a thread should know."""
    notes = [THREAD_NOTE + (f"; aiosqlite does not fit: {swap_refused}" if swap_refused else "")]
    call = raw.node
    if not any(k.arg == "timeout" for k in call.keywords) and len(call.args) < 2:
        notes.append(TIMEOUT_NOTE)
    return notes


def _block(connect: ast.Call, fn, parents) -> tuple[list[ast.stmt], str]:
    stmt, parent = connect, parents.get(connect)
    while not in_block(stmt, parents):
        stmt, parent = parent, parents.get(parent)
    body = next(v for v in vars(parent).values() if isinstance(v, list) and any(s is stmt for s in v))
    index = next(i for i, s in enumerate(body) if s is stmt)
    name = _bound_name(connect, stmt, parents)
    if name is None:  # used where it is made, or bound in a way the block cannot follow
        if _chain_ends_plain(connect, parents):
            return [stmt], ""
        return [], "the connection is neither bound to a name nor used up where it is made"
    # to the last statement that reads the connection or a cursor made from it (`conn.close()`
    # after a `with`, `return cur.lastrowid`)
    objects = Objects.named(name)
    atom = extend(body, index, index, objects)
    why = escapes(atom, objects, fn, parents, {name})
    return ([], why) if why else (atom, "")


def extend(body: list[ast.stmt], first: int, last: int, objects: Objects) -> list[ast.stmt]:
    """``body[first:last + 1]`` grown to the last statement that reads one of ``objects``,
    whose cursors it collects."""
    while True:
        objects.cursors = _cursors(body[first:last + 1], objects)
        uses = [i for i in range(last + 1, len(body)) if _reads(body[i], objects)]
        if not uses:
            return body[first:last + 1]
        last = uses[-1]


def escapes(atom: list[ast.stmt], objects: Objects, fn, parents, names: set[str]) -> str | None:
    """Why a sqlite3 object of the block would reach another thread (None: none would).
    ``names``: the names besides the cursors that must stay inside (the local connection)."""
    inside = {id(n) for s in atom for n in ast.walk(s)}
    kept = names | objects.cursors
    escaped = sorted({n.id for n in own_nodes(fn) if isinstance(n, ast.Name) and n.id in kept
                      and id(n) not in inside and isinstance(n.ctx, ast.Load)})
    if escaped:
        return f"`{escaped[0]}` is used after the block that makes it, where a thread would hand it back"
    whole = _passed_on(atom, objects, parents)
    if whole:
        return f"{whole} leaves the block whole (returned, stored or passed on), and would reach another thread"
    return None


def _passed_on(atom: list[ast.stmt], objects: Objects, parents) -> str | None:
    """A sqlite3 object of the block used other than through its attributes, iterated or
    entered (`return conn`, `cache.append(cur)`, `return conn.execute(q)`), described."""
    for stmt in atom:
        for node in ast.walk(stmt):
            if node not in objects or not isinstance(getattr(node, "ctx", None), ast.Load):
                continue
            parent = parents.get(node)
            if _consumed(node, parents):
                continue
            shown = ast.unparse(node)
            if not (isinstance(parent, ast.Attribute) and parent.value is node):
                return f"`{shown}`"
            call = parents.get(parent)
            if parent.attr in GIVES_CURSOR and isinstance(call, ast.Call) and call.func is parent:
                holder = parents.get(call)
                bound = isinstance(holder, ast.Assign) and all(isinstance(t, ast.Name) for t in holder.targets)
                if not (bound or isinstance(holder, (ast.Expr, ast.Attribute)) or _consumed(call, parents)):
                    return f"the cursor of `{shown}.{parent.attr}()`"
    return None


def _consumed(node: ast.expr, parents) -> bool:
    """Iterated by a `for`, a comprehension or a builtin that reads it whole (`sorted(cur)`),
    or entered by a `with`, where it stands."""
    parent = parents.get(node)
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in _READ_WHOLE \
            and any(a is node for a in parent.args):
        return True
    return (isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node) or \
        (isinstance(parent, ast.withitem) and parent.context_expr is node)


_READ_WHOLE = frozenset({"list", "tuple", "sorted", "set", "dict", "sum", "max", "min", "any", "all", "len"})


def _chain_ends_plain(connect: ast.Call, parents) -> bool:
    """`sqlite3.connect(p).execute(q).fetchone()`: used where it is made, and what the chain
    gives is no sqlite3 object (or is dropped)."""
    node, last = connect, None
    while isinstance(parents.get(node), ast.Attribute) and isinstance(parents.get(parents[node]), ast.Call) \
            and parents[parents[node]].func is parents[node]:
        last = parents[node].attr
        node = parents[parents[node]]
    if last is None:  # a bare `sqlite3.connect(p)`, dropped at once
        return isinstance(parents.get(node), ast.Expr)
    return last not in GIVES_CURSOR or isinstance(parents.get(node), ast.Expr) or _consumed(node, parents)


def _bound_name(connect: ast.Call, stmt: ast.stmt, parents) -> str | None:
    holder = parents.get(connect)
    if isinstance(holder, ast.withitem) and isinstance(holder.optional_vars, ast.Name):
        return holder.optional_vars.id
    if isinstance(holder, ast.Assign) and holder is stmt and len(holder.targets) == 1 \
            and isinstance(holder.targets[0], ast.Name):
        return holder.targets[0].id
    return None


def _reads(stmt: ast.stmt, objects: Objects) -> bool:
    return any(n in objects for n in ast.walk(stmt))


def _cursors(atom: list[ast.stmt], objects: Objects) -> set[str]:
    """Names the block binds to something made from the connection (cursors, mostly)."""
    found = Objects(objects.conn, set())
    for stmt in atom:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign) and not _plain_result(node.value):
                value = node.value
                while isinstance(value, (ast.Call, ast.Attribute)) and value not in found:
                    value = value.func if isinstance(value, ast.Call) else value.value
                if value in found:
                    found.cursors |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return found.cursors


def _plain_result(value: ast.expr) -> bool:
    """`cur.fetchall()`, `cur.lastrowid`, `conn.execute(q).fetchone()[0]`: rows and numbers,
    which may leave the thread."""
    if isinstance(value, ast.Subscript):
        return True
    if isinstance(value, ast.Attribute):
        return value.attr in ("lastrowid", "rowcount", "total_changes", "in_transaction", "description")
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return value.func.attr in ("fetchone", "fetchall", "fetchmany")
    return False
