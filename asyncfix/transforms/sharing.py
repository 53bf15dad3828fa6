"""Which objects a coroutine shares with other calls, and where it reads and writes them.

Concurrent calls of a coroutine see the same `self`, the same parameters' objects and the same
module globals; a coroutine's own fresh objects (`out = {}`, `data = json.load(f)`) are its own.
A local that aliases shared state (`items = self.items`, `for row in self.rows`) is shared too.
Accesses are keyed by root and first attribute (`self.items`), the grain at which the atomicity
check compares what a coroutine read before a thread hop with what it writes after it.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

from asyncfix.engine.astutil import FUNCS, HOLDS_STATEMENTS, child_nodes, first_param, memo

# Methods that only read their object: calling them on shared state is not a write.
READ_ONLY = frozenset({
    "get", "keys", "values", "items", "copy", "count", "index", "startswith", "endswith", "format",
    "join", "split", "rsplit", "splitlines", "strip", "lstrip", "rstrip", "lower", "upper", "encode",
    "decode", "replace", "find", "rfind", "isdigit", "isalpha", "isalnum", "isspace", "casefold",
    "title", "partition", "rpartition", "zfill", "ljust", "rjust", "center", "hex", "isoformat",
    "strftime", "timestamp", "total_seconds", "is_integer", "bit_length", "as_posix", "with_suffix",
    "with_name", "with_stem", "joinpath", "relative_to", "resolve", "absolute", "expanduser",
    "is_absolute", "match", "fullmatch", "search", "findall", "finditer", "sub", "subn", "group",
    "groups", "groupdict", "span", "start", "end", "model_dump", "dict", "json", "tobytes", "tolist",
    "issubset", "issuperset", "union", "intersection", "difference", "symmetric_difference",
})
# Methods known to change their object in place.
MUTATORS = frozenset({
    "append", "extend", "insert", "pop", "popitem", "remove", "discard", "add", "clear", "update",
    "setdefault", "sort", "reverse", "appendleft", "extendleft", "popleft", "rotate", "put",
    "put_nowait", "get_nowait", "set", "reset", "__setitem__", "__delitem__", "difference_update",
    "intersection_update", "symmetric_difference_update",
})
_LOGGER = re.compile(r"^_?(log|logger|logging|LOG|LOGGER|log_|.*_logger|.*_log)$")


def _inward(node: ast.AST) -> ast.AST:
    """One step toward the object an access starts from; `type(self)` is `self`'s class, state
    its instances share (`type(self).count += 1` is read back as `self.count`)."""
    if isinstance(node, ast.Call):
        if (isinstance(node.func, ast.Name) and node.func.id == "type" and len(node.args) == 1
                and not node.keywords):
            return node.args[0]
        return node.func
    return node.value


def root(node: ast.AST) -> ast.Name | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call, ast.Starred)):
        node = _inward(node)
    return node if isinstance(node, ast.Name) else None


def key(node: ast.AST) -> str | None:
    """`self.items[k].x` -> `self.items`; `CACHE[k]` -> `CACHE`."""
    chain = []
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        if isinstance(node, ast.Attribute):
            chain.append(node.attr)
        node = _inward(node)
    if not isinstance(node, ast.Name):
        return None
    return f"{node.id}.{chain[-1]}" if chain else node.id


_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical",
                          "log", "fatal"})


def is_logger(node: ast.AST) -> bool:
    """`logger.info(...)`, `self.log.debug(...)`, `logging.warning(...)`: thread-safe (a list
    named `LOG` that is appended to is not a logger)."""
    if not isinstance(node, ast.Attribute) or node.attr not in _LOG_METHODS:
        return False
    base = node.value
    name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
    return bool(name) and bool(_LOGGER.match(name))


@dataclass
class Sharing:
    """The shared names of one coroutine."""

    shared: frozenset[str]  # names whose objects other calls can see
    declared_global: frozenset[str]
    functions: dict = None  # the module's own sync functions, by name: calls look inside them
    coroutines: object = None  # the module's coroutines (`quiet.Coroutines`): awaits look inside
    func: ast.AST = None  # the function whose body this is (resolves `self.co()`)
    module_vars: frozenset[str] = frozenset()  # seen by the functions a call looks inside
    depth: int = 0  # how many calls deep: looking inside stops at _MAX_DEPTH
    # in a method: its first parameter, and the module's classes, whose attributes its instances
    # read (`Box.count += 1` changes what `self.count` reads)
    self_name: str | None = None
    class_names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, func: ast.AsyncFunctionDef, params: list[str], local_names: set[str],
           outer_vars: set[str], functions: dict | None = None, coroutines=None,
           module_vars: frozenset[str] = frozenset()) -> "Sharing":
        """``outer_vars``: module variables (assigned at module level, not imported or defined)
        and the enclosing functions' locals."""
        declared = {n for node in _own_nodes(func) if isinstance(node, ast.Global) for n in node.names}
        shared = set(params) | declared | (set(outer_vars) - set(local_names))
        aliases: list[tuple[str, ast.expr]] = []
        for node in _own_nodes(func):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    aliases += [(n, node.value) for n in _names(target)]
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                aliases += [(n, node.value) for n in _names(node.target)]
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                aliases += [(n, node.iter) for n in _names(node.target)]
        changed = True
        while changed:  # aliases of aliases
            changed = False
            for name, value in aliases:
                if name not in shared and _aliases_shared(value, shared):
                    shared.add(name)
                    changed = True
        return cls(frozenset(shared), frozenset(declared), functions or {}, coroutines, func,
                   frozenset(module_vars))

    def accesses(self, nodes: list[ast.AST], blocking: set[int], strict: bool = True,
                 counted: frozenset[int] = frozenset()) -> tuple[set[str], set[str]]:
        """(keys read, keys written) of shared state in ``nodes``. The catalogued blocking calls
        (``blocking``, by id) are I/O, neither; read-only and logger methods read. Any other
        method call counts as a write when ``strict`` (it may change its object: the thread it
        runs in matters), else only the known mutators (for check-then-act sections).
        ``counted``: ids of nodes whose access is counted elsewhere."""
        reads, writes = set(), set()
        self._accesses(nodes, blocking, strict, counted, reads, writes)
        if self.self_name and self.class_names:
            for keys in (reads, writes):
                keys |= {f"{self.self_name}.{k.partition('.')[2]}" for k in keys
                         if k.partition(".")[0] in self.class_names and k.partition(".")[2]}
        return reads, writes

    def _accesses(self, nodes, blocking, strict, counted, reads, writes) -> None:
        inner: set[int] = set(counted)  # the object chain under an access already counted
        for top in nodes:
            for node in walk_own(top, False):
                if id(node) in inner:
                    continue
                if isinstance(node, ast.Name) and node.id in self.declared_global:
                    (writes if isinstance(node.ctx, ast.Store) else reads).add(node.id)
                elif isinstance(node, ast.Name) and node.id in self.shared and isinstance(node.ctx, ast.Load):
                    reads.add(node.id)  # used whole: `key not in CACHE`, `if not items`
                elif isinstance(node, ast.AugAssign):  # `x += v` reads x before v is evaluated
                    r = root(node.target)
                    if r is not None and r.id in self.shared and (
                            r is not node.target or r.id in self.declared_global):
                        reads.add(key(node.target))
                elif isinstance(node, (ast.Attribute, ast.Subscript)):
                    r = root(node)
                    if r is None or not r.id in self.shared:
                        continue
                    store = isinstance(node.ctx, (ast.Store, ast.Del))
                    if not store and isinstance(node, ast.Attribute) and node.attr in MUTATORS:
                        # `call_soon(LOG.append, x)`: a mutator handed over, called later
                        writes.add(key(node.value))
                    else:
                        (writes if store else reads).add(key(node))
                    _mark_chain(node.value, inner)
                followed = False
                if isinstance(node, ast.Call) and id(node) not in blocking:
                    followed = self._call(node, reads, writes, strict, inner)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    r = root(node.func.value)
                    if r is None or not r.id in self.shared:
                        continue
                    attr = node.func.attr
                    if id(node) not in blocking:
                        if attr in READ_ONLY or is_logger(node.func):
                            reads.add(key(node.func.value))
                        elif strict or attr in MUTATORS:
                            writes.add(key(node.func.value))
                        elif not followed:  # `self.describe()`: whatever it reads of its object
                            reads.add(key(node.func.value))
                    _mark_chain(node.func, inner)

    def _call(self, call: ast.Call, reads: set[str], writes: set[str], strict: bool, followed: set[int]) -> bool:
        """Shared objects handed whole to a call: read there (`check(self)`); handed to one of
        the module's own functions (`_save_sync(self, path)` in a thread), methods or
        coroutines, what it does to them and to module state. Whether it looked inside."""
        looked = False
        for inner, body, rename in self._callees(call, followed):
            r, w = inner.accesses(body, set(), strict)
            reads |= {rename(k) for k in r}
            writes |= {rename(k) for k in w}
            looked = True
        return looked

    def deferred(self, nodes: list[ast.AST], skip: frozenset[int] = frozenset()) -> set[str]:
        """Keys of shared state that a mutator handed over will change later, when the loop
        calls it (`loop.call_soon(LOG.append, x)`), here or in the module functions called
        (``skip``: ids of calls not to look inside)."""
        out = deferred_writes(nodes, self.shared)
        for top in nodes:
            for node in walk_own(top, False):
                if isinstance(node, ast.Call) and id(node) not in skip:
                    for inner, body, rename in self._callees(node, set()):
                        out |= {rename(k) for k in inner.deferred(body)}
        return out

    def _callees(self, call: ast.Call, followed: set[int]):
        """(the callee's sharing, its body, its keys -> ours) for each module function or
        coroutine ``call`` may run; ``followed`` gets the arguments counted inside."""
        if self.depth >= _MAX_DEPTH:
            return
        args = list(call.args)
        functions = self.functions or {}
        callee = call.func.id if isinstance(call.func, ast.Name) else None
        fdefs = [functions[callee]] if callee in functions else []
        method = self._method(call)
        if not fdefs and method is not None:  # `self.describe()`: a sync method of the class
            fdefs, args = [method], [call.func.value, *args]
        if not fdefs and self.coroutines is not None:
            fdefs, bound = self.coroutines.callee(call, self.func)
            if bound:
                args = [call.func.value, *args]
        if not fdefs:
            # `to_thread(_save_sync, self, path)`: the function is an argument, its own follow
            for k, arg in enumerate(args):
                if isinstance(arg, ast.Name) and arg.id in functions:
                    fdefs, args = [functions[arg.id]], args[k + 1 :]
                    break
        for fdef in fdefs:
            params = fdef.args.posonlyargs + fdef.args.args
            pairs = bind(fdef, args, call)
            mapping = {p: a.id for p, a in pairs if isinstance(a, ast.Name) and a.id in self.shared}
            followed.update(id(a) for _, a in pairs if isinstance(a, ast.Name))  # counted inside
            nodes = walk_own(fdef)
            declared = {n for g in nodes if isinstance(g, ast.Global) for n in g.names}
            own = {a.arg for a in params + fdef.args.kwonlyargs} | {
                n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            # the module's state, and what the function sees of ours through its closure
            seen = (self.module_vars | self.shared) - (own - declared)
            inner = Sharing(frozenset(mapping) | seen, frozenset(declared & self.module_vars),
                            self.functions, self.coroutines, fdef, self.module_vars, self.depth + 1)
            yield inner, fdef.body, functools.partial(_rename, mapping)


    def _method(self, call: ast.Call) -> ast.FunctionDef | None:
        """The sync method `self.name(...)` calls, where this function is a method of a class of
        the module (``functions`` holds them as `Class.name`)."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and self.coroutines is not None and self.func is not None):
            return None
        classes = self.coroutines.classes.get(id(self.func))
        if not classes or func.value.id != first_param(self.func):
            return None
        return (self.functions or {}).get(f"{classes[-1]}.{func.attr}")


_MAX_DEPTH = 4


def bind(fdef: ast.AST, args: list[ast.expr], call: ast.Call) -> list[tuple[str, ast.expr]]:
    """(parameter, argument) of ``fdef`` for a call passing ``args`` positionally (the object
    first, for a bound method) and ``call``'s keywords."""
    params = fdef.args.posonlyargs + fdef.args.args
    return [(p.arg, a) for p, a in zip(params, args)] + [(k.arg, k.value) for k in call.keywords if k.arg]


def _rename(mapping: dict, k: str) -> str:
    head, dot, rest = k.partition(".")
    return mapping.get(head, head) + dot + rest


def module_functions(tree: ast.Module) -> dict:
    """The module's top-level sync functions by name, and its classes' sync methods (plain
    ones: not static or class methods) as `Class.name`."""
    out = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef):
            out.update({f"{cls.name}.{m.name}": m for m in cls.body
                        if isinstance(m, ast.FunctionDef) and not m.decorator_list})
    return out


