"""What names mean in a module, for the http swap: imports resolved (`rq.get` is
`requests.get`), values that may move to a client, local header dicts, and the coroutines whose
callers catch requests' errors."""

from __future__ import annotations

import ast

from asyncfix.engine.resolve import dotted
from asyncfix.transforms.http_errors import catches_requests_errors


def hoistable(expr: ast.expr, fn: ast.AST) -> bool:
    """Whether ``expr`` may be evaluated once before the calls: a literal, or a parameter the
    coroutine never rebinds."""
    if isinstance(expr, ast.Constant):
        return True
    if isinstance(expr, (ast.Dict, ast.Tuple, ast.List)):
        return all(hoistable(e, fn) for e in ast.iter_child_nodes(expr) if isinstance(e, ast.expr))
    if isinstance(expr, ast.Name):
        args = fn.args
        params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        return expr.id in params and not any(
            isinstance(n, ast.Name) and n.id == expr.id and not isinstance(n.ctx, ast.Load) for n in ast.walk(fn))
    return False


def local_dict(fn, name: str, parents) -> ast.Dict | None:
    """The dict literal ``name`` is bound to, where the coroutine binds it once and only passes
    it on as a keyword (`headers=headers`), never changing it."""
    found = None
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and node.id == name:
            parent = parents.get(node)
            if isinstance(node.ctx, ast.Store):
                if found is not None or not (isinstance(parent, ast.Assign) and len(parent.targets) == 1
                                             and isinstance(parent.value, ast.Dict)):
                    return None
                found = parent.value
            elif not isinstance(parent, ast.keyword):
                return None
    return found


def caught_by_callers(tree: ast.Module, resolve) -> set[str]:
    """Names of coroutines awaited inside a `try` whose `except` catches requests' errors (or
    OSError): their errors must keep requests' types."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(catches_requests_errors(h, resolve) for h in node.handlers):
            for stmt in node.body:
                for n in ast.walk(stmt):
                    if isinstance(n, ast.Await) and isinstance(n.value, ast.Call):
                        func = n.value.func
                        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                        if name:
                            out.add(name)
    return out


def module_resolver(tree: ast.Module):
    """A function from an expression to the dotted name it means under the module's imports:
    `rq.get` -> `requests.get` after `import requests as rq`."""
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.partition(".")[0]] = a.asname and a.name or a.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"

    def resolve(expr: ast.AST) -> str | None:
        name = expr.id if isinstance(expr, ast.Name) else dotted(expr)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        full = names.get(head, head)
        return f"{full}.{rest}" if rest else full

    return resolve
