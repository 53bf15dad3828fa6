#!/usr/bin/env python3
"""Scan benchmark: asyncfix vs ruff (ASYNC rules) vs flake8-async on one corpus.

    python benchmarks/scan.py --corpus /tmp/asyncfix-corpus [--runs 3] [--skip-flake8]

Stdlib only, so it runs without installing asyncfix's dependencies. See
benchmarks/README.md for building the corpus and for recorded results.
"""
import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# Runs one measured command in a fresh interpreter. A fresh process per
# measurement matters: getrusage(RUSAGE_CHILDREN).ru_maxrss is the maximum
# over *all* children ever waited for, so sharing one parent would leak one
# tool's peak into the next. ru_maxrss only sees the largest single process,
# so on Linux we also sample the summed RSS of the tool's whole session (matters
# if a tool forks workers) and report the larger of the two. Linux keeps the
# pre-exec RSS of the forked wrapper in ru_maxrss, so ~11 MB is the floor.
# The spec arrives on stdin because flake8-async's file list is too long for argv.
WRAPPER = r"""
import json, os, resource, signal, subprocess, sys, time
spec = json.load(sys.stdin)
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

def session_rss_kb(sid):
    # The tool runs in its own session, so its session is the tool + its workers.
    total = 0
    for d in os.listdir("/proc"):
        try:
            fields = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # not a process, or it just exited
            continue
        if int(fields[3]) == sid:
            total += int(fields[21]) * PAGE_KB
    return total

sample = os.path.isdir("/proc")
deadline = time.monotonic() + spec["timeout"] if spec["timeout"] else None
rcs, timed_out, tree_peak = [], False, 0
with open(spec["stdout"], "wb") as out, open(spec["stderr"], "wb") as err:
    start = time.perf_counter()
    for cmd in spec["cmds"]:  # several only for flake8-async's chunked file list
        try:
            p = subprocess.Popen(cmd, cwd=spec["cwd"], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err, start_new_session=True)
        except OSError as e:  # e.g. command not installed: report, don't crash
            err.write(f"{e}\n".encode())
            rcs.append(127)
            break
        while True:
            try:
                rcs.append(p.wait(timeout=0.1))
                break
            except subprocess.TimeoutExpired:
                if sample:
                    tree_peak = max(tree_peak, session_rss_kb(p.pid))
                if deadline and time.monotonic() > deadline:
                    os.killpg(p.pid, signal.SIGKILL)  # whole group: tool + its workers
                    p.wait()
                    timed_out = True
                    break
        if timed_out:
            break
    wall = time.perf_counter() - start
maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if sys.platform == "darwin":
    maxrss //= 1024  # bytes there, KiB on Linux
print(json.dumps({"wall": wall, "rcs": rcs, "timed_out": timed_out,
                  "peak_kb": max(maxrss, tree_peak)}))
"""

ARGV_CHUNK = 500_000  # chars of file names per flake8-async call; ARG_MAX is ~2 MB


def measure(cmds, cwd, timeout, workdir):
    """Run cmds sequentially in the wrapper; return its stats plus the tool's stdout."""
    out, err = os.path.join(workdir, "stdout"), os.path.join(workdir, "stderr")
    spec = {"cmds": cmds, "cwd": str(cwd), "timeout": timeout, "stdout": out, "stderr": err}
    proc = subprocess.run([sys.executable, "-c", WRAPPER], input=json.dumps(spec),
                          capture_output=True, text=True, check=True)
    res = json.loads(proc.stdout)
    res["output"] = Path(out).read_text(errors="replace")
    res["stderr_tail"] = Path(err).read_text(errors="replace")[-2000:]
    return res


# Finding counters: None means the output could not be understood.
def count_json(text, key=None):
    try:
        data = json.loads(text)
        return len(data[key] if key else data)
    except (ValueError, KeyError, TypeError):
        return None


