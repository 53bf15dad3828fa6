"""Differential fuzz of `asyncfix apply` (tests/difffuzz): hypothesis builds small async programs
full of blocking calls and the hazards around them, the tool rewrites each, and the original and
the rewrite run in a worker process on identical inputs; any observable difference, a hang, or an
exception inside checked_rewrite fails the test.

The budget is fixed (derandomized, EXAMPLES programs, about 75 s on 2 cores) and there is no
shrinking phase, so a failing run stops at its first difference; the long run with the same
grammar is `python benchmarks/fuzz.py`. The other tests here show that the harness can fail:
a deliberately wrong rewrite is reported, a hang is killed and reported, a faithful one is not.
"""

from __future__ import annotations

import random
import textwrap

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.difffuzz.grammar import Program, generate, programs
from tests.difffuzz.pool import Pool
from tests.difffuzz.report import kind, status

EXAMPLES = 1200  # measured: 65 s on the 2-core machine (load ~2), when every program passes
# The limits the README documents (apply section): a negative time.sleep returns at once, and
# concurrent calls may interleave their file accesses. So no negative sleeps are generated and
# each concurrent call gets its own files; Python state (`self`, arguments, globals) stays shared,
# and every lost update or split check-then-act on it still fails.
DOCUMENTED = True
# Also documented: offloading lets concurrent calls overtake each other, so the order in which
# they append to a shared list or finish is not compared (lists of concurrent runs compare as
# multisets); what they append, and how often, still is.
UNORDERED = True


@pytest.fixture(scope="module")
def pool():
    with Pool(jobs=1, timeout=8.0, documented=DOCUMENTED, unordered=UNORDERED) as workers:
        yield workers


@pytest.fixture(scope="module")
def strict():
    """The harness with every difference counted: shared files, order compared."""
    with Pool(jobs=1, timeout=8.0) as workers:
        yield workers


def explain(report: dict) -> str:
    program = report.get("program") or {}
    out = [f"{kind(report)} (entry {program.get('entry')}, concurrency {program.get('concurrency')})",
           "--- original", program.get("text") or "", "--- rewrite", report.get("rewritten") or ""]
    for key in ("tool_error", "hang", "harness_error"):
        if report.get(key):
            out.append(f"--- {key}: {report[key]}")
    for diff in report.get("differences") or report.get("nondeterministic") or []:
        out += [f"--- {diff['field']}", f"original: {diff['original']}", f"rewrite:  {diff['rewrite']}"]
    return "\n".join(out)


@settings(derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example, HealthCheck.filter_too_much])
@given(program=programs(negative_sleeps=not DOCUMENTED))
def test_rewrite_keeps_behaviour(pool, program):
    report = pool.run_one({"program": program.to_dict()})
    assert status(report) in ("same", "unchanged"), explain(report)


# -- the harness itself ------------------------------------------------------------------------
def program(text: str, entry: str = "main", concurrency: int = 1) -> dict:
    return Program(textwrap.dedent(text), entry, concurrency).to_dict()


ORIGINAL = """\
    import asyncio
    import contextvars
    import os

    VAR = contextvars.ContextVar("VAR", default="unset")
    TOTAL = 0


    class Box:
        def __init__(self):
            self.seen = []

        async def run(self, base, items, opts):
            global TOTAL
            with open(os.path.join(base, "note.txt")) as fh:
                text = fh.read()
            VAR.set(text.strip())
            items.append(text)
            opts["size"] = len(text)
            self.seen.append(len(text))
            TOTAL += 1
            with open(os.path.join(base, "out.txt"), "w") as fh:
                fh.write(text.upper())
            return text
"""

# Each: a wrong "rewrite" of ORIGINAL and the outcome field the harness must report.
WRONG = {
    "result": ("return text", "return text.upper()"),
    "error": ("return text", "return json_loads_missing(text)"),
    "files": ("fh.write(text.upper())", "fh.write(text)"),
    "args": ("items.append(text)", "items.append(text.upper())"),
    "self": ("self.seen.append(len(text))", "self.seen.append(0)"),
    "globals": ("TOTAL += 1", "TOTAL += 2"),
    # The known hazard: ContextVar.set in a worker thread sets the thread's copy of the context.
    "context variable": ("VAR.set(text.strip())",
                         "await asyncio.to_thread(VAR.set, text.strip())"),
}


@pytest.mark.parametrize("what", sorted(WRONG))
def test_a_wrong_rewrite_is_reported(pool, what):
    old, new = WRONG[what]
    original = program(ORIGINAL, "Box.run")
    wrong = original["text"].replace(old, new)
    assert wrong != original["text"]
    report = pool.run_one({"program": original, "rewritten": wrong})
    assert status(report) == "difference", explain(report)
    fields = {d["field"].split(".")[0] for d in report["differences"]}
    expected = {"result": {"result"}, "error": {"result", "error"}, "files": {"files"},
                "args": {"args"}, "self": {"self"}, "globals": {"globals"},
                "context variable": {"globals"}}[what]
    assert expected <= fields, explain(report)


