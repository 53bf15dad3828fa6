"""Walks one function body in source order: what locals hold, and which calls block the loop."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asyncfix.catalog import Match, imports_module
from asyncfix.engine.astutil import (COMPREHENSIONS, FUNCS, children, decorator_name,
                                     lambda_defaults, lambda_scope)
from asyncfix.engine.resolve import Scope, bind_target, dotted, import_bindings, is_offload
from asyncfix.engine import sizes
from asyncfix.engine.values import SHADOW, ClassInfo, Func, Inst, Ref, SelfOf, Value, outer

if TYPE_CHECKING:  # the walker reports to its module's analysis, which creates walkers
    from asyncfix.engine.analyzer import ModuleAnalysis

# Builtins that call a function they are handed, right now: `max(paths, key=os.path.getmtime)`.
_CALLS_ARGUMENT = {"sorted": "key", "max": "key", "min": "key", "map": 0, "filter": 0}
# ...and the argument whose items it hands that function (`paths.sort(key=...)`: the receiver)
_ITEMS_FROM = {"sorted": 0, "max": 0, "min": 0, "map": 1, "filter": 1}


@dataclass(frozen=True)
class RawFinding:
    """A finding before suppression and path/column formatting (ast positions, byte columns)."""

    node: ast.expr  # the call (or the function reference a builtin calls, or a blocking property read)
    match: Match
    name: str  # qualified name of what was called
    written: str | None  # the callee as written, when it fits on one line
    function: str
    unfixable_reason: str | None
    evidence: str | None = None  # json: why it is reported by default (a key of sizes.EVIDENCE)


class FunctionWalker:
    """Walks one function body in order, tracking what local names hold.

    Flow-sensitive: a local shadows outer names from its first binding in source order on.
    ``mode``: "loop" reports blocking calls (an async def's body runs on the loop); "search"
    only looks for async functions nested inside a sync one; "attrs" records `self.x = ...` and
    `app.state.x = ...` assignments.
    """

    def __init__(self, module: "ModuleAnalysis", node, parent: Scope, cls: ClassInfo | None,
                 qualname: str, mode: str, findings: list[RawFinding] | None = None):
        self.module = module
        # ``findings`` given: a sync helper's body walked as if on the loop, for what it would
        # block on (``helpers``); its nested functions are none of that
        self.findings = module.findings if findings is None else findings
        self.summary = findings is not None
        self._receiver: tuple = (None, None)  # the last method call's receiver, as `_resolve` saw it
        self.ev = module.evaluator
        self.catalog = module.catalog
        self.node = node
        self.cls = cls
        self.qualname = qualname
        self.mode = mode
        self.scope = Scope({}, parent)
        self.self_name: str | None = None
        self.loops = 0  # loop bodies the walk is in: a collection grown there is evidence of size
        self.sizes = sizes.Sizes(self.ev, self._json_call)
        self._weak: dict[int, tuple[RawFinding, Match]] = {}  # json findings without evidence
        self._weak_calls: dict[int, RawFinding] = {}  # by id of the call node
        self._bind_params(parent)

    def _bind_params(self, parent: Scope) -> None:
        args = self.node.args
        params = args.posonlyargs + args.args + args.kwonlyargs
        params += [extra for extra in (args.vararg, args.kwarg) if extra is not None]
        for param in params:
            self.scope.names[param.arg] = self.ev.annotation(param.annotation, parent) or SHADOW
            if sizes.bytes_annotation(param.annotation):
                self.scope.sizes[param.arg] = "bytes"
        positional = args.posonlyargs + args.args
        decorators = {decorator_name(d) for d in self.node.decorator_list}
        if self.cls is not None and positional and "staticmethod" not in decorators:
            self.self_name = positional[0].arg
            self.scope.names[self.self_name] = SelfOf(self.cls)

    def run(self) -> None:
        self.block(self.node.body)
        # Findings without evidence of size are reported only where their opt-in code is selected.
        dropped = {key for key, (raw, _) in self._weak.items() if not self.catalog.enabled(raw.match.rule)}
        if dropped:
            self.findings[:] = [f for f in self.findings if id(f) not in dropped]

    # -- statements ---------------------------------------------------------------------------
    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, s: ast.stmt) -> None:
        visit, scope = self.visit, self.scope
        if isinstance(s, ast.Expr):
            visit(s.value, scope)
        elif isinstance(s, ast.Assign):
            visit(s.value, scope)
            value = self.ev.value(s.value, scope)
            tag = self._size_of(s.value, scope)
            for target in s.targets:
                if _pairwise(target, s.value):  # `tok, model = reg.tokenizer, reg.model`
                    for name, item in zip(target.elts, s.value.elts):
                        self.bind(name, self.ev.value(item, scope))
                        self._sized(name, None, scope)
                    continue
                self.bind(target, value)
                self._sized(target, tag, scope)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                visit(s.value, scope)
            value = self.ev.declared(s, scope)
            if s.value is not None or value is not None:
                self.bind(s.target, value)
                self._sized(s.target, self._size_of(s.value, scope) if s.value else None, scope)
        elif isinstance(s, ast.AugAssign):
            visit(s.value, scope)
            visit(s.target, scope)
            self._sized(s.target, None, scope, grow=True)
        elif isinstance(s, (ast.Return, ast.Raise, ast.Assert, ast.Delete)):
            for child in ast.iter_child_nodes(s):
                visit(child, scope)
        elif isinstance(s, ast.If):
            visit(s.test, scope)
            self.block(s.body)
            self.block(s.orelse)
        elif isinstance(s, (ast.For, ast.AsyncFor, ast.While)):
            if isinstance(s, ast.While):
                visit(s.test, scope)
            else:
                visit(s.iter, scope)
                self.bind_loop(s.target, s.iter, scope)
                sizes.set_tag(scope, s.target, self.sizes.iterated(s.iter, scope))
            self.loops += 1
            self.block(s.body)
            self.loops -= 1
            self.block(s.orelse)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                visit(item.context_expr, scope)
                if item.optional_vars is not None:
                    value = self.ev.value(item.context_expr, scope)
                    if isinstance(value, Inst):
                        typ = self.catalog.enter_type(value.type)
                        value = Inst(typ, value.local) if typ else None
                    self.bind(item.optional_vars, value)
                    sizes.set_tag(scope, item.optional_vars, None)
            self.block(s.body)
        elif isinstance(s, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            self.block(s.body)
            for handler in s.handlers:
                if handler.type is not None:
                    visit(handler.type, scope)
                if handler.name:
                    scope.names[handler.name] = SHADOW
                    scope.sizes.pop(handler.name, None)
                self.block(handler.body)
            self.block(s.orelse)
            self.block(s.finalbody)
        elif isinstance(s, ast.Match):
            visit(s.subject, scope)
            for case in s.cases:
                if case.guard is not None:
                    visit(case.guard, scope)
                self.block(case.body)
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            for name, value in import_bindings(s, self.catalog):
                scope.names[name] = value
        elif isinstance(s, FUNCS):
            # Decorators and defaults are evaluated here, on the loop; the body is not.
            for child in s.decorator_list + s.args.defaults + [d for d in s.args.kw_defaults if d]:
                visit(child, scope)
            mode = "loop" if isinstance(s, ast.AsyncFunctionDef) else "search"
            if self.mode != "attrs" and not self.summary and (mode == "loop" or self.module.spans_async(s)):
                FunctionWalker(self.module, s, scope, None, f"{self.qualname}.{s.name}", mode).run()
            scope.names[s.name] = Func(s)
        elif isinstance(s, ast.ClassDef):
            for child in s.decorator_list + s.bases + [k.value for k in s.keywords]:
                visit(child, scope)
            info = self.module.register_class(s)
            if self.mode != "attrs" and not self.summary and self.module.spans_async(s):
                self.module._walk_defs(s.body, scope, info, f"{self.qualname}.{s.name}.")
            scope.names[s.name] = SelfOf(info)

    def bind(self, target: ast.AST, value: Value) -> None:
        if isinstance(target, ast.Attribute):
            if self.mode == "attrs" and value is not None:
                if (self.cls is not None and isinstance(target.value, ast.Name)
                        and target.value.id == self.self_name):
                    self.cls.attrs[target.attr] = outer(value)
                elif self.module.chain_values is not None:
                    chain = dotted(target)
                    if chain is not None and self.scope.is_global(chain.partition(".")[0]):
                        self.module.chain_values[chain] = outer(value)
        else:
            bind_target(self.scope.names, target, value)

    def bind_loop(self, target: ast.AST, iterable: ast.expr, scope: Scope) -> None:
        """`for page in pdf.pages`, and `for i, page in enumerate(pdf.pages)`."""
        if (isinstance(target, ast.Tuple) and len(target.elts) == 2 and isinstance(iterable, ast.Call)
                and isinstance(iterable.func, ast.Name) and iterable.func.id == "enumerate"
                and iterable.args and isinstance(scope.lookup("enumerate"), (type(None), Ref))):
            bind_target(scope.names, target.elts[0], None)
            self.bind(target.elts[1], self.ev.item(self.ev.value(iterable.args[0], scope)))
        else:
            self.bind(target, self.ev.item(self.ev.value(iterable, scope)))

    # -- expressions --------------------------------------------------------------------------
    def visit(self, node: ast.AST, scope: Scope) -> None:
        """Report blocking calls in an expression evaluated on the loop (mode "loop" only)."""
        if self.mode != "loop":
            return
        stack = [(node, scope, False, False)]  # (node, scope, directly awaited, inside a lambda)
        while stack:
            node, scope, awaited, in_lambda = stack.pop()
            if isinstance(node, (ast.Name, ast.Constant)):
                continue
            if isinstance(node, ast.Attribute):
                if isinstance(node.ctx, ast.Load):
                    self._check_property(node, scope, in_lambda)
                stack.append((node.value, scope, False, in_lambda))
            elif isinstance(node, ast.Call):
                offload = is_offload(self.ev, node, scope)
                self._note_sizes(node, scope, offload)
                self._check_call(node, scope, awaited, in_lambda)
                func = node.func
                if isinstance(func, ast.Lambda):  # (lambda: ...)() runs on the spot
                    stack.append((func.body, lambda_scope(func, scope), False, True))
                    stack.extend((d, scope, False, in_lambda) for d in lambda_defaults(func))
                elif isinstance(func, ast.Attribute):  # a method, not a property read
                    stack.append((func.value, scope, False, in_lambda))
                else:
                    stack.append((func, scope, False, in_lambda))
                if not offload:
                    self._check_callbacks(node, scope)
                for arg in node.args + [k.value for k in node.keywords]:
                    if isinstance(arg, ast.Lambda):
                        stack.extend((d, scope, False, in_lambda) for d in lambda_defaults(arg))
                        if not offload:  # sorted(key=lambda ...) calls it now, on the loop
                            stack.append((arg.body, self._callback_scope(node, arg, scope), False, True))
                    elif offload and isinstance(arg, ast.GeneratorExp):
                        # Only the outermost iterable is evaluated here; the rest runs where
                        # the generator is consumed, in the worker.
                        stack.append((arg.generators[0].iter, scope, False, in_lambda))
                    else:
                        stack.append((arg, scope, False, in_lambda))
            elif isinstance(node, ast.Await):
                stack.append((node.value, scope, True, in_lambda))
            elif isinstance(node, ast.Lambda):
                # Stored or returned: the body runs later, wherever it is called; the default
                # values are evaluated now.
                stack.extend((d, scope, False, in_lambda) for d in lambda_defaults(node))
            elif isinstance(node, COMPREHENSIONS):
                inner = Scope({}, scope)
                first = True
                for gen in node.generators:
                    stack.append((gen.iter, scope if first else inner, False, in_lambda))
                    first = False
                    bind_target(inner.names, gen.target, self.ev.item(self.ev.value(gen.iter, inner)))
                    stack.extend((cond, inner, False, in_lambda) for cond in gen.ifs)
                elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
                stack.extend((elt, inner, False, in_lambda) for elt in elts)
            elif isinstance(node, ast.NamedExpr):
                stack.append((node.value, scope, False, in_lambda))
                if isinstance(node.target, ast.Name):
                    self.scope.names[node.target.id] = self.ev.value(node.value, scope) or SHADOW
                    self._sized(node.target, self._size_of(node.value, scope), self.scope)
            else:
                stack.extend((child, scope, False, in_lambda) for child in children(node))

    def _check_call(self, node: ast.Call, scope: Scope, awaited: bool, in_lambda: bool) -> None:
        if awaited:  # `await x.get()`: an awaitable API, whatever the receiver looked like
            return
        found = self._resolve(node, scope)
        if found is None:
            self._check_helper(node, scope)
            return
        match, name, receiver = found
        rule = match.rule
        if rule.skip_literal_args and _first_arg_is_literal(node):
            return
        if _non_blocking(node, rule):
            return
        reason = rule.unfixable or match.category.unfixable_reason
        if reason is None and in_lambda:
            reason = "the call is inside a lambda, where `await` cannot go"
        if reason is None and not rule.thread_safe and isinstance(receiver, Inst) and not receiver.local:
            reason = rule.elsewhere_reason or (
                f"`{receiver.type}` objects are not safe to use from several threads at once, and this "
                "one is made outside this coroutine (others may use it too): use the library's async client")
        evidence = None
        if rule.weak_code:  # json: reported by default only with evidence of a big payload
            evidence = self.sizes.evidence(node, name.rpartition(".")[2], scope)
            if evidence is None:
                self._report_weak(node, match, name, reason)
                return
            match = self.catalog.evidenced(match, sizes.EVIDENCE[evidence])
        self.findings.append(RawFinding(node, match, name, self.module.written(node.func),
                                               self.qualname, reason, evidence))

    def _check_helper(self, node: ast.Call, scope: Scope) -> None:
        """`self._save(doc)` where `_save` (a sync function of this module) blocks."""
        summaries = self.module.summaries
        known = self._receiver[1] if self._receiver[0] is node.func else None
        target = summaries.callee(node, scope, self.self_name, known)
        if target is None:
            return
        chain = summaries.of(*target)
        if chain is None:
            return
        match = self.catalog.code("AF662" if chain.deadlock else "AF661")
        if not self.catalog.enabled(match.rule):
            return
        written = self.module.written(node.func)
        name = written or target[0].node.name
        raw = RawFinding(node, self.catalog.detailed(match, f": it calls {chain.describe()}"), name,
                         written, self.qualname, match.rule.unfixable or match.category.unfixable_reason)
        self.findings.append(raw)
        summaries.found(raw, name, chain)

    def _check_property(self, node: ast.Attribute, scope: Scope, in_lambda: bool) -> None:
        """`page.images`: an attribute whose read (or the iteration of what it gives) does the
        work. Moves only with the statement that uses it up (`laziness`)."""
        recv = self.ev.value(node.value, scope)
        match = self.catalog.blocking_property(recv.type, node.attr) if isinstance(recv, Inst) else None
        if match is None:
            return
        reason = match.rule.unfixable or match.category.unfixable_reason
        if reason is None and in_lambda:
            reason = "the read is inside a lambda, where `await` cannot go"
        self.findings.append(RawFinding(node, match, f"{recv.type}.{node.attr}",
                                               self.module.written(node), self.qualname, reason))

    def _callee_of_items(self, node: ast.Call, scope: Scope) -> tuple[str, ast.expr | None] | None:
        """For a call that calls what it is handed on the spot, its name and the expression
        whose items it hands over: `sorted(xs, key=f)` (xs), `paths.sort(key=f)` (paths)."""
        func = node.func
        if isinstance(func, ast.Name) and func.id in _CALLS_ARGUMENT and scope.lookup(func.id) is None:
            at = _ITEMS_FROM[func.id]
            return func.id, node.args[at] if len(node.args) > at else None
        if isinstance(func, ast.Attribute) and func.attr == "sort" and not node.args:
            return "sort", func.value
        return None

    def _callback_scope(self, node: ast.Call, arg: ast.Lambda, scope: Scope) -> Scope:
        """`sorted(os.scandir(d), key=lambda e: e.stat().st_mtime)`: the lambda's one parameter
        is an item of what the call iterates."""
        inner = lambda_scope(arg, scope)
        found = self._callee_of_items(node, scope)
        params = arg.args.posonlyargs + arg.args.args
        if found is not None and found[1] is not None and len(params) == 1:
            item = self.ev.item(self.ev.value(found[1], scope))
            if item is not None:
                inner.names[params[0].arg] = item
        return inner

    def _check_callbacks(self, node: ast.Call, scope: Scope) -> None:
        """`max(paths, key=os.path.getmtime)`: the builtin calls the blocking function here."""
        found = self._callee_of_items(node, scope)
        if found is None:
            return
        name = found[0]
        where = _CALLS_ARGUMENT.get(name, "key")
        if isinstance(where, int):
            args = node.args[where : where + 1]
        else:
            args = [k.value for k in node.keywords if k.arg == where]
        for arg in args:
            if isinstance(arg, (ast.Name, ast.Attribute)):
                callee = self.ev.value(arg, scope)
                match = self.catalog.function(callee.qual) if isinstance(callee, Ref) else None
                if match is not None:
                    reason = f"`{name}()` calls it on the loop; the whole `{name}()` call must move"
                    if match.rule.weak_code:  # `map(json.loads, lines)`: nothing shows a size
                        self._report_weak(arg, match, callee.qual, reason)
                        continue
                    self.findings.append(RawFinding(
                        arg, match, callee.qual, self.module.written(arg), self.qualname, reason))

    # -- evidence of size (json) -------------------------------------------------------------
    def _report_weak(self, node: ast.AST, match: Match, name: str, reason: str | None) -> None:
        """A finding under the opt-in code; kept aside in case its result is written to a file."""
        weak = self.catalog.code(match.rule.weak_code)
        raw = RawFinding(node, weak, name, self.module.written(getattr(node, "func", node)),
                         self.qualname, reason)
        self.findings.append(raw)
        self._weak[id(raw)] = (raw, match)
        self._weak_calls[id(node)] = raw

    def _upgrade(self, raw: RawFinding, evidence: str) -> None:
        """`blob = json.dumps(x)`, later `f.write(blob)`: the finding gets its default code."""
        _, match = self._weak.pop(id(raw))
        findings = self.findings
        at = next(i for i, f in enumerate(findings) if f is raw)
        findings[at] = RawFinding(raw.node, self.catalog.evidenced(match, sizes.EVIDENCE[evidence]),
                                  raw.name, raw.written, raw.function, raw.unfixable_reason, evidence)

    def _json_call(self, node: ast.Call, scope: Scope) -> str | None:
        found = self._resolve(node, scope)
        if found is None or not found[0].rule.weak_code:
            return None
        return found[1].rpartition(".")[2]

    def _size_of(self, value: ast.expr, scope: Scope):
        """What a bound name will hold: a tag, or the weak finding of the `json.dumps` it gets."""
        return self._weak_calls.get(id(value)) or self.sizes.tag(value, scope)

    def _sized(self, target: ast.AST, tag, scope: Scope, grow: bool = False) -> None:
        """Record what ``target`` holds; a subscript or `+=` target in a loop grows its base."""
        if isinstance(target, ast.Subscript):
            target, grow = target.value, True
        if grow:
            if self.loops and isinstance(target, ast.Name):
                home = sizes.owner(scope, target.id)
                if home is not None and not isinstance(home.sizes.get(target.id), str):
                    home.sizes[target.id] = "loop"
            return
        sizes.set_tag(scope, target, tag)

    def _note_sizes(self, node: ast.Call, scope: Scope, offload: bool) -> None:
        """Before its arguments are walked: `items.append(x)` in a loop grows `items`; a json
        call handed to a file write has its result written (so has a name holding one)."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in sizes.GROWS:
            self._sized(func.value, None, scope, grow=True)
        for arg in sizes.written_args(node, offload):
            if isinstance(arg, ast.Call):
                self.sizes.sinks.add(id(arg))
            elif isinstance(arg, ast.Name):
                held = sizes.lookup(scope, arg.id)
                if isinstance(held, RawFinding) and id(held) in self._weak:
                    self._upgrade(held, "write")

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
                typ = cat.annotation_type(recv.qual)  # Path.cwd(): a method called on the class
                match = cat.method(typ, func.attr) if typ else None
                if match is not None:
                    return match, f"{typ}.{func.attr}", None
            elif isinstance(recv, SelfOf):  # self._sleep = time.sleep; self._sleep(1)
                held = self.ev.class_attr(recv.cls, func.attr)
                match = cat.function(held.qual) if isinstance(held, Ref) else None
                if match is not None:
                    return match, held.qual, None
            if not isinstance(recv, (Inst, Ref, Func)):
                match = cat.named_method(func.attr)
                if match is not None and _named_method_applies(match, node, self.module.text):
                    return match, func.attr, None
            self._receiver = (func, recv)  # for `_check_helper`, which would evaluate it again
            # only these have typed attributes (or `app.state.nlp`, a chain set elsewhere)
            callee = (self.ev.value(func, scope) if isinstance(recv, (Inst, SelfOf))
                      else self.module.global_chain(func, scope))
        else:
            callee = self.ev.value(func, scope)
        if isinstance(callee, Ref) and not isinstance(func, ast.Attribute):
            match = cat.function(callee.qual)
            if match is not None:
                return match, callee.qual, None
        if isinstance(callee, Inst):  # `classifier(text)`, `self.model(**x)`: the object called
            match = cat.method(callee.type, "__call__")
            if match is not None:
                return match, f"{callee.type}.__call__", callee
        return None


def _pairwise(target: ast.AST, value: ast.AST) -> bool:
    """`a, b = x, y`: each name takes its own value (no starred item on either side)."""
    return (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)
            and not any(isinstance(e, ast.Starred) for e in target.elts + value.elts))


