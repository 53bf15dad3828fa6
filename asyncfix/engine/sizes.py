"""Evidence that a JSON call handles a big payload.

Most `json.dumps`/`json.loads` calls in a backend encode a handful of keys for a log line or a
small API body; a thread hop costs more than they do. The json category reports by default only
the calls with evidence of size (``EVIDENCE``); the others get the opt-in code. A local's
``Scope.sizes`` entry says what kind of data it holds (a key of ``TAGS``), or holds the finding of
a `json.dumps` whose result it received, until it is written to a file.
"""

from __future__ import annotations

import ast
from typing import Callable

# Evidence key -> the phrase a kept finding's message ends with.
EVIDENCE = {
    "file": "reads or writes a file object",
    "indent": "`indent=` on a non-literal",
    "read": "parses what was read from a file, a response or a request body",
    "bytes": "parses a `bytes` parameter",
    "parsed": "serialises what was read or parsed from a file, a response or a request body",
    "document": "serialises a whole document",
    "loop": "serialises a collection built in a loop",
    "write": "its result is written to a file",
}
TAGS = ("read", "bytes", "parsed", "document", "loop")

FILE = frozenset({"dump", "load"})
SERIALISE = frozenset({"dumps", "model_dump_json"})
PARSE = frozenset({"loads", "model_validate_json"})

READ_CALLS = frozenset({"read", "read_text", "read_bytes", "readall", "getvalue", "body", "text"})
READ_ATTRS = frozenset({"text", "content", "body"})  # resp.text, resp.content
UNWRAP = frozenset({"decode", "encode", "strip", "lstrip", "rstrip"})  # same size as what they wrap
GROWS = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "appendleft"})
FILE_WRITES = frozenset({"write", "write_text", "write_bytes", "writelines"})
DOC_WORDS = frozenset({"document", "documents", "doc", "docs", "checkpoint", "checkpoints", "ckpt",
                       "snapshot", "export", "bundle"})
NOT_DOC_WORDS = frozenset({"id", "ids", "name", "names", "path", "url", "key", "type", "meta",
                           "status", "count"})  # `doc_id` is an id, not a document
_SCALAR_CALLS = frozenset({"str", "repr", "int", "float", "bool", "len"})
_BYTES = frozenset({"bytes", "bytearray", "memoryview"})


def lookup(scope, name: str):
    """The size entry of the binding ``name`` resolves to (None when it has none)."""
    while scope is not None:
        if name in scope.names:
            return scope.sizes.get(name)
        scope = scope.parent
    return None


def owner(scope, name: str):
    while scope is not None and name not in scope.names:
        scope = scope.parent
    return scope


def set_tag(scope, target: ast.AST, tag) -> None:
    """After `target = value`: what the bound names now hold (tuples learn nothing)."""
    if isinstance(target, ast.Name):
        if tag is None:
            scope.sizes.pop(target.id, None)
        else:
            scope.sizes[target.id] = tag
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            set_tag(scope, elt.value if isinstance(elt, ast.Starred) else elt, None)


