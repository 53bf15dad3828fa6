"""Recall and precision on backend modules labelled by hand, blind to the engine."""

from __future__ import annotations

from collections import Counter

import pytest

from asyncfix.engine.file import analyze_bytes
from tests.conftest import FIXTURES, expected_markers


def score(folder, catalog) -> tuple[float, float, int]:
    tp = fp = fn = 0
    for path in sorted(folder.glob("*.py")):
        data = path.read_bytes()
        expected = expected_markers(data.decode(), r"#\s*expect:\s*([a-z, -]+)")
        got = Counter((f.line, f.category) for f in analyze_bytes(data, path.name, catalog))
        tp += sum((expected & got).values())
        fp += sum((got - expected).values())
        fn += sum((expected - got).values())
    return tp / (tp + fp), tp / (tp + fn), tp + fn


@pytest.mark.parametrize("folder", ["realistic", "realistic_holdout"])
def test_recall_and_precision_at_least_0_9(folder, catalog):
    base = FIXTURES / folder
    if not base.is_dir():
        pytest.skip(f"{folder} not present")
    precision, recall, labels = score(base, catalog)
    assert labels > 50
    assert precision >= 0.9, precision
    assert recall >= 0.9, recall


def run_score(folder) -> tuple[int, int, int, list[str]]:
    """(true, false, missed, the misses and false alarms) of a whole `check` run over a folder
    with AF663 selected: the project's modules see one another (helpers across modules)."""
    from pathlib import Path

    from asyncfix.cache import Cache
    from asyncfix.runner import check_files

    files = sorted(str(p) for p in folder.rglob("*.py"))
    result = check_files(files, lambda p: Path(p).relative_to(folder).as_posix(), {}, 1, Cache(None, {}),
                         opt_in=frozenset({"AF663"}))  # helpers across modules: opt-in
    assert not result.errors
    tp = fp = fn = 0
    wrong = []
    for path in files:
        shown = Path(path).relative_to(folder).as_posix()
        expected = expected_markers(Path(path).read_text(), r"#\s*expect:\s*([a-z, -]+)")
        got = Counter((f.line, f.category) for f in result.findings if f.path == shown)
        tp += sum((expected & got).values())
        fp += sum((got - expected).values())
        fn += sum((expected - got).values())
        wrong += [f"false alarm {shown}:{k}" for k in (got - expected)]
        wrong += [f"missed {shown}:{k}" for k in (expected - got)]
    return tp, fp, fn, wrong


@pytest.mark.parametrize("folder", ["realistic_clients", "realistic_project"])
def test_issue_14_recall_at_least_0_95_without_false_alarms(folder):
    """Services written blind to the engine: sync SDK clients, databases and models
    (realistic_clients); the project's own helpers across modules, types through its functions,
    UploadFile, callables handed over (realistic_project)."""
    tp, fp, fn, wrong = run_score(FIXTURES / folder)
    assert tp + fn >= 50
    assert fp == 0, wrong
    assert tp / (tp + fn) >= 0.95, wrong
