"""`asyncfix apply`: plan the rewrite of a file, verify it, then write it (or show the diff).

A file is written only when the new text parses (and compiles, where the running Python compiles
the original), re-analysis finds none of the fixed findings and no new ones, and a second pass
changes nothing. Otherwise the file is left untouched and reported.
"""

from __future__ import annotations

import ast
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from asyncfix.catalog import Catalog
from asyncfix.config import find_pyproject
from asyncfix.emit import SourceFile, write_atomic
from asyncfix.engine.file import analyze_source, raw_findings, to_finding
from asyncfix.engine.astutil import name_nodes
from asyncfix.engine.parse import parse
from asyncfix.engine.source import Lines
from asyncfix.findings import Finding
from asyncfix.transforms.backend import POOL, Backend
from asyncfix.transforms.imports import (header, import_insertion, imported_modules, module_aliases,
                                         removal_edits,
                                         unused_by_rewrite)
from asyncfix.transforms.library_swap import HTTPX_CONTEXT, library_swap, thread_note
from asyncfix.transforms import json_forms
from asyncfix.transforms.offload import ModuleOffloader, Offsets
from asyncfix.transforms.placement import helpers_after
from asyncfix.transforms.sqlite_offload import SqliteOffload

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class Rewrite:
    text: str  # the new text ("" when nothing changed)
    fixed: list[Finding] = field(default_factory=list)
    unfixable: list[Finding] = field(default_factory=list)
    before: list[tuple] = field(default_factory=list)  # keys of all findings in the input text


class VerifyError(Exception):
    """The rewrite of a file failed a check; the file is left untouched."""