def count_asyncfix(text):
    return count_json(text, key="findings")


def count_lines(text):
    return sum(1 for line in text.splitlines() if line.strip())


def corpus_stats(corpus):
    """Size and shape of the corpus; reading every file also warms the page cache
    so the first timed tool is not penalised for cold disk reads."""
    files = sorted(p for p in corpus.rglob("*.py") if p.is_file())
    size = disk = with_async = 0
    for p in files:
        data = p.read_bytes()
        size += len(data)
        disk += p.stat().st_blocks * 512  # what `du` reports: block-rounded
        with_async += b"async def" in data
    return files, {"py_files": len(files), "py_mb": round(size / 1e6, 1),
                   "py_du_mib": round(disk / 2**20, 1),
                   "files_with_async_def": with_async}


def version_of(cmd, dist=None):
    """`CMD --version`, or for console scripts without one (flake8-async) the
    installed distribution version read with the script's own interpreter."""
    try:
        if dist is None:
            out = subprocess.run(cmd + ["--version"], capture_output=True, text=True, check=False,
                                 timeout=60).stdout
            return (out.strip().splitlines() or ["?"])[0]
        first = Path(shutil.which(cmd[0])).read_text(errors="replace").splitlines()[0]
        interp = shlex.split(first[2:]) if first.startswith("#!") else [sys.executable]
        code = f"import importlib.metadata as m; print(m.version({dist!r}))"
        return subprocess.run(interp + ["-c", code], capture_output=True, text=True, check=False,
                              timeout=60).stdout.strip() or "?"
    except (OSError, TypeError, IndexError, subprocess.SubprocessError):
        return "?"


def chunks(paths):
    chunk, size = [], 0
    for p in paths:
        if chunk and size + len(p) + 1 > ARGV_CHUNK:
            yield chunk
            chunk, size = [], 0
        chunk.append(p)
        size += len(p) + 1
    if chunk:
        yield chunk


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-flake8", action="store_true")
    ap.add_argument("--skip-asyncfix", action="store_true", help="baseline: other tools only")
    ap.add_argument("--asyncfix", default="asyncfix",
                    help="command prefix, e.g. 'python -m asyncfix'")
    ap.add_argument("--ruff", default="ruff")
    ap.add_argument("--flake8-async", dest="flake8", default="flake8-async")
    ap.add_argument("--flake8-timeout", type=float, default=None, metavar="SECONDS")
    ap.add_argument("--json-out", type=Path)
    return ap.parse_args()


