#!/usr/bin/env python3
"""How `asyncfix apply --dry-run` scales with the size of a file, and over a folder of files.

    python benchmarks/apply_speed.py [--sizes 2500,5000,10000,20000,50000] [--runs 3]
        [--jobs 1,2] [--folder 40x500] [--asyncfix ".venv/bin/asyncfix"] [--keep DIR]

Modules are generated (deterministically): async functions and classes with blocking runs of
several categories (open, json.dump, os.path.exists, time.sleep, subprocess.run, Pillow), calls
`apply` must leave as they are, and plain sync code. Each round times, one after another,
`asyncfix check --no-cache` and `asyncfix apply --dry-run --jobs J` for every J on the same input,
so drift hits them alike; the table gives medians. Stdlib only.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = '''\
"""Generated service module: storage, images and conversions for one tenant."""
import json
import logging
import os
import subprocess
import time
from pathlib import Path

from PIL import Image

logger = logging.getLogger(__name__)
ROOT = Path(os.getenv("DATA_ROOT", "/var/lib/app"))
'''

# One unit of generated code; {i} keeps every name unique. Each holds moves `apply` makes
# (helpers, single awaited calls, async sleeps) and one call it must leave (inside a lambda).
UNITS = [
    '''

class Store{i}:
    def __init__(self, root: Path = ROOT) -> None:
        self.root = root / "store{i}"
        self.cache: dict[str, dict] = {{}}

    def _path(self, name: str) -> Path:
        return self.root / f"{{name}}.json"

    async def load(self, name: str) -> dict | None:
        path = self._path(name)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        self.cache[name] = data
        return data

    async def save(self, name: str, data: dict) -> Path:
        path = self._path(name)
        os.makedirs(path.parent, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        logger.info("saved %s", name)
        return path

    def size(self) -> int:
        return len(self.cache)
''',
    '''

async def thumbnail_{i}(src: Path, dest: Path, size=(128, 128)) -> Path:
    img = Image.open(src)
    img = img.convert("RGB")
    img.thumbnail(size)
    img.save(dest, "JPEG", quality=85)
    await notify_{i}(dest)
    return dest


async def notify_{i}(dest: Path) -> None:
    logger.info("thumbnail ready: %s", dest)
''',
    '''

async def convert_{i}(src: Path, out_dir: Path) -> Path:
    result = subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(out_dir), str(src)],
        check=False,
        capture_output=True,
        timeout=180,
    )
    if result.returncode:
        raise RuntimeError(result.stderr.decode())
    time.sleep(0.5)
    return out_dir / f"{{src.stem}}.pdf"
''',
    '''

def checksum_{i}(values: list[int]) -> int:
    total = 0
    for index, value in enumerate(values):
        if index % 2:
            total += value * 3
        else:
            total ^= value
    return total & 0xFFFF


async def poll_{i}(flag: Path, attempts: int = 10) -> bool:
    for _ in range(attempts):
        if await ready_{i}(flag):
            return True
        time.sleep(1)
    return False


async def ready_{i}(flag: Path) -> bool:
    return os.path.exists(flag)
''',
    '''

class Report{i}:
    title = "report {i}"

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def render(self) -> str:
        return "\\n".join(f"{{r['id']}}: {{r['name']}}" for r in self.rows)

    async def export(self, dest: Path) -> int:
        text = self.render()
        dest.write_text(text, encoding="utf-8")
        meta = json.dumps({{"title": self.title, "rows": len(self.rows)}})
        return len(meta)

    async def sorted_rows(self) -> list:
        return sorted(self.rows, key=lambda r: os.path.getsize(r["path"]))
''',
]


def generate(lines: int) -> str:
    """A module of about ``lines`` lines (never fewer)."""
    parts, count, i = [HEADER], HEADER.count("\n"), 0
    while count < lines:
        unit = UNITS[i % len(UNITS)].format(i=i)
        parts.append(unit)
        count += unit.count("\n")
        i += 1
    return "".join(parts)


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the command and its workers: on a shared machine the
    wall time also measures the neighbours, the CPU time much less so."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2500,5000,10000,20000,50000",
                        help="lines per single-file case, comma-separated")
    parser.add_argument("--folder", default="40x500",
                        help="FILESxLINES for the folder case ('' to skip)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", default="1,2",
                        help="--jobs values for apply; 'none' runs apply without the flag")
    parser.add_argument("--asyncfix", default=str(Path(sys.executable).with_name("asyncfix")),
                        help="command prefix, split like a shell would")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()

    tool = shlex.split(args.asyncfix)
    if os.path.exists(tool[0]):  # commands run in the work folder: a relative path would break
        tool[0] = os.path.abspath(tool[0])
    jobs = [None] if args.jobs == "none" else [int(j) for j in args.jobs.split(",")]
    work = args.keep or Path(tempfile.mkdtemp(prefix="asyncfix-apply-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, int, Path]] = []  # (label, total lines, path given to the tool)
    for size in (int(s) for s in args.sizes.split(",") if s):
        path = work / f"module_{size}.py"
        path.write_text(generate(size))
        cases.append((f"1 file of {size:,}", size, path))
    if args.folder:
        files, lines = (int(x) for x in args.folder.split("x"))
        folder = work / f"folder_{files}x{lines}"
        folder.mkdir(exist_ok=True)
        for k in range(files):
            (folder / f"service_{k:03d}.py").write_text(generate(lines))
        cases.append((f"{files} files of {lines:,}", files * lines, folder))

    columns = ["check"] + [f"apply -j {j}" if j else "apply" for j in jobs]
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for run in range(args.runs):
        for label, _, path in cases:
            cmds = {"check": tool + ["check", "--no-cache", str(path)]}
            for j, column in zip(jobs, columns[1:]):
                cmds[column] = tool + ["apply", "--dry-run", str(path)] + (["--jobs", str(j)] if j else [])
            for column, cmd in cmds.items():
                wall, cpu = timed(cmd, work)
                times.setdefault((label, column), []).append((wall, cpu))
                print(f"round {run + 1}: {label}: {column}: {wall:.2f} s wall, {cpu:.2f} s CPU",
                      file=sys.stderr, flush=True)

    print(f"Machine: nproc {os.cpu_count()}, python {platform.python_version()}, "
          f"{platform.platform()}, load average {os.getloadavg()[0]:.1f}; median of {args.runs} "
          f"rounds; seconds, wall (CPU of the tool and its workers)\n")
    print("| input | lines | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for label, lines, _ in cases:
        cells = []
        for column in columns:
            runs = times[(label, column)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            cells.append(f"{wall:.2f} ({cpu:.2f})")
        print(f"| {label} | {lines:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
