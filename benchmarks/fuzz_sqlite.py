#!/usr/bin/env python3
"""Differential fuzzing of the `sqlite` fix, the long run of tests/test_sqlite_fuzz.py.

    python benchmarks/fuzz_sqlite.py --programs 1000 --seed 1

Generates programs with the test's grammar (hypothesis, seeded), rewrites each with
`checked_rewrite` and runs both sides on fresh copies of one database file; what `main` returned
and every row left must match. Prints one table row:

| seed | programs | rewritten | aiosqlite blocks | thread helpers | under a lock | differences | tool errors | programs/s |
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from asyncfix.apply import checked_rewrite  # noqa: E402
from asyncfix.catalog import Catalog  # noqa: E402
from asyncfix.codemods import CATEGORIES  # noqa: E402
from tests.test_sqlite_fuzz import _run, programs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    catalog = Catalog(CATEGORIES)
    counts = {"programs": 0, "rewritten": 0, "aiosqlite": 0, "thread": 0, "lock": 0, "differences": 0,
              "errors": 0}
    root = Path(tempfile.mkdtemp(prefix="fuzz-sqlite-"))

    @seed(args.seed)
    @settings(max_examples=args.programs, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(programs())
    def one(program):
        counts["programs"] += 1
        try:
            text = checked_rewrite(program, "prog.py", catalog, {"sqlite"}).text
        except Exception as exc:  # noqa: BLE001 - a tool error is a finding
            counts["errors"] += 1
            (root / f"error{counts['errors']}.py").write_text(f"# {exc}\n{program}")
            return
        if not text:
            return
        counts["rewritten"] += 1
        counts["aiosqlite"] += text.count("aiosqlite.connect(")
        counts["thread"] += text.count("_sync(") // 2
        counts["lock"] += text.count("with self._conn_lock")
        folder = Path(tempfile.mkdtemp(dir=root))
        before, after = _run(program, folder, "before"), _run(text, folder, "after")
        if before != after:
            counts["differences"] += 1
            (root / f"diff{counts['differences']}.py").write_text(
                f"{program}\n# --- rewrite\n{text}\n# before {before!r}\n# after  {after!r}\n")

    start = time.perf_counter()
    one()
    rate = counts["programs"] / (time.perf_counter() - start)
    print("| seed | programs | rewritten | aiosqlite blocks | thread helpers | under a lock | differences "
          "| tool errors | programs/s |")
    print(f"| {args.seed} | {counts['programs']:,} | {counts['rewritten']:,} | {counts['aiosqlite']:,} | "
          f"{counts['thread']:,} | {counts['lock']:,} | {counts['differences']} | {counts['errors']} | {rate:.1f} |")
    if counts["differences"] or counts["errors"]:
        print(f"findings written to {root}")
    return 1 if counts["differences"] or counts["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
