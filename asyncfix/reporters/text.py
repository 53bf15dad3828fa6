"""`path:line:col: CODE message`, as ruff prints, then a one-line summary."""

from __future__ import annotations

from asyncfix.reporters.summary import summarize


def render(result, catalog) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in result.findings]
    lines += [f"{e.path}:{e.line}:{e.column}: error: {e.message}" for e in result.errors]
    s = summarize(result)
    if s["findings"]:
        noun = "call" if s["findings"] == 1 else "calls"
        lines.append(f"Found {s['findings']} blocking {noun} on the event loop "
                     f"({s['fixable']} fixable, {s['unfixable']} unfixable) in {s['files']} files checked.")
    else:
        lines.append(f"No blocking calls found in {s['files']} files checked.")
    if s["errors"]:
        lines.append(f"{s['errors']} file(s) could not be checked.")
    return "\n".join(lines) + "\n"
