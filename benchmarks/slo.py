#!/usr/bin/env python3
"""The audit checklist's SLO on the demo backend, as written and after `asyncfix apply`.

    python benchmarks/slo.py [--demo fixtures/demo_backend] [--duration 20] [--uploaders 50]
        [--ws-clients 10] [--background 5] [--think 0.5] [--json] [--plot benchmarks/slo.png]
        [--apply-args '--offload process'] [--readme] [--keep]

The rewrite is `asyncfix apply . --offload process` by default: the demo's work is CPU-bound PDF
and image processing, which the checklist (1.9) sends to a process pool; in threads it would hold
the GIL the event loop needs (`--apply-args ''` measures that).

The SLO: under 50 concurrent document uploads, 10 WebSocket clients watching progress (and
pinging) and 5 documents processing in the background, WebSocket heartbeats answer in under
100 ms (p99) and the API in under 500 ms (p95), without errors.

How it runs:

- The demo folder (--demo, relative to the repository root or the current folder) is copied
  twice into a temp dir (without data/ and __pycache__); `asyncfix apply .` rewrites one copy
  (run in that copy, never stored by hand); the other stays as written.
- Inputs are generated once with the demo's own `tools/make_docs.py` (imported from a copy):
  10 PDFs of 5-30 pages (a figure on page 1) and 4 PNG/JPEG images of 1600-2200 x 1200 px.
- For each copy in turn (before, then after): the demo's Label Studio stub
  (`tools/labelstudio_stub.py`, imported from the copy; default 0.2 s delay; token checked) on a
  free loopback port and `python -m uvicorn app.main:app --host 127.0.0.1 --port P
  --no-access-log` (cwd = the copy, DEMO_DATA_DIR = a fresh temp dir, LABEL_STUDIO_URL = the
  stub) as subprocesses; the bench waits for GET /health.
- Load, from asyncio in this process (httpx.AsyncClient, the `websockets` library):
  10 WebSocket clients connect; the 5 first PDFs are uploaded (processing in the background);
  then, for --duration seconds (the measured window), all at once:
  * each WebSocket client sends {"type": "ping", "t": ...} every 200 ms on a fixed schedule
    (not waiting for the previous pong, so a stalled loop is not under-sampled) and records each
    pong's round trip; the progress events that arrive on the same socket are skipped (counted);
  * --uploaders closed-loop uploaders: all start together, each uploads a document (a seeded
    random pick among the inputs, same sequence for both copies), waits for the answer, thinks
    uniform(0.5, 1.5) x --think seconds, and uploads the next. While the server is slow nearly all
    of them are in flight; when it is fast, the think time bounds the rate (every upload starts a
    background processing task in this app, so an unthrottled loop only measures a backlog).
    `uploads_in_flight_mean` reports how many were actually in flight (time average). They run
    in a process of their own: encoding the uploads is CPU work that would otherwise delay the
    measuring client's pongs and probes (its own loop lag is reported beside the uploaders');
  * an open-loop API prober: every 50 ms a new request (GET /health, GET /documents/{id} of one
    of the background documents, GET /documents in turn), not waiting for the previous ones.
  After the window nothing new starts; requests and pings in flight get up to their cut.
- Errors: an HTTP status >= 500, a connection error, a request (upload, probe, pong) taking more
  than 10 s (cut, and recorded in the latencies as 10 s), a WebSocket disconnect or failed connect.
- api_* percentiles are the prober's requests; the uploads' own latencies are upload_*.
- documents_processed: rows with status `done` in the copy's SQLite database at the end of the
  window (read directly, read-only); documents_failed likewise.
- Event-loop lag: the app exposes no lag metric, so it is measured from outside as the heartbeat
  RTT (that is what a heartbeat is): loop_lag_p99_ms / loop_lag_max_ms repeat heartbeat p99 and
  max. bench_lag_* is the lag of this process's own loop (a 50 ms ticker): if it is high, the
  client side, not the server, inflates the figures (2 cores are shared with the server).
- slo_met: heartbeat_p99_ms < 100 and api_p95_ms < 500 and errors == 0.

--json prints one JSON object {"before": {...}, "after": {...}} on stdout (logs go to stderr);
otherwise a Markdown table. A latency-over-time plot (heartbeat RTT and API latency, before and
after, log scale) is always written (--plot, default benchmarks/slo.png). --readme replaces or
appends the section "## SLO under load: `slo.py`" of benchmarks/README.md (table, command line,
machine, plot link).

Bounded: each copy has a deadline of --duration + 100 s; uvicorn and the stub are terminated
(then killed) and the clients closed in `finally`, also on Ctrl-C / SIGTERM; the temp dir is
deleted unless --keep. uvicorn's output is kept in the temp dir; its tail is printed on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import math
import multiprocessing
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, WebSocketException

REPO = Path(__file__).resolve().parents[1]
README = REPO / "benchmarks" / "README.md"
SECTION = "## SLO under load: `slo.py`"
HEARTBEAT_SLO_MS = 100.0
API_SLO_MS = 500.0
CUT_S = 10.0  # a request or a pong slower than this is an error, and is cut
PING_INTERVAL_S = 0.2
PROBE_INTERVAL_S = 0.05
TICK_S = 0.05
STARTUP_BUDGET_S = 100.0  # per copy, beside --duration
HEALTH_WAIT_S = 30.0
TOKEN = "slo-secret"
SEED = 1
STARTED = time.monotonic()
# idle connections expire client-side well before uvicorn's 5 s keep-alive timeout: else a request
# sent on a connection the server is closing fails with a ReadError (a client artifact)
LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=200, keepalive_expiry=1.0)
PROCS: list[subprocess.Popen] = []  # every subprocess started and not yet stopped


def log(msg: str) -> None:
    print(f"[slo {time.monotonic() - STARTED:6.1f}s] {msg}", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text[-lines:])


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def r1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --------------------------------------------------------------------------- set-up


def resolve_demo(arg: str) -> Path:
    path = Path(arg)
    candidates = [path] if path.is_absolute() else [REPO / path, Path.cwd() / path]
    for candidate in candidates:
        if (candidate / "app" / "main.py").is_file():
            missing = [f for f in ("tools/make_docs.py", "tools/labelstudio_stub.py")
                       if not (candidate / f).is_file()]
            if missing:
                sys.exit(f"slo.py: {candidate} has no {', '.join(missing)}: not the document demo")
            return candidate.resolve()
    sys.exit(f"slo.py: no demo backend (app/main.py) at {' or '.join(map(str, candidates))}")


def asyncfix_command() -> list[str]:
    beside = Path(sys.executable).with_name("asyncfix")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("asyncfix")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from asyncfix.cli import main; sys.exit(main())"]


def prepare_copies(demo: Path, work: Path, apply_args: list[str]) -> dict[str, Path]:
    ignore = shutil.ignore_patterns("data", "__pycache__")
    copies = {"before": work / "before" / demo.name, "after": work / "after" / demo.name}
    for dest in copies.values():
        shutil.copytree(demo, dest, ignore=ignore)
    cmd = asyncfix_command() + ["apply", "."] + apply_args
    log(f"running `{' '.join(cmd)}` in {copies['after']}")
    done = subprocess.run(cmd, cwd=copies["after"], capture_output=True, text=True, timeout=120)
    for line in (done.stdout + done.stderr).strip().splitlines():
        log(f"  asyncfix: {line}")
    if done.returncode != 0:
        raise RuntimeError(f"asyncfix apply failed with exit code {done.returncode}")
    if not re.search(r"rewrote [1-9]", done.stdout + done.stderr):
        log("warning: asyncfix apply reports no rewritten file: 'after' is the code as written")
    return copies


def make_inputs(copy: Path, out: Path) -> list[tuple[str, bytes, str]]:
    """PDFs and images from the demo's own generator, read into memory once."""
    sys.path.insert(0, str(copy))
    from tools.heartbeat import CONTENT_TYPES  # noqa: E402  (the demo's own upload types)
    from tools.make_docs import make_image, make_pdf  # noqa: E402

    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    paths = []
    for i in range(10):
        pages = rng.randint(5, 30)
        paths.append(make_pdf(out / f"report_{i}_{pages}p.pdf", pages, seed=i))
    for i in range(4):
        suffix = ".jpg" if i % 2 else ".png"
        paths.append(make_image(out / f"scan_{i}{suffix}", (1600 + 200 * i, 1200), seed=i))
    docs = [(p.name, p.read_bytes(), CONTENT_TYPES[p.suffix.lower()]) for p in paths]
    total = sum(len(d[1]) for d in docs)
    log(f"inputs: {len(docs)} files, {total / 1e6:.1f} MB: " + ", ".join(d[0] for d in docs))
    return docs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(proc: subprocess.Popen, name: str) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"{name} (pid {proc.pid}) ignored SIGTERM: killing it")
            proc.kill()
            proc.wait(timeout=5)
    # what it started in its session (spawn makes one per process): a process pool's workers
    # outlive uvicorn, which re-raises SIGTERM after its graceful shutdown, so no atexit hook of
    # the app (the pool's shutdown among them) runs
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc in PROCS:
        PROCS.remove(proc)


