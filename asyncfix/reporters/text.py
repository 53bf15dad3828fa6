"""`path:line:col: CODE message`, as ruff prints, then a one-line summary.

On a terminal the CLI asks for colour, in ruff's style: the path bold, the separators cyan, the
code bold red."""

from __future__ import annotations

from asyncfix.reporters.summary import plural, summarize

BOLD, CYAN, RED_BOLD, RESET = "\033[1m", "\033[36m", "\033[1;31m", "\033[0m"


def _where(path: str, line: int, column: int, color: bool) -> str:
    if not color:
        return f"{path}:{line}:{column}:"
    sep = f"{CYAN}:{RESET}"
    return f"{BOLD}{path}{RESET}{sep}{line}{sep}{column}{sep}"


def render(result, catalog, color: bool = False) -> str:
    red = (lambda s: f"{RED_BOLD}{s}{RESET}") if color else (lambda s: s)
    lines = [f"{_where(f.path, f.line, f.column, color)} {red(f.code)} {f.message}" for f in result.findings]
    lines += [f"{_where(e.path, e.line, e.column, color)} {red('error')}: {e.message}" for e in result.errors]
    s = summarize(result)
    files = plural(s["files"], "file")
    if s["findings"]:
        noun = "call" if s["findings"] == 1 else "calls"
        if s["fixable"] is None:  # not planned: say what is known, and how to know the rest
            left = f"{s['unfixable']} with no fix yet; " if s["unfixable"] else ""
            lines.append(f"Found {s['findings']} blocking {noun} on the event loop in {files} checked "
                         f"({left}--show-fixes says which `asyncfix apply` fixes).")
        else:
            lines.append(f"Found {s['findings']} blocking {noun} on the event loop "
                         f"({s['fixable']} fixable, {s['unfixable']} unfixable) in {files} checked.")
    elif not s["errors"]:  # beside an error "no blocking calls" would read as a clean bill
        lines.append(f"No blocking calls found in {files} checked.")
    if s["errors"]:
        if s["findings"]:
            lines.append(f"{plural(s['errors'], 'file')} could not be checked.")
        else:
            lines.append(f"{s['errors']} of {files} could not be checked.")
    if s["test_findings_left_out"]:
        lines.append(f"{plural(s['test_findings_left_out'], 'finding')} in test and example code left out "
                     f"({plural(s['test_files_left_out'], 'file')}; --include-tests reports them).")
    return "\n".join(lines) + "\n"
