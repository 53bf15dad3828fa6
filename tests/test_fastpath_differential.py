"""Differential test of the fast path (asyncfix.engine.fastpath) against the full parse.

The fast path cuts a module into blocks by scanning text for lines that start a statement; text
inside literals and comments must not fool it. Hypothesis takes the fixture programs and inserts,
before statements of every kind and depth (module, class and function bodies, decorated defs),
literals and comments that look like code to a line scan: triple-quoted strings (plain, raw,
f-strings, bytes, docstrings) whose lines start at column 0 or at a member's indentation, strings
in decorators and in nested functions and classes, backslash continuations, comments holding
`async def`, quotes or a trailing backslash. Four programs in five first keep a single top-level
function or class (with the module-level code): in a whole fixture some other block is usually
parsed anyway, and a wrong cut then only breaks the reduced text's syntax (which falls back to the
full parse) instead of losing findings. Every mutated program must give exactly the findings of
the full parse. The budget is fixed and derandomized (under 10 s on an idle machine); on the
engine before the scan knew about literals, one program in seven to ten lost findings.
"""

from __future__ import annotations

import ast
import functools

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from asyncfix.engine.file import analyze_source
from asyncfix.engine.fastpath import reduce_source
from asyncfix.engine.parse import parse
from tests.conftest import FIXTURES

EXAMPLES = 200

PATHS = sorted(p for p in (FIXTURES / "check").glob("*.py") if p.name != "broken_syntax.py") + sorted(
    p for folder in ("realistic", "realistic_holdout", "realistic_clients", "realistic_project", "demo_backend") for p in (FIXTURES / folder).rglob("*.py"))
SOURCES = {p.relative_to(FIXTURES).as_posix(): p.read_text("utf-8") for p in PATHS}
SOURCES = {name: text for name, text in SOURCES.items() if "async def" in text}

# Lines that a text scan may take for code, a decorator, a member head or a closing bracket.
LITERAL_LINES = [
    "Answer the question below.", "", "def fake(self):", "async def fake():", "class Fake:",
    "@fake", "import time", "time.sleep(1)", "x = 1", ")", "]", "# async def in a string",
    "    def member(self):", "    async def member(self):", "    @property", "    return 1",
    "        def nested(self):", "He said 'hi'", 'and "bye"', "trailing backslash \\", "{0} and {{braces}}",
    "\tTabbed: {0}",
]
PREFIXES = ["", "r", "b", "rb", "Rb", "f", "fr", "F", "u", "B"]
QUOTES = ['"""', "'''"]
COMMENTS = ["# async def fake():", "# a comment that ends with a backslash \\", '# """ opens nothing',
            "# it's", "#async def", "# class Fake: pass"]


@functools.lru_cache(maxsize=None)
def statement_starts(text: str) -> list[tuple[int, str, bool]]:
    """(line index, indentation, starts a def or class) of every line a new statement may be
    inserted before: the first line of a statement (its first decorator) alone at its indent."""
    lines = text.split("\n")
    out = set()
    for node in ast.walk(parse(text, "x.py")):
        if not isinstance(node, ast.stmt):
            continue
        decorators = getattr(node, "decorator_list", [])
        first = min([d.lineno for d in decorators] + [node.lineno])
        line = lines[first - 1]
        indent = line[: len(line) - len(line.lstrip())]
        previous = lines[first - 2] if first > 1 else ""
        elif_branch = line.lstrip().startswith("elif")  # an If node, but nothing goes before it
        if len(indent) == node.col_offset and not elif_branch and not previous.rstrip().endswith("\\"):
            out.add((first - 1, indent, isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))))
    return sorted(out)


@st.composite
def multiline_strings(draw) -> str:
    """A multi-line string literal whose lines start anywhere, column 0 included."""
    prefix, quote = draw(st.sampled_from(PREFIXES)), draw(st.sampled_from(QUOTES))
    body = "\n".join(draw(st.lists(st.sampled_from(LITERAL_LINES), min_size=1, max_size=5)))
    if draw(st.booleans()):
        body = "\n" + body + "\n"  # the quotes on lines of their own, as prompt templates have them
    if body.endswith(("\\", '"', "'")):
        body += "."  # would escape or merge with the closing quotes
    return f"{prefix}{quote}{body}{quote}"