def spawn(cmd: list[str], cwd: Path, env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    PROCS.append(proc)
    return proc


async def start_stub(copy: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from tools import labelstudio_stub; "
            "sys.argv = ['labelstudio_stub'] + sys.argv[2:]; labelstudio_stub.main()")
    cmd = [sys.executable, "-u", "-c", code, str(copy), "--port", "0", "--token", TOKEN]
    proc = spawn(cmd, copy, dict(os.environ), log_path)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        match = re.search(r"stub on (http://\S+)", log_path.read_text(errors="replace"))
        if match:
            return proc, match.group(1)
        if proc.poll() is not None:
            break
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the Label Studio stub did not start:\n{tail(log_path)}")


async def start_server(copy: Path, data_dir: Path, stub_url: str, log_path: Path):
    port = free_port()
    env = dict(os.environ, DEMO_DATA_DIR=str(data_dir), LABEL_STUDIO_URL=stub_url,
               LABEL_STUDIO_TOKEN=TOKEN, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port",
           str(port), "--no-access-log"]
    proc = spawn(cmd, copy, env, log_path)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + HEALTH_WAIT_S
    async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if (await client.get(base + "/health")).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer GET /health within {HEALTH_WAIT_S:.0f} s "
                       f"(exit code {proc.poll()}):\n{tail(log_path)}")


