"""The library swaps that come before thread offloading in a pass of `apply`: requests (and sync
httpx, urlopen) -> httpx.AsyncClient (`httpx_swap`), sqlite3 -> aiosqlite (`sqlite_swap`). Each
is imported when a file has findings of its category: their planners and LibCST cost import
time that most files never need."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from asyncfix.engine.source import Lines
from asyncfix.engine.walker import RawFinding

SWAPPED_HTTP = ("requests.", "httpx.", "httpx2.", "urllib.request.urlopen")  # what the http swap plans
HTTPX_CONTEXT = "_HTTPX_SSL_CONTEXT"  # the module's one TLS context for the swapped clients
THREAD_NOTE = "runs in a thread (its client kept): {reason}"
NOT_SWAPPED = "asyncfix swaps requests, sync httpx and simple urlopen calls; this one stays, in a thread"


@dataclass
class Swap:
    text: str  # "" when nothing was swapped
    notes: dict[int, list[str]] = field(default_factory=dict)  # id(raw) swapped -> its notes
    refused: dict[int, str] = field(default_factory=dict)  # id(raw) -> why it stays as it is


def library_swap(category: str, text: str, tree: ast.Module, lines: Lines, found: list[RawFinding],
                 backend: str, http_client: str | None, line_length: int, newline: str,
                 plan_only: bool = False) -> Swap:
    """The swap of ``category``'s findings ``found`` ("http" or "sqlite"). ``plan_only``: which
    findings it would take (``notes``) and which not, without writing it (no LibCST)."""
    if category == "http":
        from asyncfix.transforms.httpx_swap import swap

        return swap(text, tree, lines, found, http_client, line_length, newline, plan_only)
    from asyncfix.transforms.sqlite_swap import swap

    return swap(text, tree, lines, found, backend, newline, plan_only)


def thread_note(raw: RawFinding, refused: dict[int, str]) -> str:
    """What the reviewer of a thread-offloaded http call should know."""
    if not raw.name.startswith(SWAPPED_HTTP):
        return NOT_SWAPPED
    return THREAD_NOTE.format(reason=refused.get(id(raw), "not swapped for httpx"))
