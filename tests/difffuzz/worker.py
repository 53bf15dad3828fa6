"""A worker process: reads jobs (JSON lines) on stdin, rewrites and runs each program, writes
progress and the report (JSON lines) on its own copy of stdout.

It is a process of its own so that a program that hangs (a deadlocked rewrite blocks the event
loop's thread, or a worker thread never returns) can be killed without losing the run: the
parent watches the phase messages and kills the worker when a phase outlives its timeout.

    python -m tests.difffuzz.worker WORKDIR       (started by pool.Pool, cwd = the repository)

A job: {"id", "seed"} (generate from the seed) or {"id", "program"}, plus "timeout" (seconds per
run), "determinism" (run the original twice and report where the two runs differ),
"always_run" (run even when the tool changed nothing), "rewritten" (use this text instead of
the tool's rewrite: the harness's own tests), "min_limit" (see MIN_LIMIT), "negative_sleeps"
(see grammar.build), "per_call_files" and "unordered" (see runner.run_module).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path

from tests.difffuzz.grammar import Program, generate
from tests.difffuzz.runner import compare, quiet, run_module

_CATALOG = None
MIN_LIMIT = 3.0  # seconds: the least a rewritten run gets before it counts as a hang


def rewrite(text: str) -> dict:
    """What checked_rewrite made of the text; an exception in it is a tool error."""
    global _CATALOG
    from asyncfix.apply import checked_rewrite
    from asyncfix.catalog import Catalog
    from asyncfix.codemods import CATEGORIES

    if _CATALOG is None:
        _CATALOG = Catalog(CATEGORIES)
    try:
        result = checked_rewrite(text, "case.py", _CATALOG, set(_CATALOG.categories))
    except Exception as exc:  # noqa: BLE001 - VerifyError or a crash: both are the tool's bugs
        return {"tool_error": f"{type(exc).__name__}: {exc}", "rewritten": "", "changed": False,
                "fixed": 0, "unfixable": 0, "reasons": []}
    return {
        "tool_error": None,
        "rewritten": result.text,
        "changed": bool(result.text) and result.text != text,
        "fixed": len(result.fixed),
        "unfixable": len(result.unfixable),
        "reasons": sorted({f.unfixable_reason or "" for f in result.unfixable}),
        "tool": sys.modules["asyncfix"].__file__,
    }


def handle(job: dict, workdir: Path, send) -> dict:
    program = (Program.from_dict(job["program"]) if "program" in job
               else generate(job["seed"], job.get("negative_sleeps", True)))
    report = {"program": program.to_dict(), "phase": "rewrite"}
    send(report)
    if "rewritten" in job:  # a given rewrite instead of the tool's: the harness's own tests
        report.update(tool_error=None, rewritten=job["rewritten"], fixed=0, unfixable=0, reasons=[],
                      changed=job["rewritten"] != program.text)
    else:
        report.update(rewrite(program.text))
    timeout = job.get("timeout", 8.0)
    run = lambda text, limit: run_module(text, program.entry, program.concurrency, workdir, limit,  # noqa: E731
                                         job.get("per_call_files", False), job.get("unordered", False))
    if report["changed"] or job.get("always_run") or job.get("determinism"):
        report.update(phase="original", limit=timeout)
        send(report)
        started = time.monotonic()
        report["original"] = run(program.text, timeout)
        took = time.monotonic() - started
        if job.get("determinism"):
            report["phase"] = "original again"
            send(report)
            report["original_again"] = run(program.text, timeout)
            report["nondeterministic"] = compare(report["original"], report["original_again"])
        if report["changed"]:
            # A hang costs its whole limit: scale it to what the original took (threads and a
            # loaded machine stay far inside ten times that, or 3 s), capped by the timeout.
            report.update(phase="rewrite run", limit=min(timeout, max(job.get("min_limit", MIN_LIMIT), 10 * took)))
            send(report)
            report["rewrite_outcome"] = run(report["rewritten"], report["limit"])
            report["differences"] = compare(report["original"], report["rewrite_outcome"])
    report["phase"] = "done"
    return report


def main() -> None:
    if os.environ.get("DIFFFUZZ_TOOL"):  # test the asyncfix package there (another commit's export)
        sys.path.insert(0, os.environ["DIFFFUZZ_TOOL"])
    workdir = Path(sys.argv[1])
    workdir.mkdir(parents=True, exist_ok=True)
    # The protocol keeps the real stdout; anything a program prints goes to stderr instead.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    quiet()
    rewrite("async def warm(p):\n    return open(p).read()\n")  # load the tool, black, the catalog
    gc.collect()
    gc.freeze()  # what is loaded now is never garbage: the per-run collections stay cheap

    for line in sys.stdin:
        job = json.loads(line)

        def send(report, final=False):
            proto.write(json.dumps({"id": job["id"], "final": final, "report": report}) + "\n")
            proto.flush()

        try:
            report = handle(job, workdir, send)
        except Exception:  # noqa: BLE001 - the harness's own bug: say so, keep the worker
            report = {"program": job.get("program"), "seed": job.get("seed"),
                      "harness_error": traceback.format_exc()}
        send(report, final=True)


if __name__ == "__main__":
    main()