# --------------------------------------------------------------------------- load


class Recorder:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.heartbeats: list[tuple[float, float]] = []  # (send time from t0 in s, RTT ms)
        self.api: list[tuple[float, float]] = []  # (start time, latency ms)
        self.uploads: list[tuple[float, float]] = []
        self.errors: Counter = Counter()
        self.other: Counter = Counter()  # 4xx, progress events, lost pongs: not errors
        self.doc_ids: list[str] = []
        self.uploads_started = 0
        self.uploads_done = 0
        self.in_flight = 0
        self.in_flight_samples: list[int] = []
        self.bench_lag: list[float] = []
        self.uploader_lag: list[float] = []  # the uploaders' process's own loop lag
        self.cpu: dict = {}

    async def request(self, client: httpx.AsyncClient, method: str, url: str, **kw):
        """(start, latency ms or None, response or None); errors counted."""
        start = time.perf_counter()
        try:
            async with asyncio.timeout(CUT_S):
                resp = await client.request(method, url, **kw)
        except (TimeoutError, httpx.TimeoutException):
            self.errors["timeout"] += 1
            return start, CUT_S * 1000, None
        except (httpx.HTTPError, OSError) as exc:
            self.errors["connection"] += 1
            if self.errors["connection"] <= 3:
                log(f"connection error on {method} {url} after "
                    f"{(time.perf_counter() - start) * 1000:.0f} ms: {exc!r}")
            return start, None, None
        ms = (time.perf_counter() - start) * 1000
        if resp.status_code >= 500:
            self.errors["http_5xx"] += 1
        elif resp.status_code >= 400:
            self.other["http_4xx"] += 1
        return start, ms, resp

    async def upload(self, client, base: str, doc: tuple[str, bytes, str]) -> str | None:
        self.uploads_started += 1
        self.in_flight += 1
        try:
            start, ms, resp = await self.request(client, "POST", base + "/documents",
                                                 files={"file": doc})
        finally:
            self.in_flight -= 1
        if ms is not None:
            self.uploads.append((start - self.t0, ms))
        if resp is not None and resp.status_code == 202:
            self.uploads_done += 1
            doc_id = resp.json()["id"]
            self.doc_ids.append(doc_id)
            return doc_id
        return None


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    if seconds > 0:
        try:
            async with asyncio.timeout(seconds):
                await stop.wait()
        except TimeoutError:
            pass


