"""Finds blocking calls that run on the event loop in one parsed module.

Only code that runs on the loop counts: the body of an ``async def`` (not nested ``def`` or class
bodies), lambdas called on the spot or handed to a call that runs them now (``sorted(key=...)``),
comprehensions, and arguments of offloading calls (``to_thread(f, json.dumps(x))`` encodes on the
loop). The callable handed to ``asyncio.to_thread`` & co. does not.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator

from asyncfix.catalog import Catalog, Match
from asyncfix.engine.resolve import Evaluator, Scope, import_bindings, is_offload
from asyncfix.engine.values import SHADOW, ClassInfo, Inst, Ref, SelfOf, Value

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class RawFinding:
    """A finding before suppression and path/column formatting (ast positions, byte columns)."""

    node: ast.Call
    match: Match
    name: str  # qualified name of what was called
    written: str | None  # the callee as written, when it fits on one line
    function: str
    unfixable_reason: str | None


class ModuleAnalysis:
    def __init__(self, tree: ast.Module, catalog: Catalog, lines=None):
        self.catalog = catalog
        self.lines = lines
        self.classes: dict[str, ClassInfo] = {}
        self.evaluator = Evaluator(catalog, self.classes.get)
        self.imports = _imported_roots(tree)
        self.findings: list[RawFinding] = []
        self.scope = Scope(self._module_names(tree.body))
        self._collect_classes(tree)

    def written(self, node: ast.AST) -> str | None:
        if self.lines is None or node.lineno != node.end_lineno:
            return None
        raw = self.lines.line(node.lineno).encode("utf-8")[node.col_offset : node.end_col_offset]
        return raw.decode("utf-8", "replace")

    # -- module level -------------------------------------------------------------------------
    def _module_names(self, body: list[ast.stmt]) -> dict:
        names: dict[str, Value] = {}
        scope = Scope(names)
        for stmt in _flat_statements(body):
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names.update(import_bindings(stmt, self.catalog))
            elif isinstance(stmt, (*_FUNCS, ast.ClassDef)):
                names[stmt.name] = SHADOW
            elif isinstance(stmt, ast.Assign):
                value = self.evaluator.value(stmt.value, scope)
                for target in stmt.targets:
                    _bind_target(names, target, _outer(value))
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                value = self.evaluator.annotation(stmt.annotation, scope)
                if value is None and stmt.value is not None:
                    value = self.evaluator.value(stmt.value, scope)
                names[stmt.target.id] = _outer(value) or SHADOW
            elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
                targets = [stmt.target] if isinstance(stmt, (ast.For, ast.AsyncFor)) else [
                    item.optional_vars for item in stmt.items if item.optional_vars is not None]
                for target in targets:
                    _bind_target(names, target, SHADOW)
        return names

    def _collect_classes(self, tree: ast.Module) -> None:
        found = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
        for node in found:
            bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
            self.classes[node.name] = ClassInfo(node.name, bases)
        for node in found:  # attributes from the class body, then from `self.x = ...` in methods
            info = self.classes[node.name]
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    value = self.evaluator.annotation(stmt.annotation, self.scope)
                    if value is None and stmt.value is not None:
                        value = self.evaluator.value(stmt.value, self.scope)
                    if value is not None:
                        info.attrs[stmt.target.id] = _outer(value)
                elif isinstance(stmt, ast.Assign):
                    value = _outer(self.evaluator.value(stmt.value, self.scope))
                    for target in stmt.targets:
                        if isinstance(target, ast.Name) and value is not None:
                            info.attrs[target.id] = value
            for stmt in node.body:
                if isinstance(stmt, _FUNCS):
                    FunctionWalker(self, stmt, self.scope, info, stmt.name, mode="attrs").run()

    def analyze(self, tree: ast.Module) -> list[RawFinding]:
        self._walk_defs(tree.body, self.scope, None, "")
        return self.findings

    def _walk_defs(self, body, scope: Scope, cls: ClassInfo | None, prefix: str) -> None:
        """Every function and method at this level: async ones are analysed, sync ones searched
        for async functions nested inside them."""
        for stmt in _flat_statements(body):
            if isinstance(stmt, _FUNCS):
                mode = "loop" if isinstance(stmt, ast.AsyncFunctionDef) else "search"
                FunctionWalker(self, stmt, scope, cls, prefix + stmt.name, mode).run()
            elif isinstance(stmt, ast.ClassDef):
                self._walk_defs(stmt.body, scope, self.classes.get(stmt.name), f"{prefix}{stmt.name}.")


class FunctionWalker:
    """Walks one function body in order, tracking what local names hold.

    ``mode``: "loop" reports blocking calls (an async def's body runs on the loop); "search"
    only looks for async functions nested inside a sync one; "attrs" records `self.x = ...`.
    """

    def __init__(self, module: ModuleAnalysis, node, parent: Scope, cls: ClassInfo | None,
                 qualname: str, mode: str):
        self.module = module
        self.ev = module.evaluator
        self.catalog = module.catalog
        self.node = node
        self.cls = cls
        self.qualname = qualname
        self.mode = mode
        self.scope = Scope({name: SHADOW for name in _local_names(node)}, parent)
        self.self_name: str | None = None
        self._bind_params(parent)

    def _bind_params(self, parent: Scope) -> None:
        args = self.node.args
        params = args.posonlyargs + args.args + args.kwonlyargs
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                params.append(extra)
        for param in params:
            value = self.ev.annotation(param.annotation, parent)
            self.scope.names[param.arg] = value or SHADOW
        positional = args.posonlyargs + args.args
        decorators = {_decorator_name(d) for d in self.node.decorator_list}
        if self.cls is not None and positional and "staticmethod" not in decorators:
            self.self_name = positional[0].arg
            self.scope.names[self.self_name] = SelfOf(self.cls)

    def run(self) -> None:
        self.block(self.node.body)

    # -- statements ---------------------------------------------------------------------------
    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, s: ast.stmt) -> None:
        visit = self.visit
        if isinstance(s, ast.Expr):
            visit(s.value, self.scope)
        elif isinstance(s, ast.Assign):
            visit(s.value, self.scope)
            value = self.ev.value(s.value, self.scope)
            for target in s.targets:
                self.bind(target, value)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                visit(s.value, self.scope)
            value = self.ev.annotation(s.annotation, self.scope)
            if value is None and s.value is not None:
                value = self.ev.value(s.value, self.scope)
            if s.value is not None or value is not None:
                self.bind(s.target, value)
        elif isinstance(s, ast.AugAssign):
            visit(s.value, self.scope)
            visit(s.target, self.scope)
        elif isinstance(s, (ast.Return, ast.Raise, ast.Assert, ast.Delete)):
            for child in ast.iter_child_nodes(s):
                visit(child, self.scope)
        elif isinstance(s, (ast.If, ast.While)):
            visit(s.test, self.scope)
            self.block(s.body)
            self.block(s.orelse)
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            visit(s.iter, self.scope)
            self.bind(s.target, self._item(self.ev.value(s.iter, self.scope)))
            self.block(s.body)
            self.block(s.orelse)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                visit(item.context_expr, self.scope)
                if item.optional_vars is not None:
                    value = self.ev.value(item.context_expr, self.scope)
                    if isinstance(value, Inst):
                        typ = self.catalog.enter_type(value.type)
                        value = Inst(typ, value.local) if typ else None
                    self.bind(item.optional_vars, value)
            self.block(s.body)
        elif isinstance(s, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            self.block(s.body)
            for handler in s.handlers:
                if handler.type is not None:
                    visit(handler.type, self.scope)
                if handler.name:
                    self.scope.names[handler.name] = SHADOW
                self.block(handler.body)
            self.block(s.orelse)
            self.block(s.finalbody)
        elif isinstance(s, ast.Match):
            visit(s.subject, self.scope)
            for case in s.cases:
                if case.guard is not None:
                    visit(case.guard, self.scope)
                self.block(case.body)
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            for name, value in import_bindings(s, self.catalog):
                self.scope.names[name] = value
        elif isinstance(s, _FUNCS):
            # Decorators and defaults are evaluated here, on the loop; the body is not.
            for child in s.decorator_list + s.args.defaults + [d for d in s.args.kw_defaults if d]:
                visit(child, self.scope)
            mode = "loop" if isinstance(s, ast.AsyncFunctionDef) else "search"
            if self.mode != "attrs":
                FunctionWalker(self.module, s, self.scope, None, f"{self.qualname}.{s.name}", mode).run()
            self.scope.names[s.name] = SHADOW
        elif isinstance(s, ast.ClassDef):
            for child in s.decorator_list + s.bases + [k.value for k in s.keywords]:
                visit(child, self.scope)
            if self.mode != "attrs":
                self.module._walk_defs(s.body, self.scope, self.module.classes.get(s.name),
                                       f"{self.qualname}.{s.name}.")
            self.scope.names[s.name] = SHADOW

    def bind(self, target: ast.AST, value: Value) -> None:
        if isinstance(target, ast.Name):
            self.scope.names[target.id] = value if value is not None else SHADOW
        elif isinstance(target, ast.Attribute):
            if (self.mode == "attrs" and self.cls is not None and value is not None
                    and isinstance(target.value, ast.Name) and target.value.id == self.self_name):
                self.cls.attrs[target.attr] = _outer(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.bind(elt.value if isinstance(elt, ast.Starred) else elt, None)

    def _item(self, iterable: Value) -> Value:
        if isinstance(iterable, Inst):
            typ = self.catalog.items.get(iterable.type)
            return Inst(typ, iterable.local) if typ else None
        return None

    # -- expressions --------------------------------------------------------------------------
    def visit(self, node: ast.AST, scope: Scope, awaited: bool = False, in_lambda: bool = False) -> None:
        """Report blocking calls in an expression evaluated on the loop (mode "loop" only)."""
        if self.mode != "loop":
            return
        stack = [(node, scope, awaited, in_lambda)]
        while stack:
            node, scope, awaited, in_lambda = stack.pop()
            if isinstance(node, ast.Call):
                self._check_call(node, scope, awaited, in_lambda)
                offload = is_offload(self.ev, node, scope)
                func = node.func
                if isinstance(func, ast.Lambda):  # (lambda: ...)() runs on the spot
                    stack.append((func.body, _lambda_scope(func, scope), False, True))
                else:
                    stack.append((func, scope, False, in_lambda))
                for arg in node.args + [k.value for k in node.keywords]:
                    if isinstance(arg, ast.Lambda):
                        if not offload:  # sorted(key=lambda ...) calls it now, on the loop
                            stack.append((arg.body, _lambda_scope(arg, scope), False, True))
                    else:
                        stack.append((arg, scope, False, in_lambda))
            elif isinstance(node, ast.Await):
                stack.append((node.value, scope, True, in_lambda))
            elif isinstance(node, ast.Lambda):
                continue  # stored or returned: runs later, wherever it is called
            elif isinstance(node, _COMPREHENSIONS):
                inner = Scope({}, scope)
                first = True
                for gen in node.generators:
                    stack.append((gen.iter, scope if first else inner, False, in_lambda))
                    first = False
                    value = self._item(self.ev.value(gen.iter, inner))
                    _bind_target(inner.names, gen.target, value)
                    stack.extend((cond, inner, False, in_lambda) for cond in gen.ifs)
                elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
                stack.extend((elt, inner, False, in_lambda) for elt in elts)
            elif isinstance(node, ast.NamedExpr):
                stack.append((node.value, scope, False, in_lambda))
                if isinstance(node.target, ast.Name):
                    self.scope.names[node.target.id] = self.ev.value(node.value, scope) or SHADOW
            elif isinstance(node, (ast.expr, ast.keyword, ast.comprehension, ast.FormattedValue)):
                stack.extend((child, scope, False, in_lambda) for child in ast.iter_child_nodes(node)
                             if not isinstance(child, (ast.expr_context, ast.operator, ast.cmpop,
                                                       ast.unaryop, ast.boolop)))

    def _check_call(self, node: ast.Call, scope: Scope, awaited: bool, in_lambda: bool) -> None:
        if awaited:  # `await x.get()`: an awaitable API, whatever the receiver looked like
            return
        found = self._resolve(node, scope)
        if found is None:
            return
        match, name, receiver = found
        rule = match.rule
        if rule.skip_literal_args and _first_arg_is_literal(node):
            return
        reason = rule.unfixable
        if reason is None and in_lambda:
            reason = "the call is inside a lambda, where `await` cannot go"
        if (reason is None and match.category.name == "sqlite" and isinstance(receiver, Inst)
                and not receiver.local):
            reason = ("the sqlite3 connection was made outside this coroutine, and sqlite3 objects "
                      "refuse use from another thread (check_same_thread)")
        self.module.findings.append(
            RawFinding(node, match, name, self.module.written(node.func), self.qualname, reason))

    def _resolve(self, node: ast.Call, scope: Scope):
        func = node.func
        cat = self.catalog
        if isinstance(func, ast.Attribute):
            recv = self.ev.value(func.value, scope)
            if isinstance(recv, Inst):
                match = cat.method(recv.type, func.attr)
                if match is not None:
                    return match, f"{recv.type}.{func.attr}", recv
            elif isinstance(recv, Ref):
                qual = f"{recv.qual}.{func.attr}"
                match = cat.function(qual)
                if match is not None:
                    return match, qual, None
            match = cat.named_method(func.attr)
            if match is not None and _named_method_applies(match, node, self.module.imports):
                return match, func.attr, None
            return None
        callee = self.ev.value(func, scope)
        if isinstance(callee, Ref):
            match = cat.function(callee.qual)
            if match is not None:
                return match, callee.qual, None
        return None


# -- helpers ----------------------------------------------------------------------------------
def _outer(value: Value) -> Value:
    """A value seen from another function: an instance there was not made locally."""
    return Inst(value.type, False) if isinstance(value, Inst) else value


def _bind_target(names: dict, target: ast.AST, value: Value) -> None:
    if isinstance(target, ast.Name):
        names[target.id] = value if value is not None else SHADOW
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            _bind_target(names, elt.value if isinstance(elt, ast.Starred) else elt, None)


def _lambda_scope(node: ast.Lambda, scope: Scope) -> Scope:
    args = node.args
    params = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
    return Scope({p.arg: SHADOW for p in params}, scope)


def _flat_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a block, looking into if/try/with/for at the same scope level."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith,
                             ast.Try, getattr(ast, "TryStar", ast.Try))):
            for field in ("body", "orelse", "finalbody"):
                yield from _flat_statements(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                yield from _flat_statements(handler.body)
        elif isinstance(stmt, ast.Match):
            for case in stmt.cases:
                yield from _flat_statements(case.body)


def _local_names(func) -> set[str]:
    """Names local to a function (Python's rule: assigned anywhere in it, minus global/nonlocal)."""
    args = func.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names.update(a.arg for a in (args.vararg, args.kwarg) if a)
    declared: set[str] = set()
    stack = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (*_FUNCS, ast.ClassDef)):
            names.add(node.name)
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).partition(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return names - declared


def _decorator_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _imported_roots(tree: ast.Module) -> frozenset[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.partition(".")[0])
    return frozenset(roots)


def _named_method_applies(match: Match, node: ast.Call, imports: frozenset[str]) -> bool:
    rule = match.rule
    if rule.requires_import and rule.requires_import not in imports:
        return False
    if rule.first_arg_in:
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)
                and first.value.upper() in rule.first_arg_in):
            return False
    return True


def _first_arg_is_literal(node: ast.Call) -> bool:
    """`json.dumps({"ok": True})`: a literal in the source is too small to be worth a thread hop."""
    if not node.args:
        return False
    try:
        ast.literal_eval(node.args[0])
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def analyze_tree(tree: ast.Module, catalog: Catalog, lines=None) -> list[RawFinding]:
    return ModuleAnalysis(tree, catalog, lines).analyze(tree)
