"""What a report means: its kind (to group a long run's differences), whether it is a difference
at all, and a standalone file for each one.
"""

from __future__ import annotations

import pprint
import re
from pathlib import Path

from tests.difffuzz.pool import REPO

_EXC = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Empty|Full|Warning|Interrupt|Exit))\(")


def status(report: dict) -> str:
    """harness | tool | hang | difference | same | unchanged"""
    if report.get("harness_error") or report.get("nondeterministic"):
        return "harness"
    if report.get("hang") in ("original", "original again", "start"):
        return "harness"  # the original must never hang: a grammar bug
    if report.get("tool_error") or report.get("hang") == "rewrite":
        return "tool"
    if report.get("hang") or report.get("differences"):
        return "difference"
    return "same" if report.get("changed") else "unchanged"


def _shape(text: str) -> str:
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    return re.sub(r"\d+", "N", text)[:90]


def _exceptions(outcome: dict | None) -> list[str]:
    if not outcome:
        return []
    found = []
    for field in ("import", "error", "result"):
        found += _EXC.findall(outcome.get(field) or "")
    return sorted(set(found))


def kind(report: dict) -> str:
    """A short label that groups reports failing the same way."""
    state = status(report)
    if state == "harness":
        if report.get("nondeterministic"):
            fields = sorted({d["field"].split(".")[0] for d in report["nondeterministic"]})
            return f"harness: the original is nondeterministic ({', '.join(fields)})"
        if report.get("hang"):
            return "harness: the original hangs"
        return "harness: " + (report.get("harness_error") or "").strip().splitlines()[-1][:100]
    if state == "tool":
        if report.get("hang"):
            return "tool: checked_rewrite hangs"
        return "tool error: " + _shape(report["tool_error"])
    if state != "difference":
        return state
    program = report.get("program") or {}
    prefix = "concurrent " if program.get("concurrency", 1) > 1 else ""
    if report.get("hang"):
        return f"{prefix}hang: the rewrite does not finish (killed)"
    diffs = report["differences"]
    fields = sorted({d["field"].split(".")[0] for d in diffs})
    before, after = _exceptions(report.get("original")), _exceptions(report.get("rewrite_outcome"))
    if before != after:
        new = [e for e in after if e not in before]
        message = ""
        if new:
            outcome = report["rewrite_outcome"]
            blob = " ".join(outcome.get(f) or "" for f in ("import", "error", "result"))
            found = re.search(rf"{new[0]}\((.*?)\)(?:,|\]|\)|\s|$)", blob)
            if found:
                text = found.group(1)
                if text[:1] in "'\"" and text[-1:] == text[:1]:
                    text = text[1:-1]  # the message itself; names quoted inside it get shaped
                message = f" {_shape(text)}"
        return f"{prefix}raises {after or 'nothing'} instead of {before or 'nothing'}:{message}"
    if "hang" in fields:
        return f"{prefix}hang: the call does not finish (the loop runs)"
    named = sorted({d["field"] for d in diffs if d["field"].split(".")[0] in ("globals", "classes")})
    return f"{prefix}differs in {', '.join(fields)}" + (f" ({', '.join(named)})" if named else "")


# (cause, test on the report) in order: the first that matches names the likely cause. They read
# the outcomes only; a report none of them explains is "other", where new kinds of bug show up.
def _new_text(report: dict) -> str:
    out = report.get("rewrite_outcome") or {}
    return " ".join(str(out.get(f) or "") for f in ("import", "error", "result", "globals"))


def _differs(report: dict, field: str) -> bool:
    return any(d["field"] == field or d["field"].startswith(field + ".") for d in report.get("differences") or [])


def _new_exception(report: dict, names: tuple[str, ...]) -> bool:
    before = _exceptions(report.get("original"))
    return any(n in _exceptions(report.get("rewrite_outcome")) and n not in before for n in names)


CAUSES = [
    ("a private coroutine's helper `___x_sync` is name-mangled inside the class",
     lambda r: re.search(r"name '_\w+___\w+' is not defined", _new_text(r))),
    ("super() moved into a module-level helper",
     lambda r: "super(): " in _new_text(r)),
    ("an asyncio object (loop, queue, event, task) used from a worker thread",
     lambda r: re.search(r"Non-thread-safe operation|no running event loop|no current event loop",
                         _new_text(r))),
    ("a helper defined after the module-level block that runs its coroutine at import",
     lambda r: _differs(r, "globals.IMPORTED") and "import-time NameError" in _new_text(r)),
    ("a ContextVar set or reset in a worker thread",
     lambda r: _differs(r, "globals.VAR")),
    ("hang: the rewrite never finishes (deadlock)",
     lambda r: r.get("hang")),
    ("a local lost or not passed across the helper boundary",
     lambda r: _new_exception(r, ("UnboundLocalError", "NameError"))),
    ("concurrent calls now interleave at the thread hop (lost update, check-then-act)",
     lambda r: (r.get("program") or {}).get("concurrency", 1) > 1),
]


def guess_cause(report: dict) -> str:
    state = status(report)
    if state != "difference":
        return kind(report)
    for cause, test in CAUSES:
        if test(report):
            return cause
    return "other: " + kind(report)


def _literal(text: str) -> str:
    if "'''" in text or text.endswith("\\"):
        return repr(text)
    return "r'''" + text + "'''"


def write_difference(report: dict, folder: Path, name: str) -> Path:
    """A file that shows one difference and reruns it: `python FILE` from anywhere."""
    folder.mkdir(parents=True, exist_ok=True)
    program = report.get("program") or {}
    seed = program.get("seed", report.get("seed"))
    lines = [
        '"""asyncfix differential fuzz: the rewrite does not behave like the original.',
        "",
        f"kind: {kind(report)}",
        f"seed: {seed}  (python benchmarks/fuzz.py --replay {seed})" if seed is not None else "seed: -",
        f"entry: {program.get('entry')}, concurrency {program.get('concurrency')}; "
        f"findings fixed {report.get('fixed')}, unfixable {report.get('unfixable')}",
    ]
    if report.get("hang"):
        lines.append(f"hang: killed in phase {report['hang']!r}")
    if report.get("tool_error"):
        lines.append(f"tool error: {report['tool_error']}")
    if report.get("harness_error"):
        lines.append(f"harness error: {report['harness_error']}")
    for diff in report.get("differences") or report.get("nondeterministic") or []:
        lines += [f"{diff['field']}:", f"    original: {diff['original']}", f"    rewrite:  {diff['rewrite']}"]
    lines += ['"""', "", f"ORIGINAL = {_literal(program.get('text') or '')}", "",
              f"REWRITE = {_literal(report.get('rewritten') or '')}", "",
              f"ENTRY, CONCURRENCY = {program.get('entry')!r}, {program.get('concurrency')!r}", "",
              "OUTCOME_ORIGINAL = " + pprint.pformat(report.get("original"), width=100), "",
              "OUTCOME_REWRITE = " + pprint.pformat(report.get("rewrite_outcome"), width=100), "",
              "",
              'if __name__ == "__main__":  # run both again, in this process (a hang hangs here)',
              "    import sys, tempfile",
              "",
              f"    sys.path.insert(0, {str(REPO)!r})",
              "    from tests.difffuzz.runner import compare, quiet, run_module",
              "",
              "    quiet()",
              "    with tempfile.TemporaryDirectory() as tmp:",
              "        a = run_module(ORIGINAL, ENTRY, CONCURRENCY, tmp)",
              "        b = run_module(REWRITE, ENTRY, CONCURRENCY, tmp)",
              "    for diff in compare(a, b):",
              "        print(diff)",
              ""]
    path = folder / f"{name}.py"
    path.write_text("\n".join(lines))
    return path
