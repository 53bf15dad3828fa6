"""File discovery (git, virtualenvs, build output, excludes) and the content-hash cache."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from asyncfix.cache import Cache
from asyncfix.discover import discover

BLOCKING = "import time\n\nasync def f():\n    time.sleep(1)\n"


def names(paths, root):
    return sorted(os.path.relpath(p, root).replace(os.sep, "/") for p in paths)


def test_walk_skips_venvs_build_and_caches(tmp_path):
    for rel in ("app/a.py", "build/b.py", "dist/c.py", "env/lib/d.py", ".git/e.py",
                "app/__pycache__/f.py", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    assert names(discover([tmp_path]), tmp_path) == ["app/a.py"]


def test_git_ignored_files_are_skipped(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\n")
    for rel in ("src/a.py", "generated/b.py", "src/untracked.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "src/a.py", ".gitignore"], check=True)
    assert names(discover([tmp_path]), tmp_path) == ["src/a.py", "src/untracked.py"]


def test_exclude_globs_and_explicit_files(tmp_path):
    for rel in ("a/x.py", "a/tests/y.py", "b/z.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    assert names(discover([tmp_path], ["tests", "b/*"]), tmp_path) == ["a/x.py"]
    explicit = tmp_path / "b" / "z.py"
    assert discover([explicit], ["b/*"]) == [str(explicit)]


def test_warm_run_reuses_and_invalidates(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(BLOCKING)
    cold = cli("check", "--format", "json")
    cache_files = list((tmp_path / ".asyncfix_cache").glob("check-*.json"))
    assert len(cache_files) == 1
    assert (tmp_path / ".asyncfix_cache" / ".gitignore").read_text().endswith("*\n")
    warm = cli("check", "--format", "json")
    assert warm.stdout == cold.stdout
    (tmp_path / "app.py").write_text(BLOCKING.replace("time.sleep(1)", "pass"))
    after = json.loads(cli("check", "--format", "json").stdout)
    assert after["findings"] == []


def test_cache_serves_stored_findings(tmp_path):
    """A hit returns what was stored, without analysing: proof the warm path skips work."""
    from asyncfix.findings import Finding
    cache = Cache(tmp_path, {"blocking": {}})
    stored = Finding("a.py", 1, 1, 1, 2, "AF501", "sleep", "m", "time.sleep", "f", True)
    cache.put("a.py", "digest", [stored])
    cache.save()
    again = Cache(tmp_path, {"blocking": {}})
    assert again.get("a.py", "digest") == [stored]
    assert again.get("a.py", "other") is None
    assert Cache(tmp_path, {"blocking": {"x.y": "image"}}).get("a.py", "digest") is None


def test_config_excludes_are_relative_to_the_project_root(tmp_path, monkeypatch, cli):
    (tmp_path / "pyproject.toml").write_text('[tool.asyncfix]\nexclude = ["src/legacy/*"]\n')
    for rel in ("src/app.py", "src/legacy/old.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(BLOCKING)
    monkeypatch.chdir(tmp_path / "src")
    doc = json.loads(cli("check", "--no-cache", "--format", "json", ".").stdout)
    assert [f["path"] for f in doc["findings"]] == ["app.py"]


def test_a_change_to_asyncfix_itself_invalidates_the_cache(tmp_path, monkeypatch):
    """A catalog edit in a development checkout (same version number) must not serve findings
    of the old catalog."""
    from asyncfix import cache as cache_module
    from asyncfix.findings import Finding

    stored = Finding("a.py", 1, 1, 1, 2, "AF501", "sleep", "m", "time.sleep", "f", True)
    cache = Cache(tmp_path, {})
    cache.put("a.py", "digest", [stored])
    cache.save()
    assert Cache(tmp_path, {}).get("a.py", "digest") == [stored]
    monkeypatch.setattr(cache_module, "engine_hash", lambda: "another engine")
    assert Cache(tmp_path, {}).get("a.py", "digest") is None


def test_a_file_without_coroutines_is_cached_unhashed_and_seen_when_it_gains_one(tmp_path, monkeypatch, cli):
    """Nothing in a file without `async` runs on a loop: the cache keeps it under a marker, not
    a hash of its bytes; once it gains a coroutine it is analysed."""
    monkeypatch.chdir(tmp_path)
    plain = "import time\n\ndef f():\n    time.sleep(1)\n"
    (tmp_path / "app.py").write_text(plain)
    assert json.loads(cli("check", "--format", "json").stdout)["findings"] == []
    entries = json.loads(next((tmp_path / ".asyncfix_cache").glob("check-*.json")).read_text())
    assert entries["app.py"][2:4] == ["no-coroutine", "ok"]
    assert json.loads(cli("check", "--format", "json").stdout)["findings"] == []  # served warm
    (tmp_path / "app.py").write_text(plain.replace("def f", "async def f"))
    after = json.loads(cli("check", "--format", "json").stdout)
    assert [f["code"] for f in after["findings"]] == ["AF501"]


def test_a_file_gone_between_stat_and_read_is_an_error_not_a_crash(tmp_path):
    """The worker's own read can fail after the stat: an error for that file, the rest checked."""
    from asyncfix.runner import _analyze_batch, _init_worker

    _init_worker({})
    (tmp_path / "ok.py").write_text(BLOCKING)
    out = _analyze_batch([(str(tmp_path / "gone.py"), "gone.py", None), (str(tmp_path / "ok.py"), "ok.py", None)])
    (digest, error, names), (_, findings, _) = out
    assert (digest, names) == ("", None) and error.message.startswith("cannot read: ")
    assert [f.code for f in findings] == ["AF501"]


def test_the_stream_gives_what_discover_gives_and_fails_before_the_first_file(tmp_path):
    from asyncfix.discover import DiscoveryError, discover_stream

    for rel in ("app/a.py", "app/b.py", "tests/test_a.py", "build/c.py", "pkg/conftest.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    tests: list[str] = []
    files = discover([tmp_path], ["pkg/*"], None, tests)
    stream = list(discover_stream([tmp_path], ["pkg/*"], None, tests=True))
    # the walk's order, test code where it is found; the same pairs as the lists
    assert sorted(stream) == sorted([(f, False) for f in files] + [(t, True) for t in tests])
    assert {p for p, test in stream if test} == {str(tmp_path / "tests" / "test_a.py")}
    assert list(discover_stream([tmp_path], tests=False)) == [(f, False) for f in discover([tmp_path])]
    with pytest.raises(DiscoveryError, match="no such file or directory"):
        discover_stream([tmp_path / "missing"])  # raised on the call, not on the first file
