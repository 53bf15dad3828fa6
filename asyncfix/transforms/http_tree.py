"""Where things are in a coroutine, for the http swap: its own nodes (not those of functions it
defines), each node's parent and statement, and the run of statements a client block can hold."""

from __future__ import annotations

import ast

from asyncfix.engine.astutil import FUNCS
from asyncfix.transforms.sharing import walk_own


def own_nodes(fn: ast.AST):
    """The nodes of a function's own body: nested functions and classes are theirs."""
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, FUNCS + (ast.ClassDef,)):
            stack += [*node.decorator_list, *(getattr(node, "args", None) and _defaults(node.args) or [])]
            continue
        stack += list(ast.iter_child_nodes(node))


def by_coroutine(tree: ast.Module, raws):
    """(coroutine, its own findings among ``raws``) for each coroutine that has some."""
    by_node = {id(r.node): r for r in raws}
    for fn in ast.walk(tree):
        if isinstance(fn, ast.AsyncFunctionDef):
            own = [by_node[id(n)] for n in own_nodes(fn) if id(n) in by_node]
            if own:
                yield fn, own


def _defaults(args: ast.arguments) -> list[ast.expr]:
    return [d for d in args.defaults + args.kw_defaults if d is not None]


def ancestors(node, parents):
    node = parents.get(node)
    while node is not None:
        yield node
        node = parents.get(node)


def statement_of(node: ast.AST, parents) -> ast.stmt:
    while not isinstance(parents.get(node), (ast.Module,) + FUNCS) and not in_block(node, parents):
        node = parents[node]
    return node


def in_block(node: ast.AST, parents) -> bool:
    """Whether ``node`` is a statement of a block (a body, orelse, handler... list)."""
    if not isinstance(node, ast.stmt):
        return False
    parent = parents.get(node)
    return any(isinstance(v, list) and any(s is node for s in v) for v in vars(parent).values())


def is_none(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def client_run(fn, stmts: list[ast.stmt], parents, is_elif, starts_line) -> tuple[ast.stmt, ast.stmt] | None:
    """The first and last statement of the smallest run of one block that holds ``stmts`` (an
    `elif` is part of its `if`: it has no block of its own to open a client in)."""
    paths = []
    for stmt in stmts:
        path, node = [], stmt
        while node is not fn:
            parent = parents[node]
            if in_block(node, parents) and not is_elif(node):
                block = next(v for v in vars(parent).values() if isinstance(v, list) and any(s is node for s in v))
                index = next(i for i, s in enumerate(block) if s is node)
                # `a = 1; b = 2` is one line for LibCST: its first statement stands for it; a
                # block on its header's line (`else: x = 1`) is no block to open a client in
                while index > 0 and not starts_line(block[index]) and block[index - 1].end_lineno == block[index].lineno:
                    index -= 1
                if starts_line(block[index]):
                    path.append((id(block), block, index))
            node = parent
        paths.append(path[::-1])
    if not all(paths):
        return None
    depth = 0
    while len({p[depth][2] for p in paths}) == 1 and all(len(p) > depth + 1 for p in paths) \
            and len({p[depth + 1][0] for p in paths}) == 1:
        depth += 1
    block = paths[0][depth][1]
    first = min(p[depth][2] for p in paths)
    last = max(p[depth][2] for p in paths)
    run = block[first:last + 1]
    if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for s in run for n in walk_own(s, top=False)):
        return None
    return run[0], run[-1]


def fresh_name(fn: ast.AST, base: str) -> str:
    taken = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} | {
        a.arg for n in ast.walk(fn) if isinstance(n, ast.arg) for a in [n]}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"http_{base}" if n == 2 else f"http_{base}{n - 1}"
    return name
