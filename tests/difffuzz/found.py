"""Re-check the reproductions in FOUND.md against the tool as it is now.

    python -m tests.difffuzz.found [--tool DIR]

Every ```python block in FOUND.md whose first line is `# entry: NAME, concurrency: N` is rewritten
with checked_rewrite and run as the fuzzer runs programs; one line per block says whether the
difference is still there.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from tests.difffuzz.grammar import Program
from tests.difffuzz.pool import Pool
from tests.difffuzz.report import kind, status

FOUND = Path(__file__).with_name("FOUND.md")
_BLOCK = re.compile(r"^## (.+?)$|^```python\n# entry: (\S+), concurrency: (\d+)\n(.*?)^```$", re.M | re.S)


def cases(text: str) -> list[tuple[str, Program]]:
    out, title = [], "?"
    for match in _BLOCK.finditer(text):
        if match.group(1):
            title = match.group(1)
        else:
            out.append((title, Program(match.group(4), match.group(2), int(match.group(3)))))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", help="folder holding the asyncfix package to test")
    ap.add_argument("--file", type=Path, default=FOUND)
    ap.add_argument("-v", "--verbose", action="store_true", help="show the rewrite and each difference")
    args = ap.parse_args()
    with Pool(jobs=2, timeout=8.0, tool=args.tool) as pool:
        found = cases(args.file.read_text())
        reports = list(pool.map({"program": p.to_dict(), "index": i} for i, (_, p) in enumerate(found)))
    by_text = {r["program"]["text"]: r for r in reports}
    for title, program in found:
        report = by_text[program.text]
        state = status(report)
        verdict = "still differs" if state in ("difference", "tool") else f"ok ({state})"
        print(f"{verdict:14} | {title} | {kind(report)}")
        if args.verbose:
            print(report.get("rewritten") or report.get("tool_error") or "(unchanged)")
            for diff in report.get("differences") or []:
                print(f"    {diff['field']}: {diff['original']}  ->  {diff['rewrite']}")
            if report.get("hang"):
                print(f"    hang in {report['hang']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
