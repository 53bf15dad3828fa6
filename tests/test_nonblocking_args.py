"""Calls that block only with some arguments: the others are not reported (issue 8)."""

from __future__ import annotations

import pytest

from asyncfix.engine.file import analyze_source

HEAD = ("import concurrent.futures\nimport os\nimport queue\nimport socket\nimport subprocess\n"
        "import threading\n\n"
        "async def f(item, pid, sock: socket.socket):\n"
        "    ex = concurrent.futures.ThreadPoolExecutor()\n"
        "    pex = concurrent.futures.ProcessPoolExecutor()\n"
        "    q = queue.Queue()\n    sq = queue.SimpleQueue()\n    ev = threading.Event()\n"
        "    t = threading.Thread(target=print)\n    fut = ex.submit(print)\n"
        "    lock = threading.Lock()\n    proc = subprocess.Popen(['true'])  # asyncfix: ignore\n")

NON_BLOCKING = [
    "ex.shutdown(wait=False)",
    "ex.shutdown(False)",
    "pex.shutdown(wait=False, cancel_futures=True)",
    "q.get(False)",
    "q.get(True, 0)",
    "q.put(item, False)",
    "q.put(item, block=False)",
    "sq.put(item)",
    "t.join(0)",
    "ev.wait(0)",
    "fut.result(timeout=0)",
    "fut.result(0)",
    "lock.acquire(True, 0)",
    "proc.wait(timeout=0)",
    "os.waitpid(pid, os.WNOHANG)",
    "os.wait3(os.WNOHANG)",
    "sock.recv(1024, socket.MSG_DONTWAIT)",
]

BLOCKING = [
    ("ex.shutdown()", "AF622"),
    ("ex.shutdown(wait=True)", "AF622"),
    ("q.put(0)", "AF622"),  # 0 is the item, not `block`
    ("q.put(item, True)", "AF622"),
    ("q.get(True)", "AF622"),
    ("sq.get()", "AF622"),
    ("t.join(5)", "AF622"),
    ("fut.result()", "AF622"),
    ("proc.wait()", "AF511"),
    ("os.waitpid(pid, 0)", "AF513"),
    ("sock.recv(1024)", "AF611"),
]


def codes(stmt: str, catalog):
    return [f.code for f in analyze_source(f"{HEAD}    {stmt}\n", "x.py", catalog)]


@pytest.mark.parametrize("stmt", NON_BLOCKING)
def test_not_reported(stmt, catalog):
    assert codes(stmt, catalog) == []


@pytest.mark.parametrize("stmt, code", BLOCKING)
def test_still_reported(stmt, code, catalog):
    assert codes(stmt, catalog) == [code]
