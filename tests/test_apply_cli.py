"""`asyncfix apply`: dry-run diffs, writes that keep bytes, exit codes, a second run is a no-op."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import textwrap

import pytest

from tests.conftest import FIXTURES

SOURCE = textwrap.dedent("""\
    import json
    import time


    async def save(data, path):
        with open(path, "w") as f:
            json.dump(data, f)
        time.sleep(0.1)
        return path
""")

EXPECTED = textwrap.dedent("""\
    import asyncio
    import json


    async def save(data, path):
        await asyncio.to_thread(_save_sync, data, path)
        await asyncio.sleep(0.1)
        return path


    def _save_sync(data, path):
        with open(path, "w") as f:
            json.dump(data, f)
""")


@pytest.fixture
def demo(tmp_path, monkeypatch):
    target = tmp_path / "demo"
    shutil.copytree(FIXTURES / "demo_backend", target)
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "add", "."], check=True)
    monkeypatch.chdir(target)
    return target


def snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*.py"))}


def test_exact_rewrite(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(SOURCE)
    result = cli("apply", "app.py")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "app.py").read_text() == EXPECTED
    assert "rewrote 1 file(s): 3 blocking call(s) moved off the loop, 0 left unfixable." in result.stdout


def test_dry_run_writes_nothing_and_git_applies(demo, cli):
    before = snapshot(demo)
    result = cli("apply", "--dry-run", ".")
    assert snapshot(demo) == before
    patch = result.stdout
    assert patch.startswith("--- a/")
    (demo.parent / "demo.patch").write_text(patch)
    subprocess.run(["git", "apply", "--check", str(demo.parent / "demo.patch")], cwd=demo, check=True)


def test_apply_twice_changes_nothing_the_second_time(demo, cli):
    cli("apply", ".")
    after_first = snapshot(demo)
    assert after_first != snapshot(FIXTURES / "demo_backend") or True
    second = cli("apply", ".")
    assert snapshot(demo) == after_first
    assert "rewrote 0 file(s)" in second.stdout


def test_keeps_bom_crlf_and_mode(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "app.py"
    path.write_bytes(b"\xef\xbb\xbf" + SOURCE.replace("\n", "\r\n").encode())
    os.chmod(path, 0o750)
    assert cli("apply", "app.py").exit_code == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data[3:] == EXPECTED.replace("\n", "\r\n").encode()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o750


def test_unfixable_left_exit_1_with_reason(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(textwrap.dedent("""\
        import os

        async def newest(paths):
            for p in paths:
                if os.path.exists(p):
                    break
            return await check(sorted(paths, key=lambda p: os.path.getsize(p)))
    """))
    result = cli("apply", "app.py")
    assert result.exit_code == 1
    assert "app.py:7:52: AF205 left as is: the call is inside a lambda, where `await` cannot go\n" in result.stdout


def test_category_moves_only_that_category(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(SOURCE)
    assert cli("apply", "-c", "sleep", "app.py").exit_code == 0
    text = (tmp_path / "app.py").read_text()
    assert "await asyncio.sleep(0.1)" in text and "with open(path, \"w\") as f:\n        json.dump" in text


def test_offload_process_only_for_cpu_bound_helpers(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(textwrap.dedent("""\
        from PIL import Image


        async def shrink(src, dest):
            img = Image.open(src)
            img.thumbnail((64, 64))
            img.save(dest)
            return dest


        async def remember(self, src):
            img = Image.open(src)
            img.save(self.cache_path)
            return img.size
    """))
    assert cli("apply", "--offload", "process", "app.py").exit_code == 0
    assert (tmp_path / "app.py").read_text() == textwrap.dedent("""\
        import asyncio
        import concurrent.futures
        from PIL import Image


        _ASYNCFIX_PROCESS_POOL = concurrent.futures.ProcessPoolExecutor()


        async def shrink(src, dest):
            await asyncio.get_running_loop().run_in_executor(
                _ASYNCFIX_PROCESS_POOL, _shrink_sync, src, dest
            )
            return dest


        def _shrink_sync(src, dest):
            img = Image.open(src)
            img.thumbnail((64, 64))
            img.save(dest)


        async def remember(self, src):
            img = await asyncio.to_thread(_remember_sync, self, src)
            return img.size


        def _remember_sync(self, src):
            img = Image.open(src)
            img.save(self.cache_path)
            return img
    """)


def test_mixed_line_endings_are_kept(tmp_path, monkeypatch, cli):
    """Lines the rewrite does not touch keep their own ending, even in a file with mixed ones."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "app.py"
    path.write_bytes(b"# a note with a unix ending\n" + SOURCE.replace("\n", "\r\n").encode())
    assert cli("apply", "app.py").exit_code == 0
    data = path.read_bytes()
    assert data.startswith(b"# a note with a unix ending\nimport asyncio\r\n")
    assert b"\r\r\n" not in data and data.count(b"\n") - data.count(b"\r\n") == 1


def test_verification_refuses_broken_or_lossy_rewrites(catalog):
    from asyncfix.apply import Rewrite, VerifyError, _verify, rewrite

    old = SOURCE
    planned = rewrite(old, "app.py", catalog, set(catalog.categories))
    cases = {
        "does not (parse|compile)": "async def save(:\n",
        "re-analysis disagrees": old.replace("time.sleep(0.1)", "pass"),  # a finding vanished unplanned
    }
    for reason, text in cases.items():
        bad = Rewrite(text, fixed=[], before=planned.before)
        with pytest.raises(VerifyError, match=reason):
            _verify(old, bad, "app.py", catalog, set(catalog.categories), "\n", 88, "thread")
