#!/usr/bin/env python3
"""The loop's worst lag while a checkpoint of 1, 5 or 15 MB of JSON is saved (serialised and
written) and loaded (read and parsed), in each form `apply` can give it: inline (as written:
`fh.write(json.dumps(d))`, `json.loads(fh.read())`), the same in `asyncio.to_thread` (the C
encoder and scanner), the fair forms in `asyncio.to_thread` (the stdlib's pure-Python encoder
and scanner: `transforms/json_forms.py`), orjson in `asyncio.to_thread`, and the stdlib in a
process pool.

    python benchmarks/json_lag.py --sizes 1,5,15 --runs 5

Medians of --runs, side by side in one process, a 5 ms ticker on the loop (tests/lag.py). The
figures per MB feed `asyncfix explain json` and the rewrite's notes (`transforms/json_forms.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import io
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lag import with_lag  # noqa: E402


def checkpoint(megabytes: float, seed: int = 1) -> dict:
    """A training/processing checkpoint shaped like real ones: pages of text with floats, ints,
    nested metadata; about ``megabytes`` of JSON."""
    rng = random.Random(seed)
    pages, size = [], 0
    while size < megabytes * 1_000_000:
        page = {"id": len(pages), "text": " ".join(rng.choice(WORDS) for _ in range(40)),
                "scores": [round(rng.random(), 6) for _ in range(16)], "tokens": rng.randrange(10**6),
                "meta": {"lang": "en", "ok": rng.random() > 0.1, "tags": [rng.choice(WORDS) for _ in range(4)]}}
        pages.append(page)
        size += len(json.dumps(page)) + 2
    return {"version": 3, "pages": pages}


WORDS = ("invoice total amount page table figure caption section header footer docling layout "
         "model score token vector embedding text paragraph list item").split()


def _save_stdlib(data, path):
    with open(path, "w") as fh:
        fh.write(json.dumps(data))


def _load_stdlib(path):
    with open(path) as fh:
        return json.loads(fh.read())


def _save_fair(data, path):
    from asyncfix.transforms.json_forms import DUMPS_FAIR

    scope = {"io": io, "json": json}
    exec(DUMPS_FAIR, scope)
    with open(path, "w") as fh:
        fh.write(scope["_json_dumps_fair"](data))


def _load_fair(path):
    from asyncfix.transforms.json_forms import LOADS_FAIR

    scope = {"json": json}
    exec(LOADS_FAIR, scope)
    with open(path) as fh:
        return scope["_json_loads_fair"](fh.read())


def _save_orjson(data, path):
    import orjson

    with open(path, "w") as fh:
        fh.write(orjson.dumps(data).decode())


def _load_orjson(path):
    import orjson

    with open(path) as fh:
        return orjson.loads(fh.read())


POOL: concurrent.futures.ProcessPoolExecutor | None = None


async def run(form: str, op: str, data, path):
    save, load = {"stdlib": (_save_stdlib, _load_stdlib), "orjson": (_save_orjson, _load_orjson),
                  "inline": (_save_stdlib, _load_stdlib), "process": (_save_stdlib, _load_stdlib),
                  "fair": (_save_fair, _load_fair)}[form]
    fn, args = (save, (data, path)) if op == "save" else (load, (path,))
    if form == "inline":
        return fn(*args)
    if form == "process":
        return await asyncio.get_running_loop().run_in_executor(POOL, fn, *args)
    return await asyncio.to_thread(fn, *args)


def main() -> int:
    global POOL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,15")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    POOL = concurrent.futures.ProcessPoolExecutor(1)
    POOL.submit(int).result()  # the worker forks before any measurement
    forms = ("inline", "stdlib", "fair", "orjson", "process")
    print("| checkpoint | op | " + " | ".join(f"{f} lag (ms)" for f in forms) + " |")
    print("| ---: | --- |" + " ---: |" * len(forms))
    per_mb: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (float(s) for s in args.sizes.split(",")):
            data = checkpoint(size)
            path = Path(tmp) / f"ck{size}.json"
            _save_stdlib(data, path)
            actual = path.stat().st_size / 1e6
            for op in ("save", "load"):
                cells = []
                for form in forms:
                    lags = [asyncio.run(with_lag(lambda: run(form, op, data, path)))[1] for _ in range(args.runs)]
                    lag = statistics.median(lags) * 1000
                    per_mb.setdefault((form, op), []).append(lag / actual)
                    cells.append(f"{lag:.0f}")
                print(f"| {actual:.1f} MB | {op} | " + " | ".join(cells) + " |", flush=True)
    print("\nworst lag per MB (median over sizes):")
    for (form, op), values in sorted(per_mb.items()):
        print(f"  {form:8} {op}: {statistics.median(values):.1f} ms/MB")
    POOL.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
