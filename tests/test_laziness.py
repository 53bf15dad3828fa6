"""Unit tests for asyncfix.transforms.laziness: blocking calls a moved statement would not run.

In each statement the blocking call is `load(...)`, or the function reference `load` handed to
`map`/`filter` (what the walker reports for `map(open, paths)`).
"""

from __future__ import annotations

import ast
import textwrap

import pytest

from asyncfix.transforms.laziness import lazy_in


def _lazy(src: str) -> bool:
    tree = ast.parse(textwrap.dedent(src))
    stmt = tree.body[0]
    parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
    found = [n for n in ast.walk(stmt) if isinstance(n, ast.Call) and ast.unparse(n.func) == "load"]
    found += [n for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id == "load"
              and not (isinstance(parents[n], ast.Call) and parents[n].func is n)]
    assert len(found) == 1, found
    return lazy_in(stmt, found[0], parents)


@pytest.mark.parametrize("src", [
    pytest.param("gen = (load(p) for p in paths)", id="generator-element"),
    pytest.param("gen = (p for p in paths if load(p))", id="generator-condition"),
    pytest.param("gen = (q for p in paths for q in load(p))", id="generator-second-iterable"),
    pytest.param("gen = ((k, load(p)) for k, p in pairs)", id="nested-in-element"),
    pytest.param("m = map(load, paths)", id="map-function"),
    pytest.param("m = filter(load, paths)", id="filter-function"),
    pytest.param("m = map(lambda p: load(p), paths)", id="map-lambda"),
    pytest.param("x = first(load(p) for p in paths)", id="unknown-callee"),
    pytest.param("x = (list(load(p) for p in ps) for ps in groups)", id="consumed-inside-a-lazy-one"),
    pytest.param("return (load(p) for p in paths)", id="returned"),
    pytest.param("self.gen = (load(p) for p in paths)", id="stored"),
    pytest.param("pairs = enumerate(load(p) for p in paths)", id="enumerate-kept"),
])
def test_lazy(src):
    assert _lazy(src) is True


@pytest.mark.parametrize("src", [
    pytest.param("x = load(p)", id="plain-call"),
    pytest.param("data = [load(p) for p in paths]", id="list-comprehension"),
    pytest.param("data = {p: load(p) for p in paths}", id="dict-comprehension"),
    pytest.param("data = list(load(p) for p in paths)", id="list"),
    pytest.param("data = tuple(load(p) for p in paths if p)", id="tuple-with-condition"),
    pytest.param("total = sum(load(p) for p in paths)", id="sum"),
    pytest.param("ok = any(load(p) for p in paths)", id="any"),
    pytest.param("x = max((load(p) for p in paths), key=len)", id="max-with-key"),
    pytest.param("text = ''.join(load(p) for p in paths)", id="str-join"),
    pytest.param("text = sep.join(load(p) for p in paths)", id="join-method"),
    pytest.param("f.writelines(load(p) for p in paths)", id="writelines"),
    pytest.param("self.items.update(load(p) for p in paths)", id="update"),
    pytest.param("for d in (load(p) for p in paths):\n    pass", id="for-iterable"),
    pytest.param("x = [y for y in (load(p) for p in paths)]", id="comprehension-iterable"),
    pytest.param("print(*(load(p) for p in paths))", id="starred"),
    pytest.param("gen = (p for p in load(root))", id="generator-first-iterable-runs-now"),
    pytest.param("m = list(map(load, paths))", id="list-of-map"),
    pytest.param("m = sorted(filter(load, paths))", id="sorted-of-filter"),
    pytest.param("x = sum(map(load, paths))", id="sum-of-map"),
    pytest.param("m = map(str, load(root))", id="map-iterable-runs-now"),
    pytest.param("x = list(map(lambda p: load(p), paths))", id="list-of-map-lambda"),
    pytest.param("x = [list(load(p) for p in ps) for ps in groups]", id="consumed-inside-list-comprehension"),
    pytest.param("x = sorted(paths, key=load)", id="key-function"),
    # zip and enumerate are as lazy as what they wrap: used up by what uses them up
    pytest.param("x = list(zip(keys, (load(p) for p in paths)))", id="inside-zip"),
    pytest.param("x = {k: v for k, v in zip(keys, (load(p) for p in paths))}", id="zip-in-comprehension"),
    pytest.param("for i, d in enumerate(load(p) for p in paths):\n    pass", id="enumerate-in-for"),
])
def test_not_lazy(src):
    assert _lazy(src) is False


def test_lazy_results_are_used_up_by_len_indexing_and_wrapped_loops():
    """`page.images` (pypdf) decodes where it is iterated, indexed or counted."""
    from asyncfix.transforms.laziness import consumed_in

    for src in ("n = len(page.images)", "first = page.images[0]",
                "for i, e in enumerate(page.images):\n    pass", "pairs = list(zip(names, page.images))"):
        tree = ast.parse(src)
        parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
        images = next(n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "images")
        assert consumed_in(images, tree.body[0], parents), src
    tree = ast.parse("kept = enumerate(page.images)")
    parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
    images = next(n for n in ast.walk(tree) if isinstance(n, ast.Attribute))
    assert not consumed_in(images, tree.body[0], parents)
