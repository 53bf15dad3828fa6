"""Plan the sqlite3 -> aiosqlite swap of one module (migration-semantics.md, section 2).

Only connections a coroutine makes and closes itself to read move (a block that writes would hold
SQLite's write lock across its awaits, `sqlite_writes`: the thread form takes it), and every use
of them and of their cursors must read the same awaited: methods are awaited, the properties stay. Each becomes one
`async with aiosqlite.connect(...) as conn:` block, which also closes the connection when the
block raises (an aiosqlite connection left open keeps its thread and hangs interpreter exit):

- `conn = sqlite3.connect(p)` ... `conn.close()` (in the same block, or in the `finally` of the
  `try` right after): the block holds what came between;
- `with sqlite3.connect(p) as conn: BODY`: sqlite3's `with` is a transaction (commit on success,
  rollback on error) that does not close, aiosqlite's closes and does not commit; BODY only reads
  (blocks that write take the thread form), so there is nothing to commit and the block is
  `async with aiosqlite.connect(p) as conn: BODY`.

Rows iterated from a cursor (`for row in conn.execute(q)`, `[r for r in cur]`) become `async for`
over the awaited cursor (aiosqlite's cursors iterate asynchronously, fetching in chunks).
`conn.isolation_level = X` right after connecting becomes `isolation_level=X` of the connect
(an aiosqlite connection has no settable property; sqlite3 takes the keyword alike), and
positional arguments after the path become keywords (aiosqlite takes only the path positionally).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from asyncfix.engine.astutil import FUNCS, parent_map
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms.http_kwargs import Refused
from asyncfix.transforms.http_sessions import closes
from asyncfix.transforms.http_tree import ancestors, by_coroutine, in_block
from asyncfix.transforms.sqlite_writes import module_strings, write_reason

CONNECT = "sqlite3.connect"
# Methods that do work on the connection's thread: awaited. `cursor`/`execute*` give cursors.
CONNECTION_CALLS = frozenset({"execute", "executemany", "executescript", "commit", "rollback", "cursor",
                              "close", "execute_fetchall"})
CONNECTION_PROPS = frozenset({"row_factory", "text_factory", "total_changes", "in_transaction"})
CURSOR_CALLS = frozenset({"execute", "executemany", "executescript", "fetchone", "fetchmany", "fetchall",
                          "close"})
CURSOR_PROPS = frozenset({"lastrowid", "rowcount", "description", "arraysize"})
GIVES_CURSOR = frozenset({"execute", "executemany", "executescript", "cursor"})
TIMEOUT_NOTE = ("`sqlite3.connect` without `timeout=` waits 5 s on a locked database (checklist "
                "2.3A): now off the loop, still worth setting")
CLOSE_NOTE = "the connection is now closed when its block ends, also when the block raises"
WITH_NOTE = ("sqlite3's `with` left the connection open (it only commits or rolls back); the "
             "block only reads, and now closes the connection when it ends")


@dataclass
class Block:
    """One connection's `async with aiosqlite.connect(...) as <name>:`."""

    owner: ast.stmt  # the assignment or the `with`
    end: ast.stmt | None  # `conn.close()` or the `try` that closes it (None: the `with` form)
    connect: ast.Call
    name: str
    isolation: ast.Assign | None = None  # `conn.isolation_level = X` right after, moved into the connect


@dataclass
class SqlitePlan:
    awaits: set[ast.Call] = field(default_factory=set)  # calls that become `await <call>`
    async_fors: set[ast.AST] = field(default_factory=set)  # `for` statements and comprehensions
    blocks: list[Block] = field(default_factory=list)
    notes: dict[int, list[str]] = field(default_factory=dict)  # id(raw) -> notes
    refused: dict[int, str] = field(default_factory=dict)


