"""Test and example code is left out by default: blocking there slows a test, not a server."""

from __future__ import annotations

import json

import pytest

BLOCKING = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"
TEST_FILES = ["tests/test_api.py", "test/helpers.py", "testing/fakes.py", "examples/demo.py",
              "pkg/test_models.py", "pkg/models_test.py", "conftest.py", "pkg/tests/data/seed.py"]


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for rel in ["app/server.py", *TEST_FILES]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(BLOCKING)
    return tmp_path


def check(cli, *args):
    result = cli("check", "--no-cache", "--format", "json", *args)
    return result, json.loads(result.stdout)


@pytest.mark.parametrize("rel, expected", [
    *[(rel, True) for rel in TEST_FILES],
    ("app/server.py", False), ("app/testimony.py", False), ("app/latest.py", False),
    ("contest.py", False), ("app/tests.py", False), ("attest/x.py", False),
])
def test_what_counts_as_test_code(rel, expected):
    from asyncfix.discover import is_test_code

    assert is_test_code(rel) is expected


def test_check_leaves_test_code_out_and_counts_its_findings(project, cli):
    result, doc = check(cli)
    assert result.exit_code == 1
    assert [f["path"] for f in doc["findings"]] == ["app/server.py"]
    assert doc["summary"]["files"] == 1
    assert (doc["summary"]["test_files_left_out"], doc["summary"]["test_findings_left_out"]) == (8, 8)
    text = cli("check", "--no-cache").stdout
    assert text.splitlines()[-1] == ("8 findings in test and example code left out "
                                     "(8 files; --include-tests reports them).")


def test_only_tests_with_findings_make_a_clean_run(project, cli):
    (project / "app" / "server.py").write_text("async def handler():\n    return 1\n")
    result, doc = check(cli)
    assert result.exit_code == 0 and doc["findings"] == []


def test_the_left_out_count_follows_the_selection(project, cli):
    (project / "tests" / "test_db.py").write_text("import sqlite3\n\nasync def f():\n    sqlite3.connect('x')\n")
    _, doc = check(cli, "--select", "sqlite")
    assert doc["summary"]["test_findings_left_out"] == 1


def test_include_tests_flag_and_config(project, cli):
    _, doc = check(cli, "--include-tests")
    assert sorted(f["path"] for f in doc["findings"]) == sorted(["app/server.py", *TEST_FILES])
    assert doc["summary"]["test_findings_left_out"] == 0
    (project / "pyproject.toml").write_text("[tool.asyncfix]\ninclude-tests = true\n")
    _, doc = check(cli)
    assert len(doc["findings"]) == 9


def test_bad_include_tests_value_is_a_usage_error(project, cli):
    (project / "pyproject.toml").write_text('[tool.asyncfix]\ninclude-tests = "yes"\n')
    result = cli("check")
    assert result.exit_code == 2 and "include-tests must be true or false" in result.stderr


def test_a_file_or_test_folder_named_on_the_command_line_is_checked(project, cli):
    _, doc = check(cli, "tests/test_api.py", "conftest.py")
    assert [f["path"] for f in doc["findings"]] == ["conftest.py", "tests/test_api.py"]
    _, doc = check(cli, "tests")
    assert [f["path"] for f in doc["findings"]] == ["tests/test_api.py"]
    _, doc = check(cli, ".", "examples/demo.py")  # named too: not counted as left out
    assert [f["path"] for f in doc["findings"]] == ["app/server.py", "examples/demo.py"]
    assert doc["summary"]["test_files_left_out"] == 7


def test_errors_in_test_code_are_left_out_too(project, cli):
    (project / "tests" / "test_broken.py").write_text("import time\n\nasync def f(d:\n    time.sleep(d)\n")
    _, doc = check(cli)
    assert doc["errors"] == []
    _, doc = check(cli, "--include-tests")
    assert [e["path"] for e in doc["errors"]] == ["tests/test_broken.py"]


def test_apply_leaves_test_code_alone(project, cli):
    result = cli("apply")
    assert result.exit_code == 0
    assert "await asyncio.sleep(1)" in (project / "app" / "server.py").read_text()
    assert all((project / rel).read_text() == BLOCKING for rel in TEST_FILES)
    assert result.stdout.splitlines()[-1] == ("8 files of test and example code left out "
                                              "(--include-tests rewrites them).")
    cli("apply", "--include-tests")
    assert all("await asyncio.sleep(1)" in (project / rel).read_text() for rel in TEST_FILES)