class Watcher:
    """One WebSocket client: pings on a fixed schedule, records pong round trips."""

    def __init__(self, index: int, url: str, rec: Recorder) -> None:
        self.index, self.url, self.rec = index, url, rec
        self.ws = None
        self.pending: dict[float, float] = {}

    async def connect(self) -> bool:
        try:
            self.ws = await ws_connect(self.url, ping_interval=None, proxy=None, open_timeout=CUT_S,
                                       close_timeout=1, max_queue=None)
            return True
        except (OSError, TimeoutError, WebSocketException) as exc:
            self.rec.errors["ws_connect"] += 1
            log(f"ws client {self.index}: connect failed: {exc!r}")
            self.ws = None
            return False

    async def run(self, stop: asyncio.Event) -> None:
        rng = random.Random(SEED * 1000 + self.index)
        while True:
            if self.ws is None and not await self.connect():
                if stop.is_set():
                    return
                await wait_or_stop(stop, 0.5)
                continue
            sender = asyncio.create_task(self.send_loop(stop, rng.uniform(0, PING_INTERVAL_S)))
            try:
                await self.receive_loop(stop)
                return
            except ConnectionClosed as exc:
                self.rec.errors["ws_disconnect"] += 1
                self.rec.other["pongs_lost"] += len(self.pending)
                self.pending.clear()
                log(f"ws client {self.index}: disconnected: {exc!r}")
                self.ws = None
                if stop.is_set():
                    return
            finally:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)

    async def send_loop(self, stop: asyncio.Event, offset: float) -> None:
        due = time.perf_counter() + offset
        while True:
            await wait_or_stop(stop, due - time.perf_counter())
            if stop.is_set():
                return
            sent = time.perf_counter()
            self.pending[sent] = sent
            await self.ws.send(json.dumps({"type": "ping", "t": sent}))
            due += PING_INTERVAL_S

    async def receive_loop(self, stop: asyncio.Event) -> None:
        while not (stop.is_set() and not self.pending):
            wait = 0.2
            if self.pending:
                wait = min(wait, max(0.0, min(self.pending.values()) + CUT_S - time.perf_counter()))
            try:
                async with asyncio.timeout(wait):
                    raw = await self.ws.recv()
            except TimeoutError:
                now = time.perf_counter()
                for key, sent in list(self.pending.items()):
                    if now - sent >= CUT_S:
                        del self.pending[key]
                        self.rec.errors["pong_timeout"] += 1
                        self.rec.heartbeats.append((sent - self.rec.t0, CUT_S * 1000))
                continue
            now = time.perf_counter()
            msg = json.loads(raw)
            if msg.get("type") == "pong":
                sent = self.pending.pop(msg.get("t"), None)
                if sent is not None:
                    self.rec.heartbeats.append((sent - self.rec.t0, (now - sent) * 1000))
                else:
                    self.rec.other["pongs_unmatched"] += 1
            else:
                self.rec.other["progress_events"] += 1

    async def close(self) -> None:
        if self.ws is not None:
            try:
                async with asyncio.timeout(2):
                    await self.ws.close()
            except (TimeoutError, OSError, WebSocketException):
                pass
            self.ws = None


async def uploader(index: int, client, base: str, docs, rec: Recorder, stop: asyncio.Event,
                   think: float) -> None:
    rng = random.Random(SEED * 100 + index)
    while not stop.is_set():
        await rec.upload(client, base, rng.choice(docs))
        await wait_or_stop(stop, rng.uniform(0.5, 1.5) * think)


