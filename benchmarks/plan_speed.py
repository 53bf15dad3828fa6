#!/usr/bin/env python3
"""How fast `asyncfix.apply.rewrite` plans, and a byte-for-byte oracle for speed-ups of the planner.

    python benchmarks/plan_speed.py [--corpus /tmp/asyncfix-corpus] [--pickle FILE] [--fixtures fixtures]
        [--save BASELINE] [--check BASELINE] [--runs 3] [--against OTHER_TREE]

Inputs: every corpus file with findings (pickled on the first run, so every later run and tree
reads the same set) and every .py under the fixtures folder. For each, `rewrite(text, path, catalog, all categories)` is recorded as
(new text, sorted fixed finding keys, sorted (unfixable key, reason)), or the exception's type and
message. --save writes the records; --check compares them with a saved baseline and exits 1 on
any difference (a speed-up must not change a single byte). --runs times the whole set N times and
gives medians of process CPU time: the rewrite overall and the planner alone (ModuleOffloader
init + run).
--against DIR also times the asyncfix package found in DIR (a copy of the code before a change),
alternating runs of the two in child processes so that a noisy machine hits both alike.
--root DIR imports asyncfix from DIR instead: `--root DIR --save FILE` makes a baseline from such
a copy (today's package with the old planner files), so others' edits elsewhere do not count.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


_WARM_UP = """\
import json
import time


async def load(path):
    with open(path) as fh:
        data = json.load(fh)
    time.sleep(1)
    return data
