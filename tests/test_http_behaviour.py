"""The `requests -> httpx.AsyncClient` rewrite keeps behaviour and frees the loop, against a local
HTTP server (tests/http_server.py).

Cases are the golden pairs fixtures/apply/http/<case>.py (before) and <case>.fixed.py (after).
Entry points: every top-level `async def` of the module whose first parameter is `base_url`; it is
called with only `base_url=<server url>` and returns plain data (compared with `==`). An entry
point whose name ends in `_nolag` (one that makes no request) is left out of the loop-lag test.

- test_same_results: each side runs in its own `asyncio.run`; equal return values, or both raise
  exceptions of the same kind (`kind()`: status, connect, timeout, redirects, json, http).
- test_loop_not_stalled: with the server answering after 0.3 s, the loop beside the original
  stalls >= 0.2 s (so the test can fail) and beside the rewrite < 0.1 s.

Every run loads its module afresh (module-level clients and locks bind to one loop) and runs in a
thread of its own, so a hang fails after RUN_TIMEOUT instead of stalling the suite. A module
fixture runs the selected entries up front, a few at a time and a pair's two sides at once, so
the suite does not wait out every 0.3 s delay in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import inspect
import itertools
import json
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import requests

from tests.conftest import FIXTURES
from tests.lag import with_lag

HTTP = FIXTURES / "apply" / "http"
DELAY = 0.3  # server delay in the lag test
STALLED = 0.2  # the original's loop must lag at least this
FREE = 0.1  # the rewrite's loop must lag less than this
RUN_TIMEOUT = 10  # a run that has not finished by then fails instead of hanging the suite


# -- fixture modules ----------------------------------------------------------------------------

_serial = itertools.count()


@contextlib.contextmanager
def loaded(path: Path, role: str):
    """The module at `path`, freshly executed under a unique name (registered in sys.modules while
    in use, as a dataclass or pickle in the fixture may need)."""
    name = f"_asyncfix_http_{path.parent.name}_{path.name.split('.')[0]}_{role}_{next(_serial)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)


def entry_points(module) -> dict:
    """Top-level `async def name(base_url, ...)` defined in the module itself."""
    out = {}
    for name, obj in vars(module).items():
        if inspect.iscoroutinefunction(obj) and obj.__module__ == module.__name__:
            params = list(inspect.signature(obj).parameters)
            if params and params[0] == "base_url":
                out[name] = obj
    return out


def pairs(folder: Path = HTTP) -> list[tuple[Path, Path]]:
    return [(p, p.with_name(p.stem + ".fixed.py")) for p in sorted(folder.glob("*.py"))
            if not p.name.endswith(".fixed.py") and p.with_name(p.stem + ".fixed.py").exists()]


NO_ENTRY = "no `async def f(base_url, ...)` in either module"


@dataclass(frozen=True)
class Entry:
    case: str
    name: str
    before: Path
    after: Path
    error: str = ""  # why it cannot run: a module failed to load (the test fails), or NO_ENTRY (skipped)

    @property
    def id(self) -> str:
        return f"{self.case}/{self.name}"


def discover(folder: Path = HTTP) -> list[Entry]:
    found = []
    for before, after in pairs(folder):
        case = before.stem
        names: set[str] = set()
        try:
            for path, role in ((before, "before"), (after, "after")):
                with loaded(path, f"discover_{role}") as module:
                    names |= set(entry_points(module))
        except Exception:
            found.append(Entry(case, "<load>", before, after, traceback.format_exc()))
            continue
        if not names:  # a golden pair that is not meant to run: shown as skipped
            found.append(Entry(case, "<none>", before, after, NO_ENTRY))
        found.extend(Entry(case, name, before, after) for name in sorted(names))
    return found


ENTRIES = discover()


def params(entries: list[Entry]) -> list:
    skip = [pytest.mark.skip(reason=NO_ENTRY)]
    return [pytest.param(e, id=e.id, marks=skip if e.error == NO_ENTRY else []) for e in entries]


def function(entry: Entry, module, path: Path):
    if entry.error:
        pytest.fail(f"{entry.id}: {entry.error}")
    found = entry_points(module).get(entry.name)
    if found is None:
        pytest.fail(f"{entry.id}: {path.name} has no `async def {entry.name}(base_url, ...)`")
    return found


class Run(threading.Thread):
    """`work()` in a daemon thread; `outcome()` is ("returned", value) or ("raised", exception). A
    run still going after RUN_TIMEOUT fails the test (its thread is left behind)."""

    def __init__(self, work, label: str):
        super().__init__(name=f"http-case {label}", daemon=True)
        self.work, self.label, self.box = work, label, []
        self.start()

    def run(self):
        try:
            self.box.append(("returned", self.work()))
        except Exception as exc:  # noqa: BLE001 - the outcome is compared
            self.box.append(("raised", exc))

    def outcome(self, deadline: float):
        self.join(max(0.0, deadline - time.monotonic()))
        if self.is_alive():
            pytest.fail(f"{self.label}: no result after {RUN_TIMEOUT} s")
        return self.box[0]


def run_sides(entry: Entry, base_url: str, wrap, together: bool, roles=("before", "after")):
    """Each side's entry point, from its module loaded afresh, run as `asyncio.run(wrap(coroutine
    factory))` in its own thread: one after the other, or both at once (`together`)."""
    outcomes, runs = {}, {}
    paths = {"before": entry.before, "after": entry.after}
    with contextlib.ExitStack() as stack:
        modules = {role: stack.enter_context(loaded(paths[role], role)) for role in roles}
        calls = {role: function(entry, modules[role], paths[role]) for role in roles}  # both, or none runs
        for role, call in calls.items():
            runs[role] = Run(lambda call=call: asyncio.run(wrap(lambda: call(base_url=base_url))),
                             f"{entry.id} ({role})")
            if not together:
                outcomes[role] = runs[role].outcome(time.monotonic() + RUN_TIMEOUT)
        deadline = time.monotonic() + RUN_TIMEOUT
        for role, run in runs.items():
            outcomes.setdefault(role, run.outcome(deadline))
    return outcomes


LAG_WORKERS = 4  # lag entries measured at once: their loops mostly wait on the server; STAGGER (s)
STAGGER = 0.1  # between two starts keeps their setups (module loads, first clients) apart


def precompute(request, test_name: str, measure, workers: int = 4, stagger: float = 0.0) -> dict:
    """{entry: future of measure(entry)} for every entry of `test_name` selected in this session,
    `workers` at a time; the futures are all done on return (a hang ends at RUN_TIMEOUT)."""
    wanted = [item.callspec.params["entry"] for item in request.session.items
              if getattr(item, "originalname", None) == test_name and item.module.__name__ == __name__]
    gate, last = threading.Lock(), [0.0]

    def staggered(entry: Entry):
        with gate:
            time.sleep(max(0.0, last[0] + stagger - time.monotonic()))
            last[0] = time.monotonic()
        return measure(entry)

    with ThreadPoolExecutor(workers, "http-case") as pool:
        return {entry: pool.submit(staggered, entry) for entry in wanted}


# -- outcomes -----------------------------------------------------------------------------------

KINDS = [  # first match wins: the more specific classes come first; another ValueError keeps its name
    ((requests.HTTPError, httpx.HTTPStatusError), "status"),
    ((json.JSONDecodeError, requests.exceptions.JSONDecodeError), "json"),
    ((requests.Timeout, httpx.TimeoutException), "timeout"),  # requests.ConnectTimeout is both
    ((requests.TooManyRedirects, httpx.TooManyRedirects), "redirects"),
    ((requests.ConnectionError, httpx.ConnectError, httpx.NetworkError), "connect"),
    ((requests.RequestException, httpx.HTTPError), "http"),
]


def kind(exc: BaseException) -> str:
    for classes, name in KINDS:
        if isinstance(exc, classes):
            return name
    return type(exc).__name__


def describe(outcome) -> str:
    """The outcome in one or two lines: the value, or the exception with where the fixture raised it."""
    status, value = outcome
    if status == "returned":
        return f"returned {value!r}"
    frames = [f for f in traceback.extract_tb(value.__traceback__) if Path(f.filename).parent == HTTP]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} `{frames[-1].line}`" if frames else ""
    return f"raised {type(value).__module__}.{type(value).__qualname__} (kind {kind(value)!r}){where}: {value}"


def _with_lag(make_coro):
    """(the coroutine's value or the exception it raised, the worst lag). Several loops measure
    at once here, each in its own thread: one run's collection would land inside another's
    measurement, so the caller collects once and holds GC off around them all (`measuring`)."""
    return with_lag(make_coro, collect=False, catch=True)


@pytest.fixture(scope="module")
def warm(http_server):
    """The first use of httpx and asyncio.to_thread in a process imports and sets up lazily (some
    40-80 ms on the loop); a long-running server pays it once, so it is paid before measuring."""
    async def once():
        async with httpx.AsyncClient() as client:
            await client.get(f"{http_server.url}/json")
        await asyncio.to_thread(requests.get, f"{http_server.url}/json")
    http_server.delay = 0
    asyncio.run(once())


# -- tests --------------------------------------------------------------------------------------
# Both tests run their selected entries up front in a module fixture, a few at a time and a
# pair's two sides at once (one by one, with 0.3 s of server delay per request on each side, a
# few dozen entries would take most of a minute); each test then judges its entry's outcomes.


@pytest.fixture(scope="module")
def results(request, http_server):
    with http_server.delayed(0):
        return precompute(request, "test_same_results",
                          lambda entry: run_sides(entry, http_server.url, lambda make: make(), together=True))


@pytest.mark.parametrize("entry", params(ENTRIES))
def test_same_results(entry, results):
    outcomes = results[entry].result()  # re-raises a load error or a hang
    before, after = outcomes["before"], outcomes["after"]
    report = f"{entry.id}\n  before {describe(before)}\n  after  {describe(after)}"
    if before[0] == after[0] == "returned":
        assert after[1] == before[1], report
    else:
        assert before[0] == after[0] == "raised", report
        assert kind(after[1]) == kind(before[1]), report


LAG_ENTRIES = [e for e in ENTRIES if not e.name.endswith("_nolag")]
RETRIES = 2  # a rewrite over FREE is measured again alone, as many times, and judged by its best


@contextlib.contextmanager
def measuring(server):
    """The server answering after DELAY, and no GC pass inside a measurement: a cyclic GC pass in a
    process as large as the test run can pause a loop for tens of ms on its own."""
    gc.collect()
    gc.disable()
    try:
        with server.delayed(DELAY):
            yield
    finally:
        gc.enable()


@pytest.fixture(scope="module")
def lag_outcomes(request, http_server, warm):
    with measuring(http_server):
        return precompute(request, "test_loop_not_stalled",
                          lambda entry: run_sides(entry, http_server.url, _with_lag, together=True),
                          workers=LAG_WORKERS, stagger=STAGGER)


def lags_of(entry: Entry, outcomes) -> dict:
    lags = {}
    for role, (status, value) in outcomes.items():
        assert status == "returned", f"{entry.id} ({role}): the lag harness failed: {describe((status, value))}"
        lags[role] = value[1]
    return lags


@pytest.mark.parametrize("entry", params(LAG_ENTRIES))
def test_loop_not_stalled(entry, http_server, lag_outcomes):
    first = lags_of(entry, lag_outcomes[entry].result())  # result() re-raises a load error, a hang
    before, afters = first["before"], [first["after"]]
    # The rewrite's own lag is its setup on the loop (an httpx.AsyncClient without a shared TLS
    # context loads the CA bundle: ~55 ms here), which a busy machine can stretch past FREE; a
    # request on the loop is DELAY every time, so a retry cannot hide it.
    while afters[-1] >= FREE and len(afters) <= RETRIES:
        with measuring(http_server):
            again = run_sides(entry, http_server.url, _with_lag, together=False, roles=("after",))
        afters.append(lags_of(entry, again)["after"])
    after = min(afters)
    message = (f"{entry.id}: worst loop lag before {before * 1000:.0f} ms, after {after * 1000:.0f} ms "
               f"(server delay {DELAY * 1000:.0f} ms)")
    if len(afters) > 1:
        message += f"; the rewrite measured {len(afters)} times: " + ", ".join(f"{a * 1000:.0f}" for a in afters)
    assert before >= STALLED, f"{message}: the original does not stall the loop, so this proves nothing"
    assert after < FREE, f"{message}: the rewrite still stalls the loop"


# -- the server itself --------------------------------------------------------------------------

def test_server_endpoints(http_server):
    url = http_server.url
    http_server.delay = 0
    with requests.Session() as s:  # one keep-alive connection across differently framed responses
        echo = s.post(f"{url}/echo?a=1&a=2&b=", data=b"caf\xe9", headers={"X-Test": "yes"}).json()
        assert echo["method"] == "POST" and echo["path"] == "/echo"
        assert echo["query"] == {"a": ["1", "2"], "b": [""]}
        assert echo["headers"]["x-test"] == "yes" and echo["body"] == "café"
        chunked = s.put(f"{url}/echo", data=iter([b"ab", b"cd"])).json()  # a chunked request body
        assert chunked["method"] == "PUT" and chunked["body"] == "abcd"
        assert s.get(f"{url}/json").json() == {"hello": "world", "n": [1, 2, 3]}
        for code in (200, 204, 304, 404, 418, 500, 503):
            r = s.get(f"{url}/status/{code}", allow_redirects=False)
            assert r.status_code == code
            assert r.text == ("" if code in (204, 304) else f"status {code}")
        r = s.get(f"{url}/status/301", allow_redirects=False)
        assert (r.status_code, r.text, "location" in r.headers) == (301, "status 301", False)
        r = s.get(f"{url}/redirect/3")
        assert r.json()["hello"] == "world" and [h.headers["location"] for h in r.history] == [
            "/redirect/2", "/redirect/1", "/redirect/0", "/json"]
        assert s.get(f"{url}/slow?s=0.05").json() == {"slept": 0.05}
        r = s.get(f"{url}/stream?chunks=3&size=12", stream=True)
        assert r.headers["transfer-encoding"] == "chunked"
        assert [c for c in r.iter_content(None)] == [b"012345678901"] * 3
        r = s.get(f"{url}/lines")
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert list(r.iter_lines(decode_unicode=True)) == ["alpha", "beta", "gamma"]
        assert s.get(f"{url}/text").text == "café"
        assert s.post(f"{url}/form", data={"x": "1", "y": ["2", "é"]}).json() == {"x": ["1"], "y": ["2", "é"]}
        r = s.get(f"{url}/bad-json")
        assert r.headers["content-type"] == "application/json"
        with pytest.raises(requests.exceptions.JSONDecodeError):
            r.json()
        r = s.head(f"{url}/json")
        assert r.status_code == 200 and r.content == b""
        assert (s.get(f"{url}/nope").status_code, s.get(f"{url}/nope").text) == (404, "not found")
    with httpx.Client() as client:
        assert client.get(f"{url}/stream?chunks=2&size=3").content == b"012012"
        assert client.get(f"{url}/json").json()["n"] == [1, 2, 3]


def test_server_delay(http_server):
    with http_server.delayed(0.15):
        assert http_server.delay == 0.15
        started = time.perf_counter()
        requests.get(f"{http_server.url}/json")
        assert time.perf_counter() - started >= 0.15
    assert http_server.delay == 0


def test_kinds():
    """Both libraries' failures land in the same kinds."""
    request = httpx.Request("GET", "http://127.0.0.1/")
    assert kind(requests.HTTPError()) == kind(httpx.HTTPStatusError("", request=request, response=None)) == "status"
    assert kind(requests.ConnectionError()) == kind(httpx.ConnectError("")) == kind(httpx.ReadError("")) == "connect"
    assert kind(requests.ConnectTimeout()) == kind(requests.ReadTimeout()) == kind(httpx.ReadTimeout("")) == "timeout"
    assert kind(requests.TooManyRedirects()) == kind(httpx.TooManyRedirects("")) == "redirects"
    assert kind(requests.exceptions.JSONDecodeError("x", "{", 1)) == kind(json.JSONDecodeError("x", "{", 1)) == "json"
    assert kind(requests.exceptions.ChunkedEncodingError()) == kind(httpx.RemoteProtocolError("")) == "http"
    assert kind(KeyError("k")) == "KeyError"
