"""Offload blocking work from coroutines: runs of blocking statements become one module-level
sync helper awaited through a thread; `time.sleep` becomes the backend's sleep; a blocking call
in a statement that must stay (it awaits) is awaited through a thread on its own.

The plan is made on the stdlib ast of the whole file and applied as text edits, so everything not
rewritten keeps its bytes.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from asyncfix.engine.astutil import COMPREHENSIONS, FUNCS
from asyncfix.engine.source import Lines
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms.backend import Backend
from asyncfix.transforms.names import accesses, definitely_bound, pattern_names, swallows

_BUILTINS = frozenset(dir(builtins))
PROCESS_CATEGORIES = frozenset({"docling", "image", "pdf"})  # CPU-bound: `--offload process`
_LOOPS = (ast.For, ast.While)
_ASYNC_NODES = (ast.Await, ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom,
                ast.AsyncFunctionDef)


@dataclass
class Edit:
    start: int  # character offsets into the original text
    end: int
    text: str


@dataclass
class Plan:
    edits: list[Edit] = field(default_factory=list)
    helpers: list[tuple[int, str]] = field(default_factory=list)  # (insert offset, helper source)
    fixed: list[RawFinding] = field(default_factory=list)
    unfixable: list[tuple[RawFinding, str]] = field(default_factory=list)


class Offsets:
    """ast (line, byte column) -> character offset into the text."""

    def __init__(self, lines: Lines):
        self.lines = lines
        self.starts = lines.starts

    def at(self, lineno: int, byte_col: int) -> int:
        return self.starts[lineno - 1] + self.lines.char_col(lineno, byte_col)

    def line_start(self, lineno: int) -> int:
        return self.starts[lineno - 1]

    def line_end(self, lineno: int) -> int:  # after the line's end-of-line characters
        return self.starts[lineno]


def _pos(node: ast.AST) -> tuple[int, int, int, int]:
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)


def _inside(inner: ast.AST, outer: ast.AST) -> bool:
    a, b = _pos(inner), _pos(outer)
    return (a[0], a[1]) >= (b[0], b[1]) and (a[2], a[3]) <= (b[2], b[3])


class FunctionOffloader:
    """Plans the rewrite of one coroutine (its own body, not nested functions)."""

    def __init__(self, module: "ModuleOffloader", func: ast.AsyncFunctionDef, helper_base: str,
                 findings: list[RawFinding], in_class: bool = False):
        self.module = module
        self.func = func
        self.helper_base = helper_base
        self.findings = findings
        self.plan = module.plan
        self.declared = {n for node in ast.walk(func) if isinstance(node, (ast.Global, ast.Nonlocal))
                         for n in node.names}
        self.locals = _function_locals(func) - self.declared
        self.parents = _parents(func)
        self.in_class = in_class

    # -- statements ---------------------------------------------------------------------------
    def run(self) -> None:
        self.block(self.func.body, in_loop=False)

    def block(self, body: list[ast.stmt], in_loop: bool) -> None:
        run: list[ast.stmt] = []
        for stmt in body:
            found = self.findings_in(stmt)
            if found and self.is_sleep(stmt, found):
                self.flush(run, in_loop)
                run = []
                self.sleep(stmt, found[0])
            elif found and all(self.literal_sleep(f) for f in found):
                # `while not done(): time.sleep(1)`: the sleep becomes async where it stands
                # rather than the loop holding a worker thread for its whole run.
                self.flush(run, in_loop)
                run = []
                self.descend(stmt, found, in_loop)
            elif found and self.extractable(stmt, found) is None:
                run.append(stmt)
            else:
                self.flush(run, in_loop)
                run = []
                if found:
                    self.descend(stmt, found, in_loop)
        self.flush(run, in_loop)

    def descend(self, stmt: ast.stmt, found: list[RawFinding], in_loop: bool) -> None:
        """A statement that must stay on the loop: rewrite its parts."""
        elif_ = None
        if isinstance(stmt, ast.If) and len(stmt.orelse) == 1 and self.is_elif(stmt.orelse[0]):
            elif_ = stmt.orelse[0]  # `elif` is not a statement of its own: descend into it
            inner = [f for f in found if _inside(f.node, elif_)]
            found = [f for f in found if f not in inner]
            self.descend(elif_, inner, in_loop)
        bodies = [getattr(stmt, name) for name in ("body", "orelse", "finalbody")
                  if isinstance(getattr(stmt, name, None), list)
                  and not (elif_ is not None and name == "orelse")]
        bodies += [h.body for h in getattr(stmt, "handlers", [])]
        bodies += [c.body for c in getattr(stmt, "cases", [])]
        nested = [f for f in found if any(any(_inside(f.node, s) for s in b) for b in bodies)]
        loop = in_loop or isinstance(stmt, (*_LOOPS, ast.AsyncFor))
        for body in bodies:
            self.block(body, loop)
        for finding in found:
            if finding not in nested:
                self.single_call(finding, stmt)

    def literal_sleep(self, finding: RawFinding) -> bool:
        return (finding.match.category.name == "sleep" and isinstance(finding.node, ast.Call)
                and _non_negative_literal(finding.node) and finding in self.module.selected)

    def lone_call(self, stmt: ast.stmt) -> bool:
        """A simple statement with one blocking call and nothing inside it that needs a helper."""
        found = self.findings_in(stmt)
        if len(found) != 1 or not isinstance(found[0].node, ast.Call):
            return False
        if not isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign)):
            return False
        parents = _parents(stmt)
        node = found[0].node
        while node in parents:  # inside a comprehension or lambda: the whole statement moves
            node = parents[node]
            if isinstance(node, (*COMPREHENSIONS, ast.Lambda)):
                return False
        return True

    def is_elif(self, node: ast.stmt) -> bool:
        return isinstance(node, ast.If) and self.module.lines.line(node.lineno).lstrip().startswith("elif")

    def findings_in(self, stmt: ast.stmt) -> list[RawFinding]:
        return [f for f in self.findings if _inside(f.node, stmt)]

    def is_sleep(self, stmt: ast.stmt, found: list[RawFinding]) -> bool:
        return (len(found) == 1 and found[0].match.category.name == "sleep"
                and isinstance(stmt, ast.Expr) and stmt.value is found[0].node)

    def extractable(self, stmt: ast.stmt, found: list[RawFinding]) -> str | None:
        """Why this statement cannot move into a sync helper (None: it can)."""
        for finding in found:
            if finding.unfixable_reason or finding not in self.module.selected:
                return finding.unfixable_reason or "it also holds calls of other categories"
        for node in ast.walk(stmt):
            if isinstance(node, _ASYNC_NODES):
                return "it awaits or yields, which cannot happen in a thread"
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                return "it declares global or nonlocal names"
            if isinstance(node, ast.Delete) and any(isinstance(t, ast.Name) for t in node.targets):
                return "it deletes a local name"
        if _escapes(stmt):
            return "it holds break or continue for a loop outside it"
        if self.in_class and any(_private(n) for n in ast.walk(stmt)):
            return "it uses a class-private `__name`, which only resolves inside the class"
        if any(isinstance(n, ast.Return) for n in ast.walk(stmt)) and not _terminal(stmt):
            return "it returns from inside a block"
        lines = self.module.lines
        before = lines.line(stmt.lineno).encode("utf-8")[: stmt.col_offset]
        after = lines.line(stmt.end_lineno).encode("utf-8")[stmt.end_col_offset :].strip()
        if before.strip() or (after and not after.startswith(b"#") and after != b"\\"):
            return "it shares a line with another statement"
        return None

    def flush(self, run: list[ast.stmt], in_loop: bool) -> None:
        if not run:
            return
        if len(run) == 1 and (isinstance(run[0], ast.Return) or self.lone_call(run[0])):
            # `return json.loads(raw)`, `out = subprocess.check_output(cmd)`: one call, awaited
            # in a thread where it stands; no helper needed.
            for finding in self.findings_in(run[0]):
                if not any(f is not finding and _inside(finding.node, f.node)
                           for f in self.findings_in(run[0])):
                    self.single_call(finding, run[0], whole=len(self.findings_in(run[0])) == 1)
            return
        returns_at = [i for i, s in enumerate(run) if _terminal(s)]
        if returns_at and returns_at[0] != len(run) - 1:  # code after a return never runs
            head, tail = run[: returns_at[0] + 1], run[returns_at[0] + 1 :]
            self.flush(head, in_loop)
            for stmt in tail:
                self.give_up(stmt, "it is unreachable")
            return
        reason = self.extract(run, in_loop)
        if reason is not None:
            for stmt in run:
                self.give_up(stmt, reason)

    def give_up(self, stmt: ast.stmt, reason: str) -> None:
        for finding in self.findings_in(stmt):
            self.plan.unfixable.append((finding, reason))

    # -- helper extraction --------------------------------------------------------------------
    def extract(self, run: list[ast.stmt], in_loop: bool) -> str | None:
        first, last = run[0], run[-1]
        indent = self.module.lines.line(first.lineno)[: self.module.lines.char_col(first.lineno, first.col_offset)]
        if any(_has_multiline_string(s) for s in run) and len(indent) != 4:
            return "it holds a multi-line string whose text would change with the indentation"
        access = accesses(run)
        start_line = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])])
        assigned_declared = [n for n in access.binds if n in self.declared]
        if assigned_declared:
            return f"it assigns `{assigned_declared[0]}`, which the coroutine declares global or nonlocal"
        before = self.bound_before(first)
        wanted = set()
        for name in access.reads:
            if name in self.locals:
                if name in before:
                    wanted.add(name)
                elif name in access.reads_first:
                    return f"`{name}` may be unbound where it starts"
            elif name not in self.module.globals and name not in _BUILTINS or name in self.declared - self.module.globals:
                wanted.add(name)  # a variable of an enclosing function: pass its value
        caught = self.read_by_handlers(first)
        leaked = [n for n in access.binds if n in caught]
        if leaked:
            return f"an enclosing except/finally reads `{leaked[0]}`, which it would miss if the run raised"
        declared = [a.arg for a in self.func.args.posonlyargs + self.func.args.args + self.func.args.kwonlyargs]
        # The coroutine's own parameters first, in its order (`self` leads), then other locals.
        params = [n for n in declared if n in wanted] + [n for n in access.reads if n in wanted and n not in declared]
        ends_with_return = _terminal(last)
        returns: list[str] = []
        if not ends_with_return:
            later = self.read_outside(run, in_loop)
            returns = [n for n in access.binds if n in self.locals and n in later]
            definite = definitely_bound(run)
            for name in returns:
                if name not in definite and name not in params:
                    return f"`{name}` is assigned on some paths only"
        helper = self.module.helper_name(self.helper_base)
        offsets = self.module.offsets
        body_text = self.module.text[offsets.line_start(start_line) : offsets.line_end(last.end_lineno)]
        body_text = _reindent(body_text, indent, "    ")
        nl = self.module.newline
        if not body_text.endswith(("\n", "\r")):
            body_text += nl
        if returns:
            body_text += f"    return {', '.join(returns)}{nl}"
        source = self.module.format(f"def {helper}({', '.join(params)}):\n    pass\n", "")
        source = source[: source.rindex("pass")].rstrip(" ").replace("\n", nl) + body_text
        self.plan.helpers.append((self.module.helper_anchor(self.func), source))
        call = None
        if self.module.offload == "process" and self.process_safe(run, params):
            call = self.module.backend.run_in_process(helper, params)
        call = call or self.module.backend.run_in_thread(helper, params)
        if ends_with_return:
            line = f"return {call}"
        elif returns:
            line = f"{', '.join(returns)} = {call}"
        else:
            line = call
        eol = _eol(self.module.text, offsets.line_end(last.end_lineno))
        line = self.module.format(line + "\n", indent).rstrip("\n").replace("\n", eol or "\n")
        self.plan.edits.append(Edit(offsets.line_start(start_line), offsets.line_end(last.end_lineno),
                                    f"{line}{eol}"))
        for stmt in run:
            self.plan.fixed.extend(self.findings_in(stmt))
        return None

    def process_safe(self, run: list[ast.stmt], params: list[str]) -> bool:
        """Whether a run may go to another process: CPU-bound categories only, and nothing the
        coroutine would see changed in place (a process works on pickled copies): no `self`, no
        attribute or item assigned on a parameter, no method called on one."""
        found = [f for s in run for f in self.findings_in(s)]
        if not found or any(f.match.category.name not in PROCESS_CATEGORIES for f in found):
            return False
        if {"self", "cls"} & set(params):
            return False
        params = set(params)
        for stmt in run:
            for node in ast.walk(stmt):
                target = None
                if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                    for t in node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]:
                        if isinstance(t, (ast.Attribute, ast.Subscript)):
                            target = t
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    target = node.func
                while isinstance(target, (ast.Attribute, ast.Subscript)):
                    target = target.value
                if isinstance(target, ast.Name) and target.id in params:
                    return False
        return True

    def bound_before(self, first: ast.stmt) -> set[str]:
        """Locals certainly bound when the run starts: parameters, what every path before it binds
        in each enclosing block, loop and `with` targets, handler names, match captures."""
        args = self.func.args
        out = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        out |= {a.arg for a in (args.vararg, args.kwarg) if a}
        node = first
        while node is not self.func and node in self.parents:
            parent = self.parents[node]
            for name in ("body", "orelse", "finalbody"):
                block = getattr(parent, name, None)
                if isinstance(block, list) and any(s is node for s in block):
                    out |= definitely_bound(block[: [id(s) for s in block].index(id(node))])
            if isinstance(parent, (ast.For, ast.AsyncFor)) and any(s is node for s in parent.body):
                out |= {n.id for n in ast.walk(parent.target) if isinstance(n, ast.Name)}
            elif isinstance(parent, (ast.With, ast.AsyncWith)):
                for item in parent.items:
                    if item.optional_vars is not None:
                        out |= {n.id for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name)}
            elif isinstance(parent, ast.ExceptHandler) and parent.name:
                out.add(parent.name)
            elif isinstance(parent, ast.match_case):
                out |= pattern_names(parent.pattern)
            node = parent
        return out

    def read_by_handlers(self, first: ast.stmt) -> set[str]:
        """Names read by the except/finally blocks of every `try` whose body holds the run."""
        out, node = set(), first
        while node is not self.func and node in self.parents:
            parent = self.parents[node]
            if isinstance(parent, ast.Try) and any(s is node for s in parent.body):
                for part in [*parent.handlers, *parent.finalbody]:
                    out |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            node = parent
        return out

    def read_outside(self, run: list[ast.stmt], in_loop: bool) -> set[str]:
        """Names the coroutine reads after the run (anywhere, if the run is inside a loop)."""
        end = (run[-1].end_lineno, run[-1].end_col_offset)
        out = set()
        for node in ast.walk(self.func):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if any(_inside(node, s) for s in run):
                    continue
                if in_loop or (node.lineno, node.col_offset) >= end:
                    out.add(node.id)
        return out

    # -- single calls -------------------------------------------------------------------------
    def sleep(self, stmt: ast.Expr, finding: RawFinding) -> None:
        call = finding.node
        if not _non_negative_literal(call):
            # time.sleep(-1) raises ValueError, asyncio.sleep(-1) returns: keep the call, threaded.
            self.single_call(finding, stmt)
            return
        offsets = self.module.offsets
        start = offsets.at(call.lineno, call.col_offset)
        func_end = offsets.at(call.func.end_lineno, call.func.end_col_offset)
        self.plan.edits.append(Edit(start, func_end, f"await {self.module.backend.sleep()}"))
        self.plan.fixed.append(finding)

    def single_call(self, finding: RawFinding, stmt: ast.stmt, whole: bool = False) -> None:
        """`if os.path.exists(p):` in a statement that awaits: await that one call in a thread."""
        call = finding.node
        if finding.unfixable_reason or finding not in self.module.selected:
            if finding.unfixable_reason:
                self.plan.unfixable.append((finding, finding.unfixable_reason))
            return
        if not isinstance(call, ast.Call):
            self.plan.unfixable.append((finding, "it is passed as a callback, not called here"))
            return
        parents = _parents(stmt)
        node, context = call, None
        while node in parents:
            parent = parents[node]
            if isinstance(parent, (*COMPREHENSIONS, ast.Lambda)):
                self.plan.unfixable.append((finding, "it runs inside a comprehension or lambda of a "
                                                      "statement that also awaits"))
                return
            if context is None:
                context = parent
            node = parent
        inner = [f for f in self.findings if f is not finding and _inside(f.node, call)]
        if inner or any(isinstance(n, ast.Await) for n in ast.walk(call)):
            self.plan.unfixable.append((finding, "its arguments block or await too"))
            return
        text, offsets = self.module.text, self.module.offsets
        segment = lambda n: text[offsets.at(n.lineno, n.col_offset) : offsets.at(n.end_lineno, n.end_col_offset)]
        args = [segment(a) for a in call.args] + [
            (f"{k.arg}={segment(k.value)}" if k.arg else f"**{segment(k.value)}") for k in call.keywords]
        replacement = self.module.backend.await_in_thread(segment(call.func), args, call.keywords)
        if isinstance(context, (ast.Attribute, ast.Subscript)) or (
                isinstance(context, ast.Call) and context.func is call):
            replacement = f"({replacement})"
        start = offsets.at(call.lineno, call.col_offset)
        end = offsets.at(call.end_lineno, call.end_col_offset)
        first, last = offsets.line_start(stmt.lineno), offsets.line_end(stmt.end_lineno)
        new_stmt = text[first:start] + replacement + text[end:last]
        if whole and (stmt.lineno != stmt.end_lineno or max(map(len, new_stmt.splitlines())) > self.module.line_length):
            # The statement is generated code now (the call's lines were joined): black formats it.
            indent = new_stmt[: len(new_stmt) - len(new_stmt.lstrip())]
            eol = _eol(text, last)
            formatted = self.module.format(new_stmt.strip() + "\n", indent).rstrip("\n")
            self.plan.edits.append(Edit(first, last, formatted.replace("\n", eol or "\n") + eol))
        else:
            self.plan.edits.append(Edit(start, end, replacement))
        self.plan.fixed.append(finding)


class ModuleOffloader:
    def __init__(self, text: str, tree: ast.Module, lines: Lines, selected: list[RawFinding],
                 backend: Backend, line_length: int = 88, newline: str = "\n", offload: str = "thread"):
        self.text = text
        self.tree = tree
        self.lines = lines
        self.offsets = Offsets(lines)
        self.selected = selected
        self.backend = backend
        self.line_length = line_length
        self.newline = newline
        self.offload = offload
        self.plan = Plan()
        self.globals = _module_names(tree)
        self.taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.name for n in ast.walk(tree) if isinstance(n, (*FUNCS, ast.ClassDef))}

    def format(self, code: str, indent: str) -> str:
        """Code the rewrite generates, formatted by black at the project's line length and
        indented to its place; the user's own lines are moved byte for byte, never reformatted."""
        try:
            import black

            mode = black.Mode(line_length=max(20, self.line_length - len(indent.expandtabs())))
            code = black.format_str(code, mode=mode)
        except Exception:  # black missing or refusing: generated code is valid as it stands
            pass
        return "".join(indent + line if line.strip() else line for line in code.splitlines(keepends=True))

    def helper_name(self, base: str) -> str:
        name, n = base, 2
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name

    def helper_anchor(self, func: ast.AST) -> int:
        """Helpers go right after the top-level statement that holds the coroutine."""
        for stmt in self.tree.body:
            if _inside(func, stmt):
                return self.offsets.line_end(stmt.end_lineno)
        return len(self.text)

    def run(self, all_findings: list[RawFinding]) -> Plan:
        for func, prefix in _coroutines(self.tree):
            own = [f for f in all_findings if _inside(f.node, func) and _innermost(f.node, func)]
            if any(f in self.selected for f in own):
                base = f"_{func.name}_sync"
                FunctionOffloader(self, func, base, own, bool(prefix)).run()
        return self.plan


