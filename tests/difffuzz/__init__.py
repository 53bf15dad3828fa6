"""Differential fuzzing of `asyncfix apply`: generate small async programs full of blocking calls
and the hazards around them, rewrite them, run original and rewrite on identical inputs, and report
every observable difference.

    choice.py   every random decision goes through a Chooser (hypothesis or random.Random)
    grammar.py  builds one program (module text + how to call it) from a Chooser
    canon.py    canonical, address-free text of the values a run leaves behind
    runner.py   runs one module in this process and compares two outcomes
    worker.py   a subprocess that rewrites and runs programs (killable on a hang)
    pool.py     parent side: workers, per-phase timeouts, one report per program
    report.py   difference kinds and likely causes, standalone difference files
    reduce.py   shrink a failing program (python -m tests.difffuzz.reduce SEED)
    found.py    re-check FOUND.md's reproductions (python -m tests.difffuzz.found)
    FOUND.md    every kind of difference found, each with a minimal program
"""