def test_a_faithful_rewrite_is_not_reported(pool):
    original = program(ORIGINAL, "Box.run", concurrency=5)
    # Same behaviour, different text: the comparator must not cry wolf over code it never sees.
    same = original["text"].replace("return text", "result = text\n        return result")
    report = pool.run_one({"program": original, "rewritten": same})
    assert report["changed"] and status(report) == "same", explain(report)


def test_a_lost_update_under_concurrency_is_reported(strict):
    """Check-then-act split by a thread hop: atomic on the loop, a race once in threads."""
    original = program("""\
        import asyncio
        import os


        async def main(base, items, opts):
            path = os.path.join(base, "count.txt")
            n = int(open(path).read()) if os.path.exists(path) else 0
            with open(path, "w") as fh:
                fh.write(str(n + 1))
            return None
    """, concurrency=20)
    racy = original["text"].replace(
        "    n = int(open(path).read()) if os.path.exists(path) else 0\n",
        "    n = await asyncio.to_thread(lambda: int(open(path).read()) if os.path.exists(path) else 0)\n"
        "    await asyncio.sleep(0)\n")
    report = strict.run_one({"program": original, "rewritten": racy})
    assert status(report) == "difference", explain(report)
    assert any(d["field"] == "files.count.txt" for d in report["differences"]), explain(report)


def test_a_hang_is_killed_and_reported(pool):
    original = program("""\
        import asyncio
        import threading

        LOCK = threading.Lock()


        async def main(base, items, opts):
            with LOCK:
                await asyncio.sleep(0) if False else None
            return 1
    """, concurrency=2)
    # The deadlock of a sleep turned into an await under a threading.Lock: the loop's thread
    # blocks on the lock that the sleeping task holds.
    deadlock = original["text"].replace("await asyncio.sleep(0) if False else None",
                                        "await asyncio.sleep(0.01)")
    report = pool.run_one({"program": original, "rewritten": deadlock, "min_limit": 1.0})
    assert report.get("hang") == "rewrite run", explain(report)
    assert status(report) == "difference"
    # The killed worker was replaced: the pool still runs programs.
    again = pool.run_one({"program": original})
    assert status(again) in ("same", "unchanged"), explain(again)


def test_documented_limits_switch_off_negative_sleeps_and_shared_files(strict):
    for seed in range(200):
        text = generate(seed, negative_sleeps=False).text
        assert "sleep(-" not in text and "= -1" not in text, text
    original = program("""\
        import os


        async def main(base, items, opts):
            path = os.path.join(base, "count.txt")
            n = int(open(path).read()) if os.path.exists(path) else 0
            with open(path, "w") as fh:
                fh.write(str(n + 1))
            items.append(n)
    """, concurrency=5)
    # Files are per call now, items still shared: a rewrite that changes items is still caught.
    same = strict.run_one({"program": original, "rewritten": original["text"] + "\n", "per_call_files": True})
    assert status(same) == "same", explain(same)
    files = same["original"]["files"]
    assert [files[f"call{i}/count.txt"] for i in range(5)] == ["b'1'"] * 5, files
    wrong = original["text"].replace("items.append(n)", "items.append(n + 1)")
    report = strict.run_one({"program": original, "rewritten": wrong, "per_call_files": True})
    assert status(report) == "difference", explain(report)


def test_unordered_compares_concurrent_lists_as_multisets(strict):
    original = program("""\
        import asyncio


        async def main(base, items, opts):
            items.append("start")
            items.append("end")
    """, concurrency=3)
    # The calls now overtake each other: the same appends, in another order.
    reordered = original["text"].replace('    items.append("end")',
                                         '    await asyncio.sleep(0)\n    items.append("end")')
    assert status(strict.run_one({"program": original, "rewritten": reordered})) == "difference"
    same = strict.run_one({"program": original, "rewritten": reordered, "unordered": True})
    assert status(same) == "same", explain(same)
    # Different appends are still a difference.
    changed = reordered.replace('items.append("end")', 'items.append("END")')
    report = strict.run_one({"program": original, "rewritten": changed, "unordered": True})
    assert status(report) == "difference", explain(report)


def test_originals_are_deterministic():
    """The harness's premise: the same program run twice gives the same outcome."""
    seeds = random.Random(2024).sample(range(10**6), 40)
    with Pool(jobs=2, timeout=8.0, determinism=True) as workers:
        reports = list(workers.map({"seed": s} for s in seeds))
    bad = [r for r in reports if r.get("nondeterministic") or r.get("harness_error")
           or r.get("hang") in ("original", "original again")]
    assert not bad, explain(bad[0])


def test_generated_programs_compile():
    for seed in range(300):
        text = generate(seed).text
        compile(text, f"seed-{seed}", "exec", dont_inherit=True)
