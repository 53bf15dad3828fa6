"""Parent side of the workers: hand out jobs, watch each phase's clock, kill a worker whose phase
runs over (a hang is a finding, not a stuck run) and start a fresh one.

    with Pool(jobs=2, timeout=8) as pool:
        for report in pool.map({"seed": s} for s in range(100)):
            ...

A report is the worker's (see worker.py), or, for a killed worker, the last progress it sent
plus "hang": the phase that ran over; for a worker that died, "harness_error".
"""

from __future__ import annotations

import itertools
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

REPO = Path(__file__).resolve().parents[2]
REWRITE_TIMEOUT = 60.0  # the tool itself on one small program
GRACE = 3.0  # import, staging and the snapshot around the timed call


class _Worker:
    def __init__(self, root: Path, index: int, tool: str | None):
        self.dir = root / f"w{index}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.dir / "stderr.log", "ab")
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1", "DIFFFUZZ_TOOL": tool or ""}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.difffuzz.worker", str(self.dir / "run")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=REPO, env=env)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buffer = b""
        self.job: dict | None = None
        self.last: dict | None = None  # the latest progress report of the current job
        self.deadline = 0.0

    def send(self, job: dict, timeout: float) -> None:
        self.job, self.last = job, {"program": job.get("program"), "seed": job.get("seed"), "phase": "start"}
        self.deadline = time.monotonic() + REWRITE_TIMEOUT
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.flush()

    def lines(self) -> list[dict] | None:
        """Complete messages that arrived; None at end of file (the worker died)."""
        try:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
        except BlockingIOError:
            return []
        if not chunk:
            return None
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        return [json.loads(line) for line in complete if line.strip()]

    def stderr_tail(self) -> str:
        self.log.flush()
        data = (self.dir / "stderr.log").read_bytes()
        return data[-3000:].decode("utf-8", "replace")

    def kill(self) -> None:
        self.proc.kill()  # this worker's process only; the threads of its program die with it
        self.proc.wait()
        self.log.close()


class Pool:
    def __init__(self, jobs: int = 1, timeout: float = 8.0, determinism: bool = False,
                 always_run: bool = False, tool: str | None = None, documented: bool = False,
                 unordered: bool = False):
        self.tool = tool  # a folder holding the asyncfix package to test (default: this checkout)
        self.timeout = timeout
        self.options = {"timeout": timeout, "determinism": determinism, "always_run": always_run}
        if documented:  # accept the tool's documented limits: see grammar.build, runner.run_module
            self.options.update(negative_sleeps=False, per_call_files=True)
        if unordered:  # the order of concurrent calls' effects is not compared: runner.run_module
            self.options["unordered"] = True
        self.root = Path(tempfile.mkdtemp(prefix="difffuzz-"))
        self.count = itertools.count()
        self.workers = [_Worker(self.root, next(self.count), tool) for _ in range(jobs)]

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.workers = []
        shutil.rmtree(self.root, ignore_errors=True)

    def run_one(self, job: dict) -> dict:
        return next(self.map([job]))

    def map(self, jobs: Iterable[dict]) -> Iterator[dict]:
        """Reports in the order they finish."""
        pending = iter(jobs)
        ids = itertools.count()
        idle = list(self.workers)
        busy: list[_Worker] = []
        selector = selectors.DefaultSelector()
        exhausted = False
        try:
            while True:
                while idle and not exhausted:
                    job = next(pending, None)
                    if job is None:
                        exhausted = True
                        break
                    worker = idle.pop()
                    worker.send({**self.options, **job, "id": next(ids)}, self.timeout)
                    selector.register(worker.proc.stdout, selectors.EVENT_READ, worker)
                    busy.append(worker)
                if not busy:
                    return
                wait = max(0.0, min(w.deadline for w in busy) - time.monotonic())
                for key, _ in selector.select(timeout=min(wait, 1.0)):
                    worker = key.data
                    messages = worker.lines()
                    if messages is None:  # died: a harness bug (or the machine) - say which
                        report = {**worker.last, "harness_error": "worker died:\n" + worker.stderr_tail()}
                        yield self._replace(worker, selector, busy, idle, report)
                        continue
                    for message in messages:
                        if message["final"]:
                            selector.unregister(worker.proc.stdout)
                            busy.remove(worker)
                            idle.append(worker)
                            yield message["report"]
                            break
                        worker.last = message["report"]
                        phase = worker.last.get("phase")
                        budget = REWRITE_TIMEOUT if phase == "rewrite" else (
                            worker.last.get("limit", self.timeout) + GRACE)
                        worker.deadline = time.monotonic() + budget
                now = time.monotonic()
                for worker in [w for w in busy if w.deadline <= now]:
                    report = {**worker.last, "hang": worker.last.get("phase", "?")}
                    yield self._replace(worker, selector, busy, idle, report)
        finally:
            selector.close()

    def _replace(self, worker, selector, busy, idle, report) -> dict:
        selector.unregister(worker.proc.stdout)
        busy.remove(worker)
        worker.kill()
        self.workers.remove(worker)
        fresh = _Worker(self.root, next(self.count), self.tool)
        self.workers.append(fresh)
        idle.append(fresh)
        return report
