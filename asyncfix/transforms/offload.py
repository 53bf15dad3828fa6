"""Offload blocking work from coroutines: runs of blocking statements become one module-level
sync helper awaited through a thread; `time.sleep` becomes the backend's sleep; a blocking call
in a statement that must stay on the loop is awaited through a thread on its own.

Only what is known to be safe moves. Each hazard has its own module: the data flow of locals,
exceptions included (`flow`), work that belongs to the loop (`loopbound`), sync locks (`locks`),
check-then-act sections a hop would split (`atomicity`), lazily evaluated calls (`laziness`),
helper names and places (`placement`). Where a statement cannot move whole, its blocking calls
are offloaded one by one; a call left as is gets the true reason. "Atoms" (a sqlite3
connection's block: `sqlite_thread`) move whole in one run or stay, never call by call.

The plan is made on the stdlib ast of the whole file and applied as text edits, so everything not
rewritten keeps its bytes.
"""

from __future__ import annotations

import ast
import bisect
import functools
from dataclasses import dataclass, field, replace

from asyncfix.codemods import CATEGORIES
from asyncfix.engine.astutil import (FUNCS, child_nodes, first_param, inside, name_nodes, parent_map, statements,
                                     walk)
from asyncfix.engine.source import Lines
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms.atomicity import Around, header, split_reason
from asyncfix.transforms.backend import Backend
from asyncfix.transforms.callers import around
from asyncfix.transforms.callsite import offloaded, wrapped
from asyncfix.transforms import json_forms
from asyncfix.transforms.flow import Flow, run_facts
from asyncfix.transforms.glue import feeding, is_glue, is_lead
from asyncfix.transforms.laziness import ENTERED, LAZY_RESULTS, consumed_in, lazy_in
from asyncfix.transforms.locks import is_sync_lock, lock_names
from asyncfix.transforms.loopbound import ModuleLoopInfo, framework_params, loop_bound, loop_objects
from asyncfix.transforms.mutation import Mutations
from asyncfix.transforms.names import accesses, pattern_names
from asyncfix.transforms.quiet import Coroutines
from asyncfix.transforms.placement import (anchor, annotation_fits, first_bindings, future_annotations,
                                           helper_base)
from asyncfix.transforms.sharing import Sharing, walk_own, module_functions
from asyncfix.transforms.swallow import may_swallow

CHECKLIST_ORDER = {c.name: i for i, c in enumerate(CATEGORIES)}
PROCESS_CATEGORIES = frozenset({"docling", "image", "pdf", "json"})  # CPU-bound: `--offload process`
# what may come along into the process with CPU-bound work: a file read or written there is the same file
PROCESS_COMPANIONS = frozenset({"file-io"})
_LOOPS = (ast.For, ast.While)
_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match)
_SIMPLE_ASSIGN = (ast.Assign, ast.AnnAssign, ast.AugAssign)
_SLEEPS_ONLY = "its only blocking calls are sleeps, which become async sleeps where they stand"
_LAZY = "it returns a lazy iterator: its work (reading the disk or the server) happens where it is consumed, on the loop"
_ENTERED = "it returns a context manager that makes the request when entered, on the loop"
ATOM_STAYS = ("sqlite3 objects cannot cross threads, so a connection's block (or a shared one's stretch "
              "of uses) moves to a thread whole or not at all, and this one cannot move")
MOVES_WITH = "it moves with the `{}` change: its statements' first category in checklist order"
ALONE = "a sqlite3 object refuses use from any thread but the one that made it"
_CONSUMING = frozenset({"sorted", "min", "max", "map", "filter", "sort", "any", "all", "sum", "list"})


@dataclass
class Edit:
    start: int  # character offsets into the original text
    end: int
    text: str
    findings: list[RawFinding] = field(default_factory=list)  # what a single-call edit moves
    json_needs: set[str] = field(default_factory=set)  # module helpers (or "orjson") its text uses


@dataclass
class Plan:
    edits: list[Edit] = field(default_factory=list)
    helpers: list[tuple[int, str, bool, int]] = field(default_factory=list)  # (offset, source, before, its call)
    fixed: list[RawFinding] = field(default_factory=list)
    unfixable: list[tuple[RawFinding, str]] = field(default_factory=list)


@dataclass
class Helper:
    """A helper planned for a run; named and written once every helper of the module is known."""

    base: str
    position: tuple[int, int]  # where the run starts: helpers are numbered in source order
    anchor: tuple[int, bool]
    params: list[str]  # `name` or `name: annotation`
    args: list[str]
    body: str  # the run's own lines, re-indented
    returns: list[str]
    call_start: int
    call_end: int
    indent: str
    eol: str
    terminal: bool
    process: bool
    name: str = ""
    findings: list[RawFinding] = field(default_factory=list)  # the run's
    json_needs: set[str] = field(default_factory=set)  # module helpers (or "orjson") its body uses


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


@dataclass(frozen=True)
class _BoundBefore:
    first: dict  # name -> line of the first top-level statement binding it
    line: int

    def __contains__(self, name: str) -> bool:
        return self.first.get(name, self.line) < self.line