def upload_load(base: str, docs, uploaders: int, think: float, duration: float) -> dict:
    """The uploaders, in a process of their own: encoding 50 multipart uploads a second is CPU
    work that, in the measuring process, would delay its own pongs and probes (its loop lag,
    not the server's). Runs ``duration`` seconds; returns what the parent's Recorder needs."""
    async def run() -> dict:
        rec = Recorder()
        stop = asyncio.Event()
        cpu0 = time.process_time()
        async with httpx.AsyncClient(trust_env=False, limits=LIMITS, timeout=httpx.Timeout(CUT_S + 5)) as client:
            tasks = [asyncio.create_task(uploader(i, client, base, docs, rec, stop, think))
                     for i in range(uploaders)]
            tasks.append(asyncio.create_task(ticker(rec, stop)))
            await asyncio.sleep(duration)
            stop.set()
            done, pending = await asyncio.wait(tasks, timeout=CUT_S + 5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return {"uploads": rec.uploads, "started": rec.uploads_started, "done": rec.uploads_done,
                "errors": dict(rec.errors), "other": dict(rec.other),
                "in_flight_samples": rec.in_flight_samples, "cpu_s": time.process_time() - cpu0,
                "lag": rec.bench_lag}

    return asyncio.run(run())


async def prober(client, base: str, rec: Recorder, stop: asyncio.Event) -> None:
    rng = random.Random(SEED)
    inflight: set[asyncio.Task] = set()

    async def probe(path: str) -> None:
        start, ms, _ = await rec.request(client, "GET", base + path)
        if ms is not None:
            rec.api.append((start - rec.t0, ms))

    due, turn = time.perf_counter(), 0
    while not stop.is_set():
        kind = turn % 3
        turn += 1
        if kind == 0:
            path = "/health"
        elif kind == 1 and rec.doc_ids:
            path = f"/documents/{rng.choice(rec.doc_ids)}"
        else:
            path = "/documents"
        task = asyncio.create_task(probe(path))
        inflight.add(task)
        task.add_done_callback(inflight.discard)
        due += PROBE_INTERVAL_S
        await wait_or_stop(stop, due - time.perf_counter())
    await asyncio.gather(*inflight, return_exceptions=True)


async def ticker(rec: Recorder, stop: asyncio.Event) -> None:
    due = time.perf_counter() + TICK_S
    while not stop.is_set():
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        now = time.perf_counter()
        rec.bench_lag.append(max(0.0, now - due) * 1000)
        rec.in_flight_samples.append(rec.in_flight)
        due = now + TICK_S


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def count_documents(db_path: Path) -> Counter:
    if not db_path.exists():
        return Counter()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return Counter(dict(conn.execute("SELECT status, COUNT(*) FROM documents GROUP BY status")))
    finally:
        conn.close()


async def drive(base: str, docs, args, data_dir: Path, server_pid: int):
    rec = Recorder()
    timeout = httpx.Timeout(CUT_S + 5)
    watchers = [Watcher(i, base.replace("http", "ws", 1) + "/ws", rec) for i in range(args.ws_clients)]
    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    pool.submit(int).result()  # started before the window: a spawn takes a second
    async with httpx.AsyncClient(trust_env=False, limits=LIMITS, timeout=timeout) as up_client, \
            httpx.AsyncClient(trust_env=False, limits=LIMITS, timeout=timeout) as probe_client, \
            contextlib.AsyncExitStack() as stack:
        stack.callback(pool.shutdown, cancel_futures=True)
        tasks: list[asyncio.Task] = []
        try:
            await asyncio.gather(*(w.connect() for w in watchers))
            log(f"{sum(w.ws is not None for w in watchers)}/{len(watchers)} WebSocket clients connected")
            pdfs = [d for d in docs if d[0].endswith(".pdf")]
            background = [pdfs[i % len(pdfs)] for i in range(args.background)]
            ids = await asyncio.gather(*(rec.upload(up_client, base, d) for d in background))
            log(f"background: {sum(i is not None for i in ids)}/{len(background)} documents accepted "
                f"({', '.join(d[0] for d in background)})")
            rec.uploads_started = rec.uploads_done = 0
            rec.uploads.clear()

            stop = asyncio.Event()
            cpu0 = (time.process_time(), cpu_seconds(server_pid))
            rec.t0 = time.perf_counter()
            tasks = [asyncio.create_task(w.run(stop)) for w in watchers]
            uploads = asyncio.get_running_loop().run_in_executor(
                pool, upload_load, base, docs, args.uploaders, args.think, args.duration)
            tasks.append(asyncio.create_task(prober(probe_client, base, rec, stop)))
            tasks.append(asyncio.create_task(ticker(rec, stop)))
            log(f"measuring for {args.duration:g} s: {args.ws_clients} WS clients, "
                f"{args.uploaders} uploaders, 1 API prober")
            await asyncio.sleep(args.duration)
            stop.set()
            window = time.perf_counter() - rec.t0
            server_cpu = cpu_seconds(server_pid)
            bench_cpu = time.process_time() - cpu0[0]
            statuses = await asyncio.to_thread(count_documents, data_dir / "demo.db")
            child = await uploads
            rec.uploads += child["uploads"]
            rec.uploads_started, rec.uploads_done = child["started"], child["done"]
            rec.errors.update(child["errors"])
            rec.other.update(child["other"])
            rec.in_flight_samples = child["in_flight_samples"]
            rec.uploader_lag = child["lag"]
            rec.cpu = {"bench_cpu_pct": round(bench_cpu / window * 100),
                       "uploaders_cpu_pct": round(child["cpu_s"] / window * 100),
                       "server_cpu_pct": None if server_cpu is None or cpu0[1] is None
                       else round((server_cpu - cpu0[1]) / window * 100)}
            log(f"window over ({window:.1f} s); documents by status: {dict(statuses)}; draining")
            done, pending = await asyncio.wait(tasks, timeout=CUT_S + 5)
            if pending:
                log(f"{len(pending)} client tasks still busy after the drain: cancelled")
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log(f"client task failed: {task.exception()!r}")
                    rec.errors["client_crash"] += 1
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(w.close() for w in watchers), return_exceptions=True)
    return rec, statuses, window