def _module_names(tree: ast.Module) -> set[str]:
    """Names bound at module level: a helper (module-level itself) sees them without parameters."""
    from asyncfix.engine.astutil import flat_statements

    out = set()
    for stmt in flat_statements(tree.body):
        if isinstance(stmt, (*FUNCS, ast.ClassDef)):
            out.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).partition(".")[0] for a in stmt.names if a.name != "*"}
        else:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    out.add(node.id)
                elif isinstance(node, (*FUNCS, ast.ClassDef)):
                    break
    for node in ast.walk(tree):  # `global x` in any function makes x a module name
        if isinstance(node, ast.Global):
            out |= set(node.names)
    return out


def _coroutines(tree: ast.Module):
    """Every async def, with a prefix naming its class for methods (helpers are module-level)."""
    stack = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.AsyncFunctionDef):
                yield child, prefix
                stack.append((child, prefix))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, f"{prefix}{child.name}_"))
            elif isinstance(child, (ast.FunctionDef, ast.stmt)):
                stack.append((child, prefix))


def _innermost(node: ast.AST, func: ast.AsyncFunctionDef) -> bool:
    """Whether ``func`` is the innermost function around ``node``."""
    for child in ast.walk(func):
        if child is not func and isinstance(child, (*FUNCS, ast.Lambda)) and _inside(node, child):
            return isinstance(child, ast.Lambda)  # lambdas belong to the enclosing coroutine
    return True


