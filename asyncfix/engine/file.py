"""One file in, findings out: decode, parse, analyse, drop suppressed, format positions."""

from __future__ import annotations

from asyncfix.catalog import Catalog, canonical
from asyncfix.engine.analyzer import analyze_tree
from asyncfix.engine.walker import RawFinding
from asyncfix.engine.fastpath import fast_parse
from asyncfix.engine.parse import parse
from asyncfix.engine.source import Lines, decode
from asyncfix.engine.suppress import suppressed
from asyncfix.findings import FileError, Finding


def analyze_source(text: str, path: str, catalog: Catalog, fast: bool = True) -> list[Finding]:
    """Findings for one module's text. Raises ``SyntaxError`` for a file that does not parse.

    ``fast`` parses only the parts that can hold a finding (see ``fastpath``); the result is the
    same, except that a syntax error in a part that cannot hold a finding goes unreported.
    """
    if "async" not in text:  # no coroutine, nothing runs on a loop
        return []
    lines = Lines(text)
    tree = None
    if fast:
        try:
            tree = fast_parse(text, catalog, path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None  # newer syntax, or a cut the text scan got wrong: parse it all
    if tree is None:
        tree = parse(text, path)
    elif not tree.body:
        return []  # the fast path found nothing that can hold a finding
    return sorted(to_finding(raw, path, lines) for raw in raw_findings(tree, catalog, lines))


def raw_findings(tree, catalog: Catalog, lines: Lines) -> list[RawFinding]:
    """The analysis of a parsed module, without the findings a comment suppresses."""
    out = []
    for raw in analyze_tree(tree, catalog, lines):
        node = raw.node
        if suppressed(lines.line(node.lineno), raw.match) or (
            node.end_lineno != node.lineno and suppressed(lines.line(node.end_lineno), raw.match)
        ):
            continue
        out.append(raw)
    return out


def to_finding(raw: RawFinding, path: str, lines: Lines, reason: str | None = None,
               notes: list[str] | tuple = ()) -> Finding:
    node = raw.node
    reason = reason or raw.unfixable_reason
    return Finding(
            path=path,
            line=node.lineno,
            column=lines.char_col(node.lineno, node.col_offset) + 1,
            end_line=node.end_lineno,
            end_column=lines.char_col(node.end_lineno, node.end_col_offset) + 1,
            code=raw.match.rule.code,
            category=raw.match.category.name,
            message=raw.match.rule.message.format(name=raw.written or canonical(raw.name)),
            qualname=raw.name,
            function=raw.function,
            fixable=reason is None,
            unfixable_reason=reason,
            notes=tuple(notes),
        )


def analyze_bytes(data: bytes, path: str, catalog: Catalog, fast: bool = True) -> list[Finding] | FileError:
    try:
        return analyze_source(decode(data), path, catalog, fast)
    except SyntaxError as exc:
        return FileError(path, f"syntax error: {exc.msg}", exc.lineno or 1, (exc.offset or 1))
