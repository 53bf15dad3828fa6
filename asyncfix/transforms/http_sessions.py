"""Sessions and clients a coroutine makes and closes itself: only those can become an
httpx.AsyncClient (a longer-lived one is bound to the loop it was first used on)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from asyncfix.transforms.http_kwargs import HEADER_NOTE, Refused, header_value_ok
from asyncfix.transforms.http_sync_httpx import client_item
from asyncfix.transforms.http_tree import ancestors, in_block


SESSIONS = ("requests.Session", "requests.session", "requests.sessions.Session")


# `params` is not here: httpx's replace the URL's query where requests' added to it
SESSION_STATE = frozenset({"headers", "auth", "cookies"})


LONG_SESSION = ("its session outlives the coroutine (an httpx.AsyncClient is bound to the loop "
                "it was first used on)")


@dataclass
class Held:
    """A session or client the coroutine makes and closes: a `with` block, or `s = Session()`
    and later `s.close()` (after the statements it serves, or in their `try`'s `finally`)."""

    name: str
    ctx: ast.expr  # the constructor call
    owner: ast.stmt  # the `with`, or the assignment
    body: list[ast.stmt]  # the statements it serves
    end: ast.stmt | None = None  # the `s.close()` statement, or the `try` whose `finally` has it

    def holds(self, node: ast.AST, parents: dict) -> bool:
        """Whether a use of the name at ``node`` is the session's own: inside its statements,
        its binding, or its closing."""
        ups = [node, *ancestors(node, parents)]
        if self.end is None:
            return any(up is self.owner for up in ups)
        if any(up is self.owner or up is self.end and not isinstance(self.end, ast.Try) for up in ups):
            return True
        if isinstance(self.end, ast.Try) and any(up in self.end.finalbody for up in ups):
            return True
        return any(any(up is stmt for up in ups) for stmt in self.body)


@dataclass
class SessionBlock:
    """`s = requests.Session()` ... `s.close()` -> `async with <header>:` over what it serves."""

    owner: ast.stmt
    end: ast.stmt
    header: str


def session_with(node: ast.Call, fn, parents, resolve, source) -> Held | None:
    """Where the session (or httpx client) that ``node`` (`s.get(...)`) calls was made and is
    closed, if the coroutine does both: `with requests.Session() as s:`, or `s =
    requests.Session()` and, in the same block, `s.close()` after the call or in the `finally`
    of the `try` that holds it."""
    receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
    if not isinstance(receiver, ast.Name):
        return None
    name = receiver.id

    def made_here(ctx) -> bool:
        return isinstance(ctx, ast.Call) and ((not ctx.args and not ctx.keywords and resolve(ctx.func) in SESSIONS)
                                              or client_item(ctx, resolve, source) is not None)

    for up in ancestors(node, parents):
        if up is fn:
            break
        if isinstance(up, ast.With) and len(up.items) == 1:
            item = up.items[0]
            if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == name:
                return Held(name, item.context_expr, up, up.body) if made_here(item.context_expr) else None
        if not in_block(up, parents):
            continue
        block = next(v for v in vars(parents[up]).values() if isinstance(v, list) and any(x is up for x in v))
        index = next(i for i, x in enumerate(block) if x is up)
        made = [i for i in range(index) if assigns(block[i], name)]
        if not made:
            continue
        owner = block[made[-1]]
        if not made_here(owner.value):
            return None
        if isinstance(up, ast.Try) and made[-1] == index - 1 and not up.handlers and not up.orelse \
                and len(up.finalbody) == 1 and closes(up.finalbody[0], name) and any(
                    any(n is node for n in ast.walk(stmt)) for stmt in up.body):
            return Held(name, owner.value, owner, up.body, up)
        ends = [i for i in range(index + 1, len(block)) if closes(block[i], name)]
        if ends:
            return Held(name, owner.value, owner, block[made[-1] + 1:ends[0]], block[ends[0]])
        return None
    return None


def session_headers(attr: ast.Attribute, parents, strings) -> None:
    """`s.headers.update({...})` and `s.headers[k] = v` must set strings (see http_kwargs)."""
    use = parents.get(attr)
    values = []
    if isinstance(use, ast.Attribute) and use.attr == "update" and isinstance(parents.get(use), ast.Call):
        arg = parents[use].args[0] if parents[use].args else None
        values = arg.values if isinstance(arg, ast.Dict) and None not in arg.keys else [None]
    elif isinstance(use, ast.Subscript) and isinstance(use.ctx, ast.Store):
        assign = parents.get(use)
        values = [assign.value if isinstance(assign, ast.Assign) else None]
    if any(v is None or not header_value_ok(v, strings) for v in values):
        raise Refused(HEADER_NOTE)


def assigns(stmt: ast.stmt, name: str) -> bool:
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
        and stmt.targets[0].id == name


def closes(stmt: ast.stmt, name: str) -> bool:
    """`s.close()` as a statement."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return isinstance(call, ast.Call) and not call.args and isinstance(call.func, ast.Attribute) \
        and call.func.attr == "close" and isinstance(call.func.value, ast.Name) and call.func.value.id == name


def is_binding(node: ast.Name, held: Held, parents) -> bool:
    """The name where the session is bound or closed, which the rewrite replaces."""
    if held.end is None:
        return node is held.owner.items[0].optional_vars
    return node is held.owner.targets[0] or any(node is n for n in ast.walk(held.end)
                                                if not isinstance(held.end, ast.Try)) or (
        isinstance(held.end, ast.Try) and any(node is n for s in held.end.finalbody for n in ast.walk(s)))
