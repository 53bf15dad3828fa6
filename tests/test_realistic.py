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
