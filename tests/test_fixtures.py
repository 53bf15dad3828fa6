"""Every catalog entry and context rule, as `# expect:` markers in fixtures/check/*.py."""

from __future__ import annotations

from collections import Counter

import pytest

from asyncfix.catalog import Catalog, default_off_codes
from asyncfix.codemods import CATEGORIES
from asyncfix.engine.file import analyze_bytes
from asyncfix.findings import FileError
from tests.conftest import FIXTURES, expected_markers

CASES = sorted(p for p in (FIXTURES / "check").glob("*.py") if p.name != "broken_syntax.py")


OFF = default_off_codes(CATEGORIES)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_fixture_findings_match_markers(path, catalog):
    """With the default-off codes selected, every marker; without, all but theirs."""
    data = path.read_bytes()
    expected = expected_markers(data.decode())
    result = analyze_bytes(data, path.name, Catalog(CATEGORIES, opt_in=OFF))
    assert not isinstance(result, FileError), result
    assert Counter((f.line, f.code) for f in result) == expected
    default = analyze_bytes(data, path.name, catalog)
    assert Counter((f.line, f.code) for f in default) == Counter(
        {key: n for key, n in expected.items() if key[1] not in OFF})


EVERY_FIXTURE = CASES + sorted(p for folder in ("realistic", "realistic_holdout", "demo_backend")
                               for p in (FIXTURES / folder).rglob("*.py"))


@pytest.mark.parametrize("path", EVERY_FIXTURE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_path_equals_full_parse(path, catalog):
    """Parsing only what can hold a finding must not change a single finding."""
    data = path.read_bytes()
    assert analyze_bytes(data, path.name, catalog, fast=True) == analyze_bytes(
        data, path.name, catalog, fast=False)


def test_every_rule_has_a_positive_case(catalog):
    codes = Counter()
    for path in CASES:
        codes.update(code for _, code in expected_markers(path.read_text()))
    # AF663 needs two modules: tests/test_helpers.py and fixtures/realistic_project hold its cases
    missing = [r.code for c in catalog.categories.values() for r in c.rules
               if not codes[r.code] and r.code != "AF663"]
    assert missing == []


def test_broken_file_is_an_error_not_a_crash(catalog):
    path = FIXTURES / "check" / "broken_syntax.py"
    result = analyze_bytes(path.read_bytes(), path.name, catalog)
    assert isinstance(result, FileError)
    assert result.message.startswith("syntax error")


@pytest.mark.parametrize("source", [
    "import builtins\n\nasync def f(p):\n    return builtins.open(p)\n",
    "class A:\n    def open(self):\n        pass\n\nasync def f(a, user_input):\n    a.open()\n    reopen(user_input)\n",
    "import os\n\nasync def f(p):\n    return os.environ[p]\n",
    "from tempfile import *\n\nasync def f():\n    return mkdtemp()\n",
])
def test_fast_path_equals_full_parse_on_edge_cases(source, catalog):
    from asyncfix.engine.file import analyze_source

    assert analyze_source(source, "x.py", catalog) == analyze_source(source, "x.py", catalog, fast=False)


# The builtin reaches a call only through a call, an assignment or an argument; `request` is a
# urllib3 trigger only where urllib3 is imported; imports may continue over a backslash.
KEPT = [
    ("async def f(p):\n    reader = open\n    return reader(p)\n", "AF201"),
    ("async def f(ps):\n    return list(map(open, ps))\n", "AF201"),
    ("async def f(ps):\n    return sorted(ps, key=open)\n", "AF201"),
    ("async def f(p):\n    o = (\n        open  # the builtin\n    )\n    return o(p)\n", "AF201"),
    ("class A:\n    reader = open\n\n    async def f(self, p):\n        return self.reader(p)\n", "AF201"),
    ("import urllib3\n\nasync def f(http):\n    return http.request('GET', 'u')\n", "AF415"),
    ("async def f(p):\n    import os\n    os.remove(p)\n", "AF204"),
    ("from os import path, \\\n    remove\n\nasync def f(p):\n    remove(p)\n", "AF204"),
]
STUBBED = [
    "import os\n\nasync def f(input: str, open=True):\n    \"\"\"Takes the input to open.\"\"\"\n"
    "    return {'input': input.upper(), 'open': open}\n",
    "import os\n\nasync def f(http):\n    return http.request('GET', 'u')\n",
    "import os\n\nasync def f(p):\n    # the input and the output\n    return p\n",
]


@pytest.mark.parametrize("source, code", KEPT)
def test_fast_path_keeps_what_can_hold_a_finding(source, code, catalog):
    from asyncfix.engine.file import analyze_source

    fast = analyze_source(source, "x.py", catalog)
    assert [f.code for f in fast] == [code]
    assert fast == analyze_source(source, "x.py", catalog, fast=False)


@pytest.mark.parametrize("source", STUBBED)
def test_fast_path_skips_mentions_that_cannot_be_findings(source, catalog):
    from asyncfix.engine.fastpath import reduce_source

    assert reduce_source(source, catalog) is None
