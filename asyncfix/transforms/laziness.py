"""Blocking calls that a moved statement would not run: lazily evaluated expressions.

A generator expression or a `map`/`filter` object built in a helper does its work only when it is
consumed; consumed back on the loop, the blocking call runs there after all, and the report would
call it fixed. Such a call moves only when the statement consumes it right away.
"""

from __future__ import annotations

import ast

# Blocking calls that return a lazy iterator: the file system is read as it is consumed.
LAZY_RESULTS = frozenset({"pathlib.Path.iterdir", "pathlib.Path.glob", "pathlib.Path.rglob",
                          "pathlib.Path.walk", "os.walk", "os.fwalk", "os.scandir", "glob.iglob",
                          "pypdf.PageObject.images",  # pypdf decodes each image as it is read
                          # pymongo cursors query the server as they are iterated
                          "pymongo.Collection.find", "pymongo.Collection.aggregate",
                          "pymongo.Collection.find_raw_batches", "pymongo.Collection.list_indexes"})

# Blocking calls that return a context manager which does the work when entered: the call alone
# in a thread would leave the request to `__enter__`, on the loop.
ENTERED = frozenset({"httpx.stream", "httpx.Client.stream"})

# Builtins (and str.join) that consume an iterable argument at once.
_CONSUMERS = frozenset({"list", "tuple", "set", "frozenset", "dict", "sorted", "sum", "min", "max",
                        "any", "all", "join", "bytes", "bytearray", "Counter", "deque", "writelines",
                        "update", "extend", "len"})

# Builtins that wrap an iterable lazily.
_WRAPPERS = frozenset({"enumerate", "zip", "reversed"})


def lazy_in(stmt: ast.stmt, call: ast.AST, parents: dict) -> bool:
    """Whether ``call`` (inside ``stmt``) runs lazily: in a generator expression, or as the
    function handed to `map`/`filter`, that ``stmt`` does not consume itself."""
    node = call
    while node in parents and node is not stmt:
        parent = parents[node]
        lazy = (isinstance(parent, ast.GeneratorExp) and node is not parent.generators[0].iter
                and not (isinstance(node, ast.comprehension) and node is parent.generators[0])) or (
            isinstance(parent, ast.comprehension) and node is not parent.iter
            and isinstance(parents.get(parent), ast.GeneratorExp)) or (
            isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name)
            and parent.func.id in ("map", "filter") and parent.args and node is parent.args[0])
        if lazy:
            holder = parent if not isinstance(parent, ast.comprehension) else parents[parent]
            if not _consumed(holder, stmt, parents):
                return True
        node = parent
    return False


def consumed_in(expr: ast.AST, stmt: ast.stmt, parents: dict) -> bool:
    """Whether the iterator ``expr`` evaluates to is used up inside ``stmt`` itself."""
    return _consumed(expr, stmt, parents)


def _consumed(expr: ast.AST, stmt: ast.stmt, parents: dict) -> bool:
    parent = parents.get(expr)
    if isinstance(parent, ast.withitem):  # `with os.scandir(d) as it:`: used in the block
        return True
    if isinstance(parent, ast.Call) and expr in parent.args:
        func = parent.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in _WRAPPERS:  # `enumerate(it)` is as lazy as `it`: used up where it is
            return _consumed(parent, stmt, parents)
        return name in _CONSUMERS
    if isinstance(parent, ast.Attribute) and parent.value is expr and isinstance(parents.get(parent), ast.Call) \
            and parents[parent].func is parent:  # `coll.find(q).limit(10)`: as lazy as the cursor
        return _consumed(parents[parent], stmt, parents)
    if isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is expr:
        return True
    if isinstance(parent, (ast.Starred, ast.Subscript)):  # `page.images[0]`: read where indexed
        return True
    return False
