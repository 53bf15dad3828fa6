"""`check` and `apply` agree: a finding `check` calls fixable is one `apply` moves off the loop,
and every other finding `check` reports is one `apply` leaves, with the same reason. Walks every
fixture file through both commands' own code paths (check's workers and cache, apply's file
reader), with the default selection and with one narrower selection."""

from __future__ import annotations

import json

import pytest

from asyncfix.apply import apply_file
from asyncfix.cache import Cache
from asyncfix.catalog import Catalog
from asyncfix.codemods import CATEGORIES
from asyncfix.project import linked
from asyncfix.runner import check_files
from asyncfix.selection import Universe, select_codes
from tests.conftest import FIXTURES

FILES = sorted(str(p) for p in FIXTURES.rglob("*.py") if not p.name.endswith(".fixed.py"))


def _key(f) -> tuple:
    return (f.path, f.line, f.column, f.code)


def _agreement(codes: frozenset[str], universe: frozenset[str] | None = None) -> tuple[dict, dict]:
    catalog = Catalog(CATEGORIES)
    checked = check_files(FILES, str, {}, 1, Cache(None, {}), codes=codes, universe=universe)
    check = {_key(f): f.unfixable_reason for f in checked.findings if f.code in codes}
    apply: dict = {}
    for path in FILES:
        result = apply_file(path, path, catalog, set(codes), write=False, line_length=88,
                            universe=set(universe) if universe is not None else None)
        if result.error:  # a file apply refuses: every finding check reports there is left
            apply.update({k: "refused" for k in check if k[0] == path})
        apply.update({_key(f): None for f in result.fixed})
        apply.update({_key(f): f.unfixable_reason for f in result.unfixable})
    # the project's helpers in other modules: `apply` reports them after its files, as left
    if "AF663" in codes:
        apply.update({_key(f): f.unfixable_reason for f in linked(FILES, str, Catalog(CATEGORIES, opt_in=codes))
                      if f.code in codes and _key(f) not in apply})
    return check, apply


@pytest.mark.parametrize("selection, planned", [(["ALL"], None), (["json", "AF2"], None), (["file-io"], ["ALL"])],
                         ids=["default", "json+AF2", "file-io of all (as apply -c plans)"])
def test_check_says_fixable_exactly_where_apply_fixes(selection, planned):
    codes = frozenset(select_codes(Universe(Catalog(CATEGORIES)), [_layer(selection)]))
    universe = frozenset(select_codes(Universe(Catalog(CATEGORIES)), [_layer(planned)])) if planned else None
    check, apply = _agreement(codes, universe)
    assert check, "the fixtures have findings"
    fixable = {k for k, reason in check.items() if reason is None}
    # a run moves whole with its category: other categories' calls in it move along, unasked
    fixed = {k for k, reason in apply.items() if reason is None and k[3] in codes}
    assert fixable == fixed
    left = {k: r for k, r in check.items() if r is not None and apply.get(k) != "refused"}
    assert left == {k: r for k, r in apply.items() if r is not None and r != "refused" and k in check}


def _layer(selection):
    from asyncfix.selection import Layer

    return Layer(tuple(selection), (), ())


def test_check_json_carries_apply_s_reason(cli, tmp_path):
    # a check-then-act: check must not call it fixable, and must say why, as apply does
    (tmp_path / "m.py").write_text(
        "import json\n\nCACHE = {}\n\n\n"
        "async def load(key, path):\n"
        "    if key not in CACHE:\n"
        "        with open(path) as fh:\n"
        "            CACHE[key] = json.load(fh)\n"
        "    return CACHE[key]\n")
    out = cli("check", "--no-cache", "--show-fixes", "--format", "json", tmp_path)
    findings = json.loads(out.stdout)["findings"]
    split = ("a thread hop here would let another call change `CACHE` between its check and its "
             "update (they run without an await between them today)")
    assert [(f["code"], f["line"], f["fixable"], f["unfixable_reason"]) for f in findings] == [
        ("AF201", 8, False, split),
        ("AF121", 9, False, "it writes `CACHE`, state that other calls share: the loop must make "
                            "that write; alone, " + split),
    ]
    assert "(0 fixable, 2 unfixable)" in cli("check", "--no-cache", "--show-fixes", tmp_path).stdout
    # without --show-fixes nothing is planned, and check makes no claim apply could contradict
    plain = json.loads(cli("check", "--no-cache", "--format", "json", tmp_path).stdout)
    assert [f["fixable"] for f in plain["findings"]] == [None, None]
    assert (plain["summary"]["fixable"], plain["summary"]["unfixable"]) == (None, 0)
    assert cli("check", "--no-cache", tmp_path).stdout.splitlines()[-1] == (
        "Found 2 blocking calls on the event loop in 1 file checked "
        "(--show-fixes says which `asyncfix apply` fixes).")
