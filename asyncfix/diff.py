"""Unified diffs that `git apply` accepts, coloured on a terminal.

Lines are matched patience-style: lines found once in both texts anchor the match, and only the
short gaps between anchors go through difflib. difflib alone takes quadratic time on a long module
whose rewrite touches it all over (a 20,000-line file: a minute); the anchors keep it near linear.
"""

from __future__ import annotations

import bisect
import difflib
import re

_LINE = re.compile(r"[^\n]*\n|[^\n]+$")  # git's lines: only "\n" ends one ("\r" stays in the line)
CONTEXT = 3


def unified_diff(path: str, old: str, new: str) -> str:
    """`--- a/path` / `+++ b/path` hunks; a missing final newline is marked as git does. Every
    line of the result ends with a newline, so what is printed next starts a line of its own."""
    a, b = _LINE.findall(old), _LINE.findall(new)
    out = []
    for group in _grouped(_opcodes(a, b)):
        if not out:
            out += [f"--- a/{path}\n", f"+++ b/{path}\n"]
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + line for line in a[i1:i2]]
                continue
            out += ["-" + line for line in a[i1:i2]]
            out += ["+" + line for line in b[j1:j2]]
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in out)


def _range(start: int, stop: int) -> str:
    """A hunk header's `start,length`, as difflib and git write it."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def matching_blocks(a: list[str], b: list[str]) -> list[tuple[int, int, int]]:
    """(i, j, n): a[i:i+n] == b[j:j+n], increasing in i and j, adjacent runs merged; ends with
    (len(a), len(b), 0) as difflib's does."""
    pairs: list[tuple[int, int]] = []
    stack = [(0, len(a), 0, len(b))]
    while stack:
        alo, ahi, blo, bhi = stack.pop()
        while alo < ahi and blo < bhi and a[alo] == b[blo]:
            pairs.append((alo, blo))
            alo, blo = alo + 1, blo + 1
        while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
            ahi, bhi = ahi - 1, bhi - 1
            pairs.append((ahi, bhi))
        if alo == ahi or blo == bhi:
            continue
        anchors = _anchors(a, b, alo, ahi, blo, bhi)
        if not anchors:  # no line unique to both sides here: a short gap, difflib's turn
            matcher = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi])
            for i, j, n in matcher.get_matching_blocks():
                pairs += [(alo + i + k, blo + j + k) for k in range(n)]
            continue
        for i, j in anchors:
            pairs.append((i, j))
            stack.append((alo, i, blo, j))
            alo, blo = i + 1, j + 1
        stack.append((alo, ahi, blo, bhi))
    pairs.sort()
    blocks: list[tuple[int, int, int]] = []
    for i, j in pairs:
        if blocks and blocks[-1][0] + blocks[-1][2] == i and blocks[-1][1] + blocks[-1][2] == j:
            blocks[-1] = (blocks[-1][0], blocks[-1][1], blocks[-1][2] + 1)
        else:
            blocks.append((i, j, 1))
    blocks.append((len(a), len(b), 0))
    return blocks


def _anchors(a, b, alo, ahi, blo, bhi) -> list[tuple[int, int]]:
    """Lines occurring once in a[alo:ahi] and once in b[blo:bhi], the longest chain of them in
    the same order on both sides (patience sorting)."""
    count: dict[str, list[int]] = {}  # line -> [count in a, index in a, count in b, index in b]
    for i in range(alo, ahi):
        entry = count.setdefault(a[i], [0, i, 0, 0])
        entry[0] += 1
    for j in range(blo, bhi):
        entry = count.get(b[j])
        if entry is not None:
            entry[2] += 1
            entry[3] = j
    unique = sorted((e[1], e[3]) for e in count.values() if e[0] == 1 and e[2] == 1)
    tails: list[int] = []  # tails[k]: the smallest j ending a chain of length k + 1
    tail_at: list[int] = []  # index into unique of that chain's end
    back: list[int] = []  # each entry's predecessor in its chain
    for index, (_, j) in enumerate(unique):
        k = bisect.bisect_left(tails, j)
        back.append(tail_at[k - 1] if k else -1)
        if k == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[k], tail_at[k] = j, index
    chain, index = [], tail_at[-1] if tail_at else -1
    while index >= 0:
        chain.append(unique[index])
        index = back[index]
    return chain[::-1]


def _opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    out, i, j = [], 0, 0
    for ai, bj, size in matching_blocks(a, b):
        if i < ai or j < bj:
            out.append(("replace" if i < ai and j < bj else "delete" if i < ai else "insert", i, ai, j, bj))
        if size:
            out.append(("equal", ai, ai + size, bj, bj + size))
        i, j = ai + size, bj + size
    return out


def _grouped(codes: list[tuple[str, int, int, int, int]], n: int = CONTEXT):
    """Changes with ``n`` lines of context around them, one group per hunk (as difflib groups)."""
    if not any(tag != "equal" for tag, *_ in codes):
        return
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)
    group = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * n:
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


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