class FunctionOffloader:
    """Plans the rewrite of one coroutine (its own body, not nested functions)."""

    def __init__(self, module: "ModuleOffloader", func: ast.AsyncFunctionDef, class_names: list[str],
                 enclosing: set[str], findings: list[RawFinding]):
        self.module = module
        self.func = func
        self.class_names = class_names
        self.findings = findings
        self.plan = module.plan
        args = func.args
        self.params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        self.params += [a.arg for a in (args.vararg, args.kwarg) if a]
        self.annotations = {a.arg: a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs
                            + [x for x in (args.vararg, args.kwarg) if x] if a.annotation is not None}
        self.declared = {n for node in walk_own(func) if isinstance(node, (ast.Global, ast.Nonlocal))
                         for n in node.names if node is not func}
        self.locals = _own_locals(func) - self.declared
        self.enclosing = (enclosing - self.locals) | {
            n for node in walk_own(func) if isinstance(node, ast.Nonlocal) for n in node.names}
        self.cells, self.written_by_closures = _closure_names(func, self.locals)
        self.parents = module.parents(func)
        self.sharing = replace(
            Sharing.of(func, self.params, self.locals, module.module_vars | self.enclosing,
                       module.functions, module.coroutines, module.module_vars),
            self_name=_self_name(func, class_names), class_names=module.class_names)
        self.silent = module.coroutines.silent(func)  # awaits of coroutines that never suspend
        self.framework = framework_params(func)
        self.loop_names = loop_objects(func, module.loop_info)
        self.in_class = bool(class_names)
        self.self_name = self.sharing.self_name
        # Findings by the statements that hold them: every lookup below is by statement.
        self.by_stmt: dict[int, list[RawFinding]] = {}
        for finding in findings:
            node = finding.node
            while node in self.parents:
                node = self.parents[node]
                if isinstance(node, ast.stmt):
                    self.by_stmt.setdefault(id(node), []).append(finding)
        self.blocking = {id(f.node) for f in findings}
        self.hops: set[int] = set()  # statements planned to await so far, in source order
        self.given: set[int] = set()  # findings given up
        self.leads: set[int] = set()  # assignments put ahead of a run's first blocking statement

    @functools.cached_property
    def flow(self) -> Flow:
        """The data flow of the coroutine's locals: made only for a run that gets this far in
        `extract` (about half the coroutines offload no run)."""
        return Flow(self.func.body, set(self.params))

    # -- statements ---------------------------------------------------------------------------
    def run(self) -> None:
        self.block(self.func.body)

    def findings_in(self, stmt: ast.AST) -> list[RawFinding]:
        return self.by_stmt.get(id(stmt), [])

    def block(self, body: list[ast.stmt]) -> None:
        run: list[ast.stmt] = []
        glue: list[ast.stmt] = []  # plain assignments after the run, joining it if more follows
        lead: list[ast.stmt] = []  # assignments before any run that may compute its inputs
        index = 0
        while index < len(body):
            stmt = body[index]
            atom = self.module.atoms.get(id(stmt))
            if atom is not None:  # its statements follow it in ``body``
                index += len(atom)
                reason = next(filter(None, (self.movable(s, self.findings_in(s), atom=True) for s in atom)), None)
                if reason is None:
                    run += glue + atom
                    glue = []
                    continue
                self.flush(run)
                run, glue = [], []
                self.give_up_atom(atom, reason)
                continue
            index += 1
            found = self.findings_in(stmt)
            reason = self.movable(stmt, found) if found else "no blocking call"
            if found and reason is None:
                if not run:  # which of them feed the run is known when it ends (`flush`)
                    run = list(lead)
                    self.leads.update(id(s) for s in lead)
                run += glue + [stmt]
                glue, lead = [], []
                if self.tail_return(stmt) is not None:  # its inner returns need the tail's
                    run.append(body[index])
                    index += 1
                continue
            if not found and run and self.is_glue(stmt):
                glue.append(stmt)
                continue
            self.flush(run)
            run, glue = [], []
            lead = lead + [stmt] if not found and self.is_lead(stmt) else []
            if found:
                self.fallback(stmt, found, reason)
        self.flush(run)

    def is_glue(self, stmt: ast.stmt) -> bool:
        """A plain assignment (`glue`) that could run in a thread as it is."""
        return is_glue(stmt) and self.movable(stmt, [], atom=True) is None

    def typed_later(self, run: list[ast.stmt]) -> bool:
        """Whether a blocking call after ``run`` uses a name that a lead of it binds: returned
        from the helper, the name would lose the type the analysis knew (`p = Path(x)` before a
        `p.glob()` that stays), and the call would no longer be found."""
        end = (run[-1].end_lineno, run[-1].end_col_offset)
        bound = {n for s in run if id(s) in self.leads for n in accesses([s]).binds}
        return any((f.node.lineno, f.node.col_offset) >= end
                   and any(isinstance(n, ast.Name) and n.id in bound for n in walk(f.node))
                   for f in self.findings)

    def is_lead(self, stmt: ast.stmt) -> bool:
        """An assignment that computes what a run then uses (`glue.is_lead`), movable as it is."""
        return is_lead(stmt) and self.movable(stmt, [], atom=True) is None

    def movable(self, stmt: ast.stmt, found: list[RawFinding], atom: bool = False) -> str | None:
        """Why this statement cannot move into a sync helper whole (None: it can). A statement
        of an atom may hold no blocking call."""
        for finding in found:
            if finding.unfixable_reason or id(finding) not in self.module.selected_ids:
                return finding.unfixable_reason or "it also holds calls of other categories"
            if finding.match.category.name == "sqlite" and not atom:
                return ALONE
        sleeps = [f for f in found if f.match.category.name == "sleep"]
        if len(sleeps) == len(found) and not atom:
            return _SLEEPS_ONLY
        if sleeps and any(isinstance(n, _LOOPS) for n in walk(stmt)):
            return "it is a loop that sleeps (a retry or poll): its waits belong on the loop"
        own = walk_own(stmt)
        for node in own:
            if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom)):
                return "it awaits or yields, which cannot happen in a thread"
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                return "it declares global or nonlocal names"
            if isinstance(node, ast.Delete) and any(isinstance(t, ast.Name) for t in node.targets):
                return "it deletes a local name"
            if isinstance(node, ast.Name) and node.id in ("super", "__class__") and self.in_class:
                return "it uses `super()`, which works only inside the class"
            if isinstance(node, ast.Name) and node.id in self.written_by_closures:
                return f"a closure of the coroutine assigns `{node.id}` (nonlocal), which a helper cannot see"
            if isinstance(node, ast.Lambda) and not self.consumed_lambda(node):
                return "it makes a lambda that could outlive the helper's variables"
            if isinstance(node, ast.GeneratorExp) and not consumed_in(node, stmt, self.parents) \
                    and self.reads_locals_later(node):
                return "it makes a generator that would read the helper's variables when consumed"
            if isinstance(node, (*FUNCS, ast.ClassDef)) and node is not stmt:
                return "it defines a function or class that would close over the helper's variables"
        if isinstance(stmt, (*FUNCS, ast.ClassDef)):
            return "it defines a function or class"
        if _escapes(stmt):
            return "it holds break or continue for a loop outside it"
        if self.in_class and any(_private(n) for n in own):
            return "it uses a class-private `__name`, which only resolves inside the class"
        if any(isinstance(n, ast.Return) for n in own) and not _terminal(stmt) \
                and (atom or self.tail_return(stmt) is None):
            return "it returns from inside a block"
        for finding in found:
            if lazy_in(stmt, finding.node, self.parents):
                return "it builds a generator or map that would run its blocking calls later, where consumed"
            if finding.name in LAZY_RESULTS and not consumed_in(finding.node, stmt, self.parents):
                return _LAZY
        reason = loop_bound(stmt, self.module.loop_info, self.framework, self.sharing, self.blocking,
                            self.loop_names)
        if reason:
            return reason
        lines = self.module.lines
        before = lines.line(stmt.lineno).encode("utf-8")[: stmt.col_offset]
        after = lines.line(stmt.end_lineno).encode("utf-8")[stmt.end_col_offset :].strip()
        if before.strip() or (after and not after.startswith(b"#") and after != b"\\"):
            return "it shares a line with another statement"
        return None

    def tail_return(self, stmt: ast.stmt) -> ast.Return | None:
        """The coroutine's last statement, `return <name or constant>`, when ``stmt`` comes right
        before it in the coroutine's own body: then every return inside ``stmt`` ends the
        coroutine too, and both move into one helper whose result the coroutine returns."""
        body = self.func.body
        if len(body) < 2 or body[-2] is not stmt or not any(isinstance(n, ast.Return) for n in walk_own(stmt)):
            return None
        last = body[-1]
        if isinstance(last, ast.Return) and (last.value is None or isinstance(last.value, (ast.Name, ast.Constant))):
            return last
        return None

    def reads_locals_later(self, gen: ast.GeneratorExp) -> bool:
        """Whether a generator expression reads coroutine locals after it is made (all but its
        first iterable run lazily)."""
        own = {n.id for g in gen.generators for n in walk(g.target) if isinstance(n, ast.Name)}
        lazy = [gen.elt, *(c for g in gen.generators for c in g.ifs), *(g.iter for g in gen.generators[1:])]
        return any(isinstance(n, ast.Name) and n.id in self.locals and n.id not in own
                   for part in lazy for n in walk(part))

    def consumed_lambda(self, node: ast.Lambda) -> bool:
        """A lambda handed straight to a call that uses it at once (`sorted(key=...)`)."""
        parent = self.parents.get(node)
        if isinstance(parent, ast.keyword):
            parent = self.parents.get(parent)
        if not isinstance(parent, ast.Call):
            return False
        func = parent.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in _CONSUMING

    def fallback(self, stmt: ast.stmt, found: list[RawFinding], reason: str) -> None:
        """A statement that stays on the loop: its parts move, or its calls one by one."""
        if is_sync_lock(stmt, self.module.locks):
            for finding in found:
                self.give_up(finding, f"a sync lock is held here, and the block cannot move whole: {reason}")
            return
        if isinstance(stmt, _COMPOUND) or type(stmt).__name__ == "TryStar":
            self.descend(stmt, found)
            return
        self.single_calls(stmt, found, None if reason is _SLEEPS_ONLY else reason)

    def single_calls(self, stmt: ast.stmt, found: list[RawFinding], reason: str | None) -> None:
        # Innermost calls first: an outer call's arguments then hold the inner call's rewrite.
        for finding in sorted(found, key=lambda f: _size(f.node)):
            why = self.single_call(finding, stmt)
            if why is not None:
                self.give_up(finding, f"{reason}; alone, {why}" if reason and reason != why else why)

    def descend(self, stmt: ast.stmt, found: list[RawFinding]) -> None:
        elif_ = None
        if isinstance(stmt, ast.If) and len(stmt.orelse) == 1 and self.is_elif(stmt.orelse[0]):
            elif_ = stmt.orelse[0]  # `elif` is not a statement of its own: descend into it
            inner = [f for f in found if inside(f.node, elif_)]
            found = [f for f in found if not any(f is g for g in inner)]
            if inner:
                self.descend(elif_, inner)
        bodies = [getattr(stmt, name) for name in ("body", "orelse", "finalbody")
                  if isinstance(getattr(stmt, name, None), list)
                  and not (elif_ is not None and name == "orelse")]
        bodies += [h.body for h in getattr(stmt, "handlers", [])]
        bodies += [c.body for c in getattr(stmt, "cases", [])]
        nested = {id(f) for b in bodies for s in b for f in self.findings_in(s)}
        for body in bodies:
            self.block(body)
        header = [f for f in found if id(f) not in nested]
        if header:
            self.single_calls(stmt, header, None)

    def is_elif(self, node: ast.stmt) -> bool:
        return isinstance(node, ast.If) and self.module.lines.line(node.lineno).lstrip().startswith("elif")

    def give_up(self, finding: RawFinding, reason: str) -> None:
        if id(finding) not in self.given:  # an atom's calls are given up first, with its reason
            self.given.add(id(finding))
            self.plan.unfixable.append((finding, reason))

    def give_up_atom(self, atom: list[ast.stmt], reason: str) -> None:
        """The atom stays on the loop: its sqlite calls with the reason, its other calls as
        any statement's."""
        for stmt in atom:
            for finding in self.findings_in(stmt):
                if finding.match.category.name == "sqlite":
                    self.give_up(finding, f"{ATOM_STAYS}: {reason}")
        for stmt in atom:
            others = [f for f in self.findings_in(stmt) if id(f) not in self.given]
            if others:
                self.fallback(stmt, others, reason)

    def ancestors(self, node: ast.AST, stop: ast.AST):
        while node in self.parents and node is not stop:
            node = self.parents[node]
            yield node

    def lock_held(self, node: ast.AST) -> bool:
        while node in self.parents:
            node = self.parents[node]
            if is_sync_lock(node, self.module.locks):
                return True
        return False

    def hop_reason(self, stmts: list[ast.stmt], inner: list[ast.AST], what: str = "a thread hop") -> str | None:
        """Why a new await (a thread hop, an async sleep) may not go here."""
        if self.lock_held(stmts[0]):
            return f"a sync lock is held here, and {what} under it can deadlock the loop"
        if what == "a thread hop":
            reads, _ = self.sharing.accesses(inner, self.blocking, strict=False)
            changed = reads and self.module.mutations.changed(
                reads, self.self_name, self.class_names[-1] if self.class_names else None)
            if changed:
                return (f"it reads `{changed}` in a thread while other code of this module changes it "
                        f"on the loop (a torn read, or 'changed size during iteration')")
        return split_reason(stmts, inner, self.func, self.parents, self.sharing, self.blocking, what,
                            self.silent, self.module.around(self.func), frozenset(self.hops))

    # -- runs ---------------------------------------------------------------------------------
    def flush(self, run: list[ast.stmt]) -> None:
        leads = next((i for i, s in enumerate(run) if id(s) not in self.leads), len(run))
        if leads:  # only those that compute what the rest of the run reads, and only into a
            # helper: a lone call stays one call awaited where it stands
            rest = run[leads:]
            kept = feeding(run[:leads], rest) if not self.alone(rest) else []
            if kept and self.typed_later(kept + rest):
                kept = []
            run = kept + rest
        if not any(self.findings_in(s) for s in run):  # glue alone stays where it is
            return
        if self.alone(run):
            # `return json.loads(raw)`, `out = subprocess.check_output(cmd)`: one call, awaited
            # in a thread where it stands; no helper needed.
            self.single_calls(run[0], self.findings_in(run[0]), None)
            return
        returns_at = [i for i, s in enumerate(run) if _terminal(s)]
        if returns_at and returns_at[0] != len(run) - 1:  # code after a return never runs
            self.flush(run[: returns_at[0] + 1])
            for stmt in run[returns_at[0] + 1 :]:
                for finding in self.findings_in(stmt):
                    self.give_up(finding, "it is unreachable")
            return
        reason = self.extract(run)
        if reason is None:
            return
        if id(run[0]) in self.leads:  # the leads may be what stops it (`files` maybe unbound)
            self.leads.difference_update(id(s) for s in run)
            self.flush(run[next(i for i, s in enumerate(run) if self.findings_in(s)):])
            return
        segments = self.glue_free(run)
        if len(segments) > 1:  # or the glue: the runs between it as they were without
            for segment in segments:
                self.flush(segment)
            return
        units = self.units(run)
        if len(units) > 1:  # each statement (or atom) on its own may still move
            for unit in units:
                self.flush(unit)
            return
        if id(run[0]) in self.module.atoms:
            self.give_up_atom(run, reason)
            return
        self.fallback(run[0], self.findings_in(run[0]), reason)

    def glue_free(self, run: list[ast.stmt]) -> list[list[ast.stmt]]:
        """``run`` cut at its glue (statements without blocking calls that are not an atom's or
        the coroutine's last return, which stays with the statement before it)."""
        in_atoms = {id(s) for atom in self.module.atoms.values() for s in atom}
        segments: list[list[ast.stmt]] = [[]]
        for stmt in run:
            if self.findings_in(stmt) or id(stmt) in in_atoms or isinstance(stmt, ast.Return):
                segments[-1].append(stmt)
            elif segments[-1]:
                segments.append([])
        return [seg for seg in segments if seg]

    def units(self, run: list[ast.stmt]) -> list[list[ast.stmt]]:
        """``run`` cut into statements, an atom's statements kept together."""
        units, index = [], 0
        while index < len(run):
            size = len(self.module.atoms.get(id(run[index]), [run[index]]))
            units.append(run[index:index + size])
            index += size
        return units

    def alone(self, run: list[ast.stmt]) -> bool:
        """A run of one statement holding one call, awaited where it stands (no helper)."""
        return len(run) == 1 and id(run[0]) not in self.module.atom_locks and self.lone_call(run[0])

    def lone_call(self, stmt: ast.stmt) -> bool:
        """A simple statement with one blocking call, nothing inside it that needs a helper."""
        found = self.findings_in(stmt)
        if len(found) != 1 or not isinstance(found[0].node, ast.Call) or found[0].name in LAZY_RESULTS | ENTERED:
            return False  # a lazy iterator moves only with what consumes it
        if not isinstance(stmt, (ast.Expr, ast.Return, *_SIMPLE_ASSIGN)):
            return False
        node = found[0].node
        while node in self.parents and node is not stmt:
            node = self.parents[node]
            if isinstance(node, (ast.GeneratorExp, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp)):
                return False
        return True

    def extract(self, run: list[ast.stmt]) -> str | None:
        """Plan the helper for ``run``; why it cannot be (None: planned)."""
        first, last = run[0], run[-1]
        lines = self.module.lines
        indent = lines.line(first.lineno)[: lines.char_col(first.lineno, first.col_offset)]
        locked = any(id(s) in self.module.atom_locks for s in run)  # its body goes under a `with`
        if any(_has_multiline_string(s) for s in run) and (len(indent) != 4 or locked):
            return "it holds a multi-line string whose text would change with the indentation"
        why = self.hop_reason(run, run)
        if why:
            return why
        if not _terminal(last) and any(isinstance(n, ast.Return) for s in run for n in walk_own(s)):
            return "it returns from inside a block"  # only a helper the coroutine returns may
        access = accesses(run)
        bound_here = [n for n in access.binds if n in self.locals or n in self.declared]
        assigned_declared = [n for n in bound_here if n in self.declared]
        if assigned_declared:
            return f"it assigns `{assigned_declared[0]}`, which the coroutine declares global or nonlocal"
        must, may = self.flow.must_before(first), self.flow.may_before(first)
        exposed, _ = run_facts(run, must)
        params = []
        for name in access.reads:
            if name not in exposed:
                continue
            if name in self.locals:
                if name in must:
                    params.append(name)
                elif name in may:
                    return f"`{name}` may be unbound where it starts"
                else:
                    return f"it reads `{name}` before the coroutine assigns it"
            elif name in self.enclosing:
                params.append(name)  # a variable of an enclosing function: pass its value
        terminal = _terminal(last)
        live_after, live_raised = self.flow.exits(run)
        raised_targets = bool(live_raised) or self.flow_has_handler(run)
        if raised_targets:
            live_raised = live_raised | self.cells
        binds = [n for n in bound_here if n in self.locals]
        returns: list[str] = []
        if terminal:
            lost = [n for n in binds if n in live_after]
            if lost:
                return f"a `finally` reads `{lost[0]}`, which it binds"
        else:
            later = live_after | self.cells
            returns = [n for n in binds if n in later]
            _, at_end = run_facts(run, frozenset(params))
            for name in returns:
                if name not in at_end:
                    if name in must:
                        params.append(name)  # bound before: passed in, it comes back either way
                    else:
                        return f"`{name}` is assigned on some paths only"
        exposed_on_error = [n for n in binds if n in live_raised]
        last_binds = set(accesses([last]).binds) if isinstance(last, _SIMPLE_ASSIGN) else set()
        only_last = set(accesses(run[:-1]).binds)
        for name in exposed_on_error:
            if name not in last_binds or name in only_last:
                return (f"if it raised, the code that handles the error would miss `{name}`, "
                        f"which it assigns")
        orphaned = self.orphaned(run, [n for n in binds if n not in returns])
        if orphaned:
            return (f"`{orphaned}` is read elsewhere in the coroutine and bound only here: moved, "
                    f"the coroutine would read a global `{orphaned}` instead")
        # The coroutine's own parameters first, in its order (`self` leads), then other locals.
        params = [p for p in self.params if p in params] + [p for p in params if p not in self.params]
        self.plan_helper(run, params, returns, terminal, indent)
        return None

    def orphaned(self, run: list[ast.stmt], names: list[str]) -> str | None:
        """A local among ``names`` that only ``run`` binds but that the coroutine reads elsewhere:
        once the run moves, Python no longer takes it as a local there (a walrus in a moved
        comprehension, a name the rest reads only where it would be unbound)."""
        if not names:
            return None
        inside = {id(n) for s in run for n in walk(s)}
        bound = _own_locals(self.func, inside)
        read = {n.id for n in walk_own(self.func) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Load) and id(n) not in inside}
        return next((n for n in names if n in read and n not in bound), None)

    def flow_has_handler(self, run: list[ast.stmt]) -> bool:
        """Whether an exception from the run is caught inside the coroutine (then closures may
        still be called afterwards)."""
        node = run[0]
        while node in self.parents and node is not self.func:
            parent = self.parents[node]
            if isinstance(parent, ast.Try) and any(s is node for s in parent.body):
                return True
            if isinstance(parent, (ast.With, ast.AsyncWith)):
                return True
            node = parent
        return False

    def plan_helper(self, run, params, returns, terminal, indent) -> None:
        module, offsets = self.module, self.module.offsets
        first, last = run[0], run[-1]
        start_line = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])])
        body_start = offsets.line_start(start_line)
        body = module.text[body_start : offsets.line_end(last.end_lineno)]
        body, json_needs = module.json_forms([f for stmt in run for f in self.findings_in(stmt)], body, body_start)
        locks = sorted({module.atom_locks[id(s)] for s in run if id(s) in module.atom_locks})
        body = _reindent(body, indent, "        " if locks else "    ")
        if not body.endswith(("\n", "\r")):
            body += module.newline
        if locks:  # one order everywhere: two helpers never wait on each other's lock
            body = f"    with {', '.join(locks)}:{module.newline}{body}"
        where = anchor(module.tree, self.func, offsets.starts, offsets.line_end, module.top_lines)
        known = module.names_before(where)
        lazy = module.lazy_annotations
        typed = []
        for name in params:
            ann = self.annotations.get(name)
            if ann is not None and annotation_fits(ann, lazy, known):
                typed.append(f"{name}: {module.segment(ann)}")
            else:
                typed.append(name)
        process = module.offload == "process" and self.process_safe(run, params)
        eol = _eol(module.text, offsets.line_end(last.end_lineno))
        module.helpers.append(Helper(
            helper_base(self.class_names, self.func.name), (first.lineno, first.col_offset), where,
            typed, params, body, returns, offsets.line_start(start_line),
            offsets.line_end(last.end_lineno), indent, eol, terminal, process,
            findings=[f for stmt in run for f in self.findings_in(stmt)], json_needs=json_needs))
        for stmt in run:
            self.plan.fixed.extend(self.findings_in(stmt))
            self.hops.add(id(stmt))  # awaited in the rewrite: later hops' sections end here

    def process_safe(self, run: list[ast.stmt], params: list[str]) -> bool:
        """Whether a run may go to another process: CPU-bound categories only, and nothing the
        coroutine would see changed in place (a process works on pickled copies): no `self`, no
        attribute or item assigned on a parameter, no method called on one, no context variable."""
        found = [f for s in run for f in self.findings_in(s)]
        kinds = {f.match.category.name for f in found}
        if not kinds & PROCESS_CATEGORIES or kinds - PROCESS_CATEGORIES - PROCESS_COMPANIONS:
            return False
        if {"self", "cls"} & set(params):
            return False
        params = set(params)
        for stmt in run:
            for node in walk(stmt):
                if isinstance(node, ast.Name) and node.id in self.module.loop_info.context_vars:
                    return False
                target = None
                if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                    for t in node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]:
                        if isinstance(t, (ast.Attribute, ast.Subscript)):
                            target = t
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    target = node.func
                    root = target.value
                    while isinstance(root, (ast.Attribute, ast.Subscript)):
                        root = root.value
                    if isinstance(root, ast.Name) and _immutable(self.annotations.get(root.id)):
                        target = None  # `dest.with_name(...)` on a `dest: Path`: nothing changes in place
                while isinstance(target, (ast.Attribute, ast.Subscript)):
                    target = target.value
                if isinstance(target, ast.Name) and target.id in params:
                    return False
        return True

    # -- single calls -------------------------------------------------------------------------
    def single_call(self, finding: RawFinding, stmt: ast.stmt) -> str | None:
        """Await one call in a thread where it stands (`time.sleep` becomes the async sleep);
        why it cannot be (None: done)."""
        call = finding.node
        if finding.unfixable_reason or id(finding) not in self.module.selected_ids:
            return finding.unfixable_reason or "it is not in the categories being fixed"
        if finding.match.category.name == "sqlite":
            return ALONE
        if not isinstance(call, ast.Call):
            return "it is passed as a callback, not called here"
        if finding.name in LAZY_RESULTS:
            return _LAZY
        if finding.name in ENTERED:
            return _ENTERED
        node = call
        while node in self.parents and node is not stmt:
            node = self.parents[node]
            if isinstance(node, (ast.GeneratorExp, ast.Lambda)):
                return "it runs inside a generator expression or lambda, where it cannot be awaited"
        if _unclosed_write(call, self.parents):
            return ("it opens a file for writing that nothing closes: today the file is closed (and "
                    "flushed) as the statement ends; offloaded alone, the thread's work item would keep "
                    "it open longer")
        why = self.hop_reason([stmt], [call], "an async sleep" if self.is_sleep(finding) else "a thread hop")
        if why:
            return why
        module, offsets, text = self.module, self.module.offsets, self.module.text
        start = offsets.at(call.lineno, call.col_offset)
        end = offsets.at(call.end_lineno, call.end_col_offset)
        func_end = offsets.at(call.func.end_lineno, call.func.end_col_offset)
        json_needs: set[str] = set()
        if self.is_sleep(finding):
            replacement = f"await {module.backend.sleep()}" + module.take(func_end, end)
        else:
            paren = text.index("(", func_end)
            args = module.take(paren + 1, end - 1)
            func = module.take(start, func_end)  # `Path.cwd().resolve()`: holds the inner rewrite
            func, json_needs = module.json_function(finding, func)
            partial = module.backend.partial() if call.keywords and module.backend.name != "asyncio" else None
            replacement = offloaded(module.backend.thread(), func, args, partial)
        parent = self.parents.get(call)
        if isinstance(parent, (ast.Attribute, ast.Subscript)) or (
                isinstance(parent, ast.Call) and parent.func is call):
            replacement = f"({replacement})"
        in_fstring = any(isinstance(n, ast.JoinedStr) for n in self.ancestors(call, stmt))
        if call.lineno == call.end_lineno and "\n" not in replacement and not in_fstring:
            line = module.lines.line(call.lineno)
            col = module.lines.char_col(call.lineno, call.col_offset)
            end_col = module.lines.char_col(call.end_lineno, call.end_col_offset)
            new_line = line[:col] + replacement + line[end_col:]
            if len(new_line.rstrip("\r\n")) > module.line_length and replacement.endswith(")"):
                indent = line[: len(line) - len(line.lstrip())]
                eol = _eol(text, offsets.line_end(call.lineno)) or module.newline
                replacement = wrapped(replacement, indent).replace("\n", eol)
        module.add_call_edit(Edit(start, end, replacement, [finding, *module.absorbed],
                                  json_needs | module.absorbed_needs))
        module.absorbed, module.absorbed_needs = [], set()
        self.plan.fixed.append(finding)
        if self.certainly_runs(call, stmt):  # awaited whenever the statement runs
            self.hops.add(id(stmt))
        return None

    def certainly_runs(self, call: ast.Call, stmt: ast.stmt) -> bool:
        """Whether ``call`` runs whenever ``stmt`` runs (a compound statement: in its header),
        not in a short-circuited, conditional or lazy part."""
        parts = header(stmt) if isinstance(stmt, _COMPOUND) else [stmt]
        node = call
        while node is not stmt and node in self.parents:
            parent = self.parents[node]
            if isinstance(parent, ast.BoolOp) and node is not parent.values[0]:
                return False
            if isinstance(parent, ast.IfExp) and node is not parent.test:
                return False
            if isinstance(parent, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda,
                                   ast.comprehension)):
                return False
            if any(node is p for p in parts):
                return True
            node = parent
        return node is stmt and not isinstance(stmt, _COMPOUND)

    def is_sleep(self, finding: RawFinding) -> bool:
        call = finding.node
        return (finding.match.category.name == "sleep" and isinstance(call, ast.Call)
                and len(call.args) == 1 and not call.keywords and not isinstance(call.args[0], ast.Starred))


