#!/usr/bin/env python3
"""Worst event-loop lag (5 ms ticker, tests/lag.py) while each heavy sqlite entry of the golden
pairs in fixtures/apply/sqlite runs, before and after the rewrite; medians of --repeat runs,
side by side, each on a fresh database file.

    python benchmarks/sqlite_lag.py --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_sqlite_behaviour import HEAVY, run_side  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| case | form after | worst lag before (ms) | worst lag after (ms) |\n| --- | --- | ---: | ---: |")
    for path, entry in HEAVY:
        fixed = path.with_name(path.stem + ".fixed.py")
        text = fixed.read_text()
        form = "lock" if "threading.Lock()" in text else "aiosqlite" if "aiosqlite.connect(" in text else "thread"
        before, after = [], []
        for _ in range(args.repeat):
            folder = Path(tempfile.mkdtemp())
            run_side(fixed, entry, folder / "warm.db", "warm")  # imports, once per round
            before.append(run_side(path, entry, folder / "before.db", "before", measure=True)[1])
            after.append(run_side(fixed, entry, folder / "after.db", "after", measure=True)[1])
        print(f"| {path.stem}/{entry} | {form} | {statistics.median(before) * 1000:.0f} | "
              f"{statistics.median(after) * 1000:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