def bytes_annotation(node: ast.AST | None) -> bool:
    """`bytes`, `bytes | None`, `Optional[bytes]`, `Union[bytes, str]`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return False
    if isinstance(node, ast.Name):
        return node.id in _BYTES
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return bytes_annotation(node.left) or bytes_annotation(node.right)
    if isinstance(node, ast.Subscript):
        base = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "")
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base in ("Optional", "Union"):
            return any(bytes_annotation(p) for p in parts)
        if base == "Annotated":
            return bytes_annotation(parts[0])
    return False


def small(expr: ast.AST) -> bool:
    """A literal of scalars: constants, f-strings, `str(e)`, and displays of nothing else."""
    if isinstance(expr, (ast.Constant, ast.JoinedStr)):
        return True
    if isinstance(expr, ast.UnaryOp):
        return small(expr.operand)
    if isinstance(expr, ast.Call):
        return isinstance(expr.func, ast.Name) and expr.func.id in _SCALAR_CALLS
    if isinstance(expr, ast.Dict):
        return all(k is not None and small(k) for k in expr.keys) and all(map(small, expr.values))
    if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        return all(map(small, expr.elts))
    return False


def doc_named(expr: ast.AST) -> bool:
    """`document`, `ckpt`, `self.checkpoint`, `export_bundle`: named as a whole document."""
    name = expr.id if isinstance(expr, ast.Name) else getattr(expr, "attr", None)
    if not name:
        return False
    words = set(name.lower().strip("_").split("_"))
    return bool(words & DOC_WORDS) and not words & NOT_DOC_WORDS


def callee_name(func: ast.AST) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def written_args(call: ast.Call, offload: bool) -> list[ast.expr]:
    """The arguments a call writes to a file: `f.write(x)`, `p.write_text(x)`, `atomic_write(p,
    x)`, and `to_thread(_write_sync, p, x)` (an offloaded callable named for writing)."""
    func = call.func
    name = callee_name(func)
    if name in FILE_WRITES or (isinstance(func, ast.Name) and "write" in name.lower()):
        return call.args + [k.value for k in call.keywords]
    if offload:
        at = 1 if name == "run_in_executor" else 0
        if len(call.args) > at and "write" in callee_name(call.args[at]).lower():
            return call.args[at + 1:] + [k.value for k in call.keywords]
    return []


class Sizes:
    """Evidence for one walker. ``json_call(call, scope)``: the short name of a json call the
    catalog reports (`loads`, `model_dump_json`), else None."""

    def __init__(self, evaluator, json_call: Callable[[ast.Call, object], str | None]):
        self.ev = evaluator
        self.json_call = json_call
        self.sinks: set[int] = set()  # json calls whose result goes straight to a file write

    def evidence(self, node: ast.Call, short: str, scope) -> str | None:
        if short in FILE:
            return "file"
        obj = _subject(node, short)
        if obj is None:
            return None
        if short in SERIALISE:
            if _indented(node) and not small(obj):
                return "indent"
            if id(node) in self.sinks:
                return "write"
            tag = self.tag(obj, scope)
            if tag in ("read", "bytes"):
                tag = "parsed"
            return tag or ("document" if doc_named(obj) else None)
        tag = self.tag(obj, scope)
        return tag if tag in ("read", "bytes") else None

    def iterated(self, iterable: ast.expr, scope) -> str | None:
        """`for line in fh`: the lines of a file object were read from a file."""
        return "read" if getattr(self.ev.value(iterable, scope), "type", "") == "io.File" else None

    def tag(self, expr: ast.AST, scope) -> str | None:
        """What kind of data an expression holds, as far as evidence of size goes."""
        while True:
            if isinstance(expr, ast.Await):
                expr = expr.value
            elif (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
                  and expr.func.attr in UNWRAP):
                expr = expr.func.value
            else:
                break
        if isinstance(expr, ast.Name):
            found = lookup(scope, expr.id)
            if isinstance(found, str):
                return found
        elif isinstance(expr, ast.Attribute) and expr.attr in READ_ATTRS:
            return "read"
        elif isinstance(expr, (ast.ListComp, ast.SetComp, ast.DictComp)):
            return "loop"
        elif isinstance(expr, ast.Call):
            attr = expr.func.attr if isinstance(expr.func, ast.Attribute) else None
            if attr in READ_CALLS:
                return "read"
            if attr == "json":  # resp.json(), await request.json()
                return "parsed"
            if attr == "export_to_dict":
                return "document"
            short = self.json_call(expr, scope)
            if short in FILE or (short in PARSE and self.evidence(expr, short, scope)):
                return "parsed"
        value = self.ev.value(expr, scope)
        if getattr(value, "type", "").endswith("DoclingDocument"):
            return "document"
        return None


def _subject(node: ast.Call, short: str) -> ast.expr | None:
    """What is serialised or parsed: the receiver of `model_dump_json`, else the first argument."""
    if short == "model_dump_json":
        return node.func.value if isinstance(node.func, ast.Attribute) else None
    if node.args:
        return node.args[0]
    return next((k.value for k in node.keywords if k.arg in ("obj", "s", "json_data")), None)


def _indented(node: ast.Call) -> bool:
    return any(k.arg == "indent" and not (isinstance(k.value, ast.Constant) and k.value.value is None)
               for k in node.keywords)
