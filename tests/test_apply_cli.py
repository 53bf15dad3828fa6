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
    assert "rewrote 1 file: 3 blocking calls moved off the loop, 0 left unfixable." in result.stdout


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
    assert "rewrote 0 files" in second.stdout


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
        import os
        from PIL import Image


        _ASYNCFIX_PROCESS_POOL = concurrent.futures.ProcessPoolExecutor(
            max(1, (os.cpu_count() or 2) - 1),  # one core left to the event loop
            initializer=getattr(os, "nice", None),  # workers below the loop's priority
            initargs=(10,),
        )


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


def test_offload_process_takes_methods_of_immutable_parameters(tmp_path, monkeypatch, cli):
    """`dest.with_name(...)` on a `dest: Path` changes nothing the coroutine holds; a method of an
    unannotated (or mutable) parameter keeps the helper on a thread."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(textwrap.dedent("""\
        from pathlib import Path

        from PIL import Image


        async def thumb(src: Path, dest: Path):
            img = Image.open(src)
            img.save(dest.with_name(dest.stem + "_t.png"))


        async def thumb_into(src: Path, opts: dict):
            img = Image.open(src)
            img.save(opts.get("dest"))
    """))
    assert cli("apply", "--offload", "process", "app.py").exit_code == 0
    text = (tmp_path / "app.py").read_text()
    assert "_ASYNCFIX_PROCESS_POOL, _thumb_sync, src, dest\n" in text
    assert "await asyncio.to_thread(_thumb_into_sync, src, opts)\n" in text


def test_offload_process_takes_json_work_with_its_file_io(tmp_path, monkeypatch, cli):
    """Encoding a big document is CPU-bound (json's pure-Python encoder holds the GIL in a thread):
    with the file it is written to, it goes to the process pool; file I/O alone stays on a thread."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(textwrap.dedent("""\
        import json
        import os


        async def save(path: str, pages: list):
            data = {"pages": [p.upper() for p in pages]}
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                json.dump(data, f, indent=2)


        async def touch(path: str):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a") as f:
                f.write("")
    """))
    assert cli("apply", "--offload", "process", "app.py").exit_code == 0
    text = (tmp_path / "app.py").read_text()
    assert "_ASYNCFIX_PROCESS_POOL, _save_sync, path, pages\n" in text
    assert "def _save_sync(path: str, pages: list):\n    data = {" in text
    assert "    await asyncio.to_thread(_touch_sync, path)\n" in text


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
    from asyncfix.apply import Rewrite, VerifyError, _compiles, _verify, rewrite

    old = SOURCE
    planned = rewrite(old, "app.py", catalog, set(catalog.categories))
    cases = {
        "does not (parse|compile)": "async def save(:\n",
        "re-analysis disagrees": old.replace("time.sleep(0.1)", "pass"),  # a finding vanished unplanned
    }
    for reason, text in cases.items():
        bad = Rewrite(text, fixed=[], before=planned.before)
        with pytest.raises(VerifyError, match=reason):
            _verify(_compiles(old, "app.py"), bad, "app.py", catalog, set(catalog.categories),
                    {"newline": "\n", "line_length": 88, "offload": "thread"})


def test_jobs_give_the_same_output_in_path_order(tmp_path, monkeypatch, cli):
    """Files run in worker processes; what is printed is the same, in the same order, as with one."""
    monkeypatch.chdir(tmp_path)
    for name in ["z.py", "a.py", "pkg/b.py", "pkg/sub/c.py", "m.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(SOURCE.replace("save", f"save_{name[-4]}"))
    (tmp_path / "broken.py").write_text("import time\n\n\nasync def f(:\n    time.sleep(1)\n")
    one, two = cli("apply", "--dry-run", "-j", "1", "."), cli("apply", "--dry-run", "--jobs", "2", ".")
    assert (two.exit_code, two.stdout, two.stderr) == (one.exit_code, one.stdout, one.stderr)
    assert one.exit_code == 2
    headers = [line for line in one.stdout.splitlines() if line.startswith("--- a/")]
    assert headers == ["--- a/a.py", "--- a/m.py", "--- a/z.py", "--- a/pkg/b.py", "--- a/pkg/sub/c.py"]
    assert one.stderr == ("asyncfix: error: broken.py: syntax error: invalid syntax (line 4)\n"
                          "would rewrite 5 files: 15 blocking calls moved off the loop, 0 left unfixable.\n")


def test_dry_run_diff_ends_its_last_line_before_the_summary(tmp_path, monkeypatch, cli):
    """A file without a final newline, or with old Mac line ends, still leaves the summary a line
    of its own; `\\r` and form feeds stay inside lines as git sees them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_bytes(b"import time\n\n\nasync def f():\n    x = 1\x0c\n    time.sleep(1)")
    (tmp_path / "b.py").write_bytes(b"import time\r\rasync def f():\r    time.sleep(1)\r")
    result = cli("apply", "--dry-run", "a.py", "b.py")
    assert result.exit_code == 0
    assert result.stdout_bytes.decode() + result.stderr == (
        "--- a/a.py\n+++ b/a.py\n@@ -1,6 +1,6 @@\n"
        "-import time\n+import asyncio\n \n \n async def f():\n     x = 1\x0c\n"
        "-    time.sleep(1)\n\\ No newline at end of file\n"
        "+    await asyncio.sleep(1)\n\\ No newline at end of file\n"
        "--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n"
        "-import time\r\rasync def f():\r    time.sleep(1)\r\n\\ No newline at end of file\n"
        "+import asyncio\r\rasync def f():\r    await asyncio.sleep(1)\r\n\\ No newline at end of file\n"
        "would rewrite 2 files: 2 blocking calls moved off the loop, 0 left unfixable.\n"
    )


def test_diff_of_a_long_module_rewritten_all_over_applies(tmp_path):
    """The anchored matching (near-linear where difflib alone is quadratic) gives a patch that
    `git apply` turns into the new text exactly."""
    import random

    from asyncfix.diff import unified_diff

    rng = random.Random(7)
    old = [f"line {k}\n" for k in range(3000)] + ["\n", "    return x\n"] * 500
    rng.shuffle(old)
    new = list(old)
    for _ in range(400):
        at = rng.randrange(len(new))
        choice = rng.random()
        if choice < 0.4:
            new.insert(at, rng.choice(["\n", "    return x\n", f"added {at}\n"]))
        elif choice < 0.7:
            del new[at]
        else:
            new[at] = f"changed {at}\n"
    (tmp_path / "m.py").write_text("".join(old))
    (tmp_path / "m.patch").write_text(unified_diff("m.py", "".join(old), "".join(new)))
    subprocess.run(["git", "apply", "m.patch"], cwd=tmp_path, check=True)
    assert (tmp_path / "m.py").read_text() == "".join(new)


def test_read_only_file_left_exactly_as_is_and_the_run_goes_on(tmp_path, monkeypatch, cli):
    """Write bits are honoured explicitly (root may write anyway; the rename would replace it)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SOURCE)
    (tmp_path / "b.py").write_text(SOURCE)
    os.chmod(tmp_path / "a.py", 0o444)
    result = cli("apply", ".")
    assert result.exit_code == 2
    assert result.stderr == "asyncfix: error: a.py: cannot write: read-only file\n"
    assert (tmp_path / "a.py").read_text() == SOURCE
    assert stat.S_IMODE(os.stat(tmp_path / "a.py").st_mode) == 0o444
    assert (tmp_path / "b.py").read_text() == EXPECTED
    assert result.stdout == "rewrote 1 file: 3 blocking calls moved off the loop, 0 left unfixable.\n"


def test_read_only_folder_left_exactly_as_is_and_the_run_goes_on(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "app.py").write_text(SOURCE)
    (tmp_path / "open.py").write_text(SOURCE)
    os.chmod(tmp_path / "locked", 0o555)
    try:
        result = cli("apply", ".")
        assert sorted(os.listdir(tmp_path / "locked")) == ["app.py"]  # no temporary file left
    finally:
        os.chmod(tmp_path / "locked", 0o755)
    assert result.exit_code == 2
    assert result.stderr == "asyncfix: error: locked/app.py: cannot write: read-only folder\n"
    assert (tmp_path / "locked" / "app.py").read_text() == SOURCE
    assert stat.S_IMODE(os.stat(tmp_path / "locked" / "app.py").st_mode) == 0o644
    assert (tmp_path / "open.py").read_text() == EXPECTED


def test_a_failing_write_leaves_no_trace(tmp_path, monkeypatch, cli):
    """Any OSError of the write (a full disk here) is the file's error; the rest goes on."""
    import tempfile

    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(SOURCE)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full_disk)
    result = cli("apply", "-j", "1", "app.py")
    assert (result.exit_code, result.stderr) == (2, "asyncfix: error: app.py: cannot write: No space left on device\n")
    assert os.listdir(tmp_path) == ["app.py"] and (tmp_path / "app.py").read_text() == SOURCE