class ModuleOffloader:
    def __init__(self, text: str, tree: ast.Module, lines: Lines, selected: list[RawFinding],
                 backend: Backend, line_length: int = 88, newline: str = "\n", offload: str = "thread",
                 atoms: list[list[ast.stmt]] = (), atom_locks: dict[int, str] | None = None,
                 output: set[str] | None = None, json_lib: str = "stdlib"):
        self.text = text
        self.tree = tree
        self.lines = lines
        self.offsets = Offsets(lines)
        self.selected = selected
        self.selected_ids = {id(f) for f in selected}  # dataclass equality compares every field
        self.atoms = {id(atom[0]): atom for atom in atoms}  # by their first statement
        self.atom_locks = atom_locks or {}  # id(an atom's first statement) -> the lock its helper takes
        # The categories whose changes are written (None: all). A run moves with the first of its
        # findings' categories in checklist order, whatever else it holds: so applying the
        # categories one by one equals applying them together (and their branches never meet).
        self.output = output
        self.absorbed: list[RawFinding] = []
        self.absorbed_needs: set[str] = set()
        self.json_lib = json_lib  # "orjson" or "stdlib": the form of moved json calls
        self.json_helpers: set[str] = set()  # module helpers to add for the changes written (finish)
        # top-level functions: a json helper an earlier run added is used, not added again
        self.top_functions = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
        self.notes: dict[int, list[str]] = {}  # id(finding) -> what its reviewer should know
        self.backend = backend
        self.line_length = line_length
        self.newline = newline
        self.offload = offload
        self.plan = Plan()
        self.helpers: list[Helper] = []
        # What these scans look for (imports, assignments, `global`) are statements.
        stmts = statements(tree)
        self.module_vars = _module_vars(tree, stmts)
        self.class_names = frozenset(s.name for s in stmts if isinstance(s, ast.ClassDef))
        self.loop_info = ModuleLoopInfo.of(tree, stmts)
        self.locks = lock_names(tree, stmts)
        self.functions = module_functions(tree)
        self.coroutines = Coroutines(tree, lines)
        self._around: dict[int, Around | None] = {}
        self._views: dict[int, tuple] = {}
        self._enclosing: dict[int, set[str]] = {}
        self._parent_maps: dict[int, dict[ast.AST, ast.AST]] = {}
        self.top_lines = [s.lineno for s in tree.body]
        self._mutations: Mutations | None = None
        self.lazy_annotations = future_annotations(tree)
        self._first_bindings: dict[str, int] | None = None
        self._call_edits: list[Edit] = []  # single-call edits by start, for `take`
        self._call_edit_starts: list[int] = []
        self._taken: set[str] | None = None

    @property
    def taken(self) -> set[str]:
        """Names the module uses or defines anywhere: helper names avoid them. Made when first
        needed (a scan of every node: most modules get no helper)."""
        if self._taken is None:
            self._taken = {n.id for n in name_nodes(self.tree)} | {
                n.name for n in statements(self.tree) if isinstance(n, (*FUNCS, ast.ClassDef))}
        return self._taken

    @property
    def mutations(self) -> Mutations:
        """What the module's code changes: computed once, when a hop first reads shared state."""
        if self._mutations is None:
            self._mutations = Mutations.of(self.tree, self.module_vars)
        return self._mutations

    def around(self, func: ast.AsyncFunctionDef) -> Around | None:
        """What the module's callers of a coroutine do around their awaits of it."""
        if not self.coroutines.sites(func):
            return None
        if id(func) not in self._around:
            self._around[id(func)] = around(func, self.coroutines, self._view, self.module_vars)
        return self._around[id(func)]

    def _view(self, func: ast.AsyncFunctionDef) -> tuple[dict, Sharing, frozenset[int]]:
        """A caller's parents, sharing and silent awaits, as its own offloader would have them."""
        if id(func) not in self._views:
            args = func.args
            params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            params += [a.arg for a in (args.vararg, args.kwarg) if a]
            declared = {n for node in walk_own(func) if isinstance(node, (ast.Global, ast.Nonlocal))
                        for n in node.names if node is not func}
            local_names = _own_locals(func) - declared
            enclosing = self._enclosing.get(id(func), set())
            sharing = replace(
                Sharing.of(func, params, local_names, self.module_vars | (enclosing - local_names),
                           self.functions, self.coroutines, self.module_vars),
                self_name=_self_name(func, self.coroutines.classes.get(id(func))),
                class_names=self.class_names)
            self._views[id(func)] = (self.parents(func), sharing, self.coroutines.silent(func, today=True))
        return self._views[id(func)]

    def parents(self, func: ast.AsyncFunctionDef) -> dict[ast.AST, ast.AST]:
        """child -> parent in a coroutine, made once: its offloader and its callers' views both
        need it (do not change it)."""
        if id(func) not in self._parent_maps:
            self._parent_maps[id(func)] = parent_map(func)
        return self._parent_maps[id(func)]

    def segment(self, node: ast.AST) -> str:
        o = self.offsets
        return self.text[o.at(node.lineno, node.col_offset) : o.at(node.end_lineno, node.end_col_offset)]

    def take(self, start: int, end: int) -> str:
        """The text between two offsets with the single-call edits already planned inside it
        applied; those edits are taken out of the plan (the edit that covers them carries them)."""
        keys = self._call_edit_starts
        lo, hi = bisect.bisect_left(keys, start), bisect.bisect_left(keys, end)
        inner = [e for e in self._call_edits[lo:hi] if e.end <= end]
        out = self.text[start:end]
        for e in reversed(inner):
            out = out[: e.start - start] + e.text + out[e.end - start :]
            self.absorbed += e.findings  # they move with the edit that covers them
            self.absorbed_needs |= e.json_needs
            self.plan.edits.remove(e)
            k = self._call_edits.index(e)
            del self._call_edits[k], self._call_edit_starts[k]
        return out

    def add_call_edit(self, edit: Edit) -> None:
        k = bisect.bisect_left(self._call_edit_starts, edit.start)
        self._call_edits.insert(k, edit)
        self._call_edit_starts.insert(k, edit.start)
        self.plan.edits.append(edit)

    def names_before(self, where: tuple[int, bool]) -> "_BoundBefore":
        """The module names bound by top-level statements before the helper's place."""
        if self._first_bindings is None:
            self._first_bindings = first_bindings(self.tree)
        return _BoundBefore(self._first_bindings, bisect.bisect_right(self.offsets.starts, where[0]))

    def format(self, code: str, indent: str) -> str:
        """Code the rewrite generates, formatted by black at the project's line length and
        indented to its place; the user's own lines are moved byte for byte, never reformatted."""
        try:
            import black

            width = max(20, self.line_length - len(indent.expandtabs()))
            code = black.format_str(code, mode=_black_mode(width))
        except Exception:  # black missing or refusing: generated code is valid as it stands
            pass
        return "".join(indent + line if line.strip() else line for line in code.splitlines(keepends=True))

    def run(self, all_findings: list[RawFinding]) -> Plan:
        owners = _owners(self.coroutines.all, [f.node for f in all_findings])
        by_func: dict[int, list[RawFinding]] = {}
        for finding in all_findings:
            owner = owners.get(id(finding.node))
            if owner is not None:
                by_func.setdefault(id(owner), []).append(finding)
        local_backend = []  # whether each rewritten coroutine imports the backend itself
        for func, class_names, enclosing in _coroutines(self.tree):
            self._enclosing[id(func)] = enclosing
        for func, class_names in self.coroutines.order():  # callees first: see quiet
            own = by_func.get(id(func), [])
            if any(id(f) in self.selected_ids for f in own):
                before = len(self.plan.fixed)
                offloader = FunctionOffloader(self, func, class_names, self._enclosing[id(func)], own)
                offloader.run()
                if len(self.plan.fixed) > before:  # a new await: it suspends from now on
                    self.coroutines.now_suspends(func)
                    local_backend.append(self.backend.alias in offloader.locals)
        self.finish()
        if local_backend and all(local_backend):
            # `import anyio` inside each coroutine: a module-level one would only shadow it.
            self.backend.imports.discard(self.backend.name)
        return self.plan

    def json_forms(self, findings: list[RawFinding], body: str, start: int) -> tuple[str, set[str]]:
        """``body`` (the text from ``start``) with its moved json calls in the form that frees the
        loop (`json_forms`), and what that text needs (module helpers, "orjson")."""
        edits, needs = [], set()
        for finding in findings:
            chosen = self._json_form(finding, self.json_lib == "orjson")
            if chosen is not None:
                node = finding.node
                edits.append((self.offsets.at(node.lineno, node.col_offset) - start,
                              self.offsets.at(node.end_lineno, node.end_col_offset) - start, finding, chosen))
        for begin, end, finding, (text, note, helper) in sorted(edits, key=lambda e: e[:2], reverse=True):
            if any(b < begin and end < e for b, e, _, _ in edits):  # inside another edit: moves with it
                continue
            body = body[:begin] + text + body[end:]
            self.notes.setdefault(id(finding), []).append(note)
            needs.add(helper or "orjson")
        return body, needs

    def json_function(self, finding: RawFinding, func: str) -> tuple[str, set[str]]:
        """A json call moved alone: its fair form where the arguments stay as written."""
        if finding.name not in ("json.dumps", "json.loads"):
            return func, set()
        chosen = self._json_form(finding, False)
        if chosen is None:
            return func, set()
        self.notes.setdefault(id(finding), []).append(chosen[1])
        return chosen[2], {chosen[2]}

    def _json_form(self, finding: RawFinding, orjson: bool):
        """`json_forms.form` of a json call reported for evidence of a big payload (AF121: a
        small one, opted in as AF123, is quick on the C paths and moves as it is), when the
        helper it uses is free: ours (made now or by an earlier run), or a name the module does
        not use."""
        if finding.match.rule.code != "AF121" or not isinstance(finding.node, ast.Call):
            return None
        chosen = json_forms.form(finding.node, finding.name, self.segment, orjson)
        helper = chosen and chosen[2]
        if helper and helper in self.top_functions:
            doc = ast.get_docstring(self.top_functions[helper]) or ""
            return chosen if "(asyncfix)" in doc else None
        return chosen if not helper or helper not in self.taken else None

    def json_needs(self) -> None:
        """What the json forms of the changes written need: the module helpers not there yet,
        orjson's import."""
        needs = {n for h in self.helpers for n in h.json_needs} | {n for e in self.plan.edits for n in e.json_needs}
        if "orjson" in needs:
            self.backend.need("orjson")
        self.json_helpers = needs - {"orjson"} - set(self.top_functions)

    def keep_output(self) -> None:
        """Drop the helpers and single-call edits another category owns: they stay as they are,
        their findings with the owner's name."""
        if self.output is None:
            return
        dropped: dict[int, str] = {}
        for helper in list(self.helpers):
            owner = owner_of(helper.findings)
            if owner not in self.output:
                self.helpers.remove(helper)
                dropped.update({id(f): owner for f in helper.findings})
        for edit in [e for e in self.plan.edits if e.findings]:
            owner = owner_of(edit.findings)
            if owner not in self.output:
                self.plan.edits.remove(edit)
                dropped.update({id(f): owner for f in edit.findings})
        if dropped:
            moved = [f for f in self.plan.fixed if id(f) in dropped]
            self.plan.fixed = [f for f in self.plan.fixed if id(f) not in dropped]
            self.plan.unfixable += [(f, MOVES_WITH.format(dropped[id(f)])) for f in moved]

    def finish(self) -> None:
        """Name the helpers in source order, then write them and their calls (those of the
        categories written: named first, so a helper gets the name it gets when every category
        is applied at once)."""
        if not self.helpers:
            self.keep_output()
            self.json_needs()
            return
        taken = self.taken
        for helper in sorted(self.helpers, key=lambda h: h.position):
            name, n = helper.base, 2
            while name in taken:
                name, n = f"{helper.base}_{n}", n + 1
            taken.add(name)
            helper.name = name
        self.keep_output()
        self.json_needs()
        nl = self.newline
        for helper in sorted(self.helpers, key=lambda h: h.position):
            body = helper.body
            if helper.returns:
                body += f"    return {', '.join(helper.returns)}{nl}"
            source = self.format(f"def {helper.name}({', '.join(helper.params)}):\n    pass\n", "")
            source = source[: source.rindex("pass")].rstrip(" ").replace("\n", nl) + body
            self.plan.helpers.append((*helper.anchor[:1], source, helper.anchor[1], helper.call_start))
            call = self.backend.run_in_process(helper.name, helper.args) if helper.process else None
            call = call or self.backend.run_in_thread(helper.name, helper.args)
            if helper.terminal:
                line = f"return {call}"
            elif helper.returns:
                line = f"{', '.join(helper.returns)} = {call}"
            else:
                line = call
            line = self.format(line + "\n", helper.indent).rstrip("\n").replace("\n", helper.eol or "\n")
            self.plan.edits.append(Edit(helper.call_start, helper.call_end, f"{line}{helper.eol}"))