def rewrite(text: str, path: str, catalog: Catalog, categories: set[str], newline: str = "\n",
            line_length: int = 88, offload: str = "thread", http_client: str | None = None,
            sqlite: str = "aiosqlite", universe: set[str] | None = None, json_lib: str | None = None) -> Rewrite:
    """Plan and apply the rewrite of one module's text (no checks: see ``checked_rewrite``).
    ``json_lib``: "orjson" or "stdlib" for moved json calls (None: orjson if the module imports
    it).

    ``universe`` (None: ``categories``): the codes or categories the plan takes into account.
    Only ``categories``' changes are written; a run of statements belongs to the first category
    of its findings in checklist order and moves whole with it, so applying categories one by
    one gives what applying them together gives.

    A pass either makes a library swap (requests for httpx, sqlite3 for aiosqlite; it returns,
    and the next pass goes on from the new text) or offloads to threads; ``http_client``:
    "httpx"/"httpx2", None to detect; ``sqlite``: "aiosqlite" (connections it cannot take run
    in a thread, block by block) or "thread" (all of them do)."""
    tree = parse(text, path)
    lines = Lines(text)
    raws = raw_findings(tree, catalog, lines)
    before = [_key(to_finding(r, path, lines)) for r in raws]
    # `categories` holds category names or codes (the CLI passes the codes it selected)
    wanted = [r for r in raws if _selected(r, categories)]
    if not wanted:
        return Rewrite("", before=before)
    planned = wanted if universe is None else [r for r in raws if _selected(r, universe) or _selected(r, categories)]
    output = None if universe is None else {r.match.category.name for r in wanted}
    backend = Backend.detect(tree, path)
    refused: dict[int, str] = {}  # id(raw) -> why its library swap leaves it
    swapped_elsewhere: set[int] = set()  # raws another category's library swap takes: not in runs here
    for category in ("http", "sqlite"):
        found = [r for r in planned if r.match.category.name == category]
        if not found or (category == "sqlite" and sqlite == "thread"):
            continue
        elsewhere = output is not None and category not in output  # only: which calls it takes
        swapped = library_swap(category, text, tree, lines, found, backend.name, http_client, line_length,
                               newline, plan_only=elsewhere)
        refused.update(swapped.refused)
        if elsewhere:
            swapped_elsewhere |= set(swapped.notes)
            continue
        if swapped.text:  # the next pass goes on from the new text
            return Rewrite(_drop_unused(tree, swapped.text, path),
                           [to_finding(r, path, lines, notes=swapped.notes[id(r)]) for r in found
                            if id(r) in swapped.notes],
                           [to_finding(r, path, lines, "not rewritten yet") for r in wanted
                            if id(r) not in swapped.notes], before)
    # sqlite3 objects cannot cross threads: a connection's calls move only with its whole block
    # (or, for a shared one, its stretch of uses under its lock).
    planned = [r for r in planned if id(r) not in swapped_elsewhere]
    sqlite_found = [r for r in planned if r.match.category.name == "sqlite"]
    sq = SqliteOffload()
    if sqlite_found:
        from asyncfix.transforms import sqlite_offload

        sq = sqlite_offload.plan(tree, sqlite_found, lines, newline, {n.id for n in name_nodes(tree)})
        raws = [sq.cleared.get(id(r), r) for r in raws]
        wanted = [sq.cleared.get(id(r), r) for r in wanted]
        planned = [sq.cleared.get(id(r), r) for r in planned]
    in_atoms = sq.in_atoms()
    selected = [r for r in planned if r.match.category.unfixable_reason is None
                and (r.match.category.name != "sqlite" or id(r.node) in in_atoms)]
    json_lib = json_lib or ("orjson" if "orjson" in imported_modules(tree) else "stdlib")
    offloader = ModuleOffloader(text, tree, lines, selected, backend, line_length, newline, offload,
                                sq.atoms, sq.locks, output, json_lib)
    plan = offloader.run(raws)
    fixed_ids = {id(f) for f in plan.fixed}
    reasons = {id(f): reason for f, reason in plan.unfixable}
    out = Rewrite("", [to_finding(r, path, lines, notes=_thread_notes(r, refused, sq.notes)
                                  + offloader.notes.get(id(r), [])) for r in plan.fixed], before=before)
    for raw in wanted:
        if id(raw) not in fixed_ids:
            reason = _sqlite_reason(raw, refused, sq.refused, in_atoms) or reasons.get(id(raw)) or raw.unfixable_reason \
                or "asyncfix does not rewrite it yet"
            if id(raw.node) in in_atoms and refused.get(id(raw)):  # why not aiosqlite either
                reason = f"aiosqlite does not fit ({refused[id(raw)]}), and {reason}"
            out.unfixable.append(to_finding(raw, path, lines, reason))
    if not plan.edits:
        return out
    edits = [(e.start, e.end, e.text) for e in plan.edits]
    for users, at, lock_line in sq.lock_lines:  # the lock of a shared connection some helper takes
        if any(u in fixed_ids for u in users):
            edits.append((at, at, lock_line))
            backend.need("threading")
    by_anchor: dict[tuple[int, bool], list[str]] = {}
    placed: dict[int, list] = {}
    for anchor, source, before, call in plan.helpers:
        if not before:  # after the class or def: among the helpers an earlier run put there
            if anchor not in placed:
                placed[anchor] = helpers_after(tree, text, anchor, Offsets(lines).line_end)
            anchor = max([end for at, end in placed[anchor] if at < call], default=anchor)
        by_anchor.setdefault((anchor, before), []).append(source)
    for (anchor, before), sources in by_anchor.items():
        if before:  # in front of the top-level statement that defines the coroutine
            edits.append((anchor, anchor, "".join(s + newline * 2 for s in sources)))
            continue
        lead = "" if anchor == 0 or text[anchor - 1] in "\r\n" else newline
        block = lead + "".join(newline * 2 + s for s in sources)
        edits.append((anchor, anchor, block))
    if offloader.json_helpers:  # the fair json forms, once per module, after the imports
        at = _after_imports(tree, lines, skip=HTTPX_CONTEXT)
        sources = [json_forms.HELPERS[name] for name in sorted(offloader.json_helpers)]
        spelled = module_aliases(tree).get("json")  # `import json as j`: the helpers say `j.`
        for _, needs in sources:
            for module_name in needs:
                if module_name != "json" or spelled is None:
                    backend.need(module_name)
        block = (newline * 2).join(json_forms.spelled(source, spelled or "json").replace("\n", newline)
                                   for source, _ in sources)
        # two blank lines before and after, as PEP 8 has it, counting those already there
        before_at = text[:at].replace("\r\n", "\n").replace("\r", "\n")
        after_at = text[at:].replace("\r\n", "\n").replace("\r", "\n")
        lead = 0 if at == 0 else max(0, 3 - (len(before_at) - len(before_at.rstrip("\n"))))
        trail = max(0, 2 - (len(after_at) - len(after_at.lstrip("\n"))))
        edits.append((at, at, newline * lead + block + newline * trail))
    if backend.process_pool and POOL not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}:
        backend.need("concurrent.futures")
        backend.need("os")
        at = _after_imports(tree, lines)
        # one core stays with the event loop: with every core busy in the pool, the loop's
        # thread waits for the CPU like any other and its latency follows the pool's load
        # and the workers run below the loop's priority (where `os.nice` exists): on a busy
        # machine the loop gets the CPU first
        edits.append((at, at, f"{POOL} = concurrent.futures.ProcessPoolExecutor({newline}"
                              f"    max(1, (os.cpu_count() or 2) - 1),  # one core left to the event loop{newline}"
                              f"    initializer=getattr(os, \"nice\", None),  # workers below the loop's priority{newline}"
                              f"    initargs=(10,),{newline}"
                              f"){newline}{newline}{newline}"))
    insertion = import_insertion(tree, backend.imports, imported_modules(tree))
    if insertion is not None:
        line, lines_text = insertion
        offset = lines.starts[line - 1]
        edits.append((offset, offset, lines_text.replace("\n", newline)))
    out.text = _drop_unused(tree, _apply_edits(text, edits), path)
    return out