class SqlitePlanner:
    def __init__(self, tree: ast.Module, raws: list[RawFinding], backend: str):
        self.tree = tree
        self.raws = raws
        self.backend = backend
        self.plan = SqlitePlan()

    def run(self) -> SqlitePlan:
        self.constants = module_strings(self.tree)
        for fn, own in by_coroutine(self.tree, self.raws):
            self._function(fn, own)
        return self.plan

    def _function(self, fn, raws: list[RawFinding]) -> None:
        parents = parent_map(fn)
        done: set[int] = set()
        for raw in raws:
            if raw.name != CONNECT or not isinstance(raw.node, ast.Call):
                continue
            try:
                if self.backend != "asyncio":
                    raise Refused("aiosqlite runs on asyncio only (this module uses "
                                  f"{self.backend})")
                block, scope = _block(raw.node, fn, parents)
                _connect_arguments(raw.node)
                awaits: set[ast.Call] = set()
                fors: set[ast.AST] = set()
                gone: set[ast.Call] = {raw.node}  # the connect and close calls: the block's now
                cursors = self._uses(block, fn, scope, parents, awaits, fors, connection=True, gone=gone)
                for cursor in cursors:
                    self._uses(Block(block.owner, block.end, block.connect, cursor), fn, scope, parents,
                               awaits, fors, connection=False, gone=gone)
                writes = write_reason(awaits, self.constants)
                if writes:  # its write lock would be held across awaits: the thread form takes it
                    raise Refused(f"{writes}: SQLite's write lock would be held across awaits")
            except Refused as exc:
                self.plan.refused[id(raw)] = str(exc)
                continue
            mine = [r for r in raws if isinstance(r.node, ast.Call) and (r.node in awaits or r.node in gone)]
            self.plan.awaits |= awaits
            self.plan.async_fors |= fors
            self.plan.blocks.append(block)
            notes = [WITH_NOTE if block.end is None else CLOSE_NOTE]
            if not any(k.arg == "timeout" for k in raw.node.keywords) and len(raw.node.args) < 2:
                notes.append(TIMEOUT_NOTE)
            for r in mine:
                self.plan.notes[id(r)] = notes if r is raw else []
                done.add(id(r))
        for raw in raws:
            if id(raw) not in done:
                self.plan.refused.setdefault(id(raw), "it uses a connection that does not move to "
                                                      "aiosqlite (made elsewhere, or kept)")

    def _uses(self, block: Block, fn, scope: list[ast.stmt], parents, awaits: set, fors: set,
              connection: bool, gone: set) -> list[str]:
        """Checks every use of the connection or cursor ``block.name``; collects the calls to await
        and the loops to make async, and returns the names of the cursors bound from the
        connection."""
        name = block.name
        calls, props = (CONNECTION_CALLS, CONNECTION_PROPS) if connection else (CURSOR_CALLS, CURSOR_PROPS)
        inside = {id(n) for stmt in scope for n in ast.walk(stmt)}
        named = [n for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == name]
        stores = [n for n in named if isinstance(n.ctx, ast.Store)]
        cursors = []
        for node in named:
            if isinstance(node.ctx, ast.Store):
                if len(stores) > 1 or not (_is_binding(node, parents) if connection else _binds_once(node, parents)):
                    raise Refused(f"`{name}` is bound again")
                continue
            if id(node) not in inside:
                raise Refused(f"`{name}` is used outside the block that makes and closes it")
            if any(isinstance(up, FUNCS + (ast.Lambda, ast.GeneratorExp)) for up in ancestors(node, parents)
                   if up is not fn):
                raise Refused(f"`{name}` is used in a nested function or generator, where `await` "
                              "cannot go")
            attr = parents.get(node)
            if not connection and _iterated(node, parents):
                fors.add(parents[node])
                continue
            if not (isinstance(attr, ast.Attribute) and attr.value is node):
                raise Refused(f"`{name}` is used whole (passed on, returned or iterated)")
            call = parents.get(attr)
            if connection and attr.attr == "isolation_level":
                _isolation(block, attr, parents)
                continue
            if attr.attr in props:
                continue
            if not (attr.attr in calls and isinstance(call, ast.Call) and call.func is attr):
                raise Refused(f"`{name}.{attr.attr}` has no awaited aiosqlite form here")
            if connection and attr.attr == "close":
                if not isinstance(parents.get(call), ast.Expr):
                    raise Refused(f"`{name}.close()` is used as a value")
                gone.add(call)  # the block closes it: the statement goes
                continue
            awaits.add(call)
            result = parents.get(call)
            if attr.attr in GIVES_CURSOR and connection:
                cursors += self._result_cursor(call, result, parents, awaits, fors)
            elif attr.attr in GIVES_CURSOR and not isinstance(result, ast.Expr):
                raise Refused(f"the cursor `{name}.{attr.attr}()` returns is used")
        return cursors

    def _result_cursor(self, call: ast.Call, result, parents, awaits: set, fors: set) -> list[str]:
        """A cursor made by `conn.execute(...)`: discarded, bound to a name, read at once or
        iterated."""
        if isinstance(result, ast.Expr):
            return []
        if _iterated(call, parents):
            fors.add(result)
            return []
        if isinstance(result, ast.Assign) and len(result.targets) == 1 and isinstance(result.targets[0], ast.Name):
            return [result.targets[0].id]
        if isinstance(result, ast.Attribute) and result.value is call:
            outer = parents.get(result)
            if result.attr in CURSOR_PROPS:
                return []
            if result.attr in CURSOR_CALLS - GIVES_CURSOR and isinstance(outer, ast.Call) and outer.func is result:
                awaits.add(outer)
                return []
        raise Refused("the cursor it returns is used other than bound, discarded, read at once or "
                      "iterated")