def main():
    args = parse_args()
    corpus = args.corpus.resolve()
    files, stats = corpus_stats(corpus)
    rel = [str(p.relative_to(corpus)) for p in files]  # relative: shorter argv
    af, ruff, f8 = shlex.split(args.asyncfix), shlex.split(args.ruff), shlex.split(args.flake8)
    af_args = ["check", "--format", "json", "--cache-dir"]  # + cache dir + corpus
    ruff_args = ["check", "--isolated", "--select", "ASYNC", "--no-cache", "--exit-zero",
                 "--output-format", "json"]
    f8_args = ["--enable", "ASYNC2"]  # only the blocking-call rules asyncfix targets

    # name -> (command as shown in the report, findings counter)
    tools = {}
    if not args.skip_asyncfix:
        for name, cache in (("asyncfix (cold)", "NEW_TMP_DIR"), ("asyncfix (warm)", "SAME_DIR")):
            tools[name] = (shlex.join(af + af_args + [cache, "CORPUS"]), count_asyncfix)
    tools["ruff"] = (shlex.join(ruff + ruff_args + ["CORPUS"]), count_json)
    if not args.skip_flake8:
        # The standalone flake8-async does not walk directories: pass every file
        # (in argv-sized chunks run back to back, timed as one measurement).
        shown = shlex.join(f8 + f8_args) + f" <{len(rel)} .py files, cwd=CORPUS>"
        tools["flake8-async"] = (shown, count_lines)
    runs = {name: [] for name in tools}

    for rnd in range(args.runs):
        # Tools are interleaved within each round so drift (thermal, other load)
        # hits all of them alike; cold then warm share one fresh cache dir.
        with tempfile.TemporaryDirectory(prefix="asyncfix-bench-") as tmp:
            af_cmd = af + af_args + [os.path.join(tmp, "cache"), str(corpus)]
            argvs = {"asyncfix (cold)": [af_cmd], "asyncfix (warm)": [af_cmd],
                     "ruff": [ruff + ruff_args + [str(corpus)]],
                     "flake8-async": [f8 + f8_args + c for c in chunks(rel)]}
            for name, (_, counter) in tools.items():
                if any(r["timed_out"] for r in runs[name]):
                    continue  # it would time out again; don't burn the time
                timeout = args.flake8_timeout if name == "flake8-async" else None
                res = measure(argvs[name], corpus, timeout, tmp)
                # 0 = clean, 1 = findings: both are success for all three tools.
                res["ok"] = not res["timed_out"] and all(rc in (0, 1) for rc in res["rcs"])
                res["findings"] = counter(res.pop("output")) if res["ok"] else None
                runs[name].append(res)
                status = ("timed out" if res["timed_out"] else "ok" if res["ok"]
                          else f"FAILED rc={res['rcs']}\n{res['stderr_tail']}")
                print(f"round {rnd + 1}/{args.runs} {name}: {res['wall']:.2f}s {status}",
                      file=sys.stderr)

    summary = {}
    for name, rs in runs.items():
        good = [r for r in rs if r["ok"]]
        measured = [r["peak_kb"] for r in rs if r["ok"] or r["timed_out"]]  # not failed starts
        summary[name] = {
            "median_s": statistics.median(r["wall"] for r in good) if good else None,
            "timed_out": any(r["timed_out"] for r in rs),
            "findings": sorted({r["findings"] for r in good}, key=str),
            "peak_mb": max(measured) / 1024 if measured else None,
        }
    machine = {"nproc": os.cpu_count(), "python": platform.python_version(),
               "platform": platform.platform(),
               "asyncfix": "skipped" if args.skip_asyncfix else version_of(af),
               "ruff": version_of(ruff),
               "flake8-async": "skipped" if args.skip_flake8 else version_of(f8, "flake8-async")}
    report(corpus, stats, machine, args, tools, summary)
    if args.json_out:
        args.json_out.write_text(json.dumps({"corpus": str(corpus), "corpus_stats": stats,
                                             "machine": machine, "runs": runs,
                                             "summary": summary}, indent=2))


def report(corpus, stats, machine, args, tools, summary):
    print(f"Corpus: {corpus} - {stats['py_mb']} MB of .py ({stats['py_du_mib']} MiB per du), "
          f"{stats['py_files']} files, {stats['files_with_async_def']} containing `async def`")
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    print(f"Runs: {args.runs} (median wall time; peak RSS is the max over runs)\n")
    print("| tool | command | findings | wall median (s) | ratio vs ruff | peak RSS (MB) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    ruff_median = summary["ruff"]["median_s"]
    for name, s in summary.items():
        med = s["median_s"]
        if s["timed_out"]:
            wall = f"timed out after {args.flake8_timeout:g} s"
        else:
            wall = f"{med:.2f}" if med is not None else "failed"
        ratio = f"{med / ruff_median:.1f}x" if med is not None and ruff_median else "-"
        # "?" = output not understood; "a/b" = runs disagreed; "-" = no good run
        found = "/".join("?" if f is None else str(f) for f in s["findings"]) or "-"
        peak = f"{s['peak_mb']:.0f}" if s["peak_mb"] is not None else "-"
        print(f"| {name} | `{tools[name][0]}` | {found} | {wall} | {ratio} | {peak} |")


if __name__ == "__main__":
    main()
