#!/usr/bin/env python3
"""Event-loop lag before and after `asyncfix apply`, for the behaviour cases of the test suite.

    python benchmarks/loop_lag.py [--runs 5]
    python benchmarks/loop_lag.py --json 1,5,15 [--runs 5]   the json checkpoint cases (json_lag.py)

Each case's coroutine runs in an event loop beside a 5 ms ticker, as written and as rewritten;
the table gives the median (over --runs) of the worst lag the ticker saw, and the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asyncfix.apply import checked_rewrite  # noqa: E402
from asyncfix.catalog import Catalog  # noqa: E402
from asyncfix.codemods import CATEGORIES  # noqa: E402
from tests.test_behaviour import _with_ticker, load  # noqa: E402

CASES = {
    "sleep": ("import time\n\nasync def work():\n    time.sleep(0.25)\n    return 1\n", None),
    "subprocess": (
        "import subprocess, sys\n\nasync def work():\n"
        "    done = subprocess.run([sys.executable, '-c', 'import time; time.sleep(0.3)'])\n"
        "    return done.returncode\n", None),
    "json (indent=2)": (
        "import json\n\nDATA = {'rows': [{'id': i, 'name': 'n' * 20, 'tags': list(range(12))}"
        " for i in range(30000)]}\n\nasync def work():\n"
        "    text = json.dumps(DATA, indent=2)\n    return len(text)\n", None),
    "image (Pillow resize)": (
        "from PIL import Image\n\nasync def work():\n"
        "    img = Image.new('RGB', (5000, 5000), (10, 120, 200))\n"
        "    small = img.resize((3500, 3500), Image.LANCZOS)\n    return small.size\n", None),
    "file-io (FIFO open+read)": ("FIFO", "fifo"),
}


def fifo_case(folder: Path) -> tuple[str, callable]:
    import os

    fifo = folder / "pipe"
    if not fifo.exists():
        os.mkfifo(fifo)

    def writer():
        time.sleep(0.25)
        with open(fifo, "w") as f:
            f.write("payload")

    source = f"async def work():\n    with open({str(fifo)!r}) as f:\n        data = f.read()\n    return data\n"
    return source, lambda: threading.Thread(target=writer, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", help="checkpoint sizes in MB: the json forms' table instead (json_lag.py)")
    args = parser.parse_args()
    if args.json:
        import json_lag

        sys.argv = [sys.argv[0], "--sizes", args.json, "--runs", str(args.runs)]
        json_lag.main()
        return
    catalog = Catalog(CATEGORIES)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for index, (name, (source, kind)) in enumerate(CASES.items()):
            prepare = lambda: None  # noqa: E731
            if kind == "fifo":
                source, prepare = fifo_case(folder)
            rewritten = checked_rewrite(source, "case.py", catalog, set(catalog.categories)).text
            figures = {}
            for label, text in (("before", source), ("after", rewritten)):
                lags, walls = [], []
                for run in range(args.runs):
                    module = load(text, folder, f"case{index}_{label}_{run}")
                    start = time.perf_counter()
                    _, lag = asyncio.run(_with_ticker(module.work, prepare))
                    walls.append(time.perf_counter() - start)
                    lags.append(lag)
                figures[label] = (statistics.median(lags) * 1000, statistics.median(walls) * 1000)
            rows.append((name, figures))
    print("| case | worst loop lag before (ms) | after (ms) | wall before (ms) | after (ms) |")
    print("|---|---|---|---|---|")
    for name, f in rows:
        print(f"| {name} | {f['before'][0]:.0f} | {f['after'][0]:.0f} | {f['before'][1]:.0f} | {f['after'][1]:.0f} |")


if __name__ == "__main__":
    main()
