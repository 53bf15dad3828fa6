#!/usr/bin/env python3
"""Differential fuzzing of `asyncfix apply`, the long run.

    python benchmarks/fuzz.py --programs 10000 [--seed S] [--jobs 2] [--out DIR] [--timeout 8]
                              [--determinism] [--documented] [--unordered] [--tool DIR]
    python benchmarks/fuzz.py --replay PROGRAM_SEED     one program: text, rewrite, outcomes

Program i of a run is generated from program seed S * 10_000_000 + i (tests/difffuzz/grammar.py,
the grammar of tests/test_fuzz.py), so a seed names its program on any machine. Each program is
rewritten with `checked_rewrite` and, when the tool changed it, the original and the rewrite run
on identical inputs in worker processes (tests/difffuzz/runner.py); a run that outlives
--timeout is a hang and its worker is killed. Every difference, tool error or hang is written to
--out as a standalone file (original, rewrite, both outcomes; `python FILE` reruns it), and the
run ends with counts per kind, a summary line and a Markdown table row:

| seed | programs | rewritten | calls moved | refused a call | differences | tool errors | programs/s |

`--determinism` also runs every original twice and counts where the two runs differ: that
number must be 0, or the harness (not the tool) is at fault.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.difffuzz.pool import Pool  # noqa: E402
from tests.difffuzz.report import guess_cause, kind, status, write_difference  # noqa: E402

SEED_STRIDE = 10_000_000
HEADER = ("| seed | programs | rewritten | calls moved | refused a call | differences | tool errors "
          "| programs/s |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def replay(program_seed: int, timeout: float, tool: str | None) -> int:
    from tests.difffuzz.grammar import generate

    program = generate(program_seed)
    with Pool(jobs=1, timeout=timeout, always_run=True, tool=tool) as pool:
        report = pool.run_one({"seed": program_seed})
    print(f"# program seed {program_seed}: entry {program.entry}, concurrency {program.concurrency}")
    print(program.text)
    print("# rewrite" + ("" if report.get("changed") else " (unchanged)"))
    print(report.get("rewritten") or "")
    print("# kind:", kind(report))
    for key in ("tool_error", "hang", "harness_error", "reasons"):
        if report.get(key):
            print(f"# {key}: {report[key]}")
    print("# original:", json.dumps(report.get("original"), indent=1))
    print("# rewrite:", json.dumps(report.get("rewrite_outcome"), indent=1))
    for diff in report.get("differences") or []:
        print("# DIFF", diff)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--programs", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/asyncfix-fuzz"))
    ap.add_argument("--timeout", type=float, default=8.0, help="seconds per run of a program")
    ap.add_argument("--determinism", action="store_true", help="also run each original twice")
    ap.add_argument("--replay", type=int, metavar="PROGRAM_SEED")
    ap.add_argument("--documented", action="store_true",
                    help="accept the tool's documented limits (README): no negative sleeps, and "
                    "concurrent calls each get their own files")
    ap.add_argument("--unordered", action="store_true",
                    help="compare the lists of concurrent runs as multisets (order not compared)")
    ap.add_argument("--tool", help="folder holding the asyncfix package to test, e.g. "
                    "`git archive COMMIT asyncfix | tar -x -C DIR` (default: this checkout)")
    args = ap.parse_args()
    if args.replay is not None:
        return replay(args.replay, args.timeout, args.tool)

    out = args.out / f"seed-{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "reports.jsonl").unlink(missing_ok=True)
    counts = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    examples: dict[str, str] = {}
    started = time.monotonic()
    jobs = ({"seed": args.seed * SEED_STRIDE + i} for i in range(args.programs))
    tool = None
    with Pool(jobs=args.jobs, timeout=args.timeout, determinism=args.determinism, tool=args.tool,
              documented=args.documented, unordered=args.unordered) as pool:
        for report in pool.map(jobs):
            counts["programs"] += 1
            tool = tool or report.get("tool")
            counts["rewritten"] += bool(report.get("changed"))
            counts["moved"] += report.get("fixed") or 0
            counts["refused"] += bool(report.get("unfixable"))
            state = status(report)
            counts[state] += 1
            if state in ("difference", "tool", "harness"):
                label = guess_cause(report)
                with open(out / "reports.jsonl", "a") as fh:
                    fh.write(json.dumps(report) + "\n")
                kinds[label] += 1
                seed = (report.get("program") or {}).get("seed", report.get("seed"))
                path = write_difference(report, out / state, f"{state}-{seed}")
                examples.setdefault(label, str(path))
            if counts["programs"] % 250 == 0:
                rate = counts["programs"] / (time.monotonic() - started)
                print(f"... {counts['programs']} programs, {counts['difference']} differences, "
                      f"{counts['tool']} tool errors, {counts['harness']} harness, {rate:.1f}/s",
                      file=sys.stderr, flush=True)
    elapsed = time.monotonic() - started
    rate = counts["programs"] / elapsed

    lines = ["| count | likely cause | first example |", "| ---: | --- | --- |"]
    lines += [f"| {n} | {k} | {examples[k]} |" for k, n in kinds.most_common()]
    (out / "kinds.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print()
    print(f"fuzz: seed {args.seed}, {counts['programs']} programs in {elapsed:.0f} s "
          f"({rate:.1f}/s, {args.jobs} jobs): {counts['rewritten']} rewritten, {counts['moved']} calls "
          f"moved, {counts['refused']} with a refused call, {counts['difference']} differences, "
          f"{counts['tool']} tool errors, {counts['harness']} harness errors; files in {out}; "
          f"asyncfix from {tool}")
    print(HEADER)
    print(f"| {args.seed} | {counts['programs']} | {counts['rewritten']} | {counts['moved']} | "
          f"{counts['refused']} | {counts['difference']} | {counts['tool']} | {rate:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