def deferred_writes(nodes: list[ast.AST], shared: frozenset[str]) -> set[str]:
    """Keys of shared state that a mutator handed over will change later, when the loop calls
    it (`loop.call_soon(LOG.append, x)`): a new await lets it run before what follows."""
    out = set()
    for top in nodes:
        for node in walk_own(top, False):
            if isinstance(node, ast.Call):
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    if isinstance(arg, ast.Attribute) and arg.attr in MUTATORS:
                        r = root(arg.value)
                        if r is not None and r.id in shared:
                            out.add(key(arg.value))
    return out


def _mark_chain(node: ast.AST, out: set[int]) -> None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        out.add(id(node))
        node = _inward(node)
    out.add(id(node))  # the root name: counted with the access


def _aliases_shared(value: ast.expr, shared: set[str]) -> bool:
    if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript, ast.Starred)):
        r = root(value)
        return r is not None and r.id in shared
    if isinstance(value, (ast.Tuple, ast.List)):
        return any(_aliases_shared(e, shared) for e in value.elts)
    if isinstance(value, ast.IfExp):
        return _aliases_shared(value.body, shared) or _aliases_shared(value.orelse, shared)
    if isinstance(value, ast.BoolOp):
        return any(_aliases_shared(v, shared) for v in value.values)
    if isinstance(value, ast.NamedExpr):
        return _aliases_shared(value.value, shared)
    return False


def _names(target: ast.AST) -> list[str]:
    """The names a target binds (not the object of `x.attr = ...`, which it only reads)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _names(e)]
    if isinstance(target, ast.Starred):
        return _names(target.value)
    return []


def _own_nodes(func: ast.AST):
    for child in child_nodes(func):
        yield from walk_own(child, False)


_SCOPES = (*FUNCS, ast.ClassDef, ast.Lambda)


def walk_own(node: ast.AST, top: bool = True) -> list[ast.AST]:
    """The nodes of one scope, parents first: nested functions, classes and lambdas are listed,
    not entered (``top``: enter ``node`` itself even if it is one)."""
    if not top and isinstance(node, _SCOPES):
        return [node]
    return [node, *memo(node, "_asyncfix_own_below", _scope_below)]



def _scope_below(node: ast.AST) -> list[ast.AST]:
    out = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current is not node and isinstance(current, HOLDS_STATEMENTS):
            # What lies below a nested statement comes out in one piece here: memoized, it
            # serves the statement itself and every statement around it.
            out += memo(current, "_asyncfix_own_below", _scope_below)
            continue
        children = child_nodes(current)
        out += children
        stack += [c for c in reversed(children) if not isinstance(c, _SCOPES)]
    return out