def metrics(rec: Recorder, statuses: Counter, window: float, args, server_log: Path) -> dict:
    hb = [ms for _, ms in rec.heartbeats]
    api = [ms for _, ms in rec.api]
    up = [ms for _, ms in rec.uploads]
    errors = sum(rec.errors.values())
    text = server_log.read_text(errors="replace") if server_log.exists() else ""
    result = {
        "heartbeat_p50_ms": r1(pct(hb, 50)),
        "heartbeat_p95_ms": r1(pct(hb, 95)),
        "heartbeat_p99_ms": r1(pct(hb, 99)),
        "heartbeat_max_ms": r1(max(hb, default=None)),
        "api_p50_ms": r1(pct(api, 50)),
        "api_p95_ms": r1(pct(api, 95)),
        "api_p99_ms": r1(pct(api, 99)),
        "errors": errors,
        "uploads_done": rec.uploads_done,
        "documents_processed": statuses.get("done", 0),
        "duration_s": round(window, 1),
    }
    result["slo_met"] = bool(
        result["heartbeat_p99_ms"] is not None and result["heartbeat_p99_ms"] < HEARTBEAT_SLO_MS
        and result["api_p95_ms"] is not None and result["api_p95_ms"] < API_SLO_MS
        and errors == 0)
    result.update({
        "loop_lag_p99_ms": result["heartbeat_p99_ms"],  # = heartbeat RTT: the app exposes no lag
        "loop_lag_max_ms": result["heartbeat_max_ms"],
        "heartbeats": len(hb),
        "api_requests": len(api),
        "api_max_ms": r1(max(api, default=None)),
        "uploads_started": rec.uploads_started,
        "upload_p50_ms": r1(pct(up, 50)),
        "upload_p95_ms": r1(pct(up, 95)),
        "uploads_in_flight_mean": r1(sum(rec.in_flight_samples) / len(rec.in_flight_samples)
                                     if rec.in_flight_samples else None),
        "documents_total": sum(statuses.values()),
        "documents_failed": statuses.get("failed", 0),
        "errors_by_kind": dict(rec.errors),
        "not_errors": dict(rec.other),
        "bench_lag_p99_ms": r1(pct(rec.bench_lag, 99)),
        "bench_lag_max_ms": r1(max(rec.bench_lag, default=None)),
        "uploaders_lag_p99_ms": r1(pct(rec.uploader_lag, 99)),
        **rec.cpu,
        "cores": os.cpu_count(),
        "server_tracebacks": text.count("Traceback (most recent call last)"),
        "settings": {"uploaders": args.uploaders, "ws_clients": args.ws_clients,
                     "background": args.background, "think_s": args.think},
    })
    return result