def _selected(raw, chosen: set[str]) -> bool:
    # category names or codes (the CLI passes the codes it selected)
    return raw.match.category.name in chosen or raw.match.rule.code in chosen


def _drop_unused(tree: ast.Module, new: str, path: str) -> str:
    """``new`` without the imports the rewrite itself left unused; the user's own unused imports
    stay."""
    try:
        new_tree = parse(new, path)
    except SyntaxError:
        return new  # verification reports it
    unused = unused_by_rewrite(tree, new_tree)
    if not unused:
        return new
    lines = Lines(new)
    return _apply_edits(new, removal_edits(new_tree, unused, lines.line, lines.starts))


def _sqlite_reason(raw, refused: dict[int, str], thread_refused: dict[int, str], in_atoms: set[int]) -> str | None:
    """Why a sqlite call outside any movable block stays (the offloader explains the others)."""
    if raw.match.category.name != "sqlite" or id(raw.node) in in_atoms:
        return None  # the offloader says why
    if raw.unfixable_reason:  # a connection made elsewhere: why its uses stay on the loop
        return thread_refused.get(id(raw))
    thread = thread_refused.get(id(raw), "its connection's block cannot move to a thread whole")
    swap = refused.get(id(raw))
    return (f"aiosqlite does not fit ({swap}), and " if swap else "") + \
        f"sqlite3 objects cannot cross threads: {thread}"


def _thread_notes(raw, refused: dict[int, str], sqlite_notes: dict[int, list[str]]) -> list[str]:
    if raw.match.category.name == "http":
        return [thread_note(raw, refused)]
    if id(raw) in sqlite_notes:
        return sqlite_notes[id(raw)]
    if raw.name == "sqlite3.connect":
        from asyncfix.transforms.sqlite_thread import thread_notes

        return thread_notes(raw, refused.get(id(raw)))
    return []


