"""Run one program's module in this process and describe what it did; compare two such outcomes.

Each run gets the same stage: `base` emptied and refilled with FIXTURE at the same path, the
module compiled from the same file name as module `case` (so nothing but the code differs
between original and rewrite), fresh `items`/`opts`, `asyncio.run(..., debug=True)` (debug mode
makes asyncio raise on calls from the wrong thread). The outcome, all canonical strings:

    import     "ok" or the exception the module raised while executing
    result     the return value (concurrent runs: the list of all calls' results/exceptions)
    error      the exception the call raised, type and str(exc)
    args       items and opts afterwards (both shared by every call), once the loop ran DRAIN
               more iterations (callbacks the call scheduled have run)
    self       the Box's attributes afterwards (methods only)
    globals    module-level state afterwards, context variables read in the caller's context
    classes    class attributes afterwards (`Box.count`)
    files      every file and directory under base afterwards, with its bytes
    hang       set when the call did not finish within the timeout while the loop still ran
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import shutil
import sys
import types
import warnings
from pathlib import Path

from tests.difffuzz.canon import Canon, is_data
from tests.difffuzz.grammar import FIXTURE

MODULE = "case"
FIELDS = ("import", "result", "error", "args", "self", "globals", "classes", "files", "hang")
DRAIN = 5  # loop iterations between the call's return and the snapshot


def quiet() -> None:
    """What programs print on their own (never-awaited coroutines, asyncio's debug log) is no
    outcome; keep it off the worker's streams."""
    warnings.simplefilter("ignore")
    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)
    sys.dont_write_bytecode = True


def stage(base: Path) -> None:
    if base.exists():
        shutil.rmtree(base)
    for name, data in FIXTURE.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def files(base: Path, canon: Canon) -> dict[str, str]:
    out = {}
    for root, dirs, names in os.walk(base):
        dirs.sort()
        rel = os.path.relpath(root, base)
        if rel != ".":
            out[rel + "/"] = "dir"
        for name in sorted(names):
            path = os.path.join(root, name)
            out[os.path.relpath(path, base)] = canon(Path(path).read_bytes()[:4000])
    return out


def run_module(text: str, entry: str, concurrency: int, workdir: Path, timeout: float = 8.0,
               per_call_files: bool = False, unordered: bool = False) -> dict:
    """Execute `text` as module `case` and call its entry; the outcome (see module docstring).

    per_call_files: concurrent calls each get their own copy of the fixture (`base/call<i>`), so
    files are not shared between them while `items`, `opts`, `self` and globals still are: for a
    tool that documents that it does not serialise file access between threads.
    unordered: for concurrent calls, lists compare as multisets (which call appended first, or
    finished first, is not compared; what was appended, and how often, still is)."""
    workdir = Path(workdir)
    base = workdir / "base"
    stage(base)
    canon = Canon(str(base), MODULE, unordered and concurrency > 1)
    os.environ["DIFFFUZZ_BASE"] = str(base)
    path = workdir / f"{MODULE}.py"
    path.write_text(text)
    outcome = dict.fromkeys(FIELDS)
    module = types.ModuleType(MODULE)
    module.__file__ = str(path)
    try:
        exec(compile(text, str(path), "exec", dont_inherit=True), module.__dict__)
        outcome["import"] = "ok"
    except BaseException as exc:  # noqa: BLE001 - a program's failure is an outcome
        outcome["import"] = canon(exc)
    if outcome["import"] == "ok":
        bases = [str(base)] * concurrency
        if per_call_files and concurrency > 1:
            bases = [str(base / f"call{i}") for i in range(concurrency)]
            for each in bases:
                stage(Path(each))
        asyncio.run(_drive(module, entry, bases, canon, outcome, timeout), debug=True)
    del module
    gc.collect()  # files still open in dropped frames flush before the snapshot
    outcome["files"] = files(base, canon)
    if canon.unordered and per_call_files:  # which call's folder holds which content: not compared
        merged: dict[str, list[str]] = {}
        for path, content in outcome["files"].items():
            merged.setdefault(re.sub(r"^call\d+(/|$)", r"call*\1", path), []).append(content)
        outcome["files"] = {k: " | ".join(sorted(v)) for k, v in merged.items()}
    return outcome


async def _drive(module, entry: str, bases: list[str], canon: Canon, outcome: dict,
                 timeout: float) -> None:
    items, opts = ["a", "b"], {"k": 1}
    obj = None
    if entry == "Box.run":
        obj = module.Box()
        func = obj.run
    else:
        func = getattr(module, entry)

    async def call():
        # Awaited in this task (not wrapped in another) so the context variables the call sets
        # are the ones read below.
        try:
            if len(bases) == 1:
                outcome["result"] = canon(await func(bases[0], items, opts))
            else:
                calls = [func(base, items, opts) for base in bases]
                outcome["result"] = canon(await asyncio.gather(*calls, return_exceptions=True))
        except BaseException as exc:  # noqa: BLE001
            outcome["error"] = canon(exc)
        # Callbacks and tasks the call scheduled run before the snapshot, in both runs: what the
        # call leaves behind, not whether the loop got to it before the call returned.
        for _ in range(DRAIN):
            await asyncio.sleep(0)
        outcome["args"] = canon([items, opts])
        outcome["self"] = canon.attrs(obj) if obj is not None else None
        outcome["globals"] = {k: canon(v) for k, v in sorted(vars(module).items())
                              if not k.startswith("__") and is_data(v)}
        outcome["classes"] = {
            k: {a: canon(v) for a, v in sorted(vars(c).items()) if not a.startswith("__") and is_data(v)}
            for k, c in sorted(vars(module).items()) if isinstance(c, type) and c.__module__ == MODULE}

    try:
        await asyncio.wait_for(call(), timeout)
    except asyncio.TimeoutError:
        outcome["hang"] = f"the call did not finish in {timeout} s (the loop still ran)"


def compare(a: dict, b: dict) -> list[dict]:
    """Fields where two outcomes differ, each with both values (globals and files by key)."""
    out = []
    for field in FIELDS:
        x, y = a.get(field), b.get(field)
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            for key in sorted(set(x) | set(y)):
                if x.get(key) != y.get(key):
                    out.append({"field": f"{field}.{key}", "original": x.get(key), "rewrite": y.get(key)})
        else:
            out.append({"field": field, "original": x, "rewrite": y})
    return out
