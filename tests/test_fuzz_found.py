"""Every difference the differential fuzzer found, kept: fixtures/fuzz_found/<case>.py is
rewritten to exactly <case>.fixed.py, and the original and the rewrite behave the same (run in a
worker process on identical inputs, as the fuzzer runs them: result, exception, files, arguments,
`self`, globals, context variables; a hang fails; the order in which concurrent calls finish is
not compared, as the README documents)."""

from __future__ import annotations

import re

import pytest

from asyncfix.apply import checked_rewrite
from tests.conftest import FIXTURES
from tests.difffuzz.grammar import Program
from tests.difffuzz.pool import Pool
from tests.difffuzz.report import status
from tests.test_fuzz import DOCUMENTED, UNORDERED, explain

CASES = sorted(p for p in (FIXTURES / "fuzz_found").glob("*.py") if not p.name.endswith(".fixed.py"))
HEADER = re.compile(r"^# entry: (\S+), concurrency: (\d+)$", re.M)


@pytest.fixture(scope="module")
def pool():
    # As the fuzz test compares: the README's documented limits accepted (concurrent calls may
    # finish in another order), every other difference counted.
    with Pool(jobs=1, timeout=8.0, documented=DOCUMENTED, unordered=UNORDERED) as workers:
        yield workers


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_found_case(path, catalog, pool):
    source = path.read_text()
    expected = path.with_name(path.stem + ".fixed.py").read_text()
    result = checked_rewrite(source, path.name, catalog, set(catalog.categories))
    assert (result.text or source) == expected
    entry, concurrency = HEADER.search(source).groups()
    report = pool.run_one({"program": Program(source, entry, int(concurrency)).to_dict()})
    assert status(report) in ("same", "unchanged"), explain(report)