def _after_imports(tree: ast.Module, lines: Lines, skip: str | None = None) -> int:
    """Offset of the first top-level statement after the docstring and the imports (of the
    comment lines right above it). ``skip``: a module constant an earlier pass put there
    (`_HTTPX_SSL_CONTEXT`), which stays first whichever pass comes first."""
    starts, end, text_line = lines.starts, len(lines.text), lines.line
    rest = tree.body[len(header(tree)) :]
    if rest and skip and isinstance(rest[0], ast.Assign) and \
            [getattr(t, "id", None) for t in rest[0].targets] == [skip]:
        return Offsets(lines).line_end(rest[0].end_lineno)
    if not rest:
        return end
    first = min([rest[0].lineno] + [d.lineno for d in getattr(rest[0], "decorator_list", [])])
    # the comment lines right above it are its own (`# One TLS context ...`): stay above them
    while first > 1 and text_line(first - 1).lstrip().startswith("#"):
        first -= 1
    return starts[first - 1]


def _apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """The text with every edit applied, in one pass (insertions at one offset: the last given
    comes first)."""
    order = sorted(range(len(edits)), key=lambda i: (edits[i][0], edits[i][1], -i))
    out, pos = [], 0
    for i in order:
        start, end, replacement = edits[i]
        out += [text[pos:start], replacement]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def checked_rewrite(text: str, path: str, catalog: Catalog, categories: set[str],
                    newline: str = "\n", line_length: int = 88, offload: str = "thread",
                    http_client: str | None = None, sqlite: str = "aiosqlite",
                    universe: set[str] | None = None, json_lib: str | None = None) -> Rewrite:
    """`rewrite`, verified. Like ruff's fix loop, passes repeat until one changes nothing (at most
    ``_PASSES``): a hop planned in one pass ends await-free sections that the next pass weighs
    again, and may then find safe to split (each pass keeps the behaviour of its input)."""
    options = {"newline": newline, "line_length": line_length, "offload": offload,
               "http_client": http_client, "sqlite": sqlite, "universe": universe, "json_lib": json_lib}
    result = rewrite(text, path, catalog, categories, **options)
    if not result.text:
        return result
    compiles = _compiles(text, path)  # once: every pass's text must compile where this one does
    for _ in range(_PASSES):
        again = _verify(compiles, result, path, catalog, categories, options)
        if not again.text or again.text == result.text:  # the last pass's reasons are the true ones
            return replace(_merged(result, again), text=result.text)
        result = _merged(result, again)
    raise VerifyError("a second pass would change the file again")


_PASSES = 5  # library swaps (http, sqlite), then up to three rounds of thread hops


def _merged(result: Rewrite, again: Rewrite) -> Rewrite:
    """A pass over ``result``'s text added to it: the findings it fixed move from unfixable to
    fixed (matched by what was called where: positions moved with the first pass)."""
    moved = Counter(_key(f) for f in again.fixed)
    notes: dict[tuple, list] = {}
    for f in again.fixed:
        notes.setdefault(_key(f), []).append(f.notes)
    reasons: dict[tuple, list] = {}
    for f in again.unfixable:
        reasons.setdefault(_key(f), []).append(f.unfixable_reason)
    fixed, unfixable = list(result.fixed), []
    for f in result.unfixable:
        if moved[_key(f)] > 0:
            moved[_key(f)] -= 1
            fixed.append(replace(f, fixable=True, unfixable_reason=None, notes=notes[_key(f)].pop(0)))
        else:  # the later pass knows why it stays
            later = reasons.get(_key(f))
            unfixable.append(replace(f, unfixable_reason=later.pop(0)) if later else f)
    return Rewrite(again.text, fixed, unfixable, result.before)


