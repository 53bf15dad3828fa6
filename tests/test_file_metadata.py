"""File metadata calls have codes of their own (AF21x: ignore them in one word); path arithmetic
that never touches the disk is not reported (issue 8)."""

from __future__ import annotations

import pytest

from asyncfix.engine.file import analyze_source

HEAD = "import os\nimport os.path\nfrom pathlib import Path\n\n"

CODED = [
    ("os.path.exists(p)", "AF210"),
    ("os.path.isfile(p)", "AF210"),
    ("os.path.isdir(p)", "AF210"),
    ("os.path.lexists(p)", "AF210"),
    ("Path(p).exists()", "AF210"),
    ("Path(p).is_file()", "AF210"),
    ("Path(p).is_dir()", "AF210"),
    ("os.makedirs(p, exist_ok=True)", "AF211"),
    ("os.mkdir(p)", "AF211"),
    ("Path(p).mkdir(parents=True, exist_ok=True)", "AF211"),
    ("Path(p).resolve()", "AF212"),
    ("os.path.realpath(p)", "AF212"),
    # still file I/O, under the old codes
    ("Path(p).read_text()", "AF203"),
    ("os.remove(p)", "AF204"),
    ("os.path.getsize(p)", "AF205"),
]

PURE = ["os.path.abspath(p)", "os.path.relpath(p)", "os.path.normpath(p)", "os.path.join(p, 'a')",
        "Path(p).absolute()", "Path(p) / 'a'", "Path(p).with_suffix('.x')"]


def findings(expr: str, catalog):
    return [f.code for f in analyze_source(f"{HEAD}async def f(p):\n    return {expr}\n", "x.py", catalog)]


@pytest.mark.parametrize("expr, code", CODED, ids=[e for e, _ in CODED])
def test_metadata_codes(expr, code, catalog):
    assert findings(expr, catalog) == [code]


@pytest.mark.parametrize("expr", PURE)
def test_path_arithmetic_is_not_reported(expr, catalog):
    assert findings(expr, catalog) == []


def test_metadata_codes_share_a_prefix_of_their_own(catalog):
    rules = {r.code: r for r in catalog.categories["file-io"].rules}
    meta = sorted(c for c in rules if c.startswith("AF21"))
    assert meta == ["AF210", "AF211", "AF212"]
    assert not any(c.startswith("AF21") for c in rules if c not in meta)


def test_ignore_comment_takes_a_metadata_code(catalog):
    src = f"{HEAD}async def f(p):\n    os.path.exists(p)  # asyncfix: ignore[AF210]\n    os.remove(p)  # asyncfix: ignore[AF210]\n"
    assert [f.code for f in analyze_source(src, "x.py", catalog)] == ["AF204"]
