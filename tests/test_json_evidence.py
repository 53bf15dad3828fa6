"""json reports evidence of a big payload by default; the rest is the opt-in AF123 (issue 8).

Each case names the evidence a kept finding carries, or why a dropped one has none; the fixture
tables list every json finding of the realistic backends with the evidence used."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncfix.apply import checked_rewrite
from asyncfix.catalog import Catalog, default_off_codes
from asyncfix.codemods import CATEGORIES
from asyncfix.engine.file import analyze_source
from tests.conftest import FIXTURES

HEAD = "import json\nimport asyncio\nfrom pydantic import BaseModel\n\n"


@pytest.fixture(scope="module")
def opted_in() -> Catalog:
    return Catalog(CATEGORIES, opt_in={"AF123"})


def json_findings(source: str, catalog: Catalog):
    return [f for f in analyze_source(HEAD + source, "x.py", catalog) if f.category == "json"]


# (body of a module after HEAD, expected code, the evidence the message must name)
KEPT = [
    ("async def f(data, out):\n    json.dump(data, out)\n", "AF121", "file"),
    ("async def f(fh):\n    return json.load(fh)\n", "AF121", "file"),
    ("async def f(data):\n    return json.dumps(data, indent=2)\n", "AF121", "indent"),
    ("async def f(m):\n    return m.model_dump_json(indent=2)\n", "AF122", "indent"),
    ("async def f(p):\n    with open(p) as f:\n        return json.loads(f.read())\n", "AF121", "read"),
    ("async def f(p):\n    raw = p.read_text()\n    return json.loads(raw)\n", "AF121", "read"),
    ("async def f(resp):\n    return json.loads(resp.text)\n", "AF121", "read"),
    ("async def f(resp):\n    return json.loads(resp.content.decode())\n", "AF121", "read"),
    ("async def f(request):\n    return json.loads(await request.body())\n", "AF121", "read"),
    ("async def f(upload):\n    raw = await upload.read()\n    return json.loads(raw)\n", "AF121", "read"),
    ("async def f(p, q):\n    with open(p) as fh:\n        for line in fh:\n            q.put_nowait(json.loads(line))\n",
     "AF121", "read"),
    ("async def f(raw: bytes):\n    return json.loads(raw)\n", "AF121", "bytes"),
    ("async def f(raw: bytes | None):\n    return json.loads(raw)\n", "AF121", "bytes"),
    ("class M(BaseModel):\n    a: int\n\nasync def f(raw: bytes):\n    return M.model_validate_json(raw)\n",
     "AF122", "bytes"),
    ("async def f(result):\n    return json.dumps(result.document.export_to_dict())\n", "AF121", "document"),
    ("async def f(doc):\n    d = doc.export_to_dict()\n    return json.dumps(d)\n", "AF121", "document"),
    ("from docling.document_converter import DocumentConverter\n\n"
     "async def f(p):\n    doc = DocumentConverter().convert(p).document\n    return json.dumps(doc)\n",
     "AF121", "document"),
    ("async def f(ckpt):\n    return ckpt.model_dump_json()\n", "AF122", "document"),
    ("async def f(checkpoint):\n    return json.dumps(checkpoint)\n", "AF121", "document"),
    ("async def f(pages):\n    out = []\n    for p in pages:\n        out.append(p.text)\n"
     "    return json.dumps(out)\n", "AF121", "loop"),
    ("async def f(rows):\n    acc = {}\n    for k, v in rows:\n        acc[k] = v\n    return json.dumps(acc)\n",
     "AF121", "loop"),
    ("async def f(rows):\n    return json.dumps([r.to_dict() for r in rows])\n", "AF121", "loop"),
    ("async def f(p):\n    with open(p) as fh:\n        data = json.load(fh)\n"
     "    return json.dumps(data, sort_keys=True)\n", "AF121", "parsed"),
    ("async def f(resp):\n    data = resp.json()\n    return json.dumps(data)\n", "AF121", "parsed"),
    ("async def f(f, state):\n    f.write(json.dumps(state))\n", "AF121", "write"),
    ("async def f(p, state):\n    p.write_text(json.dumps(state))\n", "AF121", "write"),
    ("async def f(p, state):\n    await asyncio.to_thread(_atomic_write, p, json.dumps(state))\n",
     "AF121", "write"),
    ("async def f(fh, seen):\n    blob = json.dumps(sorted(seen))\n    await fh.write(blob)\n",
     "AF121", "write"),
]

# (body, why there is no evidence): default-off, reported as AF123 when opted in.
DROPPED = [
    ("async def f(e):\n    return json.dumps({'error': str(e)})\n", "a dict literal of scalars"),
    ("async def f(e):\n    return json.dumps({'error': str(e)}, indent=2)\n", "indent, but on a literal of scalars"),
    ("async def f(user_id):\n    return json.dumps({'id': user_id})\n", "an id"),
    ("async def f(x):\n    return json.dumps(f'{x}')\n", "an f-string"),
    ("async def f(raw: str):\n    return json.loads(raw)\n", "a str parameter of unknown size"),
    ("async def f(data):\n    return json.dumps(data, sort_keys=True)\n", "a parameter of unknown size"),
    ("async def f(event):\n    return event.model_dump_json()\n", "a model of unknown size"),
    ("async def f(fh, event):\n    fh.write(json.dumps(event) + '\\n')\n", "a log line (one record per line)"),
    ("async def f(ws):\n    return json.loads(await ws.receive_text())\n", "a websocket message"),
    ("async def f(http, doc_id):\n    return http.post('u', data=json.dumps({'doc_id': doc_id}))\n",
     "a small request body"),
    ("async def f(data):\n    body = json.dumps(data)\n    return len(body)\n", "a result that is not written"),
    ("async def f(x):\n    out = []\n    out.append(x)\n    return json.dumps(out)\n", "appended once, not in a loop"),
]


@pytest.mark.parametrize("source, code, evidence", KEPT, ids=[f"{c}-{e}-{i}" for i, (_, c, e) in enumerate(KEPT)])
def test_kept_with_evidence(source, code, evidence, catalog):
    from asyncfix.engine.sizes import EVIDENCE

    found = json_findings(source, catalog)  # the case's call is its last json call
    assert found and found[-1].code == code
    assert found[-1].message.endswith(f"(evidence: {EVIDENCE[evidence]})")
    assert "AF123" not in [f.code for f in found]


@pytest.mark.parametrize("source, why", DROPPED, ids=[w for _, w in DROPPED])
def test_dropped_without_evidence_is_opt_in(source, why, catalog, opted_in):
    assert json_findings(source, catalog) == []
    assert [f.code for f in json_findings(source, opted_in)] == ["AF123"]


def test_literal_arguments_stay_unreported_even_opted_in(opted_in):
    assert json_findings("async def f():\n    return json.dumps({'ok': True})\n", opted_in) == []


def test_af123_is_declared_default_off(catalog):
    rule = next(r for r in catalog.categories["json"].rules if r.code == "AF123")
    assert rule.default is False
    # and AF663 (helpers across modules): the only other opt-in code
    assert default_off_codes(CATEGORIES) == {"AF123", "AF663"}
    assert all(r.default for c in CATEGORIES for r in c.rules if r.code not in ("AF123", "AF663"))


# Every json finding of the realistic backends: (file, line) -> (code, evidence); AF123 lines are
# the findings dropped from the default set (their evidence: none).
REALISTIC = {
    ("realistic/api.py", 119): ("AF123", None),  # a progress event for a websocket broadcast
    ("realistic/api.py", 195): ("AF122", "document"),  # a whole checkpoint as a request body
    ("realistic/api.py", 200): ("AF121", "read"),  # resp.text
    ("realistic/api.py", 233): ("AF121", "indent"),
    ("realistic/api.py", 254): ("AF123", None),  # a websocket command
    ("realistic/checkpoint_manager.py", 63): ("AF121", "file"),
    ("realistic/checkpoint_manager.py", 71): ("AF122", "indent"),
    ("realistic/checkpoint_manager.py", 83): ("AF121", "write"),  # to_thread(_atomic_write_sync, ...)
    ("realistic/checkpoint_manager.py", 90): ("AF121", "read"),  # raw = path.read_text()
    ("realistic/checkpoint_manager.py", 96): ("AF122", "read"),  # raw = await f.read()
    ("realistic/checkpoint_manager.py", 138): ("AF121", "write"),  # tmp.write(json.dumps(...))
    ("realistic/checkpoint_manager.py", 147): ("AF121", "read"),  # await f.read()
    ("realistic_holdout/labeling_worker.py", 71): ("AF123", None),  # a progress log line
    ("realistic_holdout/labeling_worker.py", 242): ("AF121", "read"),  # open(latest).read()
    ("realistic_holdout/labeling_worker.py", 275): ("AF121", "write"),  # manifest.write_text(...)
    ("realistic_holdout/report_service.py", 108): ("AF123", None),  # an audit detail for sqlite
    ("realistic_holdout/report_service.py", 173): ("AF121", "indent"),
    ("realistic_holdout/report_service.py", 178): ("AF121", "file"),
    ("realistic_holdout/report_service.py", 251): ("AF121", "read"),  # await request.body()
    ("realistic_holdout/scan_gateway.py", 141): ("AF121", "read"),  # state_file.read_text()
    ("realistic_holdout/scan_gateway.py", 169): ("AF121", "write"),  # run_in_executor(None, _write_sidecar, ...)
    ("realistic_holdout/scan_gateway.py", 178): ("AF121", "write"),  # blob, then await fh.write(blob)
    ("demo_backend/app/checkpoints.py", 61): ("AF121", "file"),
    ("demo_backend/app/checkpoints.py", 70): ("AF121", "file"),
    ("demo_backend/app/ws.py", 27): ("AF123", None),  # one progress event for the sockets
}


def _evidence_of(message: str) -> str | None:
    from asyncfix.engine.sizes import EVIDENCE

    return next((k for k, v in EVIDENCE.items() if message.endswith(f"(evidence: {v})")), None)


def test_realistic_json_findings_and_their_evidence(opted_in, catalog):
    got, default = {}, set()
    for folder in ("realistic", "realistic_holdout", "demo_backend"):
        for path in sorted((FIXTURES / folder).rglob("*.py")):
            key = str(path.relative_to(FIXTURES))
            for f in analyze_source(path.read_text(), path.name, opted_in):
                if f.category == "json":
                    got[(key, f.line)] = (f.code, _evidence_of(f.message))
            default |= {(key, f.line) for f in analyze_source(path.read_text(), path.name, catalog)
                        if f.category == "json"}
    assert got == REALISTIC
    assert default == {k for k, (code, _) in REALISTIC.items() if code != "AF123"}


def test_check_and_apply_leave_opt_in_findings_alone(tmp_path, cli, catalog):
    src = HEAD + "async def f(e, log):\n    await log(json.dumps({'error': str(e)}))\n"
    path = tmp_path / "m.py"
    path.write_text(src)
    result = cli("check", "--no-cache", str(path))
    assert result.exit_code == 0, result.output
    assert not checked_rewrite(src, "m.py", catalog, set(catalog.categories)).text
    result = cli("apply", str(path))
    assert path.read_text() == src


def test_explain_json_documents_the_rule_and_its_evidence(cli):
    from asyncfix.engine.sizes import EVIDENCE

    out = cli("explain", "json").output
    assert "AF123" in out and "off by default" in out
    for phrase in ("`indent=`", "`f.read()`", "`await request.body()`", "`bytes` parameter",
                   "`export_to_dict()`", "built in a loop", "written to a file"):
        assert phrase in out, phrase
    assert all(f"- {v}" in out for v in EVIDENCE.values())