@st.composite
def snippets(draw, indent: str, at_def: bool) -> str:
    """Statements (with their indentation) to insert before a statement indented by ``indent``."""
    inner = indent + "    "
    kinds = ["docstring", "assign", "call", "function", "class", "continuation", "string_continuation",
             "comment", "column0_comment"] + (["decorator"] * 3 if at_def else [])
    kind = draw(st.sampled_from(kinds))
    text = draw(multiline_strings())
    if kind == "docstring":
        return f"{indent}{text}\n"
    if kind == "assign":
        return f"{indent}_prompt = {text}\n"
    if kind == "call":
        return f"{indent}_unused = str({text},\n{indent}    0)\n"
    if kind == "function":
        return f"{indent}def _helper(_d={draw(multiline_strings())}):\n{inner}{text}\n{inner}return _d\n"
    if kind == "class":
        return f"{indent}class _Holder:\n{inner}{text}\n{inner}_x = {draw(multiline_strings())}\n"
    if kind == "continuation":
        return f"{indent}_joined = 1 + \\\n{draw(st.sampled_from(['2', '(3)', 'len([])']))}\n"
    if kind == "string_continuation":
        return f"{indent}_joined = 'head \\\n{draw(st.sampled_from(['def x():', 'class Y:', '@z', 'tail']))}'\n"
    if kind == "comment":
        return f"{indent}{draw(st.sampled_from(COMMENTS))}\n"
    if kind == "column0_comment":
        return f"{draw(st.sampled_from(COMMENTS))}\n"
    return f"{indent}@_mark({text})\n"


@functools.lru_cache(maxsize=None)
def top_level_defs(text: str) -> list[tuple[int, int]]:
    """(first line index, end line index) of each top-level function and class, decorators
    included."""
    out = []
    for node in parse(text, "x.py").body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append((min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1, node.end_lineno))
    return out


@functools.lru_cache(maxsize=None)
def sliced(text: str, kept: int) -> str:
    """The module with one top-level function or class kept and the others dropped: a mutation
    then decides alone whether anything is parsed (in a whole fixture another block usually is)."""
    lines = text.split("\n")
    for index, (first, end) in reversed(list(enumerate(top_level_defs(text)))):
        if index != kept:
            del lines[first:end]
    return "\n".join(lines)


@st.composite
def mutated_programs(draw) -> str:
    text = SOURCES[draw(st.sampled_from(sorted(SOURCES)))]
    if draw(st.integers(0, 4)):  # mostly sliced: see the module docstring
        text = sliced(text, draw(st.integers(0, len(top_level_defs(text)) - 1)))
    starts = statement_starts(text)
    chosen = draw(st.lists(st.sampled_from(starts), min_size=1, max_size=4, unique=True))
    lines = text.split("\n")
    for index, indent, at_def in sorted(chosen, reverse=True):  # bottom up: indexes stay valid
        lines.insert(index, draw(snippets(indent, at_def)).rstrip("\n"))
    return "\n".join(lines)


def findings(text: str, catalog, fast: bool) -> list:
    return analyze_source(text, "x.py", catalog, fast=fast)


def lines_and_codes(text: str, catalog) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in findings(text, catalog, fast=True)]


