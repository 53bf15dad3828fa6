"""Connections that outlive a coroutine, made with `check_same_thread=False` (a module global,
or `self.db` set in `__init__`): their uses may run in threads, one at a time. sqlite3 objects
are not safe under concurrent use from several threads (a cursor's state, a transaction that
another thread's statements would join), so each gets one lock, taken by every helper that
uses it: `_DB_LOCK = threading.Lock()` beside the global, `self._db_lock` beside the attribute.

What moves is each await-free stretch of a coroutine's statements that use the connection (from
the first use to the last, what lies between included): on the loop that stretch ran with no
other coroutine between its statements, and under the lock no other helper comes between them
either. A connection also used by sync code of the module (which would run beside the threads,
without the lock), rebound, or made without `check_same_thread=False` stays, with the reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from asyncfix.engine.astutil import FUNCS, parent_map
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms import atomicity
from asyncfix.transforms.http_tree import by_coroutine
from asyncfix.transforms.sharing import walk_own
from asyncfix.transforms.sqlite_thread import Objects, escapes, extend

STAYS = ("the connection is shared (made with check_same_thread=False): its uses move to threads a "
         "stretch at a time under its lock, and this one cannot: {}")
SYNC_USER = "the sync function `{}` uses the connection too, and would run beside the threads without the lock"
LOCK_NOTE = ("runs in a thread under `{lock}`, the connection's lock: its uses no longer run on the "
             "loop, and never two at once; uses of concurrent coroutines may now run in another order "
             "than the one they started in")


@dataclass
class Shared:
    """One connection kept beyond a coroutine."""

    made: ast.stmt  # `DB = sqlite3.connect(...)` or `self.db = sqlite3.connect(...)`
    name: str  # the global's or the attribute's
    lock: str  # the lock's name: `_DB_LOCK`, or `_db_lock` on the instance
    cls: ast.ClassDef | None = None  # kept on the instance (the lock too)
    made_in: ast.FunctionDef | None = None  # its `__init__`
    refused: str | None = None
    has_lock: bool = False  # an earlier run made the lock, right after the connection

    @property
    def attr(self) -> bool:
        return self.cls is not None


@dataclass
class SharedPlan:
    atoms: list[list[ast.stmt]] = field(default_factory=list)
    locks: dict[int, str] = field(default_factory=dict)  # id(first statement of an atom) -> lock expression
    made: list[Shared] = field(default_factory=list)  # the connections whose lock is needed
    notes: dict[int, list[str]] = field(default_factory=dict)  # id(raw) -> notes
    owner: dict[int, Shared] = field(default_factory=dict)  # id(raw) -> its connection
    refused: dict[int, str] = field(default_factory=dict)


def shared_blocks(tree: ast.Module, raws: list[RawFinding], taken: set[str]) -> SharedPlan:
    """Atoms and locks for the findings ``raws`` (sqlite calls the walker found on connections
    made outside the coroutine)."""
    plan = SharedPlan()
    connections = _globals(tree, taken) + _attributes(tree)
    if not connections:
        return plan
    for shared in connections:
        _check_users(tree, shared)
    for fn, own in by_coroutine(tree, raws):
        parents = parent_map(fn)
        self_name = fn.args.args[0].arg if fn.args.args else None
        for shared in connections:
            mine = [r for r in own if _on(r.node, Objects(_matcher(shared, self_name)))]
            if not mine:
                continue
            if shared.refused:
                plan.refused.update({id(r): STAYS.format(shared.refused) for r in mine})
                continue
            matches = _matcher(shared, self_name)
            lock = f"{self_name}.{shared.lock}" if shared.attr else shared.lock
            for atom, why, objects in _stretches(fn.body, matches, fn, parents):
                inside = {id(n) for s in atom for n in ast.walk(s)}
                in_atom = [r for r in own if id(r.node) in inside]
                # the cursors' calls come along; a call on another connection made elsewhere
                # would cross threads
                other = next((r for r in in_atom if r.unfixable_reason and not _on(r.node, objects)), None)
                if other is not None and not why:
                    why = f"it also uses `{ast.unparse(_root(other.node))}`, which is no cursor of this connection"
                if why:
                    plan.refused.update({id(r): STAYS.format(why) for r in in_atom})
                    continue
                plan.atoms.append(atom)
                plan.locks[id(atom[0])] = lock
                plan.notes.update({id(r): [LOCK_NOTE.format(lock=lock)] for r in in_atom})
                plan.owner.update({id(r): shared for r in in_atom})
                if shared not in plan.made:
                    plan.made.append(shared)
    return plan


def _globals(tree: ast.Module, taken: set[str]) -> list[Shared]:
    found = []
    for index, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                and _connects_shared(stmt.value):
            name = stmt.targets[0].id
            lock = f"_{name.strip('_').upper()}_LOCK"
            has_lock = _makes_lock(tree.body[index + 1:index + 2], lambda t: isinstance(t, ast.Name) and t.id == lock)
            while lock in taken and not has_lock:
                lock = "_" + lock
            shared = Shared(stmt, name, lock, has_lock=has_lock)
            stores = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name
                      and isinstance(n.ctx, (ast.Store, ast.Del))]
            if len(stores) > 1:
                shared.refused = f"`{name}` is bound again elsewhere"
            found.append(shared)
    return found


def _attributes(tree: ast.Module) -> list[Shared]:
    found = []
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        init = next((s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"
                     and s.args.args), None)
        if init is None:
            continue
        me = init.args.args[0].arg
        for index, stmt in enumerate(init.body):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == me \
                    and _connects_shared(stmt.value):
                attr = target.attr
                lock = f"_{attr.strip('_')}_lock"
                has_lock = _makes_lock(init.body[index + 1:index + 2], lambda t: isinstance(t, ast.Attribute)
                                       and t.attr == lock and isinstance(t.value, ast.Name) and t.value.id == me)
                shared = Shared(stmt, attr, lock, cls, init, has_lock=has_lock)
                stores = [n for n in ast.walk(cls) if isinstance(n, ast.Attribute) and n.attr == attr
                          and isinstance(n.ctx, (ast.Store, ast.Del))]
                if len(stores) > 1:
                    shared.refused = f"`{me}.{attr}` is set again elsewhere in the class"
                if not has_lock and any(isinstance(n, ast.Attribute) and n.attr == lock for n in ast.walk(cls)):
                    shared.refused = f"the class already has a `{lock}`"
                found.append(shared)
    return found


def _makes_lock(stmts: list[ast.stmt], is_lock) -> bool:
    """`<lock> = threading.Lock()`: the lock an earlier run made beside the connection."""
    return bool(stmts) and isinstance(stmts[0], ast.Assign) and len(stmts[0].targets) == 1 \
        and is_lock(stmts[0].targets[0]) and isinstance(stmts[0].value, ast.Call) \
        and ast.unparse(stmts[0].value.func) == "threading.Lock"


def _connects_shared(value: ast.expr) -> bool:
    """`sqlite3.connect(..., check_same_thread=False)`."""
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "connect" \
        and isinstance(value.func.value, ast.Name) and value.func.value.id == "sqlite3" \
        and any(k.arg == "check_same_thread" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in value.keywords)


def _check_users(tree: ast.Module, shared: Shared) -> None:
    """Sync code that uses the connection (a function besides the `__init__` that makes it, a
    lambda, a function nested in a coroutine: what may run in an executor) keeps it on the
    loop: it would run beside the threads, without the lock."""
    if shared.refused:
        return
    if shared.attr:  # `self` of the method around: a lambda or nested def closes over it
        methods = [m for m in shared.cls.body if isinstance(m, FUNCS) and m.args.args]
        scopes = [(m, m.args.args[0].arg) for m in methods]
    else:
        scopes = [(tree, None)]
    for scope, me in scopes:
        matches = _matcher(shared, me)
        for fn in ast.walk(scope):
            if not isinstance(fn, (ast.FunctionDef, ast.Lambda)) or fn is shared.made_in:
                continue
            body = [fn.body] if isinstance(fn, ast.Lambda) else fn.body
            # a helper an earlier run made: its uses hold the lock
            helper_me = fn.args.args[0].arg if shared.attr and fn.args.args else me
            if isinstance(fn, ast.FunctionDef) and _under_lock(fn, shared, helper_me):
                continue
            if any(matches(n) for part in body for n in walk_own(part, False)):
                shared.refused = SYNC_USER.format(getattr(fn, "name", "<lambda>"))
                return


def _under_lock(fn: ast.FunctionDef, shared: Shared, me: str | None) -> bool:
    """`def _x_sync(...): with <the connection's lock>: ...`, the whole body."""
    lock = f"{me}.{shared.lock}" if shared.attr else shared.lock
    return len(fn.body) >= 1 and isinstance(fn.body[0], ast.With) and \
        any(ast.unparse(item.context_expr) == lock for item in fn.body[0].items) and \
        not any(_matcher(shared, me)(n) for stmt in fn.body[1:] for n in walk_own(stmt, False))


def _matcher(shared: Shared, self_name: str | None):
    """node -> whether it is the connection (`DB`; `self.db` in a method whose first parameter
    is ``self_name``)."""
    name = shared.name
    if not shared.attr:
        return lambda n: isinstance(n, ast.Name) and n.id == name
    return lambda n: isinstance(n, ast.Attribute) and n.attr == name and isinstance(n.value, ast.Name) \
        and n.value.id == self_name and isinstance(n.ctx, ast.Load)


def _on(node: ast.AST, objects: Objects) -> bool:
    """Whether the finding ``node`` (a call) works on one of ``objects``: its receiver chain
    reaches it."""
    value = node
    while isinstance(value, (ast.Call, ast.Attribute, ast.Subscript)):
        if value in objects:
            return True
        value = value.func if isinstance(value, ast.Call) else value.value
    return value in objects


def _root(node: ast.AST) -> ast.AST:
    """The receiver a call chain starts from (`cur` of `cur.execute(q).fetchone()`)."""
    while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _stretches(body: list[ast.stmt], matches, fn, parents):
    """(atom, None) for each await-free stretch of ``body`` that uses the connection; (statements,
    reason) for uses that cannot move, each with the connection's objects (its cursors bound
    there). Statements that await and use it are entered."""
    uses = lambda s: any(matches(n) for n in walk_own(s, False))  # noqa: E731
    index = 0
    while index < len(body):
        stmt = body[index]
        if not uses(stmt):
            index += 1
            continue
        if _awaits(stmt):
            inner = [b for b in _bodies(stmt)]
            if not inner:
                yield [stmt], "it awaits in the statement that uses the connection", Objects(matches)
            else:
                header = [n for n in atomicity.header(stmt) if any(matches(m) for m in ast.walk(n))]
                if header:
                    yield [stmt], "it awaits in the statement that uses the connection", Objects(matches)
                for sub in inner:
                    yield from _stretches(sub, matches, fn, parents)
            index += 1
            continue
        end = index
        while end + 1 < len(body) and not _awaits(body[end + 1]):
            end += 1
        last = max(i for i in range(index, end + 1) if uses(body[i]))
        objects = Objects(matches)
        atom = extend(body[:end + 1], index, last, objects)
        why = escapes(atom, objects, fn, parents, set())
        yield atom, why, objects
        index += len(atom)


def _awaits(stmt: ast.stmt) -> bool:
    return any(isinstance(n, (ast.Await, ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom))
               for n in walk_own(stmt, False))


def _bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    out = [getattr(stmt, k) for k in ("body", "orelse", "finalbody") if isinstance(getattr(stmt, k, None), list)]
    out += [h.body for h in getattr(stmt, "handlers", [])] + [c.body for c in getattr(stmt, "cases", [])]
    return [b for b in out if b and isinstance(b[0], ast.stmt)]
