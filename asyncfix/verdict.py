"""`check`'s word on a finding is `apply`'s: fixable means `apply` moves it off the loop.

Whether a call can move depends on the code around it (shared state, locks, the data flow), which
only the planner knows. So for a file with findings `apply` could fix, `check` runs the same
checked rewrite `apply` runs (nothing is written) and takes its verdict: a finding it would move
is fixable, any other gets the reason `apply` would give. Such files are few, and the verdict is
cached with the findings.
"""

from __future__ import annotations

from dataclasses import replace

from asyncfix.catalog import MADE_ELSEWHERE, Catalog
from asyncfix.findings import Finding


def _key(f: Finding) -> tuple:
    return (f.line, f.column, f.code)


def with_apply_verdict(text: str, path: str, catalog: Catalog, codes: frozenset[str] | None,
                       findings: list[Finding], line_length: int = 88,
                       universe: frozenset[str] | None = None) -> list[Finding]:
    """``findings`` (of ``text``) with `fixable` and the reason as `apply` with the selection
    ``codes`` (None: every category) would have them."""
    from asyncfix.apply import VerifyError, checked_rewrite  # the planner loads only when needed

    selected = set(codes) if codes is not None else set(catalog.categories)
    if not any(_movable(f) and (f.code in selected or f.category in selected) for f in findings):
        return findings
    try:
        result = checked_rewrite(text, path, catalog, selected, line_length=line_length,
                                 universe=set(universe) if universe is not None else None)
    except SyntaxError as exc:  # check parsed only the parts that can hold a finding
        return _all_left(findings, f"`apply` needs the whole file to parse: {exc.msg} (line {exc.lineno})")
    except VerifyError as exc:
        return _all_left(findings, f"`apply` leaves this file untouched: {exc}")
    fixed = {_key(f) for f in result.fixed}
    reasons = {_key(f): f.unfixable_reason for f in result.unfixable}
    out = []
    for f in findings:
        if _key(f) in fixed:
            out.append(replace(f, fixable=True, unfixable_reason=None))
        elif _movable(f):
            reason = reasons.get(_key(f)) or f.unfixable_reason or "not selected for `apply`"
            out.append(replace(f, fixable=False, unfixable_reason=reason))
        else:
            out.append(f)
    return out


def _movable(f: Finding) -> bool:
    """Whether `apply` may move it: fixable, or a call on a sqlite connection made elsewhere."""
    return f.fixable or f.unfixable_reason == MADE_ELSEWHERE


def _all_left(findings: list[Finding], reason: str) -> list[Finding]:
    return [replace(f, fixable=False, unfixable_reason=f.unfixable_reason or reason) for f in findings]
