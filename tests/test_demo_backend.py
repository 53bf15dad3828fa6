"""The demo backend (fixtures/demo_backend: FastAPI, pypdf, Pillow, sqlite3, requests to a Label
Studio stand-in, json checkpoints, a WebSocket manager) passes its own tests as written and as
`asyncfix apply` rewrites it, and the rewrite leaves no blocking call `check` reports."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES

DEMO = FIXTURES / "demo_backend"


def _copy(tmp_path, name):
    target = tmp_path / name
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("data", "__pycache__", ".pytest_cache"))
    return target


def _tests(folder) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=folder,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("rewritten", [False, True], ids=["as written", "rewritten"])
def test_the_demo_passes_its_own_tests(rewritten, tmp_path, cli):
    pytest.importorskip("fastapi")
    pytest.importorskip("pypdf")
    folder = _copy(tmp_path, "demo")
    if rewritten:
        result = cli("apply", "-j", "1", folder)
        assert result.exit_code == 0, result.output
        assert "0 left unfixable" in result.output
        assert cli("check", "--no-cache", folder).exit_code == 0
        assert "aiosqlite.connect(DB_PATH)" in (folder / "app" / "db.py").read_text()
    run = _tests(folder)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
