"""What the callers of a coroutine do around their awaits of it.

A coroutine runs in one go with its caller up to its first suspension and from its last one:
a hop put there (in a coroutine that never suspends, see `quiet`, anywhere) runs between the
caller's code just before the `await` and just after it. Each `await` of it in the module gives
the caller's await-free section around the call; what that section reads, writes and schedules
is named as the coroutine names it (arguments by parameter, `self` of `self.co()`, module state
as is) so that the atomicity check can weigh it with the coroutine's own section. Where the
caller's section reaches its own start or end, its callers' part comes too.
"""

from __future__ import annotations

import ast
from typing import Callable

from asyncfix.transforms.atomicity import Around, reach
from asyncfix.transforms.quiet import Coroutines, Site
from asyncfix.transforms.sharing import Sharing, bind, key, walk_own


def around(fdef: ast.AsyncFunctionDef, coroutines: Coroutines,
           view: Callable[[ast.AsyncFunctionDef], tuple[dict, Sharing, frozenset[int]]],
           module_vars: set[str], seen: frozenset[int] = frozenset()) -> Around:
    """The callers' part for ``fdef`` (``view(caller)``: its parents, sharing and silent awaits)."""
    out = Around()
    seen = seen | {id(fdef)}
    for site in coroutines.sites(fdef):
        parents, sharing, silent = view(site.caller)
        stmt = site.node
        while not isinstance(stmt, ast.stmt):
            stmt = parents[stmt]
        before, after, to_start, to_end = reach([stmt], site.caller, parents, silent=silent)
        # The call itself and what it is handed: `fdef` weighs its own body.
        call = site.node.value
        skip = frozenset({id(call)})
        handed = frozenset(id(a) for a in [*call.args, *(k.value for k in call.keywords)]
                           if isinstance(a, ast.Name))
        head, tail = _sides(stmt)
        rb, wb = sharing.accesses([*before, *head], skip, strict=False, counted=handed)
        ra, wa = sharing.accesses([*tail, *after], skip, strict=False, counted=handed)
        db = sharing.deferred([*before, *head], skip)
        theirs = Around(rb, wb, db, ra, wa)
        if (to_start or to_end) and id(site.caller) not in seen:
            outer = around(site.caller, coroutines, view, module_vars, seen)
            for name in vars(theirs):
                if to_start if name.endswith("before") else to_end:
                    getattr(theirs, name).update(getattr(outer, name))
        rename = _renamer(site, fdef, module_vars)
        for name in vars(out):
            getattr(out, name).update(k for k in map(rename, getattr(theirs, name)) if k)
    return out


def _sides(stmt: ast.stmt) -> tuple[list[ast.AST], list[ast.AST]]:
    """The parts of the statement holding the await that may run before it and after it: an
    assignment stores after its value is awaited; otherwise the whole statement, both sides."""
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return [stmt.value], [*targets, stmt.value]
    if isinstance(stmt, (ast.Return, ast.Expr)) and stmt.value is not None:
        return [stmt.value], [stmt.value]
    return [stmt], [stmt]


def _renamer(site: Site, fdef: ast.AsyncFunctionDef, module_vars: set[str]):
    """Caller's key -> the same state as ``fdef`` names it (None: it cannot see it)."""
    call = site.node.value
    pairs = bind(fdef, [call.func.value, *call.args] if site.bound else list(call.args), call)
    params = fdef.args.posonlyargs + fdef.args.args
    whole = {a.id: p for p, a in pairs if isinstance(a, ast.Name)}  # `co(self)`: self.x -> p.x
    parts = {key(a): p for p, a in pairs if isinstance(a, (ast.Attribute, ast.Subscript))}
    # its own names; any other name it uses is the module's or, for a coroutine defined inside
    # the caller, the caller's own through the closure (`self` of the method around it)
    own = {p.arg for p in params + fdef.args.kwonlyargs} | _stored(fdef)
    free = _used(fdef) - own

    def rename(k: str) -> str | None:
        head, dot, rest = k.partition(".")
        if head in whole:
            return whole[head] + dot + rest
        if k in parts:
            return parts[k]
        if (head in module_vars or head in free) and head not in own:
            return k
        return None

    return rename


def _stored(fdef: ast.AST) -> set[str]:
    """Names ``fdef`` binds itself (not those it declares global or nonlocal)."""
    nodes = walk_own(fdef)
    declared = {n for g in nodes if isinstance(g, (ast.Global, ast.Nonlocal)) for n in g.names}
    return {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - declared


def _used(fdef: ast.AST) -> set[str]:
    """Names ``fdef`` reads anywhere, nested functions included (they close over its scope)."""
    return {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name)}
