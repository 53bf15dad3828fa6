"""Glue: plain assignments around blocking statements that move with them.

`reader = PdfReader(p)`, `pages = []`, `for page in reader.pages: ...`: left on the loop,
`pages = []` would split the run in two helpers, two thread hops, and the second helper would
start from `reader` (an open PDF) instead of the path. An assignment to plain names of a value
that calls, awaits and defines nothing does nothing a thread could not do the same way, so it
joins the run when a blocking statement follows it (never alone: glue at a run's end stays).

Leads: assignments right before a run's first blocking statement that compute what it uses
(`data = {"pages": [stats(p) for p in pages]}` before `json.dump(data, f)`) join the run too, calls
and all: the helper then does the whole job, its pure-Python part included, which on the loop
stalls it as long as the blocking call would. A lead's value is computed a thread hop later than
on the loop (a timestamp taken there is later by that much), and returned if the coroutine reads
it afterwards.
"""

from __future__ import annotations

import ast

from asyncfix.transforms.names import accesses

_ACTIVE = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SUSPENDS = (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda, ast.GeneratorExp)


def is_glue(stmt: ast.stmt) -> bool:
    """An assignment to plain names whose value calls, awaits and defines nothing."""
    value = _assignment(stmt, augmented=True)
    return value is not None and not any(isinstance(n, _ACTIVE) for n in ast.walk(value))


def is_lead(stmt: ast.stmt) -> bool:
    """An assignment to plain names whose value may call (but not await, yield or make a lambda
    or a generator that would run later)."""
    value = _assignment(stmt, augmented=False)
    return value is not None and not any(isinstance(n, _SUSPENDS) for n in ast.walk(value))


def _assignment(stmt: ast.stmt, augmented: bool) -> ast.expr | None:
    """The value of an assignment to plain names (``augmented``: `n += ...` too), else None."""
    if isinstance(stmt, ast.Assign):
        targets, value = stmt.targets, stmt.value
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign) if augmented else ast.AnnAssign) and stmt.value is not None:
        targets, value = [stmt.target], stmt.value
    else:
        return None
    return value if all(_plain(t) for t in targets) else None


def feeding(leads: list[ast.stmt], rest: list[ast.stmt]) -> list[ast.stmt]:
    """The longest tail of ``leads`` (the assignments right before ``rest``, in order) in which
    each one binds a name that a later one or ``rest`` reads."""
    reads = set().union(*map(_reads, rest))
    kept: list[ast.stmt] = []
    for stmt in reversed(leads):
        if not set(accesses([stmt]).binds) & reads:
            break
        kept.append(stmt)
        reads |= _reads(stmt)
    return kept[::-1]


def _reads(stmt: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _plain(target: ast.expr) -> bool:
    """A name, or a tuple or list of names (`a, *rest = ...`): nothing stored on an object."""
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, ast.Starred):
        return _plain(target.value)
    return isinstance(target, (ast.Tuple, ast.List)) and all(_plain(e) for e in target.elts)
