"""Calling an object whose catalog type lists `__call__` (the engine's support for it), and the ml
category built on it: loading and inference flagged, tokenizers and unknown objects quiet."""

from __future__ import annotations

import textwrap

import pytest

from asyncfix.apply import VerifyError, checked_rewrite
from asyncfix.catalog import Catalog, Category, Doc, Rule, Types
from asyncfix.engine.file import analyze_source

THING = "pkg.Thing"
PROBE = Category(
    name="probe",
    section="-",
    title="probe",
    doc=Doc(what="", why="", example="", instead="", fix_safety=""),
    rules=(
        Rule(code="AF991", message="`{name}` is called", methods={THING: ("__call__",)}),
        Rule(code="AF992", message="`{name}` runs", methods={"pkg.Other": ("*",)}),
    ),
    types=Types(returns={"pkg.make": THING, "pkg.other": "pkg.Other"}),
)


@pytest.fixture(scope="module")
def probe() -> Catalog:
    return Catalog([PROBE])


def found(source: str, catalog: Catalog) -> list[tuple[int, str, str]]:
    source = textwrap.dedent(source)
    fast = analyze_source(source, "m.py", catalog)
    assert fast == analyze_source(source, "m.py", catalog, fast=False)
    return [(f.line, f.code, f.qualname) for f in fast]


def test_calling_an_instance_is_a_method_named_call(probe):
    assert found("""\
        import pkg

        thing = pkg.make()

        class Service:
            def __init__(self):
                self.thing = pkg.make()

            async def run(self, x):
                return self.thing(x)

        class App:
            pass

        app = App()

        async def startup():
            app.thing = await some_loader()
            app.state_thing = pkg.make()

        async def f(x, other: "pkg.Other"):
            local = pkg.make()
            local(x)
            thing(x)
            app.state_thing(x)
            await thing(x)
            pkg.make()(x)
            other(x)
            other.go(x)
        """, probe) == [
        (10, "AF991", "pkg.Thing.__call__"),
        (23, "AF991", "pkg.Thing.__call__"),
        (24, "AF991", "pkg.Thing.__call__"),
        (25, "AF991", "pkg.Thing.__call__"),
        (27, "AF991", "pkg.Thing.__call__"),
        (29, "AF992", "pkg.Other.go"),
    ]


def test_calls_off_the_loop_or_of_unknown_objects_stay_quiet(probe):
    assert found("""\
        import asyncio
        import pkg

        thing = pkg.make()
        thing(1)

        def sync(x):
            return thing(x)

        async def f(x, unknown, other: "pkg.Other"):
            unknown(x)
            other(x)  # "*" is every public method: not a call of the object itself
            await asyncio.to_thread(thing, x)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, thing, x)

            def work():
                return thing(x)

            return await asyncio.to_thread(work)
        """, probe) == []


def test_apply_moves_the_call_of_the_object(probe):
    source = textwrap.dedent("""\
        import pkg

        thing = pkg.make()


        async def f(x):
            result = thing(x, flag=True)
            return result
        """)
    result = checked_rewrite(source, "m.py", probe, {"probe"})
    assert "    result = await asyncio.to_thread(thing, x, flag=True)\n" in result.text
    assert [f.code for f in result.fixed] == ["AF991"]


ML = """\
    import pickle

    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer, MarianMTModel, pipeline

    embedder = SentenceTransformer("all-MiniLM-L6-v2")

    async def f(name, text, client):
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModel.from_pretrained(name).to("cuda").eval()
        inputs = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            out = model(**inputs)
        model.to("cpu")
        clf = pipeline("sentiment-analysis")
        clf(text)
        embedder.encode([text])
        embedder(text)
        client.encode(text)
        tokenizer.decode(out[0])
        MarianMTModel.from_pretrained(name)
        return pickle.load(open(name, "rb"))
    """


def test_ml_loading_and_inference(catalog):
    assert found(ML, catalog) == [
        (10, "AF151", "transformers.PreTrainedTokenizerBase.from_pretrained"),
        (11, "AF151", "transformers.PreTrainedModel.from_pretrained"),
        (14, "AF152", "transformers.PreTrainedModel.__call__"),
        (16, "AF151", "transformers.pipeline"),
        (17, "AF152", "transformers.Pipeline.__call__"),
        (18, "AF152", "sentence_transformers.SentenceTransformer.encode"),
        (22, "AF151", "transformers.PreTrainedModel.from_pretrained"),
        (23, "AF151", "pickle.load"),
        (23, "AF201", "builtins.open"),
    ]


FORWARD = """\
    import torch
    from transformers import AutoModel, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")


    async def f(name, text):
        model = AutoModel.from_pretrained(name)
        with torch.no_grad():
            out = model(**tokenizer(text, return_tensors="pt"))
        clf = pipeline("sentiment-analysis")
        return out.last_hidden_state.numpy(), clf(text)
    """


def test_a_forward_pass_stays_with_its_grad_mode(catalog):
    """`torch.no_grad()` is thread-local: the forward pass cannot move without it."""
    result = checked_rewrite(textwrap.dedent(FORWARD), "m.py", catalog, {"ml"})
    assert [f.line for f in result.unfixable] == [10]
    assert "grad mode is thread-local" in result.unfixable[0].unfixable_reason
    assert "    model = await asyncio.to_thread(AutoModel.from_pretrained, name)\n" in result.text
    assert "        out = model(**tokenizer(text, return_tensors=\"pt\"))\n" in result.text


@pytest.mark.xfail(strict=True, raises=VerifyError, reason=(
    "transforms: two loads merged into one helper return the model untyped, so re-analysis loses "
    "the forward pass that stays (offload's typed_later guards only leads); apply then leaves the "
    "file untouched"))
def test_loads_merged_into_a_helper_keep_the_model_typed(catalog):
    source = textwrap.dedent(FORWARD).replace('    model = AutoModel.from_pretrained(name)\n',
                             '    tok = AutoTokenizer.from_pretrained(name)\n'
                             '    model = AutoModel.from_pretrained(name)\n')
    checked_rewrite(source, "m.py", catalog, {"ml"})


def test_the_moved_call_of_the_object_keeps_its_result_and_frees_the_loop(probe, monkeypatch):
    import asyncio
    import sys
    import time
    import types

    from tests.lag import with_lag

    class Thing:  # a model: calling it works for a while (as torch kernels, off the GIL)
        def __call__(self, x, flag=False):
            time.sleep(0.25)
            return (x * 2, flag)

    fake = types.ModuleType("pkg")
    fake.make = Thing
    monkeypatch.setitem(sys.modules, "pkg", fake)
    source = textwrap.dedent("""\
        import pkg

        thing = pkg.make()


        async def f(x):
            result = thing(x, flag=True)
            return result
        """)
    rewritten = checked_rewrite(source, "m.py", probe, {"probe"}).text
    outcomes = []
    for text in (source, rewritten):
        space: dict = {}
        exec(compile(text, "m.py", "exec"), space)
        outcomes.append(asyncio.run(with_lag(lambda: space["f"](21))))
    (before, lag_before), (after, lag_after) = outcomes
    assert before == after == (42, True)
    assert lag_before > 0.2 and lag_after < 0.1, (lag_before, lag_after)
