"""Counts shared by the reporters."""

from __future__ import annotations

from collections import Counter


def summarize(result) -> dict:
    by_category = Counter(f.category for f in result.findings)
    fixable = sum(1 for f in result.findings if f.fixable)
    return {
        "files": result.files,
        "findings": len(result.findings),
        "fixable": fixable,
        "unfixable": len(result.findings) - fixable,
        "errors": len(result.errors),
        "by_category": dict(sorted(by_category.items())),
    }
