"""Unified diffs that `git apply` accepts, coloured on a terminal."""

from __future__ import annotations

import difflib


def unified_diff(path: str, old: str, new: str) -> str:
    """`--- a/path` / `+++ b/path` hunks; a missing final newline is marked as git does."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}"):
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\n") + "\n")
        elif line.endswith(("\n", "\r")):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def colorize(diff: str) -> str:
    colors = {"+": "\x1b[32m", "-": "\x1b[31m", "@": "\x1b[36m"}
    out = []
    for line in diff.splitlines(keepends=True):
        head = line[:1]
        if line.startswith(("+++", "---")):
            out.append(f"\x1b[1m{line.rstrip()}\x1b[0m\n")
        elif head in colors:
            out.append(f"{colors[head]}{line.rstrip()}\x1b[0m\n")
        else:
            out.append(line)
    return "".join(out)
