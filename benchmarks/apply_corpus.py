#!/usr/bin/env python3
"""Corpus judge for `asyncfix apply`: run it on a scratch copy of the benchmark corpus and check
what it wrote.

    .venv/bin/python benchmarks/apply_corpus.py [--corpus /tmp/asyncfix-corpus]
        [--asyncfix CMD | --snapshot [REV]] [--json-out FILE] [--sample 20 --seed 1]
        [--baseline PREVIOUS.json]

Steps: copy the corpus files that contain `async def` (relative paths kept) into a scratch folder
that is neither inside a git work tree nor under a pyproject.toml (either would change which files
asyncfix discovers or how it formats); `asyncfix check --format json --no-cache` (before);
`asyncfix apply` (timed); `asyncfix check` again (after). Then, for every file whose bytes
changed: does it compile; which pyflakes messages are new (and the hazards pyflakes cannot see:
class-private helper names, asyncio added to trio/anyio code, iterator-making calls offloaded); do
the findings that left `check` equal the ones `apply` says it moved (overall, per category, per
file); were the statements moved into helpers kept byte for byte (re-indented only), and is every
original line outside the rewritten statements still there. The Markdown report goes to stdout,
progress to stderr, everything to --json-out. Needs pyflakes (installed in .venv with the `test`
extra). benchmarks/README.md describes each check.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import io
import json
import keyword
import os
import platform
import random
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tokenize
import warnings
from collections import Counter, defaultdict
from pathlib import Path

try:
    from pyflakes import checker as flakes_checker
except ImportError:  # pragma: no cover
    sys.exit("apply_corpus.py needs pyflakes: run it with .venv/bin/python (pip install -e '.[test]')")

REPO = Path(__file__).resolve().parents[1]
JUDGED_FLAKES = ("UndefinedName", "UndefinedLocal", "RedefinedWhileUnused", "ImportShadowedByLoopVar",
                 "UnusedImport", "UnusedVariable")
LEFT_RE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+) left as is: (?P<reason>.*)$")
# `file(s)`/`call(s)` up to 8cb2fee, plurals since
SUMMARY_RE = re.compile(r"^(?:rewrote|would rewrite) (?P<files>\d+) files?(?:\(s\))?: (?P<moved>\d+) blocking "
                        r"calls?(?:\(s\))? moved off the loop, (?P<left>\d+) left unfixable\.$")
ERROR_RE = re.compile(r"^asyncfix: error: (?P<path>.+?\.py): (?P<message>.*)$")
EOL_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # the lines `ast` counts (not str.splitlines)
BACKTICKS = re.compile(r"`[^`]*`")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- setup -----------------------------------------------------------------------------------------
def resolve_command(text: str | None) -> list[str]:
    if text is None:
        return [str(REPO / ".venv" / "bin" / "asyncfix")]
    cmd = shlex.split(text)
    # apply runs with cwd = the scratch copy: make a relative program path absolute now.
    if os.sep in cmd[0] and not os.path.isabs(cmd[0]):
        here = Path(cmd[0]).resolve()
        cmd[0] = str(here if here.exists() else (REPO / cmd[0]).resolve())
    return cmd


def sources_sha256(package: Path) -> str:
    """One hash over the package's .py files (paths and bytes): which code produced the numbers."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def snapshot_package(rev: str | None) -> tuple[list[str], dict, Path]:
    """A frozen copy of the repo's asyncfix/ (the working tree's, or commit ``rev``'s through
    `git archive`) run as `python -m asyncfix` with PYTHONPATH first, so it wins over the
    editable install: edits landing during the run cannot mix versions."""
    folder = Path(tempfile.mkdtemp(prefix="asyncfix-snapshot-"))
    if rev is None:
        shutil.copytree(REPO / "asyncfix", folder / "asyncfix", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        proc = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "asyncfix"],
                              capture_output=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"apply_corpus.py: git archive {rev}: {proc.stderr.decode(errors='replace').strip()}")
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            tar.extractall(folder)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))
    return [sys.executable, "-m", "asyncfix"], env, folder


def inside_git(folder: Path) -> bool:
    probe = folder
    while not probe.exists():
        probe = probe.parent
    proc = subprocess.run(["git", "-C", str(probe), "rev-parse", "--is-inside-work-tree"],
                          capture_output=True, text=True, check=False)
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def pyproject_above(folder: Path) -> Path | None:
    for parent in [folder, *folder.parents]:
        if (parent / "pyproject.toml").is_file():
            return parent / "pyproject.toml"
    return None


