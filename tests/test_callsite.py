"""Unit tests for asyncfix.transforms.callsite: the text of one offloaded call."""

from __future__ import annotations

import ast

import pytest

from asyncfix.transforms.callsite import offloaded, wrapped

TO_THREAD = "asyncio.to_thread"
RUN_SYNC = "anyio.to_thread.run_sync"


@pytest.mark.parametrize(("func", "args", "expected"), [
    pytest.param("json.dumps", "obj, indent=2", "await asyncio.to_thread(json.dumps, obj, indent=2)",
                 id="one-line"),
    pytest.param("json.dumps", "obj,  # payload\n    indent=2",
                 "await asyncio.to_thread(json.dumps, obj,  # payload\n    indent=2)", id="comment-kept"),
    pytest.param("json.dumps", "\n    obj,\n    indent=2,\n",
                 "await asyncio.to_thread(json.dumps,\n    obj,\n    indent=2,\n)", id="args-start-with-newline"),
    pytest.param("json.dumps", "\r\n    obj\r\n",
                 "await asyncio.to_thread(json.dumps,\r\n    obj\r\n)", id="args-start-with-crlf"),
    pytest.param("f", "  a", "await asyncio.to_thread(f,   a)", id="leading-spaces-kept"),
    pytest.param("f", "  # why\n    a", "await asyncio.to_thread(f,   # why\n    a)", id="leading-comment"),
    pytest.param("time.time", "", "await asyncio.to_thread(time.time)", id="empty-args"),
    pytest.param("time.time", "   ", "await asyncio.to_thread(time.time)", id="blank-args"),
    pytest.param("time.time", "\n    ", "await asyncio.to_thread(time.time)", id="newline-only-args"),
    pytest.param("self.store.load", "*paths, **opts", "await asyncio.to_thread(self.store.load, *paths, **opts)",
                 id="starred"),
])
def test_offloaded(func, args, expected):
    assert offloaded(TO_THREAD, func, args) == expected


@pytest.mark.parametrize(("func", "args", "expected"), [
    pytest.param("json.dumps", "obj, indent=2",
                 "await anyio.to_thread.run_sync(functools.partial(json.dumps, obj, indent=2))",
                 id="keywords"),
    pytest.param("time.time", "", "await anyio.to_thread.run_sync(functools.partial(time.time))",
                 id="empty-args"),
    pytest.param("f", "\n    a,\n", "await anyio.to_thread.run_sync(functools.partial(f,\n    a,\n))",
                 id="args-start-with-newline"),
])
def test_offloaded_partial(func, args, expected):
    assert offloaded(RUN_SYNC, func, args, "functools.partial") == expected


def test_offloaded_partial_name_as_imported():
    assert offloaded(RUN_SYNC, "f", "a", "partial") == "await anyio.to_thread.run_sync(partial(f, a))"


@pytest.mark.parametrize(("func", "args"), [
    ("json.dumps", "obj, indent=2"),
    ("f", "\n    a,\n    b=1,\n"),
    ("f", ""),
    ("f", "x,  # c\n    y"),
])
def test_offloaded_parses(func, args):
    text = offloaded(TO_THREAD, func, args)
    tree = ast.parse(f"async def g():\n    {text}\n")
    call = tree.body[0].body[0].value.value
    assert ast.unparse(call.func) == TO_THREAD
    assert ast.unparse(call.args[0]) == func


@pytest.mark.parametrize(("text", "indent", "expected"), [
    pytest.param("await asyncio.to_thread(json.dumps, obj, indent=2)", "    ",
                 "await asyncio.to_thread(\n        json.dumps, obj, indent=2\n    )", id="indented"),
    pytest.param("await asyncio.to_thread(f, g(x))", "",
                 "await asyncio.to_thread(\n    f, g(x)\n)", id="nested-parentheses"),
    pytest.param("await anyio.to_thread.run_sync(functools.partial(f, a))", "\t",
                 "await anyio.to_thread.run_sync(\n\t    functools.partial(f, a)\n\t)", id="partial-tab-indent"),
    pytest.param("await asyncio.to_thread(f)", "  ", "await asyncio.to_thread(\n      f\n  )", id="no-args"),
])
def test_wrapped(text, indent, expected):
    assert wrapped(text, indent) == expected


def test_wrapped_round_trips_the_call():
    text = offloaded(TO_THREAD, "json.dumps", "obj, indent=2")
    out = wrapped(text, "    ")
    original = ast.parse(f"async def g():\n    {text}\n").body[0].body[0].value
    rewrapped = ast.parse(f"async def g():\n    {out}\n").body[0].body[0].value
    assert ast.dump(original) == ast.dump(rewrapped)
