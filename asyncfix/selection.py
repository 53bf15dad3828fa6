"""Which codes a run reports, selected as ruff selects rules.

A selector is a code (`AF121`), a code prefix (`AF12`, `AF`), a category name (`json`) or `ALL`,
in any case. Selections come in layers, the config first, then the command line; in each layer:

- `select` (or `-c/--category`) starts the layer afresh from what it names; without it the layer
  starts from the previous layer's codes (the first starts from the default set);
- `extend-select` adds, `ignore` removes;
- where selectors of one layer disagree on a code the most specific wins (`ALL` < a category <
  a prefix, longer more specific < a full code; a category counts as a little less specific than
  the prefix its codes share, so `json` < `AF12`), and on a tie `ignore` wins.

Opt-in codes are off by default, like ruff's preview rules under `explicit-preview-rules`: only a
`select` or `extend-select` naming the full code turns one on; a prefix, a category or `ALL`
never does. A code is opt-in when its catalog `Rule` has `default=False` (or `opt_in=True`) or it
is in ``OPT_IN``. The catalog is then built with the selected opt-in codes (``Catalog(opt_in=)``):
the engine does not produce their findings otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

OPT_IN: frozenset[str] = frozenset()  # codes made opt-in here rather than on their Rule
_EXACT = 100.0  # specificity of a full code: above any prefix


class SelectionError(ValueError):
    """A selector that names no code, prefix or category; the message is one line."""


@dataclass(frozen=True)
class Layer:
    select: tuple[str, ...] | None = None  # None: keep the previous layer's codes
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


class Universe:
    """Every code of the catalog, by category, and which are opt-in."""

    def __init__(self, catalog, opt_in: Iterable[str] = ()):
        self.by_category: dict[str, tuple[str, ...]] = {}
        codes: dict[str, None] = {}
        marked = set(opt_in) | OPT_IN
        for cat in catalog.categories.values():
            self.by_category[cat.name] = tuple(dict.fromkeys(r.code for r in cat.rules))
            for rule in cat.rules:
                codes[rule.code] = None
                if getattr(rule, "opt_in", False) or getattr(rule, "default", True) is False:
                    marked.add(rule.code)
        self.codes = tuple(codes)
        self.opt_in = frozenset(marked) & frozenset(codes)

    def default(self) -> frozenset[str]:
        return frozenset(self.codes) - self.opt_in

    def resolve(self, selector: str) -> tuple[frozenset[str], float]:
        """The codes a selector names and how specific it is."""
        name = selector.strip()
        if name.upper() == "ALL":
            return frozenset(self.codes), 0.0
        if name.lower() in self.by_category:
            codes = self.by_category[name.lower()]
            return frozenset(codes), len(os.path.commonprefix(list(codes))) - 0.5
        upper = name.upper()
        if upper in self.codes:
            return frozenset({upper}), _EXACT
        matched = frozenset(c for c in self.codes if c.startswith(upper)) if upper else frozenset()
        if matched:
            return matched, float(len(upper))
        if upper.startswith("AF"):
            raise SelectionError(f"unknown code {selector!r}; see `asyncfix categories`")
        raise SelectionError(f"unknown category {selector!r}; known: {', '.join(self.by_category)} "
                             "(or a code such as AF121, or a prefix such as AF12)")


def select_codes(universe: Universe, layers: Iterable[Layer]) -> frozenset[str]:
    """The codes a run reports after applying ``layers`` in order."""
    enabled = set(universe.default())
    for layer in layers:
        on = [universe.resolve(s) for s in (layer.select or ()) + tuple(layer.extend_select)]
        off = [universe.resolve(s) for s in layer.ignore]
        base = set() if layer.select is not None else enabled
        result = set()
        for code in universe.codes:
            exact_only = code in universe.opt_in
            best_on = max((spec for codes, spec in on if code in codes and (spec == _EXACT or not exact_only)),
                          default=-1.0)
            best_off = max((spec for codes, spec in off if code in codes), default=-1.0)
            if best_on < 0 and best_off < 0:
                keep = code in base
            else:
                keep = best_on > best_off
            if keep:
                result.add(code)
        enabled = result
    return frozenset(enabled)