def _compiles(text: str, path: str) -> bool:
    """Whether this Python compiles ``text`` (newer syntax than it knows: parsing is the check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
    return True


def _verify(compiles: bool, result: Rewrite, path: str, catalog: Catalog, categories: set[str],
            options: dict) -> Rewrite:
    """Checks ``result`` (``compiles``: the original compiles here, so it must) and returns the
    pass over its text."""
    new = result.text
    if compiles:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                compile(new, path, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                raise VerifyError(f"the rewrite does not compile: {exc}") from None
    # The next pass parses and re-analyses the new text: one pass serves both checks.
    try:
        again = rewrite(new, path, catalog, categories, **options)
    except SyntaxError as exc:
        raise VerifyError(f"the rewrite does not parse: {exc.msg} (line {exc.lineno})") from None
    old_keys, new_keys = Counter(result.before), Counter(again.before)
    fixed = Counter(_key(f) for f in result.fixed)
    # A json call reported for evidence of size (`s = fh.read()` ... `json.loads(s)`) may lose it
    # when the read moves into a helper; the call is the same, now below the default's bar.
    evidence = {r.code for cat in catalog.categories.values() for r in cat.rules if r.weak_code}
    missing = (old_keys - fixed) - new_keys
    if any(k[0] in evidence for k in missing):
        old_keys -= Counter({k: n for k, n in missing.items() if k[0] in evidence})
    if new_keys != old_keys - fixed:
        extra = new_keys - (old_keys - fixed)
        missing = (old_keys - fixed) - new_keys
        raise VerifyError(f"re-analysis disagrees: new {sorted(extra)[:3]}, lost {sorted(missing)[:3]}")
    return again


def _key(f: Finding) -> tuple[str, str, str]:
    # Positions move with the rewrite; what was called, where, and by which rule does not.
    return (f.code, f.qualname, f.function)


def project_line_length(start: Path) -> int:
    pyproject = find_pyproject(start)
    if pyproject is None:
        return 88
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 88
    value = data.get("tool", {}).get("black", {}).get("line-length", 88)
    return value if isinstance(value, int) and value > 0 else 88


@dataclass
class FileResult:
    path: Path
    shown: str
    old: str = ""
    new: str = ""
    fixed: list[Finding] = field(default_factory=list)
    unfixable: list[Finding] = field(default_factory=list)
    error: str | None = None


def apply_file(path: str | Path, shown: str, catalog: Catalog, categories: set[str], write: bool,
               line_length: int, offload: str = "thread", http_client: str | None = None,
               sqlite: str = "aiosqlite", universe: set[str] | None = None,
               json_lib: str | None = None) -> FileResult:
    """One file through `apply`, which looks at it as `check` does, so that both give a file the
    same verdict: without `async` it is not read further; bytes Python cannot decode and syntax
    errors where check parses are errors; where check finds nothing to move the file is left as is
    (not parsed whole, so a template or a half-written file check passes is no error here).
    Errors come back in ``error``, one line; the file is then left exactly as it was."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(path, shown, error=f"cannot read: {exc.strerror or exc}")
    if b"async" not in raw:
        return FileResult(path, shown)
    try:
        source = SourceFile.from_bytes(path, raw)
        found = analyze_source(source.text, shown, catalog)
    except SyntaxError as exc:
        return FileResult(path, shown, error=_syntax_error(exc))
    out = FileResult(path, shown, old=source.text)
    if not any(f.category in categories or f.code in categories for f in found):
        return out
    try:
        result = checked_rewrite(source.text, shown, catalog, categories, source.newline, line_length,
                                 offload, http_client, sqlite, universe, json_lib)
    except SyntaxError as exc:  # in a part check does not parse: a rewrite needs the whole file
        out.error = _syntax_error(exc)
        return out
    except VerifyError as exc:
        out.error = f"left untouched: {exc}"
        return out
    out.fixed, out.unfixable = result.fixed, result.unfixable
    if result.text and result.text != source.text:
        out.new = result.text
        if write:
            try:
                write_atomic(path, source.encode(result.text))
            except (OSError, UnicodeError) as exc:
                out.error = f"cannot write: {getattr(exc, 'strerror', None) or exc}"
    return out


def _syntax_error(exc: SyntaxError) -> str:
    return f"syntax error: {exc.msg}" + (f" (line {exc.lineno})" if exc.lineno else "")


def fixed_example(category, catalog: Catalog) -> tuple[str, str] | None:
    """A category's documented example as a module, and what `apply` makes of it (None when the
    category has no fix yet). `explain` shows both, so the docs cannot drift from the tool."""
    doc = category.doc
    before = (doc.imports + "\n\n\n" if doc.imports else "") + doc.example.replace("@app.post('/process')\n", "") + "\n"
    result = rewrite(before, "example.py", catalog, {category.name})
    return (before, result.text) if result.text else None
