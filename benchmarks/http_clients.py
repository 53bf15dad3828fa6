#!/usr/bin/env python3
"""What the http rewrite costs and frees on the event loop, side by side in one run.

    python benchmarks/http_clients.py [--repeat 15] [--requests 20] [--delay 0.1]

1. Making a client: `httpx.AsyncClient()` builds its own TLS context (loads the CA bundle) on
   the loop; with the rewrite's shared `_HTTPX_SSL_CONTEXT` it does not. Median ms per client.
2. Loop lag while a coroutine makes N requests, one after another, to a local server answering
   after --delay s (tests/http_server.py, loopback): the worst gap a 5 ms ticker sees, and the
   wall time, for requests on the loop (the original), requests in a thread (what `apply` does
   where it cannot swap), and the swapped form (one AsyncClient per request, as a coroutine with
   one call gets), with the shared context and without.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import requests  # noqa: E402

from tests.http_server import HttpServer  # noqa: E402
from tests.lag import with_lag  # noqa: E402


def client_cost(repeat: int) -> dict[str, float]:
    httpx.AsyncClient()  # the first one also imports httpcore's pieces
    context = httpx.create_ssl_context()
    out = {}
    for name, make in (("own TLS context", lambda: httpx.AsyncClient()),
                       ("shared TLS context", lambda: httpx.AsyncClient(verify=context))):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            make()
            times.append((time.perf_counter() - start) * 1000)
        out[name] = statistics.median(times)
    return out


async def _with_ticker(work) -> tuple[float, float]:
    """(worst loop lag, wall time), in ms."""
    start = time.perf_counter()
    _, lag = await with_lag(work)
    return lag * 1000, (time.perf_counter() - start - 0.03) * 1000  # less the ticker's head start


def lag_table(url: str, count: int) -> dict[str, tuple[float, float]]:
    context = httpx.create_ssl_context()

    async def on_loop(n):
        for _ in range(n):
            requests.get(url).json()

    async def in_thread(n):
        for _ in range(n):
            (await asyncio.to_thread(requests.get, url)).json()

    def swapped(verify):
        async def run(n):
            for _ in range(n):
                async with httpx.AsyncClient(follow_redirects=True, max_redirects=30, timeout=None,
                                             **verify) as client:
                    (await client.get(url)).json()
        return run

    forms = {"requests on the loop (before)": on_loop, "requests in a thread": in_thread,
             "httpx, shared TLS context (after)": swapped({"verify": context}),
             "httpx, a TLS context per client": swapped({})}
    out = {}
    for name, work in forms.items():
        asyncio.run(work(1))  # warm: the first request imports httpcore's and anyio's pieces
        out[name] = asyncio.run(_with_ticker(lambda: work(count)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.1)
    args = parser.parse_args()
    costs = client_cost(args.repeat)
    print(f"| making an AsyncClient (median of {args.repeat}) | ms on the loop |\n| --- | ---: |")
    for name, ms in costs.items():
        print(f"| {name} | {ms:.2f} |")
    server = HttpServer()
    try:
        server.delay = args.delay
        rows = lag_table(server.url + "/json", args.requests)
    finally:
        server.close()
    print(f"\n| {args.requests} requests, server answers after {args.delay * 1000:.0f} ms | worst loop lag (ms) "
          "| wall (ms) |\n| --- | ---: | ---: |")
    for name, (lag, wall) in rows.items():
        print(f"| {name} | {lag:.1f} | {wall:.0f} |")


if __name__ == "__main__":
    main()
