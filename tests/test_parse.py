"""New syntax from any Python 3.8-3.14 parses on this interpreter, with exact positions."""

from __future__ import annotations

import ast
import sys

import pytest

from asyncfix.engine.file import analyze_source
from asyncfix.engine.mask import mask_for_ast
from asyncfix.engine.parse import parse

NEW = '''\
import json, time

async def f[T](x: T) -> T:
    y = f"{json.dumps(x["a"])!r:>{w}} {time.sleep(1)}" f'{a}' "z"
    type Alias[K] = dict[K,
        int]
    try:
        pass
    except* ValueError:
        pass
    try:
        pass
    except A, B:
        pass
    return t"{open(p)}"
'''


def test_mask_keeps_length_and_lines():
    masked = mask_for_ast(NEW)
    assert len(masked) == len(NEW)
    assert masked.count("\n") == NEW.count("\n")
    ast.parse(masked)


def test_masked_text_is_exact():
    assert mask_for_ast(NEW).splitlines()[2:5] == [
        "async def f   (x: T) -> T:",
        '    y = (  json.dumps(x["a"]),    w,   time.sleep(1),) (  a,)    ',
        "    pass                   ",
    ]


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this interpreter parses it natively")
def test_calls_inside_new_syntax_keep_their_positions():
    from asyncfix.catalog import Catalog
    from asyncfix.codemods import CATEGORIES

    every = Catalog(CATEGORIES, opt_in={"AF123"})  # the json call shows no size: AF123
    found = [(f.line, f.column, f.code) for f in analyze_source(NEW, "new.py", every)]
    assert found == [(4, 12, "AF123"), (4, 40, "AF501"), (15, 15, "AF201")]


def test_real_syntax_errors_still_raise():
    with pytest.raises(SyntaxError):
        parse("async def f(:\n    pass\n")


def test_bom_crlf_and_form_feed_positions(catalog):
    text = "\ufeffimport time\r\n\x0c\r\nasync def f():\r\n    x = 'é'; time.sleep(1)\r\n"
    data = text.encode("utf-8")
    from asyncfix.engine.file import analyze_bytes
    [finding] = analyze_bytes(data, "x.py", catalog)
    assert (finding.line, finding.column, finding.end_column) == (4, 14, 27)
