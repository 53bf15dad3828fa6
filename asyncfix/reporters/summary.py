"""Counts shared by the reporters."""

from __future__ import annotations

from collections import Counter


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 file`, `2 files`: "1 files" reads as a bug."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def summarize(result) -> dict:
    by_category = Counter(f.category for f in result.findings)
    fixable = sum(1 for f in result.findings if f.fixable)
    unknown = any(f.fixable is None for f in result.findings)
    return {
        "files": result.files,
        "findings": len(result.findings),
        "fixable": None if unknown else fixable,  # known with --show-fixes only
        "unfixable": sum(1 for f in result.findings if f.fixable is False),
        "errors": len(result.errors),
        "by_category": dict(sorted(by_category.items())),
        # test and example code left out (`--include-tests` reports it)
        "test_files_left_out": getattr(result, "test_files", 0),
        "test_findings_left_out": len(getattr(result, "test_findings", ())),
    }