def owner_of(findings: list[RawFinding]) -> str:
    """The category a run (or a call that carries others) belongs to: its findings' first in
    checklist order."""
    return min((f.match.category for f in findings), key=lambda c: CHECKLIST_ORDER[c.name]).name


@functools.lru_cache(maxsize=None)
def _black_mode(line_length: int):
    """One black.Mode per line length: black keeps caches keyed by the mode, and a mode it has
    seen (the same object) finds them at once, where a new equal one is compared field by field
    (black formats the same either way)."""
    import black

    return black.Mode(line_length=line_length)


def _self_name(func: ast.AST, class_names) -> str | None:
    """A method's first parameter (its instance), None outside a class."""
    return first_param(func) if class_names else None


def _module_vars(tree: ast.Module, nodes: list[ast.AST]) -> set[str]:
    """Module variables: names assigned at module level (not imports or functions), the module's
    classes (their attributes are shared: `Box.count += 1`), and names declared `global`."""
    from asyncfix.engine.astutil import flat_statements

    out = set()
    for stmt in flat_statements(tree.body):
        if isinstance(stmt, ast.ClassDef):
            out.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            out |= {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            out |= {n.id for n in walk(stmt.target) if isinstance(n, ast.Name)}
    for node in nodes:
        if isinstance(node, ast.Global):
            out |= set(node.names)
    return out


def _coroutines(tree: ast.Module):
    """Every async def, with the names of the classes around it (helpers are module-level) and
    the locals of the functions around it (read through closures, so passed by value)."""
    stack: list[tuple[ast.AST, list[str], tuple]] = [(tree, [], ())]
    while stack:
        node, classes, outer = stack.pop()
        for child in child_nodes(node):
            if isinstance(child, ast.AsyncFunctionDef):
                # The enclosing functions' locals, computed only for nested coroutines.
                yield child, classes, set().union(*map(_own_locals, outer)) if outer else set()
                stack.append((child, classes, (*outer, child)))
            elif isinstance(child, ast.FunctionDef):
                stack.append((child, classes, (*outer, child)))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, [*classes, child.name], outer))
            elif isinstance(child, (ast.stmt, ast.ExceptHandler, ast.match_case)):
                stack.append((child, classes, outer))


