"""Coroutines of the module that never suspend.

`await co()` lets other tasks run only if `co` suspends. A coroutine whose awaits are all of such
quiet coroutines runs from start to end in one go, so for its caller the `await` ends no
section: what runs before and after the call, and what the coroutine itself does, is one
await-free section. A thread hop put inside a quiet coroutine makes every `await` of it suspend:
its callers' code just before and just after the call then runs on both sides of that hop.

Only `await` of the module's own coroutines is followed (`co(...)`, `self.co(...)`,
`Class.co(...)`; by name: a coroutine defined twice under one name is each of them); any other
await is taken to suspend.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from asyncfix.engine.astutil import FUNCS, HOLDS_STATEMENTS, child_nodes, first_param, memo
from asyncfix.engine.source import Lines

_SCOPES = (*FUNCS, ast.ClassDef, ast.Lambda)


_SUSPENDS = (ast.Await, ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom)


def _suspends(func: ast.AST, may_suspend=None) -> list[ast.AST]:
    """The awaits, `async for`/`async with` and yields of ``func``'s own scope (nested
    functions, classes and lambdas not entered), in the order of a walk that takes each node
    before the nodes below it, the last child first. Memoized: do not change it.
    ``may_suspend(stmt)`` False: the statement holds none (not walked); it only saves time."""
    return memo(func, "_asyncfix_suspends", functools.partial(_suspends_below, may_suspend=may_suspend))


def _suspends_below(func: ast.AST, may_suspend=None) -> list[ast.AST]:
    out = []
    stack = list(child_nodes(func))
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPES):
            continue
        if isinstance(node, _SUSPENDS):
            out.append(node)
        if isinstance(node, HOLDS_STATEMENTS):
            # What lies below a nested statement comes out in one piece here: memoized, it
            # serves the statements around it too.
            if may_suspend is None or may_suspend(node):
                out += _suspends(node, may_suspend)
        else:
            stack += child_nodes(node)
    return out


def _keywords_in_lines(lines: Lines):
    """may_suspend for ``_suspends``: whether the source lines of a statement hold `await`,
    `yield` or `async`, without which none of its nodes suspends."""
    text, starts = lines.text, lines.starts

    def may_suspend(node: ast.AST) -> bool:
        if getattr(node, "end_lineno", None) is None:  # a match case has no position
            return True
        segment = text[starts[node.lineno - 1] : starts[node.end_lineno]]
        return "await" in segment or "yield" in segment or "async" in segment

    return may_suspend


@dataclass
class Site:
    """One `await` of a module coroutine: the caller, its classes and the await."""

    caller: ast.AsyncFunctionDef
    class_names: list[str]
    node: ast.Await
    bound: bool  # called through an object (`self.co()`): the object is the first parameter


class Coroutines:
    """The module's own coroutines, which of them never suspend, and where they are awaited."""

    def __init__(self, tree: ast.Module, lines: Lines | None = None):
        """``lines``: the module's source, which lets the scan for awaits skip statements
        whose text holds none."""
        # "name" (module-level functions) or "Class.name" (methods): a name defined twice stands
        # for each of its definitions; a coroutine defined inside a function is found by name
        # from that function's scope and the scopes inside it (``local``), as Python finds it
        self.defs: dict[str, list[ast.AsyncFunctionDef]] = {}
        self.local: dict[tuple[int, str], list[ast.AsyncFunctionDef]] = {}
        self.outer: dict[int, ast.AST] = {}  # id(function) -> the function around it
        self.classes: dict[int, list[str]] = {}  # id(async def) -> the classes around it
        self.all: list[tuple[ast.AsyncFunctionDef, list[str]]] = []
        stack: list[tuple[ast.AST, list[str], bool, ast.AST | None]] = [(tree, [], False, None)]
        while stack:
            node, classes, method, scope = stack.pop()
            for child in child_nodes(node):
                if isinstance(child, (ast.AsyncFunctionDef, ast.FunctionDef)):
                    if scope is not None:
                        self.outer[id(child)] = scope
                    if isinstance(child, ast.AsyncFunctionDef):
                        self.all.append((child, classes))
                        self.classes[id(child)] = classes
                        if method:
                            self.defs.setdefault(f"{classes[-1]}.{child.name}", []).append(child)
                        elif scope is None:
                            self.defs.setdefault(child.name, []).append(child)
                        else:
                            self.local.setdefault((id(scope), child.name), []).append(child)
                    stack.append((child, classes, False, child))
                elif isinstance(child, ast.ClassDef):
                    stack.append((child, [*classes, child.name], True, scope))
                elif isinstance(child, (ast.stmt, ast.ExceptHandler, ast.match_case)):
                    stack.append((child, classes, method, scope))
        self.needs: dict[int, list[int]] = {}  # id(quiet candidate) -> ids of what it awaits
        self.quiet = self._quiet(self._candidates(_keywords_in_lines(lines) if lines else None))  # today
        self.quiet_after = set(self.quiet)  # once the rewrites planned so far are made
        self._sites: dict[int, list[Site]] | None = None

    def callee(self, call: ast.AST, caller: ast.AST | None) -> tuple[list[ast.AsyncFunctionDef], bool]:
        """The module coroutines ``call`` (made in ``caller``) may call, and whether the call
        is bound (`self.co()`: the object is their first parameter)."""
        if not isinstance(call, ast.Call):
            return [], False
        func = call.func
        if isinstance(func, ast.Name):
            scope = caller
            while scope is not None:  # the caller's own scope first, then those around it
                found = self.local.get((id(scope), func.id))
                if found:
                    return found, False
                scope = self.outer.get(id(scope))
            return self.defs.get(func.id, []), False
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = func.value.id
            classes = self.classes.get(id(caller), []) if caller is not None else []
            if classes and owner in (first_param(caller), "cls"):
                return self.defs.get(f"{classes[-1]}.{func.attr}", []), True
            fdefs = self.defs.get(f"{owner}.{func.attr}", [])
            # `Box.co(obj, ...)`: unbound, unless a static or class method
            return fdefs, any(f.decorator_list for f in fdefs)
        return [], False

    def silent(self, func: ast.AST, today: bool = False) -> frozenset[int]:
        """Ids of the awaits in ``func``'s own body that do not suspend, once the rewrites
        planned so far are made (``today``: in the code as it is)."""
        quiet = self.quiet if today else self.quiet_after
        out = set()
        for node in _suspends(func):
            if isinstance(node, ast.Await):
                fdefs, _ = self.callee(node.value, func)
                if fdefs and all(id(f) in quiet for f in fdefs):
                    out.add(id(node))
        return frozenset(out)

    def now_suspends(self, fdef: ast.AST) -> None:
        """``fdef`` gets a new await: it, and every quiet coroutine awaiting it, will suspend."""
        self._drop(self.quiet_after, [id(fdef)])

    def order(self) -> list[tuple[ast.AsyncFunctionDef, list[str]]]:
        """Every coroutine with its classes, the ones awaited before those awaiting them (so a
        caller is planned knowing whether its callees will still never suspend)."""
        done: set[int] = set()
        out = []
        for start, classes in self.all:
            stack = [(start, classes, False)]
            while stack:
                fdef, cls, expanded = stack.pop()
                if expanded:
                    out.append((fdef, cls))
                    continue
                if id(fdef) in done:
                    continue
                done.add(id(fdef))
                stack.append((fdef, cls, True))
                for node in _suspends(fdef):
                    if isinstance(node, ast.Await):
                        for callee in self.callee(node.value, fdef)[0]:
                            if id(callee) not in done:
                                stack.append((callee, self.classes[id(callee)], False))
        return out

    def sites(self, fdef: ast.AsyncFunctionDef) -> list[Site]:
        """Where the module awaits ``fdef``."""
        if self._sites is None:
            self._sites = {}
            for caller, classes in self.all:
                for node in _suspends(caller):
                    if isinstance(node, ast.Await):
                        fdefs, bound = self.callee(node.value, caller)
                        for callee in fdefs:
                            self._sites.setdefault(id(callee), []).append(Site(caller, classes, node, bound))
        return self._sites.get(id(fdef), [])

    def _candidates(self, may_suspend=None) -> set[int]:
        """Coroutines with no `async for`/`async with`/yield and only awaits of the module's own
        coroutines (recorded in ``needs``)."""
        candidates = set()
        for fdef, _ in self.all:
            deps, loud = [], False
            for node in _suspends(fdef, may_suspend):
                if isinstance(node, (ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom)):
                    loud = True
                elif isinstance(node, ast.Await):
                    fdefs, _ = self.callee(node.value, fdef)
                    loud = not fdefs
                    deps += [id(f) for f in fdefs]
                if loud:
                    break
            if not loud:
                candidates.add(id(fdef))
                self.needs[id(fdef)] = deps
        return candidates

    def _quiet(self, candidates: set[int]) -> set[int]:
        """Of ``candidates``, those whose awaits are all of the rest: the largest such set
        (mutual recursion is quiet too)."""
        self.needed_by: dict[int, list[int]] = {}  # id -> ids of the candidates awaiting it
        for f, deps in self.needs.items():
            for d in deps:
                self.needed_by.setdefault(d, []).append(f)
        quiet = set(candidates)
        self._drop(quiet, [f for f in quiet if any(d not in quiet for d in self.needs[f])])
        return quiet

    def _drop(self, quiet: set[int], loud: list[int]) -> None:
        """Takes ``loud`` out of ``quiet``, and every coroutine that awaits one of them (a work
        list over who awaits whom: linear, where recomputing the fixpoint per change was not)."""
        work = list(loud)
        while work:
            f = work.pop()
            if f in quiet:
                quiet.discard(f)
                work.extend(self.needed_by.get(f, ()))
