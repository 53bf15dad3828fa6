"""The blocking-call catalog: what each category flags and what the engine may infer about types.

Each module under ``asyncfix.codemods`` declares one ``Category``; this module defines the data
types and builds the lookup index the analysis engine queries.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterable, Mapping

ANY = "*"
# The walker's word on a sqlite call whose connection a coroutine did not make: `apply` may still
# move it (a connection made with check_same_thread=False, under a lock), so `check` asks it.
MADE_ELSEWHERE = ("the sqlite3 connection was made outside this coroutine, and sqlite3 objects refuse use "
                  "from another thread (check_same_thread)")


@dataclass(frozen=True)
class Doc:
    """ruff-style rule documentation: it feeds ``asyncfix explain`` and pull-request bodies."""

    what: str
    why: str
    example: str
    instead: str
    fix_safety: str
    imports: str = ""  # what the example needs imported, to show `apply`'s fix of it


@dataclass(frozen=True)
class Rule:
    """One group of blocking calls that share a message and a fix.

    ``functions`` are qualified names of callables; ``"mod.*"`` matches every attribute of ``mod``
    except those in ``exclude``. ``methods`` maps an inferred type to the method names that block
    on it (``"*"`` = every public method but those in ``exclude``; ``"__call__"``, never implied
    by ``"*"``, means calling the object itself: `classifier(text)`). ``method_names`` match on any
    receiver, for names distinctive enough to need no type (pydantic's ``model_dump_json``).
    """

    code: str
    message: str
    functions: tuple[str, ...] = ()
    methods: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    method_names: tuple[str, ...] = ()
    # type -> attributes whose read does the work (`page.images` of pypdf decodes as iterated)
    properties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()  # ruff / flake8-async codes: their noqa comments silence it too
    skip_literal_args: bool = False  # json: a literal argument is too small to matter
    requires_import: str | None = None  # method_names only count where this module is imported
    first_arg_in: tuple[str, ...] = ()  # method_names only count with one of these literal args
    unfixable: str | None = None  # why the category's fix cannot apply to these calls
    nonblocking_kwargs: tuple[str, ...] = ()  # set to False (or 0), the call does not wait
    # method -> positions (or keywords) of its `block`/`timeout`/`wait` parameters, which set to
    # False or 0 make it return at once: `q.get(False)`, `t.join(0)`, `proc.wait(timeout=0)`
    nonblocking_args: Mapping[str, tuple[int | str, ...]] = field(default_factory=dict)
    nonblocking_flag: str | None = None  # an argument naming it makes the call return at once
    default: bool = True  # False: opt-in, reported only when selected (as ruff's preview rules)
    # False: the objects are not safe to use from several threads at once (a psycopg2 cursor,
    # a boto3 resource); a method call moves only on an object the coroutine made itself
    thread_safe: bool = True
    elsewhere_reason: str | None = None  # why a call on one made elsewhere stays (else the generic one)
    weak_code: str | None = None  # calls without evidence of a big payload get this code instead


@dataclass(frozen=True)
class Types:
    """What the engine may infer: the type a call returns, an attribute holds, an iteration yields.

    Keys of ``returns`` are qualified callables (``sqlite3.connect``) or ``Type.method``;
    ``"Type.*"`` gives every method of a type the same result type.
    """

    returns: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)
    items: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)  # annotation name -> type
    enters: Mapping[str, str] = field(default_factory=dict)  # `with T() as x`: x's type, "" = unknown
    # types whose objects a method makes new for its caller alone (a redis pipeline): local to
    # the coroutine that made them, wherever their maker came from
    fresh: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Category:
    name: str
    section: str
    title: str
    doc: Doc
    rules: tuple[Rule, ...]
    types: Types = field(default_factory=Types)
    unfixable_reason: str | None = None  # set while `apply` has no fix for the whole category


@dataclass(frozen=True)
class Match:
    category: Category
    rule: Rule


# Module roots that other names stand for: a match on the alias behaves like the canonical one.
MODULE_ALIASES = {
    "PyPDF2": "pypdf",
    "pymupdf": "fitz",
    "httpx2": "httpx",
    "requests.api": "requests",
    "requests.sessions": "requests",
    "sqlite3.dbapi2": "sqlite3",
    "posixpath": "os.path",
    "ntpath": "os.path",
}


_ALIAS_ROOTS = frozenset(a.partition(".")[0] for a in MODULE_ALIASES) | {"builtins"}


def canonical(qual: str) -> str:
    """Map a resolved qualified name to the spelling the catalog uses."""
    if qual.partition(".")[0] not in _ALIAS_ROOTS:
        return qual
    if qual.startswith("builtins."):
        return qual[len("builtins.") :]
    if qual in MODULE_ALIASES:
        return MODULE_ALIASES[qual]
    for alias, target in MODULE_ALIASES.items():
        if qual.startswith(alias + "."):
            return target + qual[len(alias) :]
    return qual


def imports_module(text: str, module: str | None) -> bool:
    """Whether some line of ``text`` imports ``module`` (always true for None)."""
    return module is None or (module in text and re.search(  # `in` first: the search is slow
        rf"^\s*(?:import|from)\s+{re.escape(module)}\b", text, re.MULTILINE) is not None)


def default_off_codes(categories: Iterable[Category]) -> set[str]:
    """The codes reported only when selected."""
    return {r.code for c in categories for r in c.rules if not r.default}


class Catalog:
    """The index over all categories (plus project-configured extras) that the engine queries.

    ``opt_in``: default-off codes to report as well. Without them the engine never produces those
    findings, so `check` and `apply` with the default selection neither report nor rewrite them.
    """

    def __init__(self, categories: Iterable[Category], extra: Mapping[str, str] | None = None,
                 opt_in: Iterable[str] = ()):
        self.categories = {c.name: c for c in categories}
        self.opt_in = frozenset(opt_in)
        self._codes = {r.code: Match(c, r) for c in self.categories.values() for r in c.rules}
        self._evidenced: dict[tuple[str, str], Match] = {}
        self._functions: dict[str, Match] = {}
        self._wildcards: list[tuple[str, Match]] = []
        self._methods: dict[tuple[str, str], Match] = {}
        self._any_methods: dict[str, Match] = {}
        self._method_names: dict[str, Match] = {}
        self._properties: dict[tuple[str, str], Match] = {}
        self._mentions: dict[str, bool] = {}
        self._children: dict[str, frozenset[str]] = {}
        self.returns: dict[str, str] = {}
        self.attributes: dict[str, str] = {}
        self.items: dict[str, str] = {}
        self.annotations: dict[str, str] = {}
        self.enters: dict[str, str] = {}
        self.fresh: set[str] = set()
        self.type_names: set[str] = set()
        self.package: str | None = None  # set on a project view: relative imports resolve from it
        self.chains: Mapping[str, object] = {}
        for cat in self.categories.values():
            for rule in cat.rules:
                match = Match(cat, rule)
                for fn in rule.functions:
                    if fn.endswith(".*"):
                        self._wildcards.append((fn[:-1], match))
                    else:
                        self._functions[fn] = match
                for typ, names in rule.methods.items():
                    self.type_names.add(typ)
                    for name in names:
                        if name == ANY:
                            self._any_methods[typ] = match
                        else:
                            self._methods[(typ, name)] = match
                for name in rule.method_names:
                    self._method_names[name] = match
                for typ, names in rule.properties.items():
                    self.type_names.add(typ)
                    self._properties.update({(typ, name): match for name in names})
            self.returns.update(cat.types.returns)
            self.attributes.update(cat.types.attributes)
            self.items.update(cat.types.items)
            self.annotations.update(cat.types.annotations)
            self.enters.update(cat.types.enters)
            self.fresh.update(cat.types.fresh)
        self.type_names.update(t for t in self.returns.values())
        self.type_names.update(t for t in self.attributes.values())
        self.type_names.update(t for t in self.items.values())
        for typ in self.type_names:
            self.annotations.setdefault(typ, typ)
        self.type_names.update(self.annotations)
        for qual, cat_name in (extra or {}).items():
            cat = self.categories.get(cat_name)
            if cat is None:
                raise ValueError(f"unknown category {cat_name!r} for extra blocking call {qual!r}")
            rule = Rule(code=cat.rules[0].code, message="`{name}` is configured as blocking")
            self._functions[qual] = Match(cat, rule)
        # Longest prefix first so `os.path.*` wins over `os.*`.
        self._wildcards.sort(key=lambda item: -len(item[0]))

    def with_project(self, functions: Mapping[str, Match], methods: Mapping[tuple[str, str], Match],
                     types: Iterable[str], package: str | None, chains: Mapping[str, object] = {}) -> "Catalog":
        """A copy that also knows the run's own blocking functions, methods and classes
        (``asyncfix.project``); ``package``: where the analysed module's relative imports start."""
        view = copy.copy(self)
        for cached in ("_prefixes", "roots"):
            view.__dict__.pop(cached, None)
        view._mentions, view._children = {}, {}
        view._functions = {**self._functions, **functions}
        view._methods = {**self._methods, **methods}
        view.returns = {**self.returns, **{t: t for t in types}}
        view.annotations = {**self.annotations, **{t: t for t in types}}
        view.type_names = self.type_names | set(types)
        view.package = package
        view.chains = chains  # qualified name -> its engine.helpers.Chain, for chains through it
        return view

    def function(self, qual: str) -> Match | None:
        qual = canonical(qual)
        found = self._functions.get(qual)
        if found is not None:
            return found
        for prefix, match in self._wildcards:
            if qual.startswith(prefix):
                tail = qual[len(prefix) :]
                if tail and "." not in tail and not tail.startswith("__") and tail not in match.rule.exclude:
                    return match
        return None

    def enabled(self, rule: Rule) -> bool:
        return rule.default or rule.code in self.opt_in

    def code(self, code: str) -> Match:
        return self._codes[code]

    def evidenced(self, match: Match, evidence: str) -> Match:
        """The match with the evidence that kept it in its message (one rule per evidence)."""
        return self.detailed(match, f" (evidence: {evidence})")

    def detailed(self, match: Match, detail: str) -> Match:
        """The match with ``detail`` after its message (one rule per detail)."""
        key = (match.rule.code, detail)
        found = self._evidenced.get(key)
        if found is None:
            rule = replace(match.rule, message=f"{match.rule.message}{detail}")
            found = self._evidenced[key] = Match(match.category, rule)
        return found

    def method(self, typ: str, name: str) -> Match | None:
        found = self._methods.get((typ, name))
        if found is not None:
            return found
        match = self._any_methods.get(typ)
        if match is not None and not name.startswith("_") and name not in match.rule.exclude:
            return match
        return None

    def blocking_property(self, typ: str, name: str) -> Match | None:
        return self._properties.get((typ, name))

    def names_in_module(self, module: str) -> list[str]:
        """Catalog callables defined directly in ``module``: what `from module import *` binds."""
        prefix = canonical(module) + "."
        keys = list(self._functions) + list(self.returns)
        return sorted({k[len(prefix):] for k in keys if k.startswith(prefix) and "." not in k[len(prefix):]})

    def method_names_in(self, text: str) -> set[str]:
        """The method names that can match in a module's text (a rule that requires an import
        counts only where the module has it)."""
        return {name for name, match in self._method_names.items()
                if imports_module(text, match.rule.requires_import)}

    def named_method(self, name: str) -> Match | None:
        return self._method_names.get(name)

    def result_type(self, key: str) -> str | None:
        """The type returned by calling ``key`` (a qualified function or ``Type.method``)."""
        key = canonical(key)
        found = self.returns.get(key)
        if found is None and "." in key:
            typ, _, name = key.rpartition(".")
            if typ and not name.startswith("_"):
                found = self.returns.get(typ + ".*")
        return found

    def annotation_type(self, qual: str) -> str | None:
        return self.annotations.get(canonical(qual))

    def enter_type(self, typ: str) -> str | None:
        """The type bound by `with <typ instance> as x`."""
        return self.enters.get(typ, typ) or None

    def attribute_type(self, typ: str, name: str) -> str | None:
        return self.attributes.get(f"{typ}.{name}") or (
            None if name.startswith("_") else self.attributes.get(f"{typ}.*")
        )

    @cached_property
    def _prefixes(self) -> frozenset[str]:
        keys = list(self._functions) + [p.rstrip(".") for p, _ in self._wildcards]
        keys += list(self.returns) + list(self.type_names)
        out: set[str] = set()
        for key in keys:
            parts = key.replace(".*", "").split(".")
            out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        return frozenset(out)

    def children(self, qual: str) -> frozenset[str] | None:
        """Attribute names under ``qual`` that lead to catalog entries; None when any attribute
        may (a wildcard such as `cv2.*`)."""
        found = self._children.get(qual)
        if found is None:
            name = canonical(qual)
            if any(prefix == name + "." for prefix, _ in self._wildcards):
                found = self._children[qual] = frozenset({"*"})
            else:
                head = name + "."
                found = self._children[qual] = frozenset(
                    p[len(head):].partition(".")[0] for p in self._prefixes if p.startswith(head))
        return None if "*" in found else found

    @cached_property
    def roots(self) -> frozenset[str]:
        """Top-level module names that lead to catalog entries (aliases included)."""
        return frozenset(p.partition(".")[0] for p in self._prefixes) | _ALIAS_ROOTS

    def mentions(self, qual: str) -> bool:
        """Whether a qualified name is, or leads to, anything the catalog knows."""
        found = self._mentions.get(qual)
        if found is None:
            name = canonical(qual)
            found = self._mentions[qual] = name in self._prefixes or self.function(name) is not None
        return found