def prepare_work(work: Path | None) -> Path:
    """A scratch folder where asyncfix discovers files by walking (discover.py asks
    `git ls-files` first and only walks outside a work tree) with the default config."""
    if work is None:
        work = Path(tempfile.mkdtemp(prefix="asyncfix-apply-corpus-"))
    work = work.resolve()
    if work.exists() and any(work.iterdir()):
        sys.exit(f"apply_corpus.py: --work {work} is not empty")
    if inside_git(work):
        sys.exit(f"apply_corpus.py: {work} is inside a git work tree; asyncfix would list files "
                 "with git there. Use a folder outside any repository.")
    found = pyproject_above(work)
    if found is not None:
        sys.exit(f"apply_corpus.py: {found} is above {work}; its [tool.asyncfix] or black settings "
                 "would apply. Use another folder.")
    work.mkdir(parents=True, exist_ok=True)
    return work


def copy_async_files(corpus: Path, work: Path) -> dict[str, bytes]:
    originals = {}
    for path in sorted(corpus.rglob("*.py")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"async def" not in data:
            continue
        rel = path.relative_to(corpus).as_posix()
        dest = work / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        originals[rel] = data
    return originals


def run_check(af: list[str], work: Path, env: dict | None) -> dict:
    proc = subprocess.run(af + ["check", "--format", "json", "--no-cache", "."], cwd=work, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        sys.exit(f"asyncfix check failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def run_apply(af: list[str], work: Path, env: dict | None) -> dict:
    start = time.perf_counter()
    proc = subprocess.run(af + ["apply", "."], cwd=work, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    out = {"exit_code": proc.returncode, "wall_s": round(wall, 2), "summary": None, "left": [],
           "errors": [], "other_output": []}
    # The left-as-is lines go to stdout (to stderr with --diff/--dry-run): read both streams.
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        if m := LEFT_RE.match(line):
            out["left"].append({"path": m["path"], "line": int(m["line"]), "column": int(m["col"]),
                                "code": m["code"], "reason": m["reason"]})
        elif m := SUMMARY_RE.match(line):
            out["summary"] = {"files_rewritten": int(m["files"]), "moved": int(m["moved"]),
                              "left_unfixable": int(m["left"])}
        elif m := ERROR_RE.match(line):
            out["errors"].append({"path": m["path"], "message": m["message"]})
        elif line.strip():
            out["other_output"].append(line)
    if out["summary"] is None or proc.returncode not in (0, 1, 2):
        sys.exit(f"asyncfix apply: unexpected output (exit {proc.returncode}):\n"
                 f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return out


# -- per-file analysis -----------------------------------------------------------------------------
def decode(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)  # "utf-8-sig" when there is a BOM


def split_lines(text: str) -> list[str]:
    return EOL_RE.findall(text)


def strip_eol(line: str) -> str:
    return line.rstrip("\r\n")


def compiles(text: str, path: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"
    return None


def flakes(tree: ast.Module, path: str) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flakes_checker.Checker(tree, filename=path).messages


def flake_key(message) -> tuple:
    # Positions move with the rewrite: the class and the non-positional arguments (names) count.
    args = tuple(a for a in message.message_args if not isinstance(a, int))
    return (type(message).__name__, args)


def char_to_byte(line: str, col: int) -> int:
    return len(line[:col].encode("utf-8"))


def innermost_statement(tree: ast.Module, lines: list[str], finding: dict) -> ast.stmt | None:
    """The smallest statement holding the finding's call (finding columns are 1-based chars)."""
    start = (finding["line"], char_to_byte(lines[finding["line"] - 1], finding["column"] - 1))
    end = (finding["end_line"], char_to_byte(lines[finding["end_line"] - 1], finding["end_column"] - 1))
    best = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        if (node.lineno, node.col_offset) <= start and (node.end_lineno, node.end_col_offset) >= end:
            if best is None or (node.lineno, node.col_offset) >= (best.lineno, best.col_offset):
                best = node
    return best


def enclosing_coroutine(tree: ast.Module, lineno: int) -> str | None:
    best, best_name = None, None

    def visit(node, prefix):
        nonlocal best, best_name
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if isinstance(child, ast.AsyncFunctionDef) and child.lineno <= lineno <= child.end_lineno:
                    if best is None or child.lineno >= best.lineno:
                        best, best_name = child, name
                name += "."
            visit(child, name)

    visit(tree, "")
    return best_name


def reindent(line: str, indent: str) -> str:
    """What apply's helper makes of an original line: the run's indent becomes four spaces,
    lines not starting with it (continuations, blank lines) stay as they are."""
    return "    " + line[len(indent):] if line.startswith(indent) else line


def align(block: list[str], old_lines: list[str], removed: set[int], covered: set[int]) -> tuple[int | None, int, int]:
    """Where `block` (helper body lines) sits in the original, re-indented: (0-based start,
    matching lines, block length) of the best candidate (most lines equal, then not yet claimed by
    another helper: two helpers can have the same body, then removed by the diff); start None
    when no line matches."""
    first = strip_eol(block[0]).strip()
    best = (None, -1)
    for s, line in enumerate(old_lines):
        if strip_eol(line).strip() != first or s + len(block) > len(old_lines):
            continue
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        same = sum(strip_eol(reindent(old_lines[s + k], indent)) == strip_eol(block[k]) for k in range(len(block)))
        score = (same, s not in covered, s in removed)
        if best[0] is None or score > best[1]:
            best = (s, score)
    if best[0] is None:
        return None, 0, 0
    return best[0], best[1][0], len(block)


def generated_return(helper: ast.FunctionDef) -> bool:
    """`return a, b` appended by apply when the coroutine reads what the run binds."""
    last = helper.body[-1]
    if len(helper.body) < 2 or not isinstance(last, ast.Return) or last.value is None:
        return False
    value = last.value
    names = value.elts if isinstance(value, ast.Tuple) else [value]
    return all(isinstance(n, ast.Name) for n in names)


def check_helpers(rel, old_tree, old_lines, new_tree, new_lines, removed):
    """Moved statements kept byte for byte? Returns (moved statements, reformatted records,
    0-based original lines covered by helpers, helper names)."""
    taken = {n.id for n in ast.walk(old_tree) if isinstance(n, ast.Name)} | {
        n.name for n in ast.walk(old_tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    helpers = [n for n in new_tree.body if isinstance(n, ast.FunctionDef) and n.name not in taken]
    moved, reformatted, covered = 0, [], set()
    for helper in helpers:
        first = helper.body[0].lineno
        stmts = list(helper.body)
        full = new_lines[first - 1 : helper.end_lineno]
        attempts = []
        if generated_return(helper):
            ret = stmts[-1]
            attempts.append((new_lines[first - 1 : ret.lineno - 1], stmts[:-1]))
        attempts.append((full, stmts))
        chosen = None
        for block, body in attempts:
            start, same, n = align(block, old_lines, removed, covered)
            if start is not None and same == n:
                chosen = (block, body, start, same)
                break
            if chosen is None or (start is not None and same > chosen[3]):
                chosen = (block, body, start, same)
        block, body, start, same = chosen
        moved += len(body)
        if start is not None:
            covered |= set(range(start, start + len(block)))
            indent = old_lines[start][: len(old_lines[start]) - len(old_lines[start].lstrip(" \t"))]
        for stmt in body:
            lo, hi = stmt.lineno - first, stmt.end_lineno - first
            lo = min([lo] + [d.lineno - first for d in getattr(stmt, "decorator_list", [])])
            if start is not None and all(
                    strip_eol(reindent(old_lines[start + k], indent)) == strip_eol(block[k])
                    for k in range(lo, hi + 1)):
                continue
            diff_at = None
            for k in range(lo, hi + 1):
                old = reindent(old_lines[start + k], indent) if start is not None and start + k < len(old_lines) else ""
                if start is None or strip_eol(old) != strip_eol(block[k]):
                    diff_at = {"original_reindented": strip_eol(old), "helper": strip_eol(block[k])}
                    break
            reformatted.append({"path": rel, "helper": helper.name, "helper_line": stmt.lineno,
                                "original_line": (start + lo + 1) if start is not None else None,
                                "first_difference": diff_at})
    return moved, reformatted, covered, [h.name for h in helpers]


def hunks(rel, old_lines, new_lines, opcodes_groups, helpers_src, old_tree):
    """Call-site hunks (they remove lines or add an `await`), with the helpers they call."""
    out = []
    for group in opcodes_groups:
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        text = [f"@@ -{i1 + 1},{i2 - i1} +{j1 + 1},{j2 - j1} @@\n"]
        removed_any, added = False, []
        first_change = None
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                text += [" " + line for line in old_lines[a1:a2]]
                continue
            if first_change is None:
                first_change = a1 + 1
            text += ["-" + line for line in old_lines[a1:a2]]
            text += ["+" + line for line in new_lines[b1:b2]]
            removed_any |= a2 > a1
            added += new_lines[b1:b2]
        if not (removed_any or any("await " in line for line in added)):
            continue  # only a helper or an import
        called = [name for name in helpers_src if any(re.search(rf"\b{name}\b", line) for line in added)]
        out.append({"path": rel, "line": first_change, "function": enclosing_coroutine(old_tree, first_change),
                    "diff": "".join(t if t.endswith(("\n", "\r")) else t + "\n" for t in text),
                    "helpers": {name: helpers_src[name] for name in called}})
    return out


LAZY = {"glob", "rglob", "iterdir", "walk", "iglob", "scandir"}  # return iterators: the I/O runs when consumed
THREAD_CALLS = {"to_thread", "run_sync", "run_in_executor"}


def lazy_offloads(tree: ast.Module) -> Counter:
    """`to_thread(path.glob, ...)`-like calls: what runs in the thread only makes the iterator."""
    out = Counter()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in THREAD_CALLS and node.args):
            continue
        args = node.args[1:] if node.func.attr == "run_in_executor" else node.args
        target = args[0] if args else None
        if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute) and target.func.attr == "partial" and target.args:
            target = target.args[0]
        if isinstance(target, ast.Attribute) and target.attr in LAZY:
            out[ast.unparse(node)] += 1
    return out


def _imports(tree: ast.Module, module: str) -> bool:
    return any(isinstance(n, ast.Import) and any(a.name.partition(".")[0] == module for a in n.names)
               or isinstance(n, ast.ImportFrom) and (n.module or "").partition(".")[0] == module and not n.level
               for n in ast.walk(tree))


def analyse_file(rel, old_data, new_data, moved_findings):
    record = {"path": rel}
    old, new = decode(old_data), decode(new_data)
    old_lines, new_lines = split_lines(old), split_lines(new)
    record["compile_error"] = compiles(new, rel)
    record["original_compile_error"] = compiles(old, rel)
    old_tree = ast.parse(old, rel)
    try:
        new_tree = ast.parse(new, rel)
    except SyntaxError:
        new_tree = None
    # pyflakes, before and after, as multisets.
    record["new_flakes"] = []
    if new_tree is not None:
        before_msgs, after_msgs = flakes(old_tree, rel), flakes(new_tree, rel)
        extra = Counter(map(flake_key, after_msgs)) - Counter(map(flake_key, before_msgs))
        for key, count in sorted(extra.items()):
            where = [m for m in after_msgs if flake_key(m) == key][-count:]
            for m in where:
                record["new_flakes"].append({"path": rel, "line": m.lineno, "type": key[0],
                                             "message": m.message % m.message_args,
                                             "judged": key[0] in JUDGED_FLAKES})
    # Lines: what difflib calls removed must be moved (into a helper), part of a rewritten
    # statement, or an import the rewrite left unused.
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    opcodes = matcher.get_opcodes()
    removed = {i for tag, a1, a2, _, _ in opcodes if tag in ("replace", "delete") for i in range(a1, a2)}
    added = Counter(strip_eol(line) for tag, _, _, b1, b2 in opcodes if tag in ("replace", "insert")
                    for line in new_lines[b1:b2])
    moved_stmts, reformatted, covered, helper_names = (0, [], set(), [])
    helpers_src = {}
    if new_tree is not None:
        moved_stmts, reformatted, covered, helper_names = check_helpers(
            rel, old_tree, old_lines, new_tree, new_lines, removed)
        for node in new_tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in helper_names:
                helpers_src[node.name] = "".join(new_lines[node.lineno - 1 : node.end_lineno])
    # pyflakes does not model name mangling: a new `__name` read inside a class body resolves to
    # `_Class__name`, so a module-level helper called that way is a NameError at run time.
    mangled, seen = [], set()
    if new_tree is not None:
        old_names = {n.id for n in ast.walk(old_tree) if isinstance(n, ast.Name)}
        for cls in ast.walk(new_tree):
            if not isinstance(cls, ast.ClassDef):
                continue
            for node in ast.walk(cls):
                if (isinstance(node, ast.Name) and node.id.startswith("__") and not node.id.endswith("__")
                        and node.id not in old_names and (node.lineno, node.col_offset) not in seen):
                    seen.add((node.lineno, node.col_offset))
                    mangled.append({"path": rel, "line": node.lineno, "name": node.id, "class": cls.name})
    # asyncio primitives fail under trio: a module that did not import asyncio but lives in the
    # trio or anyio package, or imports or names trio/anyio/sniffio anywhere, may run there.
    record["asyncio_added_to_trio_anyio"] = None
    if new_tree is not None and not _imports(old_tree, "asyncio") and _imports(new_tree, "asyncio"):
        libs = ("trio", "anyio", "sniffio")
        mentions = {p for p in rel.split("/")[1:-1] if p in libs}
        mentions |= {lib for lib in libs if _imports(old_tree, lib)}
        mentions |= {n.id for n in ast.walk(old_tree) if isinstance(n, ast.Name) and n.id in libs}
        if mentions:
            record["asyncio_added_to_trio_anyio"] = {"path": rel, "mentions": sorted(mentions)}
    record["lazy_offloads"] = []
    if new_tree is not None:
        for call, n in (lazy_offloads(new_tree) - lazy_offloads(old_tree)).items():
            record["lazy_offloads"] += [{"path": rel, "call": call}] * n
    rewritten = set()
    for finding in moved_findings:
        stmt = innermost_statement(old_tree, old_lines, finding)
        simple = stmt is not None and not any(isinstance(getattr(stmt, f, None), list)
                                              for f in ("body", "orelse", "handlers", "cases"))
        lo, hi = (stmt.lineno, stmt.end_lineno) if simple else (finding["line"], finding["end_line"])
        rewritten |= set(range(lo - 1, hi))
    imports = {i for node in ast.walk(old_tree) if isinstance(node, (ast.Import, ast.ImportFrom))
               for i in range(node.lineno - 1, node.end_lineno)}
    unexpected, import_lines = [], 0
    for i in sorted(removed):
        if i in covered or i in rewritten:
            continue
        if i in imports:
            import_lines += 1
            continue
        text = strip_eol(old_lines[i])
        if added[text] > 0:  # the same bytes come back elsewhere (difflib's alignment)
            added[text] -= 1
            continue
        unexpected.append({"path": rel, "line": i + 1, "text": text})
    record.update({"mangled": mangled, "moved_statements": moved_stmts, "reformatted": reformatted, "helpers": helper_names,
                   "removed_lines": len(removed), "removed_import_lines": import_lines,
                   "unexpected_removed": unexpected,
                   "hunks": hunks(rel, old_lines, new_lines, matcher.get_grouped_opcodes(3), helpers_src, old_tree)})
    return record


# -- findings bookkeeping --------------------------------------------------------------------------
def fkey(f: dict) -> tuple:
    return (f["code"], f["qualname"], f["function"])


def normalise_reason(reason: str) -> str:
    """Backticked names become `<name>` (`await` and other keywords stay)."""
    return BACKTICKS.sub(lambda m: m[0] if keyword.iskeyword(m[0][1:-1]) else "`<name>`", reason)


def reconcile(before: dict, after: dict, applied: dict, changed: set[str]):
    """Split the before-findings into moved / left / in a refused file, and compare with check's
    after-findings, overall, per category and per file."""
    by_file = defaultdict(list)
    for f in before["findings"]:
        by_file[f["path"]].append(f)
    after_by_file = defaultdict(list)
    for f in after["findings"]:
        after_by_file[f["path"]].append(f)
    at = defaultdict(list)  # (path, line, col, code) -> before findings there
    for f in before["findings"]:
        at[(f["path"], f["line"], f["column"], f["code"])].append(f)
    taken = Counter()
    left_findings, unmatched_left = [], []
    for entry in applied["left"]:
        spot = (entry["path"], entry["line"], entry["column"], entry["code"])
        candidates = at.get(spot, [])
        if taken[spot] < len(candidates):
            finding = candidates[taken[spot]]
            taken[spot] += 1
            left_findings.append((finding, entry["reason"]))
        else:
            unmatched_left.append(entry)
    left_ids = Counter(id(f) for f, _ in left_findings)
    error_files = {e["path"] for e in applied["errors"]}
    moved_by_file, refused_by_file = defaultdict(list), defaultdict(list)
    for path, found in by_file.items():
        for f in found:
            if left_ids[id(f)]:
                left_ids[id(f)] -= 1
            elif path in error_files:
                refused_by_file[path].append(f)
            else:
                moved_by_file[path].append(f)
    left_keys_by_file = defaultdict(Counter)
    for f, _ in left_findings:
        left_keys_by_file[f["path"]][fkey(f)] += 1
    disagree = []
    for path in sorted(set(by_file) | set(after_by_file)):
        b = Counter(map(fkey, by_file.get(path, [])))
        a = Counter(map(fkey, after_by_file.get(path, [])))
        m = Counter(map(fkey, moved_by_file.get(path, [])))
        expected_after = b - m
        if a != expected_after or (m and path not in changed):
            disagree.append({"path": path, "before": sum(b.values()), "after": sum(a.values()),
                             "moved_per_apply": sum(m.values()), "rewritten": path in changed,
                             "still_reported_or_new": sorted(map(list, (a - expected_after).elements())),
                             "gone_but_not_moved": sorted(map(list, (expected_after - a).elements()))})
    cats = sorted({f["category"] for f in before["findings"]} | {f["category"] for f in after["findings"]})
    per_cat = {}
    for cat in cats:
        b = sum(f["category"] == cat for f in before["findings"])
        a = sum(f["category"] == cat for f in after["findings"])
        m = sum(f["category"] == cat for fs in moved_by_file.values() for f in fs)
        lft = sum(f["category"] == cat for f, _ in left_findings)
        per_cat[cat] = {"before": b, "after": a, "check_delta": b - a, "moved": m, "left": lft,
                        "agree": b - a == m}
    return {"moved_by_file": moved_by_file, "left_findings": left_findings, "unmatched_left": unmatched_left,
            "refused": {p: len(v) for p, v in refused_by_file.items()}, "disagree": disagree,
            "per_category": per_cat}


# -- report ----------------------------------------------------------------------------------------
def md_table(rows, header):
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" if i == 0 else "---:" for i in range(len(header))) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def short(text: str, width: int = 110) -> str:
    text = text.replace("|", "\\|")
    return text if len(text) <= width else text[: width - 3] + "..."


def report(data: dict, baseline: dict | None, top: int) -> str:
    h = data["headline"]
    out = ["# `asyncfix apply` on the corpus\n",
           f"Corpus: {data['corpus']} - {data['files_copied']} files containing `async def` copied to "
           f"{data['work']}",
           f"asyncfix: `{data['asyncfix_cmd']}` ({data['asyncfix_version']}, repo {data['repo_revision']}, "
           f"asyncfix/ sources sha256 {data['asyncfix_sources_sha256']}"
           + (", **changed during the run**" if data["sources_changed_during_run"] else "")
           + f"); python {data['python']}; nproc {data['nproc']}\n"]
    rows = [
        ("files checked (check before / after)", f"{h['files_checked_before']} / {h['files_checked_after']}"),
        ("files check could not parse (before / after)", f"{h['check_errors_before']} / {h['check_errors_after']}"),
        ("findings before (check)", h["findings_before"]),
        ("findings after (check)", h["findings_after"]),
        ("check delta (before - after)", h["check_delta"]),
        ("files rewritten (apply / bytes changed)", f"{h['files_rewritten']} / {h['files_changed']}"),
        ("calls moved (apply summary)", h["moved"]),
        ("calls moved (before findings not left, not in refused files)", h["moved_derived"]),
        ("moved == check delta", "yes" if h["moved"] == h["check_delta"] else "**no**"),
        ("files where moved and check disagree", h["files_disagreeing"]),
        ("left unfixable (apply summary)", h["left_unfixable"]),
        ("unfixable per check before / after (`fixable: false`)", f"{h['check_unfixable_before']} / {h['check_unfixable_after']}"),
        ("errors (files apply refused)", f"{h['errors']} ({h['findings_in_refused_files']} findings in them)"),
        ("rewritten files that do not compile", h["compile_failures"]),
        ("new pyflakes messages (judged types)", h["new_flakes_judged"]),
        ("new pyflakes messages (other types)", h["new_flakes_other"]),
        ("new `__names` read inside a class (mangled: NameError)", h["mangled_names"]),
        ("`import asyncio` added to a module that mentions trio/anyio", h["asyncio_added_to_trio_anyio"]),
        ("iterator-making calls offloaded (glob, iterdir, walk, scandir: I/O still where consumed)", h["lazy_offloads"]),
        ("helpers", h["helpers"]),
        ("statements moved into helpers", h["moved_statements"]),
        ("moved statements reformatted (not byte for byte)", h["reformatted_statements"]),
        ("original lines gone outside the rewritten statements", h["unexpected_removed_lines"]),
        ("import lines removed", h["removed_import_lines"]),
        ("apply wall time (s)", h["apply_wall_s"]),
        ("apply exit code", h["apply_exit_code"]),
    ]
    out.append(md_table(rows, ["measure", "value"]))
    if baseline is not None:
        bh = baseline["headline"]
        out.append(f"\n## Change against the baseline ({baseline.get('repo_revision', '?')})\n")
        keys = ["files_rewritten", "moved", "left_unfixable", "check_delta", "findings_after", "errors",
                "compile_failures", "new_flakes_judged", "mangled_names", "asyncio_added_to_trio_anyio",
                "lazy_offloads",
                "files_disagreeing", "reformatted_statements",
                "unexpected_removed_lines", "apply_wall_s"]
        rows = []
        for k in keys:
            old, new = bh.get(k), h.get(k)
            change = (round(new - old, 2) if isinstance(old, (int, float)) and isinstance(new, (int, float)) else "-")
            rows.append((k, old, new, f"{change:+}" if change != "-" else change))
        out.append(md_table(rows, ["measure", "baseline", "now", "change"]))
        old_r, new_r = Counter(baseline.get("unfixable_reasons", {})), Counter(data["unfixable_reasons"])
        changed = sorted(set(old_r) | set(new_r), key=lambda r: -abs(new_r[r] - old_r[r]))
        changed = [r for r in changed if new_r[r] != old_r[r]]
        if changed:
            out.append("\nUnfixable reasons that changed:\n")
            out.append(md_table([(short(r, 200), old_r[r], new_r[r]) for r in changed], ["reason", "baseline", "now"]))
    out.append("\n## Per category\n")
    out.append(md_table([(c, v["before"], v["after"], v["check_delta"], v["moved"], v["left"],
                          "yes" if v["agree"] else "**no**") for c, v in data["per_category"].items()],
                        ["category", "before", "after", "check delta", "moved", "left unfixable", "agree"]))
    reasons = Counter(data["unfixable_reasons"])
    out.append(f"\n## Unfixable reasons (top {top} of {len(reasons)}; backticked names normalised)\n")
    out.append(md_table([(short(r, 200), n) for r, n in reasons.most_common(top)], ["reason", "count"]))
    sections = [
        ("Rewritten files that do not compile", data["compile_failures"], lambda r: f"{r['path']}: {r['compile_error']}"),
        ("New pyflakes messages", data["new_flakes"],
         lambda r: f"{r['path']}:{r['line']}: {r['type']}: {r['message']}" + ("" if r["judged"] else " (not judged)")),
        ("New `__names` read inside a class (name-mangled: NameError at run time)", data["mangled"],
         lambda r: f"{r['path']}:{r['line']}: `{r['name']}` in class {r['class']}"),
        ("`import asyncio` added to a module that mentions trio/anyio", data["asyncio_added_to_trio_anyio"],
         lambda r: f"{r['path']} (mentions {', '.join(r['mentions'])})"),
        ("Iterator-making calls offloaded (the I/O still runs where the iterator is consumed)", data["lazy_offloads"],
         lambda r: f"{r['path']}: `{short(r['call'])}`"),
        ("Files where moved and check disagree", data["disagreements"],
         lambda r: f"{r['path']}: before {r['before']}, after {r['after']}, moved {r['moved_per_apply']}; "
                   f"still reported/new {r['still_reported_or_new'][:3]}, gone but not moved {r['gone_but_not_moved'][:3]}"),
        ("Left-as-is lines that match no finding of check", data["unmatched_left"],
         lambda r: f"{r['path']}:{r['line']}:{r['column']}: {r['code']} {r['reason']}"),
        ("Errors (files apply left untouched)", data["apply_errors"], lambda r: f"{r['path']}: {r['message']}"),
        ("Moved statements reformatted", data["reformatted"],
         lambda r: f"{r['path']}:{r['original_line']} -> {r['helper']} line {r['helper_line']}: "
                   f"{json.dumps(r['first_difference'])}"),
        ("Original lines gone outside the rewritten statements", data["unexpected_removed"],
         lambda r: f"{r['path']}:{r['line']}: {r['text']!r}"),
    ]
    for title, items, fmt in sections:
        out.append(f"\n## {title}: {len(items)}\n")
        for item in items[:40]:
            out.append(f"- {fmt(item)}")
        if len(items) > 40:
            out.append(f"- ... {len(items) - 40} more in --json-out")
    if data.get("sample"):
        out.append(f"\n## Sample: {len(data['sample'])} of {data['site_hunks']} call-site hunks (seed {data['seed']})\n")
        for n, hunk in enumerate(data["sample"], 1):
            out.append(f"### {n}. {hunk['path']}:{hunk['line']} (`{hunk['function']}`)\n")
            out.append("```diff\n" + hunk["diff"] + "```")
            for name, src in hunk["helpers"].items():
                out.append("```python\n" + src + ("" if src.endswith("\n") else "\n") + "```")
            out.append("")
    return "\n".join(out) + "\n"


def git_revision(rev: str | None = None) -> str:
    """The repo's HEAD (+dirty when asyncfix/ has changes), or the commit ``rev`` names."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                              check=False).stdout.strip()
    if rev is not None:
        return git("rev-parse", "--short", rev) or rev
    head = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "asyncfix")
    return head + ("+dirty" if dirty else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/asyncfix-corpus"))
    ap.add_argument("--asyncfix", default=None, help="command prefix (default: the repo's .venv/bin/asyncfix)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder, empty or new (default: a new temp dir)")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--sample", type=int, default=0, help="print N random call-site hunks to review")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", type=Path, help="a previous --json-out to compare with")
    ap.add_argument("--top", type=int, default=15, help="unfixable reasons shown (all in --json-out)")
    ap.add_argument("--snapshot", nargs="?", const="WORKTREE", metavar="REV",
                    help="instead of --asyncfix, run `python -m asyncfix` from a frozen copy of the repo's "
                         "asyncfix/: the working tree's, or commit REV's")
    ap.add_argument("--cleanup", action="store_true", help="delete the scratch folder at the end")
    args = ap.parse_args()

    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        sys.exit(f"apply_corpus.py: no corpus at {corpus} (bash benchmarks/make_corpus.sh)")
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    work = prepare_work(args.work)
    env, snapshot = None, None
    sources_start = sources_sha256(REPO / "asyncfix")
    if args.snapshot:
        af, env, snapshot = snapshot_package(None if args.snapshot == "WORKTREE" else args.snapshot)
        sources_start = sources_sha256(snapshot / "asyncfix")
    else:
        af = resolve_command(args.asyncfix)
    version = subprocess.run(af + ["--version"], capture_output=True, text=True, check=False,
                             env=env).stdout.strip()

    log(f"copying the files with `async def` from {corpus} to {work}")
    originals = copy_async_files(corpus, work)
    log(f"{len(originals)} files; check (before)")
    before = run_check(af, work, env)
    log("apply")
    applied = run_apply(af, work, env)
    log(f"apply took {applied['wall_s']} s; check (after)")
    after = run_check(af, work, env)
    sources_end = sources_sha256(REPO / "asyncfix") if snapshot is None else sources_start
    if snapshot is not None:
        shutil.rmtree(snapshot)
    if sources_end != sources_start:
        log("warning: the repo's asyncfix/ changed during the run; use --snapshot")

    changed = {}
    for rel, data in originals.items():
        new = (work / rel).read_bytes()
        if new != data:
            changed[rel] = new
    log(f"{len(changed)} files changed; compiling, pyflakes, diffs")
    recon = reconcile(before, after, applied, set(changed))
    records = [analyse_file(rel, originals[rel], changed[rel], recon["moved_by_file"].get(rel, []))
               for rel in sorted(changed)]

    reasons = Counter(normalise_reason(e["reason"]) for e in applied["left"])
    all_hunks = [h for r in records for h in r["hunks"]]
    sample = []
    if args.sample:
        sample = random.Random(args.seed).sample(all_hunks, min(args.sample, len(all_hunks)))
        sample.sort(key=lambda h: (h["path"], h["line"]))
    new_flakes = [m for r in records for m in r["new_flakes"]]
    mangled = [m for r in records for m in r["mangled"]]
    asyncio_added = [r["asyncio_added_to_trio_anyio"] for r in records if r["asyncio_added_to_trio_anyio"]]
    lazy = [x for r in records for x in r["lazy_offloads"]]
    reformatted = [x for r in records for x in r["reformatted"]]
    unexpected = [x for r in records for x in r["unexpected_removed"]]
    compile_failures = [{"path": r["path"], "compile_error": r["compile_error"]} for r in records if r["compile_error"]]
    s = applied["summary"]
    h = {
        "files_copied": len(originals),
        "files_checked_before": before["summary"]["files"],
        "files_checked_after": after["summary"]["files"],
        "check_errors_before": before["summary"]["errors"],
        "check_errors_after": after["summary"]["errors"],
        "findings_before": before["summary"]["findings"],
        "findings_after": after["summary"]["findings"],
        "check_delta": before["summary"]["findings"] - after["summary"]["findings"],
        "files_rewritten": s["files_rewritten"],
        "files_changed": len(changed),
        "moved": s["moved"],
        "moved_derived": sum(len(v) for v in recon["moved_by_file"].values()),
        "left_unfixable": s["left_unfixable"],
        "check_unfixable_before": before["summary"]["unfixable"],
        "check_unfixable_after": after["summary"]["unfixable"],
        "errors": len(applied["errors"]),
        "findings_in_refused_files": sum(recon["refused"].values()),
        "files_disagreeing": len(recon["disagree"]),
        "compile_failures": len(compile_failures),
        "new_flakes_judged": sum(m["judged"] for m in new_flakes),
        "new_flakes_other": sum(not m["judged"] for m in new_flakes),
        "mangled_names": len(mangled),
        "asyncio_added_to_trio_anyio": len(asyncio_added),
        "lazy_offloads": len(lazy),
        "helpers": sum(len(r["helpers"]) for r in records),
        "moved_statements": sum(r["moved_statements"] for r in records),
        "reformatted_statements": len(reformatted),
        "unexpected_removed_lines": len(unexpected),
        "removed_import_lines": sum(r["removed_import_lines"] for r in records),
        "apply_wall_s": applied["wall_s"],
        "apply_exit_code": applied["exit_code"],
    }
    data = {
        "corpus": str(corpus), "work": str(work), "files_copied": len(originals),
        "asyncfix_cmd": (f"python -m asyncfix, from a copy of asyncfix/ at {args.snapshot.lower() if args.snapshot == 'WORKTREE' else args.snapshot}"
                         if snapshot else shlex.join(af)),
        "asyncfix_version": version,
        "repo_revision": git_revision(None if args.snapshot in (None, "WORKTREE") else args.snapshot),
        "asyncfix_sources_sha256": sources_start, "sources_changed_during_run": sources_end != sources_start,
        "python": platform.python_version(), "nproc": os.cpu_count(), "seed": args.seed,
        "headline": h,
        "per_category": recon["per_category"],
        "unfixable_reasons": dict(reasons.most_common()),
        "unfixable_reason_examples": {r: [f"{e['path']}:{e['line']}:{e['column']} {e['code']} {e['reason']}"
                                          for e in applied["left"] if normalise_reason(e["reason"]) == r][:5]
                                      for r in reasons},
        "left_by_category": dict(Counter(f["category"] for f, _ in recon["left_findings"])),
        "apply_summary": s, "apply_errors": applied["errors"], "apply_other_output": applied["other_output"][:50],
        "left": applied["left"], "unmatched_left": recon["unmatched_left"],
        "refused_files": recon["refused"],
        "disagreements": recon["disagree"],
        "compile_failures": compile_failures,
        "new_flakes": new_flakes,
        "mangled": mangled,
        "asyncio_added_to_trio_anyio": asyncio_added,
        "lazy_offloads": lazy,
        "reformatted": reformatted,
        "unexpected_removed": unexpected,
        "files": [{k: v for k, v in r.items() if k not in ("hunks",)} for r in records],
        "site_hunks": len(all_hunks),
        "sample": sample,
        "check_before_summary": before["summary"], "check_after_summary": after["summary"],
    }
    sys.stdout.write(report(data, baseline, args.top))
    if args.json_out:
        args.json_out.write_text(json.dumps(data, indent=1, default=str))
        log(f"wrote {args.json_out}")
    if args.cleanup:
        shutil.rmtree(work)
    else:
        log(f"scratch copy kept: {work}")


if __name__ == "__main__":
    main()