async def run_copy(label: str, copy: Path, work: Path, docs, args) -> tuple[dict, Recorder]:
    data_dir = work / f"data-{label}"
    data_dir.mkdir()
    server_log, stub_log = work / f"uvicorn-{label}.log", work / f"stub-{label}.log"
    stub = server = None
    ok = False
    try:
        async with asyncio.timeout(args.duration + STARTUP_BUDGET_S):
            stub, stub_url = await start_stub(copy, stub_log)
            server, base = await start_server(copy, data_dir, stub_url, server_log)
            log(f"{label}: uvicorn pid {server.pid} on {base}, stub pid {stub.pid} on {stub_url}")
            rec, statuses, window = await drive(base, docs, args, data_dir, server.pid)
            if server.poll() is not None:
                rec.errors["server_exited"] += 1
                log(f"{label}: uvicorn exited during the run (code {server.returncode})")
        stop_process(server, "uvicorn")
        stop_process(stub, "stub")
        result = metrics(rec, statuses, window, args, server_log)
        if result["server_tracebacks"] or result["errors"]:
            log(f"{label}: {result['server_tracebacks']} tracebacks in uvicorn's log, errors "
                f"{result['errors_by_kind']}; log tail:\n{tail(server_log)}")
        ok = True
        return result, rec
    except TimeoutError:
        raise RuntimeError(f"{label}: deadline of {args.duration + STARTUP_BUDGET_S:.0f} s exceeded")
    finally:
        for proc, name in ((server, "uvicorn"), (stub, "stub")):
            if proc is not None:
                stop_process(proc, name)
        if not ok:
            log(f"{label}: failed; uvicorn log tail ({server_log}):\n{tail(server_log)}")


# --------------------------------------------------------------------------- output

ROWS = [
    ("heartbeat p50 (ms)", "heartbeat_p50_ms"),
    ("heartbeat p95 (ms)", "heartbeat_p95_ms"),
    ("**heartbeat p99 (ms)**, SLO < 100", "heartbeat_p99_ms"),
    ("heartbeat max (ms)", "heartbeat_max_ms"),
    ("API p50 (ms)", "api_p50_ms"),
    ("**API p95 (ms)**, SLO < 500", "api_p95_ms"),
    ("API p99 (ms)", "api_p99_ms"),
    ("**errors**, SLO 0", "errors"),
    ("uploads done (202) / started", None),
    ("upload p50 / p95 (ms)", None),
    ("uploads in flight (mean)", "uploads_in_flight_mean"),
    ("documents processed (done) / failed / total", None),
    ("heartbeats / API requests measured", None),
    ("bench's own loop lag p99 (ms): measuring / uploaders", None),
    ("CPU % in the window: server / measuring client / uploaders", None),
    ("window (s)", "duration_s"),
    ("**SLO met**", "slo_met"),
]


def fmt(value) -> str:
    if isinstance(value, bool):
        return "**yes**" if value else "**no**"
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def cell(result: dict, key: str | None, title: str) -> str:
    if key is not None:
        return fmt(result[key])
    keys = {"uploads done": ("uploads_done", "uploads_started"),
            "upload p50": ("upload_p50_ms", "upload_p95_ms"),
            "CPU": ("server_cpu_pct", "bench_cpu_pct", "uploaders_cpu_pct"),
            "bench's": ("bench_lag_p99_ms", "uploaders_lag_p99_ms"),
            "documents": ("documents_processed", "documents_failed", "documents_total"),
            "heartbeats": ("heartbeats", "api_requests")}
    for prefix, names in keys.items():
        if title.startswith(prefix):
            return " / ".join(fmt(result.get(name)) for name in names)
    raise KeyError(title)