def test_a_crash_on_one_file_is_that_files_error(tmp_path, monkeypatch, cli):
    import asyncfix.apply

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(SOURCE)
    (tmp_path / "b.py").write_text(SOURCE)
    real = asyncfix.apply.apply_file

    def crash_on_a(path, *args, **kwargs):
        if str(path) == "./a.py":
            raise IndexError("list index out of range")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(asyncfix.apply, "apply_file", crash_on_a)
    result = cli("apply", "-j", "1", ".")
    assert result.exit_code == 2
    assert result.stderr == "asyncfix: error: a.py: internal error: IndexError: list index out of range\n"
    assert (tmp_path / "a.py").read_text() == SOURCE and (tmp_path / "b.py").read_text() == EXPECTED


# Files `check` can read and `apply` could not: both give the same verdict. check exits 1 on an
# error line, apply 2 (its error code); a file check passes without parsing it whole (its fast path:
# nothing there can block) apply leaves alone without parsing it whole either.
VERDICTS = {
    "template.py": (b"{% for name in modules %}\nimport {{ name }}\n{% endfor %}\n", None),
    "template_async_clean.py": (b"import json\n{% if x %}\nasync def handler():\n    return 1\n{% endif %}\n", None),
    "template_async.py": (b"import time\n{% if x %}\nasync def handler():\n    time.sleep(1)\n{% endif %}\n",
                          ("2:2: error: syntax error: invalid syntax", "syntax error: invalid syntax (line 2)")),
    "latin1_no_cookie.py": (b'x = "\xff"\n', None),
    "latin1_async.py": (b'async def f():\n    pass\nx = "\xff"\n',
                        ("1:1: error: cannot decode: 'utf-8' codec can't decode byte 0xff "
                         "in position 29: invalid start byte",
                         "cannot decode: 'utf-8' codec can't decode byte 0xff in position 29: "
                         "invalid start byte")),
    "unknown_cookie.py": (b"# coding: foobar\nasync def f():\n    pass\n",
                          ("1:1: error: cannot decode: unknown encoding: foobar",
                           "cannot decode: unknown encoding: foobar")),
}


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_check_and_apply_agree_on_files_that_are_not_python(name, tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    data, error = VERDICTS[name]
    (tmp_path / name).write_bytes(data)
    checked, applied = cli("check", "--no-cache", name), cli("apply", name)
    assert (tmp_path / name).read_bytes() == data
    if error is None:
        assert (checked.exit_code, applied.exit_code, applied.stderr) == (0, 0, "")
    else:
        assert (checked.exit_code, applied.exit_code) == (1, 2)
        assert checked.stdout.splitlines()[0] == f"{name}:{error[0]}"
        assert applied.stderr == f"asyncfix: error: {name}: {error[1]}\n"


def test_a_file_check_reads_in_part_is_an_error_for_apply(tmp_path, monkeypatch, cli):
    """check parses only what can hold a finding (README, Speed); a rewrite needs the whole file:
    check reports the finding, apply the syntax error."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text("import time\n\n\ndef render():\n    {% for x in y %}\n    pass\n\n\n"
                                     "async def handler():\n    time.sleep(1)\n")
    checked, applied = cli("check", "--no-cache", "app.py"), cli("apply", "app.py")
    assert checked.exit_code == 1 and checked.stdout.startswith("app.py:10:5: AF501 ")
    assert (applied.exit_code, applied.stderr) == (2, "asyncfix: error: app.py: syntax error: invalid syntax (line 5)\n")


def test_no_progress_line_when_stderr_is_not_a_terminal(tmp_path, cli, monkeypatch):
    import asyncfix.progress

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(asyncfix.progress, "DELAY", 0)  # it would show at once on a terminal
    (tmp_path / "a.py").write_text(SOURCE)
    (tmp_path / "b.py").write_text(SOURCE)
    result = cli("apply", "--dry-run", ".")
    assert result.stderr == "would rewrite 2 files: 6 blocking calls moved off the loop, 0 left unfixable.\n"


def test_progress_line_on_a_terminal():
    import io

    from asyncfix.progress import Progress, progress_text

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert progress_text(3, 40) == "asyncfix: 3/40 files (7%)"
    assert progress_text(0, 0) == "asyncfix: 0/0 files (0%)"
    screen = Terminal()
    progress = Progress(2, screen, delay=0)
    progress.update(1)
    with progress.pause():
        screen.write("printed\n")
    progress.update(2)
    progress.close()
    assert screen.getvalue() == ("\r\x1b[Kasyncfix: 1/2 files (50%)\r\x1b[Kprinted\n"
                                 "\r\x1b[Kasyncfix: 1/2 files (50%)"
                                 "\r\x1b[Kasyncfix: 2/2 files (100%)\r\x1b[K")
    quiet = Terminal()
    slow = Progress(2, quiet, delay=60)  # a run shorter than the delay shows nothing
    slow.update(1)
    slow.close()
    assert quiet.getvalue() == ""
