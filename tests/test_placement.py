"""Unit tests for asyncfix.transforms.placement: helper names, anchors and annotations."""

from __future__ import annotations

import ast
import textwrap

import pytest

from asyncfix.transforms.placement import (anchor, annotation_fits, future_annotations, helper_base,
                                           module_names_before)


@pytest.mark.parametrize(("class_names", "func_name", "expected"), [
    pytest.param([], "fetch", "_fetch_sync", id="module-level"),
    pytest.param(["Store"], "save", "_Store_save_sync", id="method"),
    pytest.param(["Store"], "__save", "_Store_save_sync", id="private-method"),
    pytest.param(["Store"], "_save", "_Store_save_sync", id="protected-method"),
    pytest.param(["Outer", "Inner"], "run", "_Outer_Inner_run_sync", id="nested-classes"),
    pytest.param(["_Private"], "_load", "_Private_load_sync", id="private-class"),
    pytest.param(["__Hidden__"], "__aenter__", "_Hidden_aenter_sync", id="dunders"),
    pytest.param([], "__fetch", "_fetch_sync", id="module-level-double-underscore"),
])
def test_helper_base(class_names, func_name, expected):
    assert helper_base(class_names, func_name) == expected


@pytest.mark.parametrize(("class_names", "func_name"), [
    (["Store"], "__save"), (["__A"], "__b"), (["_"], "x"), (["A"], "___x"), (["__"], "__x")])
def test_helper_base_never_mangled_inside_a_class(class_names, func_name):
    name = helper_base(class_names, func_name)
    assert not name.startswith("__")
    assert name.isidentifier()


# -- anchor -------------------------------------------------------------------------------------

MODULE = textwrap.dedent('''\
    import asyncio

    @decorator
    async def top():
        pass

    class Store:
        class Inner:
            async def deep(self):
                pass

        async def save(self):
            pass

    def outer():
        async def nested():
            pass
        return nested

    try:
        async def guarded():
            pass
    except ImportError:
        pass

    if __name__ == "__main__":
        x = 1

        async def main():
            pass

        asyncio.run(main())
''')


def _anchor(name: str) -> tuple[int, bool]:
    tree = ast.parse(MODULE)
    starts = [0]
    for line in MODULE.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    func = next(n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef) and n.name == name)
    return anchor(tree, func, starts, lambda lineno: starts[lineno])


@pytest.mark.parametrize(("name", "follows", "before"), [
    pytest.param("top", "\n\nclass Store:", False, id="top-level-def-after-it"),
    pytest.param("save", "\n\ndef outer():", False, id="method-after-its-class"),
    pytest.param("deep", "\n\ndef outer():", False, id="nested-class-after-outermost-class"),
    pytest.param("nested", "\n\ntry:", False, id="nested-def-after-outer-def"),
    pytest.param("guarded", "try:", True, id="inside-try-before-it"),
    pytest.param("main", 'if __name__ == "__main__":', True, id="inside-main-block-before-it"),
])
def test_anchor(name, follows, before):
    offset, got_before = _anchor(name)
    assert got_before is before
    # after a def: the start of the line after its last line; before a statement: its start
    expected = MODULE.index(follows) + (1 if follows.startswith("\n") else 0)
    assert offset == expected


def test_anchor_after_def_is_right_after_its_last_line():
    offset, _ = _anchor("top")
    assert MODULE[:offset].endswith("async def top():\n    pass\n")
    assert MODULE[offset:].startswith("\nclass Store:")


# -- names before a line ------------------------------------------------------------------------

def test_module_names_before():
    tree = ast.parse(textwrap.dedent("""\
        import os.path as p, sys
        import xml.etree.ElementTree
        from x import *
        from a.b import c as d, e
        A, (B, C) = 1, (2, 3)
        X: int = 1
        def f():
            pass
        class K:
            pass
        async def g():
            pass
        if True:
            HIDDEN = 1
        LATE = 2
        Handler: type
    """))
    assert "Handler" not in module_names_before(tree, 18)  # annotated, never assigned
    assert module_names_before(tree, 15) == {"p", "sys", "xml", "d", "e", "A", "B", "C", "X", "f", "K", "g"}
    assert module_names_before(tree, 16) == module_names_before(tree, 15) | {"LATE"}
    assert module_names_before(tree, 1) == frozenset()
    assert module_names_before(tree, 3) == {"p", "sys", "xml"}


# -- annotations --------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("from __future__ import annotations\n", True),
    ('"""doc"""\nfrom __future__ import annotations, division\n', True),
    ("from __future__ import division\n", False),
    ("import __future__\n", False),
    ("from future import annotations\n", False),
    ("if x:\n    from __future__ import annotations\n", False),
    ("", False),
])
def test_future_annotations(source, expected):
    assert future_annotations(ast.parse(source)) is expected


@pytest.mark.parametrize(("ann", "lazy", "known", "expected"), [
    pytest.param("int", False, set(), True, id="builtin"),
    pytest.param("dict[str, list[int]]", False, set(), True, id="builtin-generic"),
    pytest.param("Path", False, set(), False, id="unknown-name"),
    pytest.param("Path", False, {"Path"}, True, id="known-name"),
    pytest.param("Path", True, set(), True, id="unknown-with-future-annotations"),
    pytest.param("'Path'", False, set(), True, id="string-annotation"),
    pytest.param("list[Path]", False, set(), False, id="unknown-inside-generic"),
    pytest.param("list[Path]", False, {"Path"}, True, id="known-inside-generic"),
    pytest.param("os.PathLike", False, {"os"}, True, id="attribute-of-known-module"),
    pytest.param("os.PathLike", False, set(), False, id="attribute-of-unknown-module"),
    pytest.param("Path | None", False, {"Path"}, True, id="union-with-none"),
    pytest.param("Path | Store", False, {"Path"}, False, id="union-with-unknown"),
    pytest.param("Optional['Store']", False, {"Optional"}, True, id="string-inside-generic"),
    pytest.param("Optional[Store]", True, set(), True, id="lazy-anything"),
])
def test_annotation_fits(ann, lazy, known, expected):
    node = ast.parse(ann, mode="eval").body
    assert annotation_fits(node, lazy, frozenset(known)) is expected