def markdown(results: dict) -> str:
    lines = ["| | as written | after `asyncfix apply` |", "|---|---:|---:|"]
    for title, key in ROWS:
        lines.append(f"| {title} | {cell(results['before'], key, title)} | {cell(results['after'], key, title)} |")
    for label in ("before", "after"):
        kinds = results[label]["errors_by_kind"]
        if kinds:
            lines.append("")
            lines.append(f"Errors {label}: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ".")
    return "\n".join(lines)


def plot(recs: dict[str, Recorder], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"before": "tab:red", "after": "tab:blue"}
    fig, (ax_hb, ax_api) = plt.subplots(2, 1, sharex=True, figsize=(10, 7.5))
    for label, rec in recs.items():
        for ax, points in ((ax_hb, rec.heartbeats), (ax_api, rec.api)):
            if points:
                xs, ys = zip(*sorted(points))
                ax.scatter(xs, [max(y, 0.1) for y in ys], s=5, alpha=0.45, color=colours[label],
                           label=f"{label} ({'as written' if label == 'before' else 'after asyncfix apply'})")
    ax_hb.axhline(HEARTBEAT_SLO_MS, color="black", linestyle="--", linewidth=1, label="SLO p99 < 100 ms")
    ax_api.axhline(API_SLO_MS, color="black", linestyle="--", linewidth=1, label="SLO p95 < 500 ms")
    ax_hb.set_title("WebSocket heartbeat round trip (ping sent at t)")
    ax_api.set_title("API latency (GET /health, /documents/{id}, /documents; request sent at t)")
    for ax in (ax_hb, ax_api):
        ax.set_yscale("log")
        ax.set_ylabel("ms (log)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper right", fontsize=8, markerscale=3)
    ax_api.set_xlabel("seconds into the measured window")
    fig.suptitle("demo backend under load: as written vs after `asyncfix apply`")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def update_readme(results: dict, args, plot_path: Path) -> None:
    command = ".venv/bin/python benchmarks/slo.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:] if a != "--readme")
    link = os.path.relpath(plot_path.resolve(), README.parent)
    body = "\n".join([
        SECTION,
        "",
        "`slo.py` checks the audit checklist's SLO on the demo backend, as written and after",
        f"`{' '.join(['asyncfix apply .', args.apply_args]).strip()}`: under 50 concurrent uploads, "
        "10 WebSocket clients watching progress",
        "(pinging every 200 ms) and 5 documents processing in the background, heartbeats answer in",
        "under 100 ms (p99), the API in under 500 ms (p95), without errors. The module docstring",
        "describes the load (closed-loop uploaders with a think time, an open-loop API prober).",
        "",
        "```sh",
        command.rstrip(),
        "```",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}. "
        f"{args.duration:g} s window, {args.uploaders} uploaders (think {args.think:g} s), "
        f"{args.ws_clients} WS clients, {args.background} background documents.",
        "",
        markdown(results),
        "",
        f"![slo]({link})",
        "",
    ])
    text = README.read_text() if README.exists() else ""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + body
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        rest = "".join(lines[end:])
        new = "".join(lines[:start]) + body + ("\n" + rest if rest else "")
    README.write_text(new)
    log(f"updated {README}")


# --------------------------------------------------------------------------- main


async def main_async(args) -> tuple[dict, dict]:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    demo = resolve_demo(args.demo)
    work = Path(tempfile.mkdtemp(prefix="asyncfix-slo-"))
    log(f"demo {demo}; temp dir {work}")
    try:
        copies = prepare_copies(demo, work, shlex.split(args.apply_args))
        docs = make_inputs(copies["before"], work / "inputs")
        results, recs = {}, {}
        for label in ("before", "after"):
            log(f"--- {label}: {copies[label]}")
            results[label], recs[label] = await run_copy(label, copies[label], work, docs, args)
            r = results[label]
            log(f"{label}: heartbeat p99 {r['heartbeat_p99_ms']} ms, API p95 {r['api_p95_ms']} ms, "
                f"errors {r['errors']}, uploads {r['uploads_done']}, processed {r['documents_processed']}")
        return results, recs
    finally:
        for proc in list(PROCS):
            stop_process(proc, f"pid {proc.pid}")
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", default="fixtures/demo_backend",
                        help="the demo backend folder (relative to the repository root or the current folder)")
    parser.add_argument("--duration", type=float, default=20, help="measured window per copy, seconds")
    parser.add_argument("--uploaders", type=int, default=50)
    parser.add_argument("--ws-clients", type=int, default=10)
    parser.add_argument("--background", type=int, default=5, help="PDFs uploaded before the window")
    parser.add_argument("--think", type=float, default=0.5,
                        help="mean think time of an uploader between two uploads, seconds")
    parser.add_argument("--apply-args", default="--offload process",
                        help="options for `asyncfix apply` on the copy (default: '--offload process', "
                        "the checklist's process pool for CPU-bound work; '' for threads only)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--plot", type=Path, default=REPO / "benchmarks" / "slo.png")
    parser.add_argument("--readme", action="store_true",
                        help="replace or append the section in benchmarks/README.md")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (copies, data, logs)")
    args = parser.parse_args()
    if args.duration <= 0 or args.uploaders < 0 or args.ws_clients < 0 or args.background < 0:
        parser.error("--duration must be > 0 and the counts >= 0")

    try:
        results, recs = asyncio.run(main_async(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted")
        return 130
    except RuntimeError as exc:
        log(f"error: {exc}")
        return 1
    finally:
        for proc in list(PROCS):  # in case the loop died before its own finally ran
            stop_process(proc, f"pid {proc.pid}")

    plot(recs, args.plot)
    log(f"plot: {args.plot}")
    if args.readme:
        update_readme(results, args, args.plot)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(markdown(results))
    log(f"total {time.monotonic() - STARTED:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
