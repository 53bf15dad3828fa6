from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asyncfix.catalog import Catalog
from asyncfix.cli import app
from asyncfix.codemods import CATEGORIES

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(CATEGORIES)


def expected_markers(text: str, pattern: str = r"#\s*expect:\s*([A-Za-z0-9, -]+)") -> Counter:
    """`# expect: AF301, AF302` (or category names) on a line: the findings that line must get."""
    out: Counter = Counter()
    for number, line in enumerate(text.splitlines(), 1):
        found = re.search(pattern, line)
        if found:
            out.update((number, item.strip()) for item in found.group(1).split(",") if item.strip())
    return out


class Cli:
    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args: str):
        return self.runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture(scope="session")
def http_server():
    """A loopback HTTP server for the http rewrite's behaviour tests (tests/http_server.py)."""
    from tests.http_server import serving

    with serving() as server:
        yield server
