"""Detection is a superset of ruff's and flake8-async's ASYNC210-251 and blockbuster's list
(../shared/reference/detector-coverage.md). Each line is a call those tools flag."""

from __future__ import annotations

import textwrap

import pytest

from asyncfix.engine.file import analyze_source

HEADER = textwrap.dedent("""\
    import builtins, io, os, os.path, socket, sqlite3, ssl, subprocess, threading, time
    import urllib.request, urllib3, requests, httpx, httpx2, pathlib
    from pathlib import Path
    from time import sleep
    from urllib.request import urlopen

    async def f(p, fd, url, lock: threading.Lock, sock: socket.socket, tls: ssl.SSLSocket,
                conn: sqlite3.Connection, cur: sqlite3.Cursor, client: httpx.Client,
                pool: urllib3.PoolManager, buf: io.BufferedReader, text: io.TextIOWrapper):
""")

UPSTREAM = {
    # ruff / flake8-async ASYNC210
    **{f"{lib}.{verb}(url)": "http" for lib in ("requests", "httpx", "httpx2")
       for verb in ("get", "options", "head", "post", "put", "patch", "delete", "request")},
    "urllib.request.urlopen(url)": "http", "urlopen(url)": "http", "urllib3.request('GET', url)": "http",
    # ASYNC211 / 212
    "pool.request('GET', url)": "http", "pool.urlopen('GET', url)": "http",
    **{f"client.{m}(url)": "http" for m in ("close", "delete", "get", "head", "options", "patch",
                                            "post", "put", "request", "send", "stream")},
    # ASYNC220 / 221 / 222
    "subprocess.Popen(['ls'])": "subprocess", "os.popen('ls')": "subprocess",
    **{f"os.spawn{s}(os.P_NOWAIT, 'ls', 'ls')": "subprocess"
       for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")},
    **{f"subprocess.{fn}(['ls'])": "subprocess" for fn in (
        "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput")},
    "os.system('ls')": "subprocess", "os.posix_spawn('ls', ['ls'], {})": "subprocess",
    "os.posix_spawnp('ls', ['ls'], {})": "subprocess",
    **{f"os.{fn}()": "subprocess" for fn in ("wait", "wait3", "wait4", "waitid", "waitpid")},
    # ASYNC230 / 231 / 232
    "open(p)": "file-io", "builtins.open(p)": "file-io", "io.open(p)": "file-io",
    "io.open_code(p)": "file-io", "Path(p).open()": "file-io", "os.fdopen(fd)": "file-io",
    "buf.read()": "file-io", "text.write('x')": "file-io",
    # ASYNC240 (flake8-async's 17 os.path functions, ruff's pathlib methods)
    **{f"os.path.{fn}(p)": "file-io" for fn in (
        "_joinrealpath", "islink", "lexists", "ismount", "realpath",
        "exists", "isdir", "isfile", "getatime", "getctime", "getmtime", "getsize", "samefile",
        "sameopenfile")},
    **{f"Path(p).{m}()": "file-io" for m in ("exists", "is_dir", "read_text", "glob", "iterdir",
                                             "stat", "unlink", "mkdir", "resolve", "touch")},
    # ASYNC250 / 251
    "input()": "input", "time.sleep(1)": "sleep", "sleep(1)": "sleep",
    # blockbuster's runtime list
    **{f"os.{fn}(p)": "file-io" for fn in (
        "getcwd", "statvfs", "sendfile", "rename", "remove", "unlink", "mkdir", "rmdir", "link",
        "symlink", "readlink", "listdir", "scandir", "access", "stat", "replace", "read", "write")},
    **{f"os.path.{fn}(p)": "file-io" for fn in ("samestat",)},
    **{f"sock.{m}(p)": "socket" for m in ("connect", "accept", "send", "sendall", "sendto", "recv",
                                          "recv_into", "recvfrom", "recvfrom_into", "recvmsg")},
    **{f"tls.{m}(p)": "socket" for m in ("write", "send", "read", "recv")},
    **{f"cur.{m}(p)": "sqlite" for m in ("execute", "executemany", "executescript", "fetchone",
                                         "fetchmany", "fetchall")},
    **{f"conn.{m}(p)": "sqlite" for m in ("execute", "executemany", "executescript", "commit",
                                          "rollback")},
    "lock.acquire()": "threading", "lock.acquire_lock()": "threading",
}


# Flagged upstream, deliberately not here: path arithmetic that never touches the disk.
PATH_ARITHMETIC = [f"os.path.{fn}(p)" for fn in ("_path_normpath", "normpath", "relpath", "abspath")]


@pytest.mark.parametrize("call", PATH_ARITHMETIC)
def test_path_arithmetic_is_not_reported(call, catalog):
    assert analyze_source(HEADER + f"    {call}\n", "probe.py", catalog) == []


@pytest.mark.parametrize("call", sorted(UPSTREAM))
def test_upstream_call_is_detected(call, catalog):
    source = HEADER + f"    {call}\n"
    found = analyze_source(source, "probe.py", catalog)
    last = source.count("\n")
    assert [f.category for f in found if f.line == last] == [UPSTREAM[call]]
