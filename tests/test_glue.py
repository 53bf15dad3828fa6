"""Plain assignments between blocking statements join their helper (asyncfix.transforms.glue)."""

from __future__ import annotations

import ast
import textwrap

import pytest

from asyncfix.apply import checked_rewrite
from asyncfix.transforms.glue import is_glue


@pytest.mark.parametrize("src, glue", [
    ("pages = []", True),
    ("y = 80", True),
    ("first = pages[0]['text'] if pages else ''", True),
    ("a, (b, *rest) = pair", True),
    ("total: int = 0", True),
    ("n += 1", True),
    ("dest = OUT / f'{doc_id}.jpg'", True),
    ("total: int", False),  # binds nothing
    ("self.pages = []", False),  # stored on an object others see
    ("pages[0] = page", False),
    ("n = len(pages)", False),  # calls
    ("rows = [r for r in table]", False),
    ("n = await count()", False),
    ("f = lambda: 1", False),
    ("if x:\n    y = 1", False),
    ("print(x)", False),
])
def test_what_counts_as_glue(src, glue):
    assert is_glue(ast.parse(src).body[0]) is glue


def rewrite(body: str, catalog) -> str:
    source = "import os\nimport pathlib\n\n\nasync def f(d, name):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return checked_rewrite(source, "app.py", catalog, set(catalog.categories)).text


def test_glue_between_blocking_statements_joins_the_helper(catalog):
    assert rewrite("""\
        os.makedirs(d, exist_ok=True)
        path = d + "/" + name
        size = os.path.getsize(path)
        return size
        """, catalog).endswith(
        "async def f(d, name):\n"
        "    size = await asyncio.to_thread(_f_sync, d, name)\n"
        "    return size\n\n\n"
        "def _f_sync(d, name):\n"
        "    os.makedirs(d, exist_ok=True)\n"
        "    path = d + \"/\" + name\n"
        "    size = os.path.getsize(path)\n"
        "    return size\n")


def test_glue_after_the_last_blocking_statement_stays(catalog):
    assert rewrite("""\
        os.makedirs(d, exist_ok=True)
        path = d + "/" + name
        return path
        """, catalog).endswith(
        "async def f(d, name):\n"
        "    await asyncio.to_thread(os.makedirs, d, exist_ok=True)\n"
        "    path = d + \"/\" + name\n"
        "    return path\n")


def test_glue_before_a_statement_that_cannot_move_stays(catalog):
    out = rewrite("""\
        os.makedirs(d, exist_ok=True)
        path = d + "/" + name
        await other(path)
        os.remove(path)
        """, catalog)
    assert "    await asyncio.to_thread(os.makedirs, d, exist_ok=True)\n    path = d + \"/\" + name\n" in out


@pytest.mark.parametrize("src, lead", [
    ("data = {'pages': [stats(p) for p in pages]}", True),
    ("path = checkpoint_path(doc_id)", True),
    ("x: int = f()", True),
    ("n += f()", False),  # reads the old value: kept as glue only
    ("data = await load()", False),
    ("rows = (f(r) for r in table)", False),  # runs where consumed
    ("self.data = f()", False),
])
def test_what_counts_as_a_lead(src, lead):
    from asyncfix.transforms.glue import is_lead

    assert is_lead(ast.parse(src).body[0]) is lead


def test_leads_that_compute_the_runs_inputs_join_its_helper(catalog):
    """The checkpoint shape: the payload built (pure-Python work) right before it is written."""
    assert rewrite("""\
        label = name.upper()
        data = {"name": label, "words": sorted(name.split())}
        unrelated = len(d)
        path = d + "/" + name
        os.makedirs(d, exist_ok=True)
        with open(path, "w") as f:
            f.write(str(data))
        return unrelated
        """, catalog).endswith(
        "async def f(d, name):\n"
        "    label = name.upper()\n"
        "    data = {\"name\": label, \"words\": sorted(name.split())}\n"
        "    unrelated = len(d)\n"
        "    await asyncio.to_thread(_f_sync, d, name, data)\n"
        "    return unrelated\n\n\n"
        "def _f_sync(d, name, data):\n"
        "    path = d + \"/\" + name\n"
        "    os.makedirs(d, exist_ok=True)\n"
        "    with open(path, \"w\") as f:\n"
        "        f.write(str(data))\n")


def test_a_lead_before_a_lone_call_stays(catalog):
    assert rewrite("""\
        path = d + "/" + name
        return os.path.getsize(path)
        """, catalog).endswith(
        "    path = d + \"/\" + name\n"
        "    return await asyncio.to_thread(os.path.getsize, path)\n")


def test_a_lead_whose_typed_value_a_later_call_uses_stays(catalog):
    """`p = Path(d)` returned from a helper would lose its type, and `p.glob()` after it (which
    stays: a lazy iterator) would no longer be found."""
    out = rewrite("""\
        p = Path(d)
        size = p.stat().st_size
        os.makedirs(d, exist_ok=True)
        found = p.glob("*")
        return size, found
        """.replace("p = Path(d)", "p = pathlib.Path(d)"), catalog)
    assert "    p = pathlib.Path(d)\n    size = await asyncio.to_thread(_f_sync, d, p)\n" in out


def test_a_run_that_its_leads_stop_moves_without_them(catalog):
    """`n` may be unbound where the lead starts: the run then moves as it would without it."""
    out = rewrite("""\
        try:
            n = d.pop()
        except IndexError:
            pass
        path = "/" + n
        a = os.path.getsize(path)
        b = os.path.getsize(path + "x")
        return a + b
        """, catalog)
    assert out.endswith(
        "    path = \"/\" + n\n"
        "    a, b = await asyncio.to_thread(_f_sync, path)\n"
        "    return a + b\n\n\n"
        "def _f_sync(path):\n"
        "    a = os.path.getsize(path)\n"
        "    b = os.path.getsize(path + \"x\")\n"
        "    return a, b\n")
