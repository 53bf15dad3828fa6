"""Small things users noticed: plurals, summaries beside errors, undecodable files, colour,
`check -`, SARIF URIs."""

from __future__ import annotations

import json

import pytest

import asyncfix.cli

BLOCKING = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"
BROKEN = "import time\n\nasync def f(d:\n    time.sleep(d)\n"  # where check parses: an error
SLEEP = "`time.sleep` blocks the event loop; use `await asyncio.sleep`"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def test_one_file_is_singular(project, cli):
    (project / "a.py").write_text(BLOCKING)
    assert cli("check", "--no-cache", "--show-fixes").stdout.splitlines()[-1] == (
        "Found 1 blocking call on the event loop (1 fixable, 0 unfixable) in 1 file checked.")
    assert cli("apply").stdout == "rewrote 1 file: 1 blocking call moved off the loop, 0 left unfixable.\n"


def test_no_clean_bill_beside_an_error(project, cli):
    (project / "ok.py").write_text("async def f():\n    return 1\n")
    (project / "broken.py").write_text(BROKEN)
    result = cli("check", "--no-cache")
    assert result.exit_code == 1
    assert "No blocking calls" not in result.stdout
    assert result.stdout.splitlines()[-1] == "1 of 2 files could not be checked."


def test_undecodable_file_is_not_a_syntax_error(project, cli):
    (project / "latin.py").write_bytes(b'async def f():\n    return "\xff"\n')
    line = cli("check", "--no-cache").stdout.splitlines()[0]
    assert line.startswith("latin.py:1:1: error: cannot decode: 'utf-8' codec can't decode byte 0xff")
    assert "syntax error" not in line


def test_colour_on_a_terminal_only(project, cli, monkeypatch):
    (project / "a.py").write_text(BLOCKING)
    (project / "b.py").write_text(BROKEN)
    assert "\033[" not in cli("check", "--no-cache").stdout  # not a terminal
    monkeypatch.setattr(asyncfix.cli, "_stdout_is_tty", lambda: True)
    out = cli("check", "--no-cache").stdout
    assert out.splitlines()[0] == (f"\033[1ma.py\033[0m\033[36m:\033[0m5\033[36m:\033[0m5\033[36m:\033[0m "
                                   f"\033[1;31mAF501\033[0m {SLEEP}")
    assert "\033[1;31merror\033[0m: syntax error" in out
    assert "\033[" not in cli("check", "--no-cache", "--no-color").stdout
    assert "\033[" not in cli("check", "--no-cache", "--format", "json").stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in cli("check", "--no-cache").stdout


def test_check_reads_stdin(project, cli):
    (project / "pyproject.toml").write_text('[tool.asyncfix]\nignore = ["AF511"]\n')
    source = BLOCKING + "    import subprocess\n    subprocess.run(['ls'])\n"
    result = cli.runner.invoke(asyncfix.cli.app, ["check", "-", "--stdin-filename", "tests/test_app.py",
                                                  "--show-fixes"], input=source)
    assert result.exit_code == 1
    # named on the command line: checked although its name is a test's; the config applies
    assert result.stdout.splitlines() == [
        f"tests/test_app.py:5:5: AF501 {SLEEP}",
        "Found 1 blocking call on the event loop (1 fixable, 0 unfixable) in 1 file checked."]
    result = cli.runner.invoke(asyncfix.cli.app, ["check", "-", "-f", "json"], input=BROKEN)
    assert json.loads(result.stdout)["errors"][0]["path"] == "-"
    assert cli("check", "-", "a.py").exit_code == 2


def test_sarif_uris_are_percent_encoded(project, cli):
    folder = project / "my app"
    folder.mkdir()
    (folder / "100%_é#1.py").write_text(BLOCKING)
    (folder / "bad #2.py").write_text(BROKEN)
    doc = json.loads(cli("check", "--no-cache", "--format", "sarif").stdout)
    run = doc["runs"][0]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20app/100%25_%C3%A9%231.py"
    note = run["invocations"][0]["toolExecutionNotifications"][0]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "my%20app/bad%20%232.py"
