"""Blocking helpers across the modules of one run (`helpers`, AF661/AF662).

A file's own analysis sees the helpers of its module (``engine.helpers``). This module joins the
files of a run: each file with coroutines lists what it imports (``imported``, read in the worker
that analyses it and cached with its findings); the modules of the run that are imported export
summaries of their blocking sync functions and classes (``exports``, cached per file content);
the importing files are then analysed once more with those summaries as catalog entries, and
the findings that adds are reported at the coroutine's call, with the chain into the other file.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import replace
from typing import Callable, Iterable

from asyncfix.catalog import Catalog, Match
from asyncfix.engine.blocks import def_blocks
from asyncfix.engine.fastpath import helper_calls, stubbed
from asyncfix.engine.helpers import Chain
from asyncfix.engine.triggers import EVERYTHING, Finder, Mentions, imported_names
from asyncfix.engine.values import Func
from asyncfix.findings import FileError, Finding

_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(\([^)]*\)|(?:[^\r\n#\\]|\\\r?\n)+)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+((?:[^\r\n#\\;]|\\\r?\n)+)", re.M)
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))
_PACKAGES: dict[str, str] = {}  # folder -> its dotted package name ("" outside a package)


def module_name(path: str) -> str:
    """`docstore/storage.py` -> `docstore.storage`, the folders above it with `__init__.py`
    making the package, as Python finds it from the project root."""
    folder, file = os.path.split(os.path.abspath(path))
    stem = file[:-3] if file.endswith(".py") else file
    package = _package(folder)
    if stem == "__init__":
        return package or os.path.basename(folder)
    return f"{package}.{stem}" if package else stem


def _package(folder: str) -> str:
    found = _PACKAGES.get(folder)
    if found is None:
        if os.path.isfile(os.path.join(folder, "__init__.py")):
            parent = _package(os.path.dirname(folder)) if os.path.dirname(folder) != folder else ""
            name = os.path.basename(folder)
            found = f"{parent}.{name}" if parent else name
        else:
            found = ""
        _PACKAGES[folder] = found
    return found


def package_of(module: str, path: str) -> str:
    """The package relative imports of ``module`` start from."""
    return module if os.path.basename(path) == "__init__.py" else module.rpartition(".")[0]


def imported(text: str, module: str, path: str) -> list[str]:
    """What a module imports that may be the project's, as `qualified as local`: `pkg.mod.name as
    name` for `from pkg.mod import name`, `pkg.mod as m` for `import pkg.mod as m` (`pkg.mod as
    pkg.mod` without `as`); relative imports made absolute; the stdlib left out."""
    out: set[str] = set()
    package = package_of(module, path)
    for match in _FROM.finditer(text):
        source = match.group(1)
        dots = len(source) - len(source.lstrip("."))
        if dots:
            base = package.split(".") if package else []
            if dots - 1 > len(base):
                continue
            base = base[: len(base) - (dots - 1)]
            source = ".".join(base + ([source[dots:]] if source[dots:] else []))
        if not source or source.partition(".")[0] in _STDLIB:
            continue
        for item in match.group(2).strip("()").replace("\\", " ").split(","):
            parts = item.split()
            if parts and parts[0] != "*":
                local = parts[2] if len(parts) == 3 and parts[1] == "as" else parts[0]
                out.add(f"{source}.{parts[0]} as {local}")
    for match in _IMPORT.finditer(text):
        for item in match.group(1).replace("\\", " ").split(","):
            parts = item.split()
            if parts and parts[0].partition(".")[0] not in _STDLIB:
                local = parts[2] if len(parts) == 3 and parts[1] == "as" else parts[0]
                out.add(f"{parts[0]} as {local}")
    return sorted(out)


def project_catalog(catalog: Catalog, entries: dict[str, list], where: Callable[[str], str],
                    package: str | None) -> Catalog:
    """``catalog`` with exported summaries as `helpers` entries: functions by qualified name,
    the classes as types whose blocking methods are catalog methods (and whose blocking
    `__init__` makes the class's call blocking). ``where(qual)``: the file ``qual`` is in."""
    functions: dict[str, Match] = {}
    methods: dict[tuple[str, str], Match] = {}
    types: set[str] = set()
    chains: dict[str, Chain] = {}
    for qual, (code, steps, line, kind, path) in entries.items():
        chain = chains[qual] = Chain(tuple(steps), line, code == "AF662", path or where(qual))
        match = catalog.detailed(catalog.code(code), f": it calls {chain.describe()}")
        if kind == "method":
            owner, _, name = qual.rpartition(".")
            methods[(owner, name)] = match
            types.add(owner)
        else:
            functions[qual] = match
            if kind == "class":
                types.add(qual)
    return catalog.with_project(functions, methods, types, package, chains)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


_CALLED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)[ \t]*\(")


def project_uses(text: str, module: str, path: str) -> list[str]:
    """The project's names a module may call, by its text, as `qualified as written`: an
    imported function called (`write_blob(`), an attribute of an imported module called
    (`st.put(` -> `pkg.st.put`), an imported class named anywhere past its import (`store: Store`,
    `Store(`: its methods may be called). Project imports: relative ones and those of the module's
    own top-level package (any import, for a module outside a package); the rest cannot be the
    run's. Read by the worker that analyses the file, from its text alone."""
    if "import" not in text:
        return []
    own = module.partition(".")[0]
    in_package = bool(package_of(module, path)) or os.path.basename(path) == "__init__.py"
    local: dict[str, str] = {}
    for entry in imported(text, module, path):
        qual, _, name = entry.partition(" as ")
        if not in_package or qual.partition(".")[0] == own:
            local[name] = qual
    if not local:
        return []
    out: set[str] = set()
    for called in set(_CALLED.findall(text)):
        head, _, attr = called.partition(".")
        if head in local:
            out.add(f"{local[head]}.{attr} as {called}" if attr else f"{local[head]} as {called}")
    for name, qual in local.items():
        if name[:1].isupper() and "." not in name and text.count(name) > 1:
            out.add(f"{qual} as {name}")
    return sorted(out)


class _Module:
    """One module of the run, read once: its top-level blocks, where it names its triggers, and
    the project names it may call (``project_uses``)."""

    def __init__(self, linker: "Linker", module: str, path: str, data: bytes, text: str,
                 uses: list[str] | None = None):
        self.module, self.path, self.data, self.text = module, path, data, text
        self.uses = project_uses(text, module, path) if uses is None else uses
        self._linker = linker
        self._blocks = None
        self._mentions = None
        self.deps: dict[str, list] | None = None  # what the project names it calls export
        self.deps_done = False
        self.view: Catalog | None = None  # the catalog knowing ``deps``
        self._blocking_written: re.Pattern | None = None
        self._helpers = None  # (names, their calls), once the names that block are all known
        self._tree = None

    @property
    def blocks(self) -> dict:
        if self._blocks is None:
            self._blocks = {b.name: b for b in def_blocks(self.text)} if "def " in self.text else {}
        return self._blocks

    def mentioned(self, block) -> bool:
        if self._mentions is None:
            words, dotted, _ = imported_names(self.text, self._linker.catalog)
            self._mentions = Mentions(self.text, EVERYTHING if words is None else Finder.of(words, dotted))
        if self._mentions.within_block(block):
            return True
        return self._blocking_written is not None and self._blocking_written.search(
            self.text, block.start, block.end) is not None

    def helpers(self):
        """The module's functions that may block (they name a trigger or a project name that
        blocks, or call one that does), and where they are called (``fastpath.helper_calls``)."""
        helpers = self._helpers
        if helpers is None:
            helpers = helper_calls(self.text, list(self.blocks.values()), self.mentioned, lambda b: False)
            if self.deps_done:  # in an import cycle the names that block are not all known yet
                self._helpers = helpers
        return helpers

    def may_block(self, block) -> bool:
        names, calls = self.helpers()
        if block.kind == "def":
            return block.name in names
        return self.mentioned(block) or (calls is not None and calls.search(self.text, block.start, block.end))

    def reduced_tree(self) -> ast.Module | None:
        """The module with every top-level function and class that cannot block stubbed out."""
        if self._tree is None:
            stubs = [(b, "") for b in self.blocks.values() if not self.may_block(b)]
            try:
                self._tree = ast.parse(stubbed(self.text, stubs))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                try:
                    self._tree = ast.parse(self.text)
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    self._tree = False
        return self._tree or None


class Linker:
    """Summaries of the run's blocking functions and classes, computed as importers ask for them:
    a module is parsed only where a name asked of it may block by the text (it names a trigger,
    or a project name that blocks, or calls a function of its own that may), and then with its
    other functions and classes stubbed out."""

    def __init__(self, paths: Iterable[str], catalog: Catalog, cache, display: Callable[[str], str]):
        self.paths: dict[str, str] = {}
        for path in paths:
            self.paths.setdefault(module_name(path), path)
        self.roots = frozenset(m.partition(".")[0] for m in self.paths)
        self.catalog, self.cache, self.display = catalog, cache, display
        self.failed: list[FileError] = []
        self._modules: dict[str, _Module | None] = {}  # by path
        self._names: dict[tuple[str, str], dict[str, list]] = {}
        self._active: set = set()

    def where(self, qual: str) -> str:
        head = qual
        while head and head not in self.paths:
            head = head.rpartition(".")[0]
        return self.display(self.paths[head])

    def module(self, module: str, path: str | None = None, uses: list[str] | None = None) -> _Module | None:
        path = path or self.paths.get(module)
        if path is None:
            return None
        if path not in self._modules:
            self._modules[path] = None
            data = _read(path)
            if data is not None:
                try:
                    from asyncfix.engine.source import decode

                    self._modules[path] = _Module(self, module, path, data, decode(data), uses)
                except SyntaxError:  # undecodable: its own analysis reports it
                    pass
        return self._modules[path]

    def deps(self, mod: _Module) -> dict[str, list]:
        """What the project names ``mod`` may call export (qualified name -> entry)."""
        if mod.deps is not None:
            return mod.deps
        mod.deps = {}  # an import cycle ends here
        found: dict[str, list] = {}
        written: set[str] = set()
        for use in mod.uses:
            qual, _, text = use.partition(" as ")
            owner, _, name = qual.rpartition(".")
            if owner not in self.paths:  # `Class.method(`: the class's summaries
                owner, _, name = owner.rpartition(".")
            if owner in self.paths and owner != mod.module:
                entries = self.name(owner, name)
                if entries:
                    found.update(entries)
                    written.add(text)
        mod.deps, mod.deps_done = found, True
        if written:
            mod._blocking_written = re.compile(r"(?<![\w.])(?:%s)\b" % "|".join(sorted(map(re.escape, written))))
        return found

    def name(self, module: str, name: str) -> dict[str, list]:
        """The summaries of one top-level function or class of a module of the run."""
        key = (module, name)
        if key in self._names:
            return self._names[key]
        if key in self._active:
            return {}
        self._active.add(key)
        try:
            found = self._summarize(module, name)
        finally:
            self._active.discard(key)
        self._names[key] = found
        return found

    def _summarize(self, module: str, name: str) -> dict[str, list]:
        from asyncfix.cache import content_hash

        mod = self.module(module)
        block = mod.blocks.get(name) if mod is not None else None
        if block is None:
            return {}
        deps = self.deps(mod)
        if not mod.may_block(block):
            return {}
        shown = self.display(mod.path)
        digest = content_hash(mod.data + f"\0{name}\0{sorted(deps.items())!r}".encode())
        entries = self.cache.extra("exports", shown, digest)
        if entries is None:
            if mod.view is None or not mod.deps_done:
                mod.view = project_catalog(self.catalog, deps, self.where, package_of(module, mod.path))
            try:
                entries = _exports(mod, name, mod.view)
            except Exception as exc:  # a bug in asyncfix: this module's error, not the run's end
                self.failed.append(FileError(shown, f"internal error: {type(exc).__name__}: {exc}"))
                return {}
            self.cache.put_extra("exports", shown, digest, entries)
        return entries


def _exports(mod: _Module, name: str, catalog: Catalog) -> dict[str, list]:
    """Summaries of one top-level function or class: qualified name -> [code, steps, line, kind
    ("function" | "method" | "class"), the file of the blocking call or None]."""
    from asyncfix.engine.analyzer import ModuleAnalysis
    from asyncfix.engine.source import Lines

    tree = mod.reduced_tree()
    if tree is None:
        return {}
    analysis = getattr(mod, "_analysis", None)
    if analysis is None or analysis.catalog is not catalog:
        analysis = mod._analysis = ModuleAnalysis(tree, catalog, Lines(mod.text))
    out: dict[str, list] = {}

    def record(qual: str, func: ast.FunctionDef, info, kind: str) -> None:
        chain = analysis.summaries.of(Func(func), info, analysis.scope)
        if chain is not None:
            out[qual] = ["AF662" if chain.deadlock else "AF661", list(chain.steps), chain.line, kind, chain.path]

    module = mod.module
    for stmt in tree.body:
        if getattr(stmt, "name", None) != name:
            continue
        if isinstance(stmt, ast.FunctionDef):
            record(f"{module}.{stmt.name}", stmt, None, "function")
        elif isinstance(stmt, ast.ClassDef):
            info = analysis.classes.get(stmt.name)
            if info is None or info.node is not stmt:
                continue
            for member in stmt.body:
                if isinstance(member, ast.FunctionDef) and not member.name.startswith("__"):
                    record(f"{module}.{stmt.name}.{member.name}", member, info, "method")
                elif isinstance(member, ast.FunctionDef) and member.name == "__init__":
                    record(f"{module}.{stmt.name}", member, info, "class")
    return out


def place(finding: Finding) -> tuple[int, int, str]:
    """Where a finding is, to tell a linked finding from the file's own: at the same place and
    of the same category, it adds nothing."""
    return finding.line, finding.column, finding.category


def link(imports: dict[str, tuple[str, list[str]]], paths: list[str], display: Callable[[str], str],
         catalog: Catalog, cache, known: dict[str, set] | None = None) -> Iterable[tuple[str, list | FileError]]:
    """The `helpers` findings of each file that may call blocking functions, methods or classes
    of the run's other modules (``imports``: path -> (shown, its ``project_uses``)), analysed
    knowing them: (shown path, findings), or an internal error of one file. Only findings the
    file's own analysis did not have (``known``: shown path -> the ``place`` of each of those).

    Chains run through any number of modules (an import cycle stops where it closes)."""
    linker = Linker(paths, catalog, cache, display)
    for path, (shown, uses) in sorted(imports.items()):
        if not any(u.partition(".")[0] in linker.roots for u in uses):
            continue
        try:
            found = _linked_one(linker, path, shown, uses)
        except Exception as exc:  # a bug in asyncfix: this file's error, not the run's end
            yield shown, FileError(shown, f"internal error: {type(exc).__name__}: {exc}")
            continue
        new = [f for f in map(Finding.from_dict, found) if place(f) not in (known or {}).get(shown, ())]
        if new:
            yield shown, new
    for error in linker.failed:
        yield error.path, error


def _linked_one(linker: Linker, path: str, shown: str, uses: list[str]) -> list[dict]:
    from asyncfix.cache import content_hash
    from asyncfix.engine.file import analyze_bytes

    module = module_name(path)
    mod = linker.module(module, path, uses)
    entries = linker.deps(mod) if mod is not None else None
    if not entries:
        return []
    digest = content_hash(mod.data + repr(sorted(entries.items())).encode())
    found = linker.cache.extra("linked", shown, digest)
    if found is None:
        view = project_catalog(linker.catalog, entries, linker.where, package_of(module, path))
        outcome = analyze_bytes(mod.data, shown, view, fast=False)
        found = [] if not isinstance(outcome, list) else [_across(f).to_dict() for f in outcome
                                                          if f.category == "helpers"]
        linker.cache.put_extra("linked", shown, digest, found)
    return found


def _across(finding: Finding) -> Finding:
    """A finding only the other modules' summaries give: AF663 (a deadlock stays AF662)."""
    if finding.code != "AF661":
        return finding
    return replace(finding, code="AF663", message=finding.message.replace(
        "in a helper of the project", "in a helper of another module of the project", 1))


def linked(paths: list[str], display: Callable[[str], str], catalog: Catalog,
           known: dict[str, set] | None = None) -> list:
    """`link` for a run that has no cache to ask what each file imports (`apply`): reads them."""
    from asyncfix.cache import Cache

    if len(paths) < 2:
        return []
    imports: dict[str, tuple[str, list[str]]] = {}
    for path in paths:
        data = _read(path)
        if data is not None and b"async" in data:
            uses = project_uses(data.decode("utf-8", "replace"), module_name(path), path)
            if uses:
                imports[path] = (display(path), uses)
    return [f for _, found in link(imports, paths, display, catalog, Cache(None, {}), known)
            if not isinstance(found, FileError) for f in found]
