"""The json forms of moved calls (transforms/json_forms.py) keep what the caller sees and free
the loop. The golden pair fixtures/apply/json/orjson_forms.py runs both ways on a realistic
checkpoint (files byte for byte, values equal); a 13 MB checkpoint is saved and loaded with the
loop's worst lag measured."""

from __future__ import annotations

import asyncio
import inspect
import json

import pytest

from asyncfix.apply import checked_rewrite
from tests.conftest import FIXTURES
from tests.lag import with_lag
from tests.modules import load, load_file

PAIR = FIXTURES / "apply" / "json" / "orjson_forms.py"


def sample() -> dict:
    """Text in several scripts, nested lists and dicts, floats, ints, booleans, None, int keys."""
    return {"doc": "Rechnung über 12,50 €", "pages": [{"n": i, "text": f"página {i} — 東京", "score": i / 7,
                                                       "ok": i % 2 == 0, "note": None} for i in range(30)],
            "sizes": {1: "small", 2: "large"}, "ratio": 0.1, "big": 2**53, "empty": [], "nested": {"a": {}}}


@pytest.mark.parametrize("entry", [n for n, f in vars(load_file(PAIR, "orjson_entries")).items()
                                   if inspect.iscoroutinefunction(f)])
def test_each_form_keeps_what_the_caller_sees(entry, tmp_path):
    pytest.importorskip("orjson")
    before, after = load_file(PAIR, "json_before"), load_file(PAIR.with_name("orjson_forms.fixed.py"), "json_after")
    data = sample()
    if entry.startswith("save"):
        outs = []
        extra = [{"indent": 1, "ensure_ascii": False}] if "options" in inspect.signature(getattr(before, entry)).parameters else []
        for module, name in ((before, "before.json"), (after, "after.json")):
            asyncio.run(getattr(module, entry)(data, tmp_path / name, *extra))
            outs.append((tmp_path / name).read_bytes())
        assert outs[1] == outs[0]
    elif entry.startswith("load"):
        path = tmp_path / "in.json"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        assert asyncio.run(getattr(after, entry)(path)) == asyncio.run(getattr(before, entry)(path))
    else:
        assert asyncio.run(getattr(after, entry)(data)) == asyncio.run(getattr(before, entry)(data))


def test_the_fair_forms_raise_what_json_raises(tmp_path, catalog):
    source = ("import json\n\n\nasync def parse(raw):\n    data = json.loads(raw)\n    return data\n\n\n"
              "async def encode(document):\n    text = json.dumps(document)\n    return text\n")
    after = load(checked_rewrite(source, "m.py", catalog, {"json"}).text, tmp_path, "fair_errors")
    before = load(source, tmp_path, "fair_errors_before")
    for raw in ('{"a": 1', "\ufeff{}", b'{"x": [1, 2]}', '{"a": NaN}', "[1e400]", 5):
        outcomes = []
        for module in (before, after):
            try:
                outcomes.append(("ok", asyncio.run(module.parse(raw))))
            except Exception as exc:  # noqa: BLE001 - both must raise alike
                outcomes.append((type(exc).__name__, getattr(exc, "pos", None)))
        assert outcomes[1] == outcomes[0], raw
    for value in ({"a": float("nan")}, {"k": {1, 2}}, [1.5, "é", {"b": None}]):
        outcomes = []
        for module in (before, after):
            try:
                outcomes.append(("ok", asyncio.run(module.encode(value))))
            except Exception as exc:  # noqa: BLE001
                outcomes.append((type(exc).__name__, str(exc)))
        assert outcomes[1] == outcomes[0], value


CHECKPOINT = '''\
import json


async def save_checkpoint(checkpoint, path):
    with open(path, "w") as fh:
        fh.write(json.dumps(checkpoint))


async def load_checkpoint(path):
    with open(path) as fh:
        checkpoint = json.loads(fh.read())
    return checkpoint
'''


@pytest.mark.parametrize("json_lib", ["stdlib", "orjson"])
def test_a_13_mb_checkpoint_saved_and_loaded_frees_the_loop(json_lib, tmp_path, catalog):
    """Equal files and data; the rewrite's worst lag under 60 ms (inline: hundreds)."""
    from benchmarks.json_lag import checkpoint

    data = checkpoint(13)
    rewritten = checked_rewrite(CHECKPOINT, "ck.py", catalog, set(catalog.categories), json_lib=json_lib).text
    assert "_json_loads_fair(fh.read())" in rewritten
    results = {}
    for role, text in (("before", CHECKPOINT), ("after", rewritten)):
        module = load(text, tmp_path, f"ck_{role}_{json_lib}")
        path = tmp_path / f"{role}.json"
        _, save_lag = asyncio.run(with_lag(lambda: module.save_checkpoint(data, path)))
        loaded, load_lag = asyncio.run(with_lag(lambda: module.load_checkpoint(path)))
        results[role] = (path.read_bytes(), loaded == data, save_lag, load_lag)
    assert results["after"][:2] == results["before"][:2] and results["after"][1]
    assert results["before"][2] > 0.1 and results["before"][3] > 0.1, results["before"][2:]
    assert results["after"][2] < 0.06 and results["after"][3] < 0.06, results["after"][2:]