def _named_method_applies(match: Match, node: ast.Call, text: str) -> bool:
    rule = match.rule
    if not imports_module(text, rule.requires_import):
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


def _non_blocking(node: ast.Call, rule) -> bool:
    """`lock.acquire(False)`, `q.get(block=False)`, `t.join(0)`, `executor.shutdown(wait=False)`,
    `os.waitpid(pid, os.WNOHANG)`, `wrap_socket(s, do_handshake_on_connect=False)` do not wait."""
    def false(expr):
        return isinstance(expr, ast.Constant) and expr.value in (False, 0)
    func = node.func
    where = rule.nonblocking_args.get(func.attr if isinstance(func, ast.Attribute) else "", ())
    if any(isinstance(at, int) and at < len(node.args) and false(node.args[at]) for at in where):
        return True
    if any((k.arg in rule.nonblocking_kwargs or k.arg in where) and false(k.value) for k in node.keywords):
        return True
    return rule.nonblocking_flag is not None and any(
        _names_flag(arg, rule.nonblocking_flag) for arg in node.args + [k.value for k in node.keywords])


def _names_flag(expr: ast.expr, flag: str) -> bool:
    """`os.WNOHANG`, `WNOHANG | WUNTRACED`: the flag is named somewhere in the argument."""
    return any(isinstance(n, ast.Name) and n.id == flag or isinstance(n, ast.Attribute) and n.attr == flag
               for n in ast.walk(expr))
