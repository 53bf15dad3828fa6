"""Does the fast path give exactly the findings of a full parse on real code?

`check` parses only what can hold a finding (README, "Speed"); the tests hold that to a full
parse on the fixtures and on generated variations of them. This runs both on every file of a
corpus that has a coroutine and lists the files where they differ.

    .venv/bin/python benchmarks/fast_equals_full.py --corpus /tmp/asyncfix-corpus

Exit 1 when a file differs. About 30 s on the big corpus (it parses every file whole).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asyncfix.catalog import Catalog
from asyncfix.codemods import CATEGORIES
from asyncfix.engine.file import analyze_source
from asyncfix.engine.source import decode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/asyncfix-corpus"))
    args = parser.parse_args()
    catalog = Catalog(CATEGORIES)
    files = compared = missed = extra = 0
    for path in sorted(args.corpus.rglob("*.py")):
        files += 1
        try:
            text = decode(path.read_bytes())
            if "async" not in text:
                continue
            full = analyze_source(text, str(path), catalog, fast=False)
        except (OSError, SyntaxError):
            continue
        compared += 1
        fast = analyze_source(text, str(path), catalog, fast=True)
        if fast != full:
            lost = [f"{f.line} {f.code}" for f in full if f not in fast]
            added = [f"{f.line} {f.code}" for f in fast if f not in full]
            missed, extra = missed + len(lost), extra + len(added)
            print(f"{path}: only the full parse: {lost}; only the fast path: {added}")
    print(f"{files} files, {compared} with a coroutine compared: {missed} findings only the full "
          f"parse gives, {extra} only the fast path gives")
    return 1 if missed or extra else 0


if __name__ == "__main__":
    sys.exit(main())
