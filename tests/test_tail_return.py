"""A statement that returns from inside (a loop with an early `return`) moves only together with
the coroutine's last statement, `return <name or constant>`: then every return it holds ends
the coroutine in the helper too, and the coroutine returns what the helper returns."""

from __future__ import annotations

import asyncio
import textwrap

from asyncfix.apply import checked_rewrite
from tests.modules import load

SOURCE = textwrap.dedent('''\
    import os


    async def first_big(paths, limit):
        found = []
        for path in paths:
            if os.path.getsize(path) > limit:
                return path
            found.append(path)
        return found
''')


def test_the_loop_and_the_last_return_move_together(catalog, tmp_path):
    result = checked_rewrite(SOURCE, "app.py", catalog, set(catalog.categories))
    assert result.text == textwrap.dedent('''\
        import asyncio
        import os


        async def first_big(paths, limit):
            return await asyncio.to_thread(_first_big_sync, paths, limit)


        def _first_big_sync(paths, limit):
            found = []
            for path in paths:
                if os.path.getsize(path) > limit:
                    return path
                found.append(path)
            return found
    ''')
    small, big = tmp_path / "small", tmp_path / "big"
    small.write_bytes(b"x")
    big.write_bytes(b"x" * 100)
    for paths in ([small, big, small], [small, small], []):
        results = [asyncio.run(load(text, tmp_path, f"tail_{role}").first_big(paths, 10))
                   for role, text in (("before", SOURCE), ("after", result.text))]
        assert results[0] == results[1]


def test_without_a_plain_last_return_the_loop_stays(catalog):
    source = SOURCE.replace("    return found\n", "    return sorted(found)\n")
    result = checked_rewrite(source, "app.py", catalog, set(catalog.categories))
    assert "    for path in paths:\n        if await asyncio.to_thread(os.path.getsize, path) > limit:\n" \
        in result.text
    assert "_sync" not in result.text


def test_a_statement_between_keeps_the_loop(catalog):
    source = SOURCE.replace("    return found\n", "    found.sort()\n    return found\n")
    result = checked_rewrite(source, "app.py", catalog, set(catalog.categories))
    assert "_sync" not in result.text and "await asyncio.to_thread(os.path.getsize, path)" in result.text