def _iterated(node: ast.expr, parents) -> bool:
    """``node`` is what a `for` statement or a list, set or dict comprehension iterates (a
    generator expression would become an async generator, which its consumer cannot take)."""
    parent = parents.get(node)
    if isinstance(parent, ast.For) and parent.iter is node:
        return True
    return isinstance(parent, ast.comprehension) and parent.iter is node and not parent.is_async \
        and isinstance(parents.get(parent), (ast.ListComp, ast.SetComp, ast.DictComp))


def _isolation(block: Block, attr: ast.Attribute, parents) -> None:
    """`conn.isolation_level = X` as the first statement after connecting: X goes to the connect."""
    stmt = parents.get(attr)
    owner = block.owner
    body = owner.body if isinstance(owner, ast.With) else None
    if body is None:
        holder = next(v for v in vars(parents[owner]).values() if isinstance(v, list) and any(s is owner for s in v))
        index = next(i for i, s in enumerate(holder) if s is owner)
        body = holder[index + 1:]
    first = body[0] if body else None
    if not (isinstance(stmt, ast.Assign) and stmt is first and stmt.targets == [attr] and block.isolation is None
            and len(body) > 1 and not any(k.arg == "isolation_level" for k in block.connect.keywords)
            and len(block.connect.args) < 4
            and not any(isinstance(n, ast.Name) and n.id == block.name for n in ast.walk(stmt.value))):
        raise Refused("it sets or reads `isolation_level` other than right after connecting")
    block.isolation = stmt


def _connect_arguments(connect: ast.Call) -> None:
    if any(isinstance(a, ast.Starred) for a in connect.args) or len(connect.args) > len(CONNECT_POSITIONAL):
        raise Refused("its connect arguments cannot be passed on by name")


# sqlite3.connect's parameters in order: aiosqlite.connect takes the path alone positionally.
CONNECT_POSITIONAL = ("database", "timeout", "detect_types", "isolation_level", "check_same_thread",
                      "factory", "cached_statements", "uri")


def _is_binding(node: ast.Name, parents) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.Assign):
        return isinstance(parent.value, ast.Call) and parent.targets[0] is node
    return isinstance(parent, ast.withitem) and parent.optional_vars is node


def _binds_once(node: ast.Name, parents) -> bool:
    parent = parents.get(node)
    return isinstance(parent, ast.Assign) and len(parent.targets) == 1 and parent.targets[0] is node


def _block(connect: ast.Call, fn, parents) -> tuple[Block, list[ast.stmt]]:
    """The connection's block and the statements its uses must stay in."""
    parent = parents.get(connect)
    if isinstance(parent, ast.withitem):
        with_ = parents[parent]
        if len(with_.items) != 1 or not isinstance(parent.optional_vars, ast.Name):
            raise Refused("its `with` holds more than the connection")
        if any(isinstance(n, (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom))
               for s in with_.body for n in ast.walk(s)):
            raise Refused("its `with` block returns or breaks out: the commit at its end "
                          "would be skipped")
        return Block(with_, None, connect, parent.optional_vars.id), with_.body
    if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)
            and in_block(parent, parents)):
        raise Refused("the connection is not bound to a name where it is made")
    name = parent.targets[0].id
    block = next(v for v in vars(parents[parent]).values() if isinstance(v, list) and any(s is parent for s in v))
    index = next(i for i, s in enumerate(block) if s is parent)
    rest = block[index + 1:]
    skip = rest[:1] if rest and _sets_isolation(rest[0], name) else []  # moved into the connect
    rest = rest[len(skip):]
    if rest and isinstance(rest[0], ast.Try) and not rest[0].handlers and not rest[0].orelse \
            and len(rest[0].finalbody) == 1 and closes(rest[0].finalbody[0], name):
        return Block(parent, rest[0], connect, name), [parent, *skip, *rest[0].body, rest[0].finalbody[0]]
    ends = [i for i, s in enumerate(rest) if closes(s, name)]
    if not ends:
        raise Refused("the coroutine does not close the connection (an aiosqlite connection left "
                      "open keeps its thread and hangs interpreter exit)")
    return Block(parent, rest[ends[0]], connect, name), [parent, *skip, *rest[:ends[0] + 1]]


def _sets_isolation(stmt: ast.stmt, name: str) -> bool:
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
        and isinstance(stmt.targets[0], ast.Attribute) and stmt.targets[0].attr == "isolation_level" \
        and isinstance(stmt.targets[0].value, ast.Name) and stmt.targets[0].value.id == name

