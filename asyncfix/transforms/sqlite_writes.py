"""Which aiosqlite blocks would write: those take the thread form instead.

A block that writes holds SQLite's write lock from its first write to its commit. In aiosqlite
each statement is an `await`, so the lock stays held across loop turns; when the loop is slow
elsewhere, concurrent writers wait out their busy timeout and fail with `database is locked`,
where the original, serialised on the loop, lost nothing. In a thread the lock is held only
while the thread works (one hop per transaction). Reads take no write lock: they stay aiosqlite.

A block writes when it commits, rolls back, runs `executemany`/`executescript`, or executes SQL
that is not a literal read (`SELECT`, `VALUES`, `EXPLAIN`, a `WITH` that only selects, a `PRAGMA`
that sets nothing). SQL the tool cannot read (built at run time) counts as a write.
"""

from __future__ import annotations

import ast
import re

WRITING_CALLS = frozenset({"commit", "rollback", "executemany", "executescript"})
EXECUTES = frozenset({"execute", "execute_fetchall"})
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_WRITE_WORDS = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.I)


def write_reason(calls: set[ast.Call], constants: dict[str, str]) -> str | None:
    """Why the block of ``calls`` (the awaited connection and cursor calls) writes, or None for
    a read-only block. ``constants``: the module's names bound once to a string."""
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
        if not isinstance(call.func, ast.Attribute):
            continue
        method = call.func.attr
        if method in WRITING_CALLS:
            return f"it writes (`.{method}()` at line {call.lineno})"
        if method in EXECUTES:
            sql = _sql(call, constants)
            if sql is None:
                return f"its SQL at line {call.lineno} is built at run time (counted as a write)"
            if not is_read(sql):
                return f"it writes (`{_first_word(sql)}` at line {call.lineno})"
    return None


def module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level names assigned exactly once, to a string literal (`QUERY = "SELECT ..."`)."""
    seen: dict[str, int] = {}
    values: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            seen[node.id] = seen.get(node.id, 0) + 1
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and isinstance(stmt.value, ast.Constant) \
                and isinstance(stmt.value.value, str):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                values[targets[0].id] = stmt.value.value
    return {name: value for name, value in values.items() if seen.get(name) == 1}


def is_read(sql: str) -> bool:
    text = _COMMENT.sub(" ", sql).strip().lstrip("(").strip()
    word = _first_word(text).upper()
    if word in ("SELECT", "VALUES", "EXPLAIN"):
        return ";" not in text.rstrip().rstrip(";")  # one statement only
    if word == "WITH":
        return not _WRITE_WORDS.search(text)
    if word == "PRAGMA":
        return "=" not in text
    return False


def _sql(call: ast.Call, constants: dict[str, str]) -> str | None:
    if not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name):
        return constants.get(arg.id)
    if isinstance(arg, ast.JoinedStr):  # f"SELECT * FROM {table}": the text before the first hole
        head = arg.values[0] if arg.values else None
        if isinstance(head, ast.Constant) and isinstance(head.value, str) and _first_word(head.value):
            return head.value if _first_word(head.value).upper() != "WITH" else None
    return None


def _first_word(sql: str) -> str:
    match = re.match(r"\s*\(?\s*([A-Za-z]+)", _COMMENT.sub(" ", sql))
    return match.group(1) if match else ""
