"""`asyncfix check`, `categories`, `explain`: exit codes, formats, config, suppression."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BLOCKING = textwrap.dedent("""\
    import time

    async def handler():
        time.sleep(1)
""")


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(BLOCKING)
    return tmp_path


def test_findings_exit_1_and_ruff_like_text(project, cli):
    result = cli("check", "--no-cache")
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first == "app.py:4:5: AF501 `time.sleep` blocks the event loop; use `await asyncio.sleep`"


def test_clean_exit_0(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.py").write_text("import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n")
    result = cli("check", "--no-cache")
    assert result.exit_code == 0
    assert "No blocking calls found in 1 file checked." in result.stdout


def test_missing_path_exit_2_with_one_line_error(project, cli):
    result = cli("check", "nope.py")
    assert result.exit_code == 2
    assert result.stderr.strip() == "asyncfix: error: nope.py: no such file or directory"


def test_unknown_category_exit_2(project, cli):
    result = cli("check", "--category", "bogus")
    assert result.exit_code == 2
    assert "unknown category 'bogus'" in result.stderr


def test_bad_flag_exit_2(project, cli):
    assert cli("check", "--no-such-flag").exit_code == 2
    assert cli("check", "--format", "xml").exit_code == 2


def test_syntax_error_beside_blocking_file(project, cli):
    (project / "broken.py").write_text("import json\n\nasync def f(d:\n    return json.dumps(d)\n")
    result = cli("check", "--no-cache", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [f["path"] for f in doc["findings"]] == ["app.py"]
    assert doc["errors"] == [{"path": "broken.py", "message": "syntax error: '(' was never closed",
                              "line": 3, "column": 12}]
    assert doc["summary"]["findings"] == 1 and doc["summary"]["errors"] == 1
    text = cli("check", "--no-cache").stdout
    assert "broken.py:3:12: error: syntax error: '(' was never closed" in text


def test_json_schema(project, cli):
    doc = json.loads(cli("check", "--no-cache", "--format", "json").stdout)
    finding = doc["findings"][0]
    assert {k: finding[k] for k in ("path", "line", "column", "end_line", "end_column", "category",
                                    "code", "fixable")} == {
        "path": "app.py", "line": 4, "column": 5, "end_line": 4, "end_column": 18,
        "category": "sleep", "code": "AF501", "fixable": None}
    assert finding["message"].startswith("`time.sleep` blocks the event loop")
    assert doc["summary"] == {"files": 1, "findings": 1, "fixable": None, "unfixable": 0, "errors": 0,
                              "by_category": {"sleep": 1}, "test_files_left_out": 0,
                              "test_findings_left_out": 0}
    planned = json.loads(cli("check", "--no-cache", "--show-fixes", "--format", "json").stdout)
    assert planned["findings"][0]["fixable"] is True
    assert (planned["summary"]["fixable"], planned["summary"]["unfixable"]) == (1, 0)


def test_sarif_relative_uris(project, cli):
    doc = json.loads(cli("check", "--no-cache", "--format", "sarif").stdout)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    result = run["results"][0]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "app.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 4, "startColumn": 5, "endLine": 4, "endColumn": 18}
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "AF501"
    assert result["partialFingerprints"]


def test_github_annotations(project, cli):
    out = cli("check", "--no-cache", "--format", "github").stdout
    assert out == ("::warning file=app.py,line=4,col=5,endLine=4,endColumn=18,title=asyncfix AF501::"
                   "AF501 `time.sleep` blocks the event loop; use `await asyncio.sleep`\n")


def test_category_filter(project, cli):
    (project / "db.py").write_text("import sqlite3\n\nasync def f():\n    sqlite3.connect('x')\n")
    result = cli("check", "--no-cache", "-c", "sqlite", "--format", "json")
    assert [f["category"] for f in json.loads(result.stdout)["findings"]] == ["sqlite"]


def test_pyproject_config(project, cli):
    (project / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.asyncfix]
        exclude = ["legacy/*"]
        categories = ["image", "sleep"]

        [tool.asyncfix.blocking]
        "mylib.render" = "image"
    """))
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text(BLOCKING)
    (project / "render.py").write_text(
        "import json\nfrom mylib import render as r\n\nasync def f(d):\n    r(d)\n    json.dumps(d)\n")
    doc = json.loads(cli("check", "--no-cache", "--format", "json").stdout)
    assert [(f["path"], f["category"]) for f in doc["findings"]] == [
        ("app.py", "sleep"), ("render.py", "image")]


def test_bad_config_is_a_usage_error(project, cli):
    (project / "pyproject.toml").write_text("[tool.asyncfix]\nbogus = 1\n")
    result = cli("check")
    assert result.exit_code == 2
    assert "unknown key(s) in [tool.asyncfix]: bogus" in result.stderr


def test_categories_and_explain(cli):
    out = cli("categories").stdout
    for name in ("docling", "image", "json", "pdf", "file-io", "sqlite", "labelstudio", "http",
                 "sleep", "subprocess"):
        assert name in out
    assert "1.3" in out
    text = cli("explain", "sqlite").stdout
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead",
                    "## Fix safety"):
        assert heading in text
    assert cli("explain", "AF501").stdout.startswith("# sleep")
    assert cli("explain", "nope").exit_code == 2


def test_console_script_runs(project):
    """The installed entry point, as users and CI call it."""
    proc = subprocess.run([sys.executable, "-m", "asyncfix", "check", "--no-cache", "app.py"],
                          capture_output=True, text=True, cwd=project,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert proc.returncode == 1
    assert proc.stdout.startswith("app.py:4:5: AF501")


def test_explain_shows_the_fix_apply_makes(cli, catalog):
    from asyncfix.apply import fixed_example

    for cat in catalog.categories.values():
        text = cli("explain", cat.name).stdout
        if cat.unfixable_reason:
            assert "`asyncfix apply` leaves these calls as they are for now" in text
            continue
        before, after = fixed_example(cat, catalog)
        compile(after, cat.name, "exec")
        assert "await" in after and after != before
        assert "## Fix\n`asyncfix apply` rewrites" in text


def test_explain_names_the_calls_of_each_code(cli):
    codes = cli("explain", "json").stdout.split("## Codes\n", 1)[1]
    assert "<call>" not in codes
    assert codes.splitlines()[:2] == [
        "  AF121  `json.dump` serialises JSON on the event loop",
        "         calls: `json.dump`, `json.dumps`, `json.load`, `json.loads`"]
    assert "  AF501  `time.sleep` blocks the event loop" in cli("explain", "sleep").stdout
    assert "calls: `Connection.*`, `Cursor.*`" in cli("explain", "AF302").stdout