"""


def corpus_files_with_findings(corpus: str, out: str) -> None:
    """The real inputs: every corpus file in which `check` (default selection) finds something,
    as (path, text) pairs pickled to ``out`` (so later runs, and other trees, read the same set)."""
    from asyncfix.catalog import Catalog
    from asyncfix.codemods import CATEGORIES
    from asyncfix.engine.file import analyze_source

    catalog = Catalog(CATEGORIES)
    pairs = []
    for path in sorted(Path(corpus).rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            if "async" in text and analyze_source(text, str(path), catalog):
                pairs.append((str(path), text))
        except (SyntaxError, ValueError):
            continue
    with open(out, "wb") as fh:
        pickle.dump(pairs, fh)


def load_inputs(pickle_path: str, fixtures: str, corpus: str | None = None) -> list[tuple[str, str]]:
    inputs: list[tuple[str, str]] = []
    if pickle_path and not Path(pickle_path).exists() and corpus:
        corpus_files_with_findings(corpus, pickle_path)
    if pickle_path and Path(pickle_path).exists():
        with open(pickle_path, "rb") as fh:
            inputs.extend((str(p), t) for p, t in pickle.load(fh))
    for path in sorted(Path(fixtures).rglob("*.py")):
        inputs.append((str(path), path.read_text(encoding="utf-8", errors="replace")))
    return inputs


def _finding_key(f) -> tuple:
    return (f.path, f.line, f.column, f.end_line, f.end_column, f.code, f.qualname, f.function, f.message)


def record(text: str, path: str, catalog, categories: set[str]) -> tuple:
    from asyncfix.apply import rewrite

    try:
        result = rewrite(text, path, catalog, categories)
    except Exception as exc:  # noqa: BLE001 - a crash is part of the behaviour to keep
        return ("error", type(exc).__name__, str(exc))
    return (result.text,
            sorted(_finding_key(f) for f in result.fixed),
            sorted((_finding_key(f), f.unfixable_reason or "") for f in result.unfixable))


class _PlannerClock:
    """Wraps asyncfix.apply.ModuleOffloader to add up the time spent in its __init__ and run
    (process CPU time: on a busy machine it varies less than the wall clock)."""

    def __init__(self) -> None:
        import asyncfix.apply as apply

        self.total = 0.0
        real = apply.ModuleOffloader
        clock = self

        class Timed(real):
            def __init__(self, *args, **kwargs):
                started = time.process_time()
                super().__init__(*args, **kwargs)
                clock.total += time.process_time() - started

            def run(self, *args, **kwargs):
                started = time.process_time()
                try:
                    return super().run(*args, **kwargs)
                finally:
                    clock.total += time.process_time() - started

        apply.ModuleOffloader = Timed


def one_pass(inputs, catalog, categories, clock: _PlannerClock | None = None) -> tuple[dict, float, float]:
    records = {}
    if clock:
        clock.total = 0.0
    started = time.process_time()
    for path, text in inputs:
        records[path] = record(text, path, catalog, categories)
    return records, time.process_time() - started, clock.total if clock else 0.0


def _catalog():
    from asyncfix.catalog import Catalog
    from asyncfix.codemods import CATEGORIES

    catalog = Catalog(CATEGORIES)
    return catalog, set(catalog.categories)


def compare(base: dict, now: dict) -> list[str]:
    diffs = []
    for path in sorted(set(base) | set(now)):
        if base.get(path) != now.get(path):
            a, b = base.get(path), now.get(path)
            what = "missing" if a is None or b is None else \
                ", ".join(name for name, x, y in zip(("text", "fixed", "unfixable"), a, b) if x != y) or "error"
            diffs.append(f"{path}: {what}")
    return diffs


def child_times(root: str, args) -> tuple[float, float]:
    """One timed pass in a child process importing asyncfix from ``root``."""
    cmd = [sys.executable, __file__, "--root", root, "--runs", "1", "--json",
           "--pickle", args.pickle, "--fixtures", args.fixtures]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["rewrite"][0], data["planner"][0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pickle", default="/tmp/asyncfix-plan-inputs.pkl",
                        help="the real inputs; made from --corpus when missing")
    parser.add_argument("--corpus", default="/tmp/asyncfix-corpus",
                        help="benchmark corpus (benchmarks/make_corpus.sh) the inputs come from")
    parser.add_argument("--fixtures", default=str(REPO / "fixtures"))
    parser.add_argument("--save", help="write the records to this file")
    parser.add_argument("--check", help="compare the records with this baseline")
    parser.add_argument("--runs", type=int, default=0, help="timed passes (median reported)")
    parser.add_argument("--against", help="a tree holding the asyncfix package to time side by side")
    parser.add_argument("--root", help="import asyncfix from this folder")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.root).resolve()) if args.root else str(REPO))

    if args.against:
        times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        for _ in range(args.runs or 3):  # alternate, so drift in the machine's load hits both
            times["before"].append(child_times(args.against, args))
            times["after"].append(child_times(str(REPO), args))
        med = {k: (statistics.median(t[0] for t in v), statistics.median(t[1] for t in v))
               for k, v in times.items()}
        print(f"{'CPU s':10} {'rewrite':>10} {'planner':>10}")
        for k in ("before", "after"):
            print(f"{k:10} {med[k][0]:10.2f} {med[k][1]:10.2f}")
        print(f"{'ratio':10} {med['before'][0] / med['after'][0]:9.2f}x {med['before'][1] / med['after'][1]:9.2f}x")
        return 0

    inputs = load_inputs(args.pickle, args.fixtures, args.corpus)
    catalog, categories = _catalog()
    clock = _PlannerClock()
    if args.json:  # a timed child: imports and first uses (black) are not planning
        record(_WARM_UP, "warm_up.py", catalog, categories)
    records, took, planner = one_pass(inputs, catalog, categories, clock)
    rewrite_times, planner_times = [took], [planner]
    for _ in range(max(args.runs - 1, 0)):
        _, took, planner = one_pass(inputs, catalog, categories, clock)
        rewrite_times.append(took)
        planner_times.append(planner)
    status = 0
    if args.save:
        with open(args.save, "wb") as fh:
            pickle.dump(records, fh)
        print(f"saved {len(records)} records to {args.save}")
    if args.check:
        with open(args.check, "rb") as fh:
            base = pickle.load(fh)
        new = sorted(set(records) - set(base))  # files added since the baseline: not compared
        for path in new:
            del records[path]
        diffs = compare(base, records)
        print(f"compared {len(records)} files with {args.check}: {len(diffs)} differences"
              + (f" ({len(new)} files newer than the baseline not compared)" if new else ""))
        for line in diffs:
            print("  " + line)
        status = 1 if diffs else 0
    if args.json:
        print(json.dumps({"rewrite": rewrite_times, "planner": planner_times}))
    elif args.runs:
        print(f"{len(inputs)} files, {args.runs} runs: rewrite median {statistics.median(rewrite_times):.2f} s, "
              f"planner (ModuleOffloader init+run) median {statistics.median(planner_times):.2f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
