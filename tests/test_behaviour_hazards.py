"""Wrong rewrites and over-caution a reviewer found running `asyncfix apply` on real backends.

Each case is a small module with `async def main(folder, *args)`. The original and the rewrite
each run from their own file in a fresh interpreter (`asyncio.run(..., debug=True)`; row 10 runs
as a script) with a 10 s timeout, so a hang or deadlock fails instead of stalling the suite, each
on its own copy of the data; the outcome (return value or exception type and message, or exit
status and output) and the files left in the folder must match. A correct tool may rewrite a hazard correctly or leave it on the loop; where a blocking call
beside the hazard can clearly move safely, the test also asserts it was fixed.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap

import pytest

from asyncfix.apply import checked_rewrite

TIMEOUT = 10

# Runs `main(folder, *args)` of the module at argv[1] and prints its outcome on the last line.
DRIVER = textwrap.dedent("""\
    import asyncio, importlib.util, pathlib, sys
    path, folder, *args = sys.argv[1:]
    spec = importlib.util.spec_from_file_location("case", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        outcome = ("returned", asyncio.run(module.main(pathlib.Path(folder), *args), debug=True))
    except Exception as exc:
        outcome = ("raised", type(exc).__name__, str(exc))
    print("OUTCOME", repr(outcome))
""")


def run(text: str, folder, setup, args=(), script=False):
    """Run the module once in a fresh interpreter on a fresh data folder: (outcome, files)."""
    folder.mkdir()
    setup(folder)
    path = folder.parent / f"{folder.name}.py"
    path.write_text(text)
    command = [sys.executable, str(path), str(folder), *args] if script else \
        [sys.executable, "-c", DRIVER, str(path), str(folder), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=folder)
    except subprocess.TimeoutExpired:
        done = None
    if done is None:
        pytest.fail(f"{folder.name}: no result after {TIMEOUT} s: it hangs or deadlocks\n{text}")
    if script:  # exit status, what it printed, and the last line of a traceback
        outcome = f"{done.returncode} {done.stdout!r} {(done.stderr.strip().splitlines() or [''])[-1]}"
    else:
        last = done.stdout.strip().splitlines()[-1:]
        assert last and last[0].startswith("OUTCOME "), f"{folder.name} did not finish:\n{done.stderr}"
        outcome = last[0][len("OUTCOME "):]
    outcome = outcome.replace(str(folder), "<folder>")  # paths in messages name each run's folder
    files = {p.relative_to(folder).as_posix(): p.read_bytes()
             for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
    return outcome, files


def same_behaviour(source: str, tmp_path, catalog, setup=lambda folder: None, scenarios=((),),
                   script=False):
    """Rewrite `source`, run original and rewrite per scenario (args to `main`), compare."""
    source = textwrap.dedent(source)
    result = checked_rewrite(source, "case.py", catalog, set(catalog.categories))
    new = result.text or source
    for number, args in enumerate(scenarios):
        before = run(source, tmp_path / f"original{number}", setup, args, script)
        after = run(new, tmp_path / f"rewritten{number}", setup, args, script)
        assert after == before, f"scenario {args}: behaviour changed; the rewrite:\n{new}"
    return result


def assert_fixed(result, *qualnames: str) -> None:
    """Those calls were moved off the loop (a tool that refuses everything does not pass)."""
    fixed = {f.qualname for f in result.fixed}
    refused = [(f.line, f.qualname, f.unfixable_reason) for f in result.unfixable]
    for name in qualnames:
        assert name in fixed, f"`{name}` not moved off the loop; refused: {refused}"


def new_helpers(source: str, rewritten: str) -> list[ast.FunctionDef]:
    old = {n.name for n in ast.walk(ast.parse(textwrap.dedent(source))) if isinstance(n, ast.FunctionDef)}
    return [n for n in ast.walk(ast.parse(rewritten)) if isinstance(n, ast.FunctionDef) and n.name not in old]


def write(name: str, text: str):
    return lambda folder: (folder / name).write_text(text)


# -- wrong rewrites ---------------------------------------------------------------------------

def test_private_method_helper_is_not_name_mangled(tmp_path, catalog):
    """Row 1: `async def __save` in a class: a helper `___save_sync` called from inside the class
    is mangled to `_Store___save_sync` (NameError)."""
    source = """\
        import json


        class Store:
            def __init__(self, path):
                self.path = path

            async def __save(self, data):
                with open(self.path, "w") as fh:
                    json.dump(data, fh)

            async def save(self, data):
                await self.__save(data)
                return "saved"


        async def main(folder):
            return await Store(folder / "store.json").save({"a": 1})
    """
    result = same_behaviour(source, tmp_path, catalog)
    assert_fixed(result, "json.dump")
    assert not [h.name for h in new_helpers(source, result.text) if h.name.startswith("__")]


def test_create_task_stays_on_the_loop(tmp_path, catalog):
    """Row 2: `[asyncio.create_task(work(json.loads(s))) for s in xs]` moved into the thread:
    "no running event loop"."""
    source = """\
        import asyncio
        import json


        async def work(job):
            await asyncio.sleep(0)
            return job["n"]


        async def run_jobs(path):
            with open(path) as fh:
                lines = fh.read().splitlines()
            tasks = [asyncio.create_task(work(json.loads(s))) for s in lines]
            return await asyncio.gather(*tasks)


        async def main(folder):
            return await run_jobs(folder / "jobs.txt")
    """
    jobs = "".join(json.dumps({"n": n}) + "\n" for n in range(3))
    result = same_behaviour(source, tmp_path, catalog, write("jobs.txt", jobs))
    assert_fixed(result, "builtins.open")


def test_asyncio_queue_is_fed_from_the_loop(tmp_path, catalog):
    """Row 3: `q.put_nowait(json.loads(line))` for each line of a file, a consumer task waiting on
    `q.get()`, moved into the thread: put_nowait raises "Non-thread-safe operation" there, and
    asyncio.run then hangs at shutdown on the consumer whose wake-up was never scheduled."""
    source = """\
        import asyncio
        import json


        async def consume(queue, out):
            while (item := await queue.get()) is not None:
                out.append(item["n"])
            return out


        async def pump(path, queue):
            with open(path) as fh:
                for line in fh:
                    queue.put_nowait(json.loads(line))
            queue.put_nowait(None)


        async def main(folder):
            queue = asyncio.Queue()
            consumer = asyncio.create_task(consume(queue, []))
            await asyncio.sleep(0)  # the consumer is up, waiting on queue.get()
            await pump(folder / "events.jsonl", queue)
            return await consumer
    """
    events = "".join(json.dumps({"n": n}) + "\n" for n in range(5))
    result = same_behaviour(source, tmp_path, catalog, write("events.jsonl", events))
    assert_fixed(result, "json.loads")


def test_context_variable_is_set_in_the_coroutine(tmp_path, catalog):
    """Row 4: `request_id.set(payload["id"])` moved into the thread with the `with open`/json.load
    around it sets the thread's copy of the context: `abc` -> `None`."""
    source = """\
        import contextvars
        import json

        request_id = contextvars.ContextVar("request_id", default=None)


        async def begin_request(path):
            with open(path) as fh:
                payload = json.load(fh)
                request_id.set(payload["id"])
            return payload["user"]


        async def main(folder):
            user = await begin_request(folder / "request.json")
            return user, request_id.get()
    """
    request = json.dumps({"id": "abc", "user": "ann"})
    result = same_behaviour(source, tmp_path, catalog, write("request.json", request))
    assert_fixed(result, "json.load")


def test_check_then_set_is_not_split_by_a_thread_hop(tmp_path, catalog):
    """Row 5: `if key not in self.items: self.items[key] = load(...); self.loads += 1` moved into
    a thread: 50 gathered calls per key load each file several times (`loads: 1` -> `loads: 3`
    for one key; three keys of 2 MB each here, so a race is all but certain)."""
    source = """\
        import asyncio
        import json


        class Cache:
            def __init__(self, folder):
                self.folder = folder
                self.items = {}
                self.loads = 0

            async def get(self, key):
                if key not in self.items:
                    with open(self.folder / f"{key}.json") as fh:
                        self.items[key] = json.load(fh)
                    self.loads += 1
                return self.items[key]


        async def main(folder):
            cache = Cache(folder)
            for key in ("users", "orders", "items"):  # 50 requests at once for each
                await asyncio.gather(*(cache.get(key) for _ in range(50)))
            return {"loads": cache.loads}
    """
    config = json.dumps({"rows": [{"id": i, "name": "x" * 20} for i in range(50_000)]})

    def setup(folder):
        for key in ("users", "orders", "items"):
            (folder / f"{key}.json").write_text(config)

    same_behaviour(source, tmp_path, catalog, setup)


def test_super_stays_in_the_method(tmp_path, catalog):
    """Row 6: a method body using `super()` moved into a module-level helper:
    `RuntimeError: super(): __class__ cell not found`."""
    source = """\
        import json


        class Store:
            def __init__(self, path):
                self.path = path

            def encode(self, data):
                return dict(data, version=1)


        class AuditedStore(Store):
            def encode(self, data):
                return dict(super().encode(data), audited=True)

            async def save(self, data):
                with open(self.path, "w") as fh:
                    json.dump(super().encode(data), fh)
                return "saved"


        async def main(folder):
            return await AuditedStore(folder / "store.json").save({"a": 1})
    """
    result = same_behaviour(source, tmp_path, catalog)
    assert_fixed(result, "json.dump")


def test_local_bound_before_the_run_reaches_the_helper(tmp_path, catalog):
    """Row 7: `for item in items: last = item`, then `with open(p, "w")` whose body sets `last`
    only if there are no items and writes `repr(last)`: `last` not passed in (UnboundLocalError)."""
    source = """\
        async def write_last(path, items):
            for item in items:
                last = item
            with open(path, "w") as fh:
                if not items:
                    last = None
                fh.write(repr(last))
            return len(items)


        async def main(folder):
            return await write_last(folder / "a.txt", [1, 2, 3]), await write_last(folder / "b.txt", [])
    """
    result = same_behaviour(source, tmp_path, catalog)
    assert_fixed(result, "io.File.write")


def test_values_bound_before_a_raise_in_the_run_survive(tmp_path, catalog):
    """Row 8: `text, obj = "", None`; `try: with open(p) as fh: text = fh.read(); obj =
    json.loads(text) ... except ValueError: pass`: json.loads raises in the helper, so `text` is
    never assigned in the coroutine: `('not json', None)` -> `('', None)`."""
    source = """\
        import json


        class Audit:
            def __init__(self):
                self.names = []

            async def record(self, name):
                self.names.append(name)


        async def read_config(path, audit):
            text, obj = "", None
            try:
                with open(path) as fh:
                    text = fh.read()
                obj = json.loads(text)
                await audit.record(path.name)
            except ValueError:
                pass
            return text, obj


        async def main(folder, name):
            audit = Audit()
            return await read_config(folder / name, audit), audit.names
    """

    def setup(folder):
        (folder / "bad.json").write_text("not json")
        (folder / "good.json").write_text('{"a": 1}')

    result = same_behaviour(source, tmp_path, catalog, setup, [("bad.json",), ("good.json",)])
    assert_fixed(result, "builtins.open")


def test_sleep_under_a_held_thread_lock_does_not_deadlock(tmp_path, catalog):
    """Row 9: `with LOCK: v = state["n"]; time.sleep(0.01); state["n"] = v + 1` (threading.Lock),
    two coroutines gathered: with `await asyncio.sleep` the second blocks the loop thread on the
    held lock: `{'n': 2}` -> deadlock."""
    source = """\
        import asyncio
        import threading
        import time

        LOCK = threading.Lock()
        state = {"n": 0}


        async def bump():
            with LOCK:
                v = state["n"]
                time.sleep(0.01)
                state["n"] = v + 1


        async def main(folder):
            await asyncio.gather(bump(), bump())
            return state
    """
    same_behaviour(source, tmp_path, catalog)


def test_helper_of_a_coroutine_under_main_guard_is_defined_in_time(tmp_path, catalog):
    """Row 10: a coroutine defined inside `if __name__ == "__main__":` got its helper after the
    block, below `asyncio.run(main())`: run as a script, NameError."""
    source = """\
        import asyncio
        import json
        import os
        import sys

        if __name__ == "__main__":
            async def main(folder):
                with open(os.path.join(folder, "config.json")) as fh:
                    config = json.load(fh)
                return config["name"]

            print(asyncio.run(main(sys.argv[1])))
    """
    result = same_behaviour(source, tmp_path, catalog, write("config.json", '{"name": "demo"}'),
                            script=True)
    assert_fixed(result, "json.load")
    runs_at = next(n.lineno for n in ast.walk(ast.parse(result.text))
                   if isinstance(n, ast.Attribute) and n.attr == "run")
    assert all(h.lineno < runs_at for h in new_helpers(source, result.text)), result.text


# -- over-caution: these calls can move, and must ---------------------------------------------

def test_handler_that_always_raises_does_not_leave_the_name_unbound(tmp_path, catalog):
    """Over-caution: `try: data = json.loads(path.read_text()) except ValueError: raise
    HTTPException(...)` refused with "`data` is assigned on some paths only"."""
    source = """\
        import json
        from pathlib import Path


        class HTTPException(Exception):
            def __init__(self, status_code, detail):
                super().__init__(f"{status_code}: {detail}")


        async def load_body(path: Path):
            try:
                data = json.loads(path.read_text())
            except ValueError:
                raise HTTPException(400, "body is not valid JSON")
            return data["name"]


        async def main(folder, name):
            return await load_body(folder / name)
    """

    def setup(folder):
        (folder / "good.json").write_text('{"name": "ann"}')
        (folder / "bad.json").write_text("{oops")

    result = same_behaviour(source, tmp_path, catalog, setup,
                            [("good.json",), ("bad.json",), ("missing.json",)])
    assert_fixed(result, "json.loads", "pathlib.Path.read_text")


def test_outer_handler_binding_e_does_not_read_the_runs_e(tmp_path, catalog):
    """Over-caution: an outer `except Exception as e:` around a run whose inner handler binds its
    own `e` refused with "an enclosing except/finally reads `e`"."""
    source = """\
        import json


        async def convert(src, dst):
            try:
                with open(src) as fh:
                    text = fh.read()
                try:
                    data = json.loads(text)
                except ValueError as e:
                    data = {"error": str(e)}
                with open(dst, "w") as fh:
                    json.dump(data, fh)
            except Exception as e:
                return f"failed: {type(e).__name__}"
            return "ok"


        async def main(folder, src, dst):
            return await convert(folder / src, folder / dst)
    """

    def setup(folder):
        (folder / "good.json").write_text('{"a": 1}')
        (folder / "bad.json").write_text("{oops")

    scenarios = [("good.json", "out.json"), ("bad.json", "out.json"), ("missing.json", "out.json"),
                 ("good.json", "no/such/dir.json")]
    result = same_behaviour(source, tmp_path, catalog, setup, scenarios)
    assert_fixed(result, "builtins.open", "json.loads", "json.dump")


def test_branch_that_raises_does_not_leave_the_result_unbound(tmp_path, catalog):
    """Over-caution (docling-like conversion, with Pillow): `content = None`, then
    `result = Image.open(p)` / `content = result.convert("L").tobytes()` in a branch whose
    alternative raises, refused with "`content` is assigned on some paths only" while the
    trivial call after it moved."""
    pytest.importorskip("PIL")
    source = """\
        import os

        from PIL import Image


        async def to_gray(src, out_dir):
            content = None
            if src.suffix == ".png":
                result = Image.open(src)
                content = result.convert("L").tobytes()
            else:
                raise ValueError(f"not a png: {src.name}")
            target = out_dir / (src.stem + ".raw")
            exists = os.path.exists(target)
            return len(content), content[:4], exists


        async def main(folder, name):
            return await to_gray(folder / name, folder)
    """

    def setup(folder):
        from PIL import Image

        Image.new("RGB", (40, 30), (10, 120, 200)).save(folder / "in.png")
        (folder / "in.txt").write_text("text")

    result = same_behaviour(source, tmp_path, catalog, setup, [("in.png",), ("in.txt",)])
    assert_fixed(result, "os.path.exists", "PIL.Image.open")


def test_sleep_of_a_variable_becomes_asyncio_sleep(tmp_path, catalog):
    """Over-caution: `time.sleep(x)` with a variable x must become `await asyncio.sleep(x)`, not a
    thread holding a worker (only non-negative x here: time.sleep(-1) raises, asyncio's returns)."""
    source = """\
        import time


        async def pause(delay):
            time.sleep(delay)
            return delay


        async def backoff(delays):
            waited = 0.0
            for delay in delays:
                time.sleep(delay)
                waited += delay
            return waited


        async def main(folder):
            return await pause(0.01), await backoff([0.01, 0, 0.02])
    """
    result = same_behaviour(source, tmp_path, catalog)
    assert result.text.count("await asyncio.sleep(") == 2, result.text


def test_retry_loop_keeps_the_users_calls_and_sleeps_async(tmp_path, catalog):
    """Over-caution: `for attempt in range(3): try: return json.loads(fetch_text(p)) except
    ValueError: time.sleep(0.01 * 2 ** attempt)` (fetch_text the user's own function): the loop
    stays in the coroutine and the backoff becomes `await asyncio.sleep(`."""
    source = """\
        import json
        import time


        def fetch_text(path):
            with open(path) as fh:
                return fh.read()


        async def load_with_retry(path):
            for attempt in range(3):
                try:
                    return json.loads(fetch_text(path))
                except ValueError:
                    time.sleep(0.01 * 2 ** attempt)
            return None


        async def main(folder, name):
            return await load_with_retry(folder / name)
    """

    def setup(folder):
        (folder / "good.json").write_text('{"a": 1}')
        (folder / "bad.json").write_text("{oops")

    result = same_behaviour(source, tmp_path, catalog, setup, [("good.json",), ("bad.json",)])
    assert "await asyncio.sleep(" in result.text, result.text


# -- found by the corpus review and the fuzzer -------------------------------------------------

def test_state_the_module_changes_is_not_read_from_a_thread(tmp_path, catalog):
    """`json.dumps(STATE)` moved to a thread while a task keeps changing `STATE` on the loop:
    the dump was atomic, the rewrite raised 'dictionary changed size during iteration'."""
    source = """\
        import asyncio
        import json

        STATE = {"sensors": {}}


        async def update(stop):
            n = 0
            while not stop.is_set():
                STATE["sensors"][f"s{n}"] = n
                n += 1
                if n % 500 == 0:
                    await asyncio.sleep(0)


        async def snapshot():
            return json.dumps(STATE, indent=2)


        async def main(folder):
            for n in range(60000):
                STATE["sensors"][f"s{n}"] = n
            stop = asyncio.Event()
            task = asyncio.create_task(update(stop))
            await asyncio.sleep(0)
            try:
                text = await snapshot()
            finally:
                stop.set()
                await task
            return text.count(",") > 0
    """
    result = same_behaviour(source, tmp_path, catalog)
    assert "it reads `STATE` in a thread" in result.unfixable[0].unfixable_reason


def test_lazy_iterator_is_not_offloaded_alone(tmp_path, catalog):
    """`root.glob(...)` awaited in a thread only builds the generator: the directory is read as
    it is consumed, on the loop. The call stays, with that reason; consumed at once, it moves."""
    source = """\
        import pathlib


        async def names(root: pathlib.Path):
            found = root.glob("*.txt")
            return sorted(p.name for p in found)


        async def count(root: pathlib.Path):
            return len(list(root.glob("*.txt")))


        async def main(folder):
            return await names(folder), await count(folder)
    """
    result = same_behaviour(source, tmp_path, catalog, setup=write("a.txt", "x"))
    assert [f.unfixable_reason for f in result.unfixable] == [
        "it returns a lazy iterator: its work (reading the disk or the server) happens where it is consumed, on the loop"]
    assert_fixed(result, "pathlib.Path.glob")


def test_a_temporary_file_opened_for_writing_is_not_offloaded_alone(catalog):
    """Found by the long fuzz run (seed 15): `open(p, "w").write(...)` closes and flushes the file
    as the statement ends; offloading `open` or `.write` alone keeps the object alive in the
    thread's work item, so a read right after can see an empty file."""
    from asyncfix.apply import checked_rewrite

    src = ("import asyncio, os\n\n\nasync def main(base, tag):\n"
           "    open(os.path.join(base, 'a'), 'w').write(await tag())\n"
           "    open(os.path.join(base, 'b')).read().split(await tag())\n")
    result = checked_rewrite(src, "m.py", catalog, set(catalog.categories))
    assert "open(os.path.join(base, 'a'), 'w').write(await tag())" in result.text
    assert [f.line for f in result.unfixable] == [5, 5]
    assert all("opens a file for writing that nothing closes" in f.unfixable_reason for f in result.unfixable)
    # read mode: closing later writes nothing, so the call may go
    assert "await asyncio.to_thread((await asyncio.to_thread(open, os.path.join(base, 'b'))).read)" in result.text
