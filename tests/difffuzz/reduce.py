"""Shrink a failing program to the statements its failure needs.

    python -m tests.difffuzz.reduce PROGRAM_SEED [--tool DIR]
    python -m tests.difffuzz.reduce --file case.py --entry main --concurrency 1 [--tool DIR]

Greedy, statement by statement on the AST: drop a statement, or replace a compound statement by
its body, and keep the change when the program still fails the same way (the same likely cause,
see report.guess_cause, rewritten and run through the pool). Prints the smallest program found
(as ast.unparse writes it) with its rewrite and differences.
"""

from __future__ import annotations

import argparse
import ast
import copy
from pathlib import Path

from tests.difffuzz.grammar import Program, generate
from tests.difffuzz.pool import Pool
from tests.difffuzz.report import guess_cause, status

_BODIES = ("body", "orelse", "finalbody", "handlers")


def _blocks(tree: ast.AST):
    """(node, field) for every statement list in the tree, outermost first."""
    for node in ast.walk(tree):
        for field in _BODIES:
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], (ast.stmt, ast.excepthandler)):
                yield node, field


def candidates(text: str):
    """Smaller variants of the program, each one statement dropped or unwrapped."""
    tree = ast.parse(text)
    places = [(i, field, k) for i, (_, field) in enumerate(_blocks(tree))
              for k in range(len(getattr(list(_blocks(tree))[i][0], field)))]
    for index, field, k in places:
        for action in ("drop", "unwrap"):
            variant = copy.deepcopy(tree)
            node, _ = list(_blocks(variant))[index]
            block = getattr(node, field)
            stmt = block[k]
            if action == "drop":
                if field == "handlers" and len(block) == 1 and not getattr(node, "finalbody", None):
                    continue
                del block[k]
                if not block and field in ("body",):
                    block.append(ast.Pass())
            else:
                inner = getattr(stmt, "body", None)
                if not isinstance(inner, list) or isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                     ast.ClassDef, ast.excepthandler)):
                    continue
                block[k:k + 1] = inner
            try:
                out = ast.unparse(ast.fix_missing_locations(variant)) + "\n"
                compile(out, "case.py", "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                continue
            yield out


def _undefined(text: str) -> set[str]:
    """Names pyflakes calls undefined: a variant that adds one fails for a new, dull reason."""
    import io

    from pyflakes.api import check
    from pyflakes.reporter import Reporter

    out = io.StringIO()
    check(text, "case.py", Reporter(out, io.StringIO()))
    return {line.split("undefined name ")[1] for line in out.getvalue().splitlines()
            if "undefined name " in line}


def _size(text: str) -> int:
    return sum(1 for _ in ast.walk(ast.parse(text)))


def reduce(program: Program, pool: Pool, verbose: bool = True) -> tuple[Program, dict]:
    def check(p: Program) -> dict:
        return pool.run_one({"program": p.to_dict()})

    first = check(program)
    if status(first) not in ("difference", "tool"):
        raise SystemExit(f"the program does not fail: {status(first)}")
    target = guess_cause(first)
    current = Program(ast.unparse(ast.parse(program.text)) + "\n", program.entry, program.concurrency)
    report = check(current)
    if guess_cause(report) != target:  # unparsing alone changed it: keep the original text
        current, report = program, first
    if verbose:
        print(f"# reducing: {target}")
    changed = True
    while changed:
        changed = False
        size, undefined = _size(current.text), _undefined(current.text)
        for text in candidates(current.text):
            if _size(text) >= size:  # only strictly smaller programs: the loop must end
                continue
            if not _undefined(text) <= undefined:
                continue
            trial = Program(text, current.entry, current.concurrency)
            result = check(trial)
            if guess_cause(result) == target:
                current, report, changed = trial, result, True
                if verbose:
                    print(f"# {len(text.splitlines())} lines")
                break
    return current, report


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", nargs="?", type=int)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--entry", default="main")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--tool", help="folder holding the asyncfix package to test")
    ap.add_argument("--documented", action="store_true", help="as in benchmarks/fuzz.py")
    ap.add_argument("--unordered", action="store_true", help="as in benchmarks/fuzz.py")
    args = ap.parse_args()
    if args.file:
        program = Program(args.file.read_text(), args.entry, args.concurrency)
    else:
        program = generate(args.seed)
    with Pool(jobs=1, timeout=8.0, tool=args.tool, documented=args.documented,
              unordered=args.unordered) as pool:
        small, report = reduce(program, pool)
    print(f"# entry: {small.entry}, concurrency: {small.concurrency}")
    print(small.text)
    print("# rewrite:")
    print(report.get("rewritten") or report.get("tool_error") or "")
    for diff in report.get("differences") or []:
        print(f"# {diff['field']}: {diff['original']}  ->  {diff['rewrite']}")
    if report.get("hang"):
        print(f"# hang in {report['hang']}")
    print(f"# cause: {guess_cause(report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
