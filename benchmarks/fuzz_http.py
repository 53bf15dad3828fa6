#!/usr/bin/env python3
"""Differential fuzzing of the `requests -> httpx.AsyncClient` rewrite, the long run.

    python benchmarks/fuzz_http.py --programs 2000 --seed 1 [--jobs 2] [--out DIR]
    python benchmarks/fuzz_http.py --replay PROGRAM_SEED      one program: text, rewrite, outcomes
    python benchmarks/fuzz_http.py --reduce PROGRAM_SEED      the same, shrunk (same kind of finding)

Program i of a run is generated from program seed S * 10_000_000 + i (tests/difffuzz/
http_grammar.py, the grammar of tests/test_http_fuzz.py), so a seed names its program. Each is
rewritten with `checked_rewrite`; when the tool changed it, the original and the rewrite run
against a loopback server (tests/http_server.py; one per job process, started once) and what
`main` returned is compared. A difference, a crash or hang on one side only, or an exception
inside checked_rewrite (a tool error) is a finding, written to --out as a standalone file
(`python FILE` reruns both sides). The run ends with the counts:

| seed | programs | rewritten | swapped to httpx | threads only | differences | tool errors | programs/s |
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.difffuzz.http_grammar import Harness, Program, Report, describe, generate  # noqa: E402

SEED_STRIDE = 10_000_000
HEADER = ("| seed | programs | rewritten | swapped to httpx | threads only | differences | tool errors "
          "| programs/s |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

_HARNESS: Harness | None = None


def _start() -> None:
    global _HARNESS
    _HARNESS = Harness()


def _check(program_seed: int) -> Report:
    return _HARNESS.check(generate(program_seed))


def replay(program_seed: int) -> int:
    with Harness() as harness:
        report = harness.check(generate(program_seed))
    print(report.explain())
    return 0


def _signature(report: Report) -> tuple:
    """What a finding looks like: the status and, per side, the outcome's shape (returned vs
    raised, and the kind a program's `main` returned)."""
    def shape(outcome):
        if outcome is None:
            return None
        if outcome[0] == "returned" and isinstance(outcome[1], list) and outcome[1][:1] == ["raised"]:
            return ("main raised", outcome[1][1])
        return (outcome[0],) + tuple(outcome[1:2] if outcome[0] != "returned" else ())
    return report.status, shape(report.original), shape(report.rewrite), report.tool_error.split(":")[0]


def reduce(text: str, harness: Harness, keep=None) -> tuple[str, Report]:
    """The smallest program (by statements, keywords, handlers, definitions) that still gives a
    finding of the same signature: greedy, one deletion at a time, until none holds."""
    import ast

    first = harness.check(Program(text))
    target = keep or _signature(first)
    if target[0] not in ("difference", "tool"):
        return text, first

    def candidates(tree):
        for node in ast.walk(tree):
            for field in ("body", "orelse", "finalbody", "handlers"):
                seq = getattr(node, field, None)
                if isinstance(seq, list) and seq:
                    for i in range(len(seq)):
                        yield ("del", node, field, i)
            if isinstance(node, ast.Call):
                for i in range(len(node.keywords)):
                    yield ("kw", node, "keywords", i)
            if isinstance(node, ast.Dict):
                for i in range(len(node.keys)):
                    yield ("key", node, "keys", i)

    best, report = text, first
    progress = True
    while progress:
        progress = False
        tree = ast.parse(best)
        count = sum(1 for _ in candidates(tree))
        for index in range(count):
            tree = ast.parse(best)
            op, node, field, i = list(candidates(tree))[index]
            seq = getattr(node, field)
            if op == "key":
                del node.keys[i], node.values[i]
            else:
                del seq[i]
                if field == "body" and not seq:
                    seq.append(ast.Pass())
                if field == "handlers" and not seq and not node.finalbody:
                    continue
            try:
                new = ast.unparse(tree)
                compile(new, "reduced", "exec")
            except Exception:  # noqa: BLE001
                continue
            if "async def main" not in new or new == best:
                continue
            again = harness.check(Program(new))
            if _signature(again) == target:
                best, report, progress = new, again, True
                break
    return best, report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--programs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2, help="processes, each with its own server")
    ap.add_argument("--out", type=Path, default=Path("/tmp/asyncfix-fuzz-http"))
    ap.add_argument("--replay", type=int, metavar="PROGRAM_SEED")
    ap.add_argument("--reduce", type=int, metavar="PROGRAM_SEED",
                    help="shrink that program to the smallest one giving the same kind of finding")
    args = ap.parse_args()
    if args.replay is not None:
        return replay(args.replay)
    if args.reduce is not None:
        with Harness() as harness:
            text, report = reduce(generate(args.reduce).text, harness)
        print(report.explain())
        return 0

    out = args.out / f"seed-{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    counts: collections.Counter = collections.Counter()
    started = time.monotonic()
    seeds = [args.seed * SEED_STRIDE + i for i in range(args.programs)]
    with concurrent.futures.ProcessPoolExecutor(args.jobs, initializer=_start) as pool:
        for report in pool.map(_check, seeds, chunksize=4):
            counts["programs"] += 1
            counts["rewritten"] += report.changed
            counts["swapped"] += report.swapped
            counts["threads only"] += report.changed and not report.swapped
            state = report.status
            counts[state] += 1
            if state in ("difference", "tool"):
                path = out / f"{state}-{report.program.seed}.py"
                path.write_text(report.standalone())
                first = (report.tool_error or f"{describe(report.original)} / {describe(report.rewrite)}")
                print(f"{state}: {path}  {first[:160]}", flush=True)
            if counts["programs"] % 250 == 0:
                rate = counts["programs"] / (time.monotonic() - started)
                print(f"... {counts['programs']} programs, {counts['difference']} differences, "
                      f"{counts['tool']} tool errors, {rate:.1f}/s", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - started
    rate = counts["programs"] / elapsed
    print(f"fuzz_http: seed {args.seed}, {counts['programs']} programs in {elapsed:.0f} s ({rate:.2f}/s, "
          f"{args.jobs} jobs): {counts['rewritten']} rewritten, {counts['swapped']} swapped to httpx, "
          f"{counts['threads only']} threads only, {counts['unchanged']} unchanged, "
          f"{counts['difference']} differences, {counts['tool']} tool errors; findings in {out}")
    print(HEADER)
    print(f"| {args.seed} | {counts['programs']} | {counts['rewritten']} | {counts['swapped']} | "
          f"{counts['threads only']} | {counts['difference']} | {counts['tool']} | {rate:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