def _owners(coroutines, wanted: list[ast.AST]) -> dict[int, ast.AsyncFunctionDef]:
    """id(node) -> the coroutine whose own body holds it (lambdas belong to the coroutine), for
    the ``wanted`` nodes; ``coroutines``: (async def, ...) for every one in the module."""
    ids = {id(n) for n in wanted}
    lines = sorted(n.lineno for n in wanted)
    out: dict[int, ast.AsyncFunctionDef] = {}
    for func, *_ in coroutines:
        # Only a coroutine whose lines hold a wanted node can hold it (most hold none).
        first = min([func.lineno] + [d.lineno for d in func.decorator_list])
        k = bisect.bisect_left(lines, first)
        if k == len(lines) or lines[k] > func.end_lineno:
            continue
        for node in walk_own(func):  # nested functions, classes and lambdas listed, not entered
            if isinstance(node, (*FUNCS, ast.ClassDef)):
                continue  # ``func`` or a scope of its own (a nested async def is in ``coroutines``)
            if id(node) in ids:
                out[id(node)] = func
            if isinstance(node, ast.Lambda):
                out.update((id(n), func) for n in walk(node)[1:] if id(n) in ids)
    return out


def _own_locals(func, skip: set[int] = frozenset()) -> set[str]:
    """Names local to ``func``'s own scope (not those of nested functions or comprehensions);
    ``skip``: ids of nodes whose bindings do not count (a run about to move)."""
    args = func.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a}
    nodes = walk_own(func)
    comp_targets: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.comprehension):
            comp_targets |= {id(n) for n in walk(node.target)}
    for node in nodes:
        if node is func or id(node) in skip:
            continue
        if isinstance(node, (*FUNCS, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and id(node) not in comp_targets:
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).partition(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.match_case):
            names |= pattern_names(node.pattern)
    for node in nodes:
        if isinstance(node, ast.Global):
            names -= set(node.names)
    return names


def _closure_names(func, own: set[str]) -> tuple[set[str], set[str]]:
    """(locals read by nested functions and lambdas: they may read them at any later time,
    locals that nested functions assign through `nonlocal`)."""
    reads, writes = set(), set()
    for node in walk(func):
        if node is func or not isinstance(node, (*FUNCS, ast.Lambda, ast.ClassDef)):
            continue
        for inner in walk(node):
            if isinstance(inner, ast.Name) and inner.id in own:
                reads.add(inner.id)
            elif isinstance(inner, ast.Nonlocal):
                writes |= set(inner.names) & own
    return reads, writes


_OPENS = frozenset({"open", "fdopen"})
_READ_MODES = frozenset({"r", "rb", "rt", "br", "tr"})


def _unclosed_write(call: ast.Call, parents: dict) -> bool:
    """`open(p, "w").write(x)`: ``call`` is, or hands to a thread, a file opened for writing (or in
    a mode not known) whose object is a temporary, closed as the statement drops it. Offloaded
    alone, the object lives on in the future or the work item that carried it, and what was
    written is not flushed when the next statement reads the file."""
    for node in walk(call):
        if not isinstance(node, ast.Call) or isinstance(parents.get(node), ast.withitem):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name not in _OPENS or isinstance(parents.get(node), (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
            continue  # not a file, or closed by the `with`, or kept in a name as it was
        bound = isinstance(node.func, ast.Attribute) and name == "open"  # `path.open(mode)`
        mode = node.args[0 if bound else 1] if len(node.args) > (0 if bound else 1) else None
        mode = next((k.value for k in node.keywords if k.arg == "mode"), mode)
        if mode is not None and not (isinstance(mode, ast.Constant) and mode.value in _READ_MODES):
            return True
    return False


# Annotations of values no method can change in place: a call on such a parameter leaves the
# coroutine's object as it was, whichever process ran it.
_IMMUTABLE = frozenset({"Path", "PurePath", "PosixPath", "WindowsPath", "PurePosixPath", "str", "bytes",
                        "int", "float", "bool", "complex", "frozenset"})


def _immutable(annotation: ast.expr | None) -> bool:
    name = annotation.attr if isinstance(annotation, ast.Attribute) else getattr(annotation, "id", None)
    return name in _IMMUTABLE


def _terminal(stmt: ast.stmt) -> bool:
    """A return, or a `with` block whose last statement returns and that returns nowhere else:
    every path through it that does not raise returns."""
    if isinstance(stmt, ast.Return):
        return True
    if isinstance(stmt, ast.With) and stmt.body and _terminal(stmt.body[-1]) and not may_swallow(stmt):
        returns = [n for n in walk(stmt) if isinstance(n, ast.Return)]
        return len(returns) == 1
    return False


def _private(node: ast.AST) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name.startswith("__") and not name.endswith("__")


def _escapes(stmt: ast.stmt) -> bool:
    """A break/continue whose loop is outside the statement (one in a loop's `else` belongs to
    the loop around that loop)."""
    def visit(node, in_loop):
        if isinstance(node, (ast.Break, ast.Continue)):
            return not in_loop
        if isinstance(node, (*FUNCS, ast.ClassDef, ast.Lambda)):
            return False
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            return (any(visit(s, True) for s in node.body)
                    or any(visit(s, in_loop) for s in node.orelse))
        return any(visit(child, in_loop) for child in child_nodes(node))
    return visit(stmt, False)


def _size(node: ast.AST) -> tuple[int, int]:
    return (node.end_lineno - node.lineno, (node.end_col_offset or 0) - node.col_offset)


def _has_multiline_string(stmt: ast.stmt) -> bool:
    return any(isinstance(n, (ast.Constant, ast.JoinedStr)) and n.end_lineno != n.lineno
               and (isinstance(n, ast.JoinedStr) or isinstance(n.value, (str, bytes)))
               for n in walk(stmt))


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