def _function_locals(func) -> set[str]:
    args = func.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a}
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).partition(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, (*FUNCS, ast.ClassDef)) and node is not func:
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.match_case):
            names |= pattern_names(node.pattern)
    return names


def _terminal(stmt: ast.stmt) -> bool:
    """A return, or a `with` block whose last statement returns and that returns nowhere else:
    every path through it that does not raise returns."""
    if isinstance(stmt, ast.Return):
        return True
    if isinstance(stmt, ast.With) and stmt.body and _terminal(stmt.body[-1]) and not swallows(stmt):
        returns = [n for n in ast.walk(stmt) if isinstance(n, ast.Return)]
        return len(returns) == 1
    return False


def _non_negative_literal(call: ast.Call) -> bool:
    if len(call.args) != 1 or call.keywords:
        return False
    try:
        value = ast.literal_eval(call.args[0])
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _private(node: ast.AST) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name.startswith("__") and not name.endswith("__")


def _escapes(stmt: ast.stmt) -> bool:
    """A break/continue whose loop is outside the statement."""
    def visit(node, in_loop):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Break, ast.Continue)) and not in_loop:
                return True
            if isinstance(child, (*FUNCS, ast.ClassDef, ast.Lambda)):
                continue
            if visit(child, in_loop or isinstance(child, _LOOPS)):
                return True
        return False
    if isinstance(stmt, (ast.Break, ast.Continue)):
        return True
    return visit(stmt, isinstance(stmt, _LOOPS))


def _has_multiline_string(stmt: ast.stmt) -> bool:
    return any(isinstance(n, (ast.Constant, ast.JoinedStr)) and n.end_lineno != n.lineno
               and (isinstance(n, ast.JoinedStr) or isinstance(n.value, (str, bytes)))
               for n in ast.walk(stmt))


def _reindent(text: str, old: str, new: str) -> str:
    if old == new:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        out.append(new + line[len(old):] if line.startswith(old) else line)
    return "".join(out)


def _eol(text: str, end: int) -> str:
    if text.endswith("\r\n", 0, end):
        return "\r\n"
    if end and text[end - 1] in "\r\n":
        return text[end - 1]
    return ""


def _parents(root: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(root) for child in ast.iter_child_nodes(node)}