@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          phases=[Phase.explicit, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(mutated_programs())
def test_fast_path_equals_full_parse_on_mutated_fixtures(catalog, text):
    full = findings(text, catalog, fast=False)  # also proves the mutated program parses
    assert findings(text, catalog, fast=True) == full, text


def test_mutations_reach_every_kind_of_place():
    """The generator inserts into class bodies, function bodies and before decorated defs."""
    kinds = set()
    for text in SOURCES.values():
        for _, indent, at_def in statement_starts(text):
            kinds.add(("nested" if indent else "top", at_def))
    assert kinds == {("top", True), ("top", False), ("nested", True), ("nested", False)}


PROMPT_TEMPLATE = '''\
import time

import requests


class Agent:
    """Answers questions."""

    SYSTEM = """You are a helpful assistant.
Answer in one sentence.

Question: {question}
"""

    def helper(self):
        return 1

    async def ask(self, question):
        time.sleep(1)
        return requests.get("https://example.com", params={"q": question})
'''


def test_prompt_template_in_class_keeps_the_methods_after_it(catalog):
    """A class-level template with lines at column 0 must not end the class for the block scan."""
    assert findings(PROMPT_TEMPLATE, catalog, fast=True) == findings(PROMPT_TEMPLATE, catalog, fast=False)
    assert lines_and_codes(PROMPT_TEMPLATE, catalog) == [
        (19, "AF501"), (20, "AF411")]


def test_prompt_template_stays_on_the_fast_path(catalog):
    """The fix is not a blanket fallback: the unrelated helper is still stubbed out."""
    reduced = reduce_source(PROMPT_TEMPLATE, catalog)
    assert reduced is not None and reduced != PROMPT_TEMPLATE
    assert "return 1" not in reduced and "time.sleep(1)" in reduced
    assert len(reduced.split("\n")) == len(PROMPT_TEMPLATE.split("\n"))


@pytest.mark.parametrize("source", [
    # A comment ending in a backslash continues nothing (the old scan took `async def f` for the
    # continuation of the comment's line and found no block: the finding was lost).
    "import time\n\n# C:\\\nasync def f():\n    time.sleep(1)\n",
    # A template at column 0 in a class nested in a coroutine (lost by the old scan too).
    'import time\n\n\nasync def f():\n    class Holder:\n        template = """\n<b>{name}</b>\n"""\n'
    "    time.sleep(1)\n",
    # A decorator line and a def line inside strings are not heads.
    'import time\n\n\ndef helper(d="""Usage:\n@app.get("/")"""):\n    return d\n\n\nasync def f():\n'
    "    time.sleep(1)\n",
    'import time\n\nT = """\ndef fake():\n    """\nasync def f():\n    time.sleep(1)\n',
    # `async def` only in a comment: nothing to report, nothing to lose.
    "import time\n\n# async def f():\ndef g():\n    time.sleep(1)\n",
])
def test_fast_path_equals_full_parse_on_literal_edge_cases(source, catalog):
    assert findings(source, catalog, fast=True) == findings(source, catalog, fast=False)


LOOSE_COROUTINE = """\
import os
import sys

if sys.platform == "win32":
    async def listing(base):
        return os.listdir(base)
else:
    class Lister:
        async def listing(self, base):
            return sorted(os.listdir(base))
"""


def test_coroutine_in_module_level_code_is_parsed(catalog):
    """No top-level function or class holds these coroutines: the block scan kept nothing and
    the fast path reported nothing (found with fixtures/fuzz_found/f12_0_*.py)."""
    assert lines_and_codes(LOOSE_COROUTINE, catalog) == [(6, "AF204"), (10, "AF204")]


def test_fast_path_equals_full_parse_on_every_fixture(catalog):
    """Every fixture as it is, the before/after pairs and fuzz-found programs included."""
    differ = []
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text("utf-8")
        try:
            full = findings(text, catalog, fast=False)
        except SyntaxError:
            continue
        if findings(text, catalog, fast=True) != full:
            differ.append(path.relative_to(FIXTURES).as_posix())
    assert differ == []


def test_line_the_scan_cannot_read_sends_the_file_to_the_full_parse(catalog):
    """Python 3.12 f-strings may hold their own quotes: the scan cannot tell where such a string
    ends, so it does not cut the file at all."""
    source = 'import time\n\nX = f"{"""\ncol0\n"""}"\n\n\nasync def f():\n    time.sleep(1)\n'
    assert reduce_source(source, catalog) == source
    assert lines_and_codes(source, catalog) == [(9, "AF501")]


DOCSTRING_EXAMPLE = '''\
import sqlite3


class Base:
    """Usage:

        def handler(self):
            ...
    """

    conn: sqlite3.Connection

    def close(self):
        self.conn.close()


class Repo(Base):
    def helper(self):
        return 2

    async def get(self, key):
        return self.conn.execute("SELECT 1").fetchone()
'''


def test_example_in_a_docstring_does_not_set_the_member_indentation(catalog):
    """An indented `def` in a class docstring is not a member: taken for one, it hid the class
    attribute `conn` and `Repo.get` was stubbed out. Methods that cannot matter still are."""
    assert lines_and_codes(DOCSTRING_EXAMPLE, catalog) == [(22, "AF302")] * 2
    assert findings(DOCSTRING_EXAMPLE, catalog, fast=True) == findings(DOCSTRING_EXAMPLE, catalog, fast=False)
    assert "return 2" not in reduce_source(DOCSTRING_EXAMPLE, catalog)


def test_base_class_without_methods_keeps_its_attributes(catalog):
    """A base class with only class-level attributes: they type `self.conn` in the subclass."""
    source = DOCSTRING_EXAMPLE.replace("\n    def close(self):\n        self.conn.close()\n", "")
    assert lines_and_codes(source, catalog) == [(19, "AF302")] * 2


# Each case: the fast path must report exactly what the full parse does (a finding in each).
SERVICE_INSTANCE = '''\
import asyncio
import sqlite3


class Services:
    def __init__(self, path):
        self.db = sqlite3.connect(path)


async def startup():
    services = await asyncio.to_thread(Services, "app.db")
    services.db.execute("select 1")


async def handler(svc: Services):
    return svc.db.execute("select 2").fetchall()
'''

GENERIC_BASE = '''\
from typing import Generic, TypeVar

T = TypeVar("T")


class Base(Generic[T]):
    def _error(self, path):
        with open(path) as fh:
            return fh.read()


class AsyncClient(Base[int]):
    async def request(self, path):
        raise ValueError(self._error(path))
'''

DECLARED_ATTRIBUTE = '''\
import socket


class Wakeup:
    def __init__(self):
        self.sock: socket.socket
        self.count: int
        self.sock, self.other = socket.socketpair()

    def drain(self):
        self.sock.recv(1)

    async def wait(self):
        self.drain()
'''


@pytest.mark.parametrize("source", [SERVICE_INSTANCE, GENERIC_BASE, DECLARED_ATTRIBUTE],
                         ids=["instance-of-a-module-class", "subscripted-base-class", "declared-attribute"])
def test_fast_path_follows_instances_generic_bases_and_declared_attributes(source, catalog):
    """Once missed by the fast path alone: an instance of a module class holding a catalog object
    (made by `to_thread(Services)` or annotated `svc: Services`), a base class written
    `Base[int]`, an attribute declared `self.sock: socket.socket` or set from a tuple (three
    corpus findings, and a labelled one in realistic_clients that only an accident kept)."""
    full = findings(source, catalog, fast=False)
    assert full and findings(source, catalog, fast=True) == full


INPUT_PARAMETER = '''\
import json  # an import the finder knows, so the module is scanned


async def invoke(self, input, config=None):
    return await self.run(input=input, config=config)


async def ask():
    return input("name? ")
'''


def test_input_named_as_a_parameter_is_not_the_builtin(catalog):
    """`input=input` passes the parameter: that coroutine is stubbed; the builtin call is kept."""
    reduced = reduce_source(INPUT_PARAMETER, catalog)
    assert "self.run" not in reduced and 'input("name? ")' in reduced
    assert lines_and_codes(INPUT_PARAMETER, catalog) == [(9, "AF601")]


MIXIN = '''\
import time


class Commands:
    def ping(self):
        return self.execute("PING")

    def nap(self):
        time.sleep(1)


class Client(Commands):
    async def run(self):
        self.nap()
'''


def test_a_base_class_keeps_only_the_members_its_subclasses_use(catalog):
    reduced = reduce_source(MIXIN, catalog)
    assert 'self.execute("PING")' not in reduced and "time.sleep(1)" in reduced
    assert findings(MIXIN, catalog, fast=True) == findings(MIXIN, catalog, fast=False) != []
