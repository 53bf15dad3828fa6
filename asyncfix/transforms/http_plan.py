"""Plan the requests -> httpx.AsyncClient swap of one module (migration-semantics.md, section 1).

A call is swapped only where everything it touches reads the same on httpx: its keywords
(`http_kwargs`), what the coroutine does with the response (`http_uses`), the `except` clauses
around it (`http_errors`); sync httpx (`http_sync_httpx`) and urlopen (`http_urlopen`) have
their own rules. The module-level calls of one coroutine share one client, opened around the
smallest run of statements that holds them (`http_tree`); a session the coroutine makes and
closes becomes the client itself (`http_sessions`). Everything else is refused with the reason
and goes to the thread rewrite. Refusals spread: calls whose responses share a name, or whose errors one
`except` catches, are swapped together or not at all.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field

from asyncfix.engine.astutil import FUNCS, parent_map
from asyncfix.engine.walker import RawFinding
from asyncfix.transforms.library_swap import HTTPX_CONTEXT
from asyncfix.transforms.http_errors import catches_requests_errors, clause_text, twin_clause
from asyncfix.transforms.http_kwargs import TIMEOUT_NOTE, VERBS, Refused, Request, request_for
from asyncfix.transforms.http_names import caught_by_callers, hoistable, local_dict
from asyncfix.transforms.http_sessions import (LONG_SESSION, SESSION_STATE, Held, SessionBlock,
                                               is_binding, session_headers, session_with)
from asyncfix.transforms.http_tree import (ancestors, client_run, fresh_name, is_none, own_nodes,
                                           statement_of)
from asyncfix.transforms.http_sync_httpx import CLIENT_STATE, client_item, httpx_request, stream_use
from asyncfix.transforms.http_sync_httpx import VERBS as HTTPX_VERBS
from asyncfix.transforms.http_urlopen import NAME as URLOPEN, NOTE as URLOPEN_NOTE
from asyncfix.transforms.http_urlopen import module_strings, response_use, urlopen_request
from asyncfix.transforms.http_uses import Uses, attribute_use, stream_loop

_MODULE = "requests."
_SESSION = "requests.Session."
ERRORS_NOTE = ("errors raised out of `{fn}` are httpx's now (`httpx.HTTPError` and kin, not "
               "`requests.RequestException`/`OSError`): check its callers' `except` clauses")
HEADERS_NOTE = ("httpx sends its own default headers (`User-Agent: python-httpx/...`, no "
                "`Content-Length: 0` on a bodiless OPTIONS), where a server or a test may expect requests'")
_MAX_REDIRECTS = {"module": "30", "urlopen": "10"}  # requests' default, urllib's
SYNC_HTTPX_NOTE = ("the sync client became its AsyncClient: the same defaults, responses and "
                   "exceptions")
# Every client made verifies TLS with this one context: httpx builds one per client otherwise,
# ~55 ms of CPU on the loop each time (loading the CA bundle; benchmarks/README.md).
CONTEXT = HTTPX_CONTEXT


@dataclass
class CallEdit:
    receiver: str  # the client variable the request goes through
    request: Request
    awaited: bool = True  # False for `client.stream(...)` in an `async with` header
    checked: bool = False  # `.raise_for_status()` after it (urlopen raised on non-2xx)


@dataclass
class Wrap:
    """Statements first..last of one block move into `async with <header> as <name>:`."""

    first: ast.stmt
    last: ast.stmt
    header: str


@dataclass
class HttpPlan:
    calls: dict[ast.Call, CallEdit] = field(default_factory=dict)
    exprs: dict[ast.AST, str] = field(default_factory=dict)
    async_fors: list[ast.For] = field(default_factory=list)
    withs: dict[ast.With, str | None] = field(default_factory=dict)  # -> new item text, or None
    clauses: dict[ast.ExceptHandler, str] = field(default_factory=dict)  # -> its new class(es)
    wraps: list[Wrap] = field(default_factory=list)
    blocks: list[SessionBlock] = field(default_factory=list)
    prepend: dict[ast.With, str] = field(default_factory=dict)  # a first statement for the block
    guards: dict[ast.Expr, str] = field(default_factory=dict)  # `r.raise_for_status()` -> `r`
    notes: dict[int, list[str]] = field(default_factory=dict)  # id(raw) -> notes of its change
    context: str | None = None  # the library whose shared TLS context the clients use
    refused: dict[int, str] = field(default_factory=dict)  # id(raw) -> why not swapped


@dataclass
class _Call:
    raw: RawFinding
    node: ast.Call
    kind: str  # "module", "session" (requests); "hmodule", "hclient" (sync httpx); "urlopen"
    request: Request
    stmt: ast.stmt  # the coroutine's statement that holds it
    uses: Uses = field(default_factory=Uses)
    name: str | None = None  # the local its response is bound to
    session: Held | None = None
    opened: ast.With | None = None  # urlopen's `with urlopen(u) as resp:`
    reads: list = field(default_factory=list)  # urlopen's `resp.read()` calls


class HttpPlanner:
    def __init__(self, tree: ast.Module, raws: list[RawFinding], resolve, source, httpx: str,
                 is_elif, starts_line, alone=lambda stmt: True):
        self.tree = tree
        self.is_elif = is_elif  # whether an `if` statement is written `elif`
        self.alone = alone  # whether nothing follows a statement on its last line
        self.starts_line = starts_line  # whether a statement is the first thing on its line
        self.resolve = resolve
        self.source = source
        self.httpx = httpx
        self.by_node = {id(r.node): r for r in raws}
        self.plan = HttpPlan()
        self.escaping = caught_by_callers(tree, resolve)

    @functools.cached_property
    def strings(self) -> dict[str, str]:
        """The module's constant strings (`API = "https://..."`), found when first needed."""
        return module_strings(self.tree)

    def run(self) -> HttpPlan:
        for fn in ast.walk(self.tree):
            if isinstance(fn, ast.AsyncFunctionDef):
                own = [r for r in (self.by_node.get(id(n)) for n in own_nodes(fn)) if r is not None]
                if own:
                    self._function(fn, own)
        return self.plan

    # -- one coroutine ------------------------------------------------------------------------

    def _function(self, fn: ast.AsyncFunctionDef, raws: list[RawFinding]) -> None:
        parents = parent_map(fn)
        calls: dict[int, _Call] = {}
        for raw in raws:
            try:
                call = self._candidate(raw, fn, parents)
            except Refused as exc:
                self.plan.refused[id(raw)] = str(exc)
                continue
            if call is not None:
                calls[id(raw)] = call
        if calls and fn.name in self.escaping:
            for call in calls.values():
                self.plan.refused[id(call.raw)] = (f"callers of `{fn.name}` catch requests' "
                                                   "errors (or OSError) around it")
            return
        while True:  # refusals spread through shared names, sessions and except clauses
            before = len(calls)
            self._check_uses(fn, calls, parents)
            self._check_sessions(fn, calls, parents)
            self._check_clauses(calls, raws, fn)
            self._check_clients(calls)
            if len(calls) == before:
                break
        if calls:
            self._emit(fn, calls, parents)
        if calls:
            self._check_clauses(calls, raws, fn, record=True)

    def _refuse(self, calls: dict, victims, reason: str) -> None:
        for call in list(victims):
            calls.pop(id(call.raw), None)
            self.plan.refused.setdefault(id(call.raw), reason)

    def _candidate(self, raw: RawFinding, fn, parents) -> _Call | None:
        node = raw.node
        if not isinstance(node, ast.Call):
            return None
        name = "httpx." + raw.name[len("httpx2."):] if raw.name.startswith("httpx2.") else raw.name
        if name.startswith(_SESSION):
            kind, verb = "session", name[len(_SESSION):]
        elif name.startswith(_MODULE) and name.count(".") == 1:
            kind, verb = "module", name[len(_MODULE):]
        elif name.startswith("httpx.Client."):
            kind, verb = "hclient", name[len("httpx.Client."):]
        elif name.startswith("httpx.") and name.count(".") == 1:
            kind, verb = "hmodule", name[len("httpx."):]
        elif name == URLOPEN:
            kind, verb = "urlopen", "get"
        else:
            return None
        if verb not in (VERBS if kind in ("module", "session", "urlopen") else HTTPX_VERBS):
            raise Refused(f"`{verb}` has no httpx.AsyncClient counterpart here")
        for up in ancestors(node, parents):
            if up is fn:
                break
            if isinstance(up, (ast.Lambda, ast.GeneratorExp) + FUNCS):
                raise Refused("it runs in a lambda or generator expression, where `await` cannot go")
        movable = lambda e: hoistable(e, fn)  # noqa: E731 - may be evaluated once, before
        if kind == "urlopen":
            request = urlopen_request(node, self.strings)
        elif kind in ("module", "session"):
            request = request_for(node, verb, self.resolve, self.source, movable, kind == "session",
                                  lambda name: local_dict(fn, name, parents), self.strings)
        else:
            if kind == "hmodule" and not (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)):
                raise Refused("it is imported by name (`from httpx import get`)")
            request = httpx_request(node, verb, movable, self.source, kind == "hmodule")
        call = _Call(raw, node, kind, request, statement_of(node, parents))
        if kind in ("session", "hclient"):
            call.session = session_with(node, fn, parents, self.resolve, self.source)
            if call.session is None:
                raise Refused(LONG_SESSION)
        return call

    def _check_uses(self, fn, calls: dict, parents) -> None:
        names: dict[str, list[_Call]] = {}
        for call in list(calls.values()):
            call.uses = Uses()
            parent = parents.get(call.node)
            try:
                if call.kind == "urlopen":
                    self._urlopen_uses(call, fn, parents)
                elif call.request.stream:
                    self._stream_uses(call, fn, parents)
                elif call.kind in ("hmodule", "hclient"):
                    continue  # the same httpx.Response either way
                elif isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is call.node:
                    targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
                    if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                        raise Refused("its response is unpacked or stored")
                    if isinstance(parent, ast.AnnAssign):
                        raise Refused("its response is annotated with requests' type")
                    call.name = targets[0].id
                    names.setdefault(call.name, []).append(call)
                elif isinstance(parent, ast.Attribute) and parent.value is call.node:
                    attribute_use(parent, parents, False, call.uses)
                elif not isinstance(parent, ast.Expr):
                    raise Refused("its response leaves the coroutine (returned, stored or passed "
                                  "on), where requests' type may be expected")
            except Refused as exc:
                self._refuse(calls, [call], str(exc))
        for name, group in names.items():
            try:
                self._name_uses(name, group, fn, parents)
            except Refused as exc:
                self._refuse(calls, group, str(exc))

    def _name_uses(self, name: str, group: list[_Call], fn, parents) -> None:
        mine = {id(c.node) for c in group}
        uses = group[0].uses
        for node in ast.walk(fn):
            if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
                raise Refused(f"`{name}` is declared global")
            if isinstance(node, FUNCS + (ast.Lambda,)) and node is not fn and any(
                    isinstance(n, ast.Name) and n.id == name for n in ast.walk(node)):
                raise Refused(f"a nested function uses `{name}`")
            if not (isinstance(node, ast.Name) and node.id == name):
                continue
            parent = parents.get(node)
            if isinstance(node.ctx, ast.Store):
                if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and (
                        id(parent.value) in mine or is_none(parent.value)):
                    continue
                raise Refused(f"`{name}` also holds other values")
            if isinstance(node.ctx, ast.Del):
                raise Refused(f"`{name}` is deleted")
            if isinstance(parent, ast.Attribute) and parent.value is node:
                attribute_use(parent, parents, False, uses)
            elif isinstance(parent, ast.Compare) and all(isinstance(o, (ast.Is, ast.IsNot)) for o in parent.ops) \
                    and all(is_none(c) for c in [parent.left, *parent.comparators] if c is not node):
                continue
            else:
                raise Refused(f"its response `{name}` is used whole (returned, passed on or "
                              "tested for truth), where requests' type may be expected")
        for call in group[1:]:
            call.uses = uses

    def _urlopen_uses(self, call: _Call, fn, parents) -> None:
        """The response of `urlopen(...)`, read inside its `with`, bound to a name, or read at once."""
        call.reads = []
        parent = parents.get(call.node)
        if isinstance(parent, ast.Attribute) and parent.value is call.node:
            response_use(parent, parents, call.uses, call.reads)
            return
        if isinstance(parent, ast.Expr):
            return  # made for its effect (or its error) alone
        if isinstance(parent, ast.withitem):
            with_ = parents.get(parent)
            if len(with_.items) != 1 or not isinstance(parent.optional_vars, ast.Name):
                raise Refused("its `with` holds more than the response")
            call.opened, target = with_, parent.optional_vars
            scope = {id(n) for stmt in with_.body for n in ast.walk(stmt)}
        elif isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
            target, scope = parent.targets[0], None
        else:
            raise Refused("its response leaves the coroutine, where urlopen's type may be expected")
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Name) and node.id == target.id) or node is target:
                continue
            use = parents.get(node)
            if isinstance(node.ctx, ast.Store) or (scope is not None and id(node) not in scope):
                raise Refused(f"`{target.id}` is used outside its `with` block or rebound")
            if not (isinstance(use, ast.Attribute) and use.value is node):
                raise Refused(f"the response `{target.id}` is used whole")
            response_use(use, parents, call.uses, call.reads)
        call.name = target.id

    def _stream_uses(self, call: _Call, fn, parents) -> None:
        item = parents.get(call.node)
        with_ = parents.get(item)
        if not (isinstance(item, ast.withitem) and isinstance(with_, ast.With) and len(with_.items) == 1
                and isinstance(item.optional_vars, ast.Name)):
            raise Refused("its streamed response is not used inside one `with` block")
        name = item.optional_vars.id
        inside = {id(n) for stmt in with_.body for n in ast.walk(stmt)}
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Name) and node.id == name) or node is item.optional_vars:
                continue
            if id(node) not in inside or not isinstance(node.ctx, ast.Load):
                raise Refused(f"its streamed response `{name}` is used after its `with` block")
            parent = parents.get(node)
            if not (isinstance(parent, ast.Attribute) and parent.value is node):
                raise Refused(f"its streamed response `{name}` is used whole")
            if call.kind in ("hmodule", "hclient"):
                stream_use(parent, parents, call.uses)
            elif parent.attr in ("iter_content", "iter_lines"):
                loop = parents.get(parents.get(parent))
                if not isinstance(loop, ast.For):
                    raise Refused(f"its `{parent.attr}()` is used other than as a `for` loop's iterable")
                stream_loop(loop, parent, fn, parents, call.uses)
            else:
                attribute_use(parent, parents, True, call.uses)
        call.name = name

    def _check_sessions(self, fn, calls: dict, parents) -> None:
        sessions: dict[int, list[_Call]] = {}
        for call in calls.values():
            if call.session is not None:
                sessions.setdefault(id(call.session.owner), []).append(call)
        for group in sessions.values():
            held = group[0].session
            name = held.name
            mine = {id(c.node.func) for c in group}
            try:
                for node in ast.walk(fn):
                    if not (isinstance(node, ast.Name) and node.id == name):
                        continue
                    parent = parents.get(node)
                    if not held.holds(node, parents):
                        raise Refused(f"the session `{name}` is used after its `with` block")
                    if id(parent) in mine or is_binding(node, held, parents):
                        continue
                    state = SESSION_STATE if group[0].kind == "session" else CLIENT_STATE
                    if group[0].kind == "session" and isinstance(parent, ast.Attribute) and parent.attr == "headers":
                        session_headers(parent, parents, self.strings)
                    if not (isinstance(parent, ast.Attribute) and parent.attr in state):
                        raise Refused(f"the session `{name}` is used in a way an httpx client "
                                      "does not follow (passed on, or settings httpx takes "
                                      "only when it is made)")
                prefix = _SESSION if group[0].kind == "session" else "httpx.Client."
                missing = [r for r in self.by_node.values() if r.name.startswith(prefix)
                           and id(r) not in calls and held.holds(r.node, parents)]
                if missing:
                    raise Refused(f"another call on the session `{name}` cannot be swapped")
            except Refused as exc:
                self._refuse(calls, group, str(exc))

    def _check_clauses(self, calls: dict, raws: list[RawFinding], fn, record: bool = False) -> None:
        """Refuses the calls no `except` clause around them can keep catching; with ``record``,
        plans the new clauses (once the calls are settled)."""
        requestish = [r for r in raws if r.name.startswith("requests.")]
        for node in ast.walk(fn):
            if not isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
                continue
            body = {id(n) for stmt in node.body for n in ast.walk(stmt)}
            opened = [c for c in calls.values() if id(c.node) in body and c.kind == "urlopen"]
            specific = [h for h in node.handlers if h.type is not None and self.resolve(h.type) not in (
                "Exception", "BaseException")]
            if opened and specific:
                self._refuse(calls, opened, "an `except` around it catches urllib's errors (OSErrors); "
                                            "httpx's are not")
            # where the request raises, or its response does (`raise_for_status()`, `json()`)
            inside = [c for c in calls.values() if c.kind in ("module", "session") and (
                id(c.node) in body or any(id(n) in body for n in c.uses.raise_sites + c.uses.reads_json))]
            if not inside:
                continue
            try:
                handlers = [h for h in node.handlers if catches_requests_errors(h, self.resolve)]
                if handlers and type(node) is not ast.Try:
                    raise Refused("an `except*` around it catches requests' errors")
                if handlers and any(id(r.node) in body and id(r) not in calls for r in requestish):
                    raise Refused("an `except` around it also catches another requests call's "
                                  "errors, and that call stays")
                reads_json = any(id(j) in body for c in inside for j in c.uses.reads_json)
                streams = any(c.request.stream for c in inside)
                for handler in node.handlers:
                    twins = twin_clause(handler, self.resolve, reads_json, streams)
                    if twins is not None and record:
                        self.plan.clauses[handler] = clause_text(twins, self.httpx)
            except Refused as exc:
                self._refuse(calls, inside, str(exc))

    def _check_clients(self, calls: dict) -> None:
        module = [c for c in calls.values() if c.kind == "module"]
        settings = {tuple(sorted(c.request.client.items())) for c in module}
        if len(settings) > 1:
            self._refuse(calls, module, "its calls pass different client settings (`verify=`, "
                                        "`cookies=`): one client cannot serve them")
        for call in list(calls.values()):
            for stmt in call.uses.guards:
                if not (self.starts_line(stmt) and self.alone(stmt)):
                    self._refuse(calls, [call], "its `raise_for_status()` shares its line: the "
                                                "`if r.is_error:` it needs has no line of its own")

    # -- edits --------------------------------------------------------------------------------

    def _emit(self, fn, calls: dict, parents) -> None:
        clients = {}  # kind -> the name of the client opened for the module-level calls
        for kind in ("module", "hmodule", "urlopen"):
            group = [c for c in calls.values() if c.kind == kind and c.opened is None]
            if not group:
                continue
            wrap = client_run(fn, [c.stmt for c in group], parents, self.is_elif, self.starts_line)
            if kind == "hmodule" and len({c.node.func.value.id for c in group}) > 1:
                wrap = None  # httpx and httpx2 calls: one client cannot be both
            if wrap is None or clients:
                self._refuse(calls, group, "its calls cannot share one client block (a `yield`, "
                                           "another client's block, or two libraries)")
                continue
            clients[kind] = name = fresh_name(fn, "client")
            options = dict(group[0].request.client)
            if kind in ("module", "urlopen"):
                library = self.httpx
                options.update({"follow_redirects": "True", "max_redirects": _MAX_REDIRECTS[kind]})
                if not all(c.request.has_timeout for c in group):
                    options["timeout"] = "None"
            else:
                library = group[0].node.func.value.id
            if options.get("verify", "True") == "True" and not {"cert", "trust_env"} & options.keys():
                options["verify"] = CONTEXT
                self.plan.context = library
            args = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
            self.plan.wraps.append(Wrap(wrap[0], wrap[1], f"{library}.AsyncClient({args}) as {name}"))
        for call in calls.values():
            if call.opened is not None:
                self._emit_opened(fn, call)
                continue
            if call.kind in ("module", "hmodule", "urlopen"):
                if call.kind not in clients:
                    continue
                receiver = clients[call.kind]
            else:
                receiver = call.node.func.value.id
                ctx = call.session.ctx
                item = client_item(ctx, self.resolve, self.source, CONTEXT)
                if item is None:
                    item = (f"{self.httpx}.AsyncClient(follow_redirects=True, max_redirects=30, "
                            f"timeout=None, verify={CONTEXT})")
                if CONTEXT in item:
                    self.plan.context = item.partition(".AsyncClient")[0]
                held = call.session
                if held.end is None:
                    self.plan.withs[held.owner] = item
                elif not any(b.owner is held.owner for b in self.plan.blocks):
                    self.plan.blocks.append(SessionBlock(held.owner, held.end, f"{item} as {held.name}"))
            request = call.request
            request.replace = {k: v.replace("{httpx}", self.httpx) for k, v in request.replace.items()}
            self.plan.calls[call.node] = CallEdit(receiver, request, awaited=not request.stream,
                                                  checked=call.kind == "urlopen")
            if request.stream:
                self.plan.withs.setdefault(parents[parents[call.node]], None)
            self.plan.async_fors += [f for f in call.uses.async_fors if f not in self.plan.async_fors]
            self._note(fn, call)

    def _note(self, fn, call: _Call) -> None:
        request = call.request
        self.plan.exprs.update(call.uses.exprs)
        self.plan.guards.update(call.uses.guards)
        notes = list(request.notes) + list(call.uses.notes)
        if call.kind == "urlopen":
            notes.append(URLOPEN_NOTE)
            for read in call.reads:  # `resp.read()` was a finding of its own
                raw = self.by_node.get(id(read))
                if raw is not None:
                    self.plan.notes[id(raw)] = [URLOPEN_NOTE]
        if call.kind in ("module", "session"):
            if not request.has_timeout:
                notes.append(TIMEOUT_NOTE)
            notes.append(ERRORS_NOTE.format(fn=fn.name))
            notes.append(HEADERS_NOTE)
        elif call.kind != "urlopen":
            notes.append(SYNC_HTTPX_NOTE)
        self.plan.notes[id(call.raw)] = list(dict.fromkeys(notes))

    def _emit_opened(self, fn, call: _Call) -> None:
        """`with urlopen(u) as resp:` -> `async with httpx.AsyncClient(...) as client:` whose
        block first gets `resp = (await client.get(u)).raise_for_status()`."""
        client = fresh_name(fn, "client")
        timeout = "" if call.request.has_timeout else "timeout=None, "
        self.plan.withs[call.opened] = (f"{self.httpx}.AsyncClient(follow_redirects=True, max_redirects=10, "
                                        f"{timeout}verify={CONTEXT}) as {client}")
        self.plan.context = self.httpx
        args = ", ".join(self.source(a) for a in call.node.args + call.node.keywords)
        self.plan.prepend[call.opened] = f"{call.name} = (await {client}.get({args})).raise_for_status()"
        self._note(fn, call)


# -- helpers ------------------------------------------------------------------------------------


