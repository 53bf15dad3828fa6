"""One JSON object: `{"findings": [...], "errors": [...], "summary": {...}}`."""

from __future__ import annotations

import json

from asyncfix.reporters.summary import summarize

FIELDS = ("path", "line", "column", "end_line", "end_column", "category", "code", "message",
          "fixable", "unfixable_reason", "qualname", "function")


def render(result, catalog) -> str:
    doc = {
        "findings": [{k: getattr(f, k) for k in FIELDS} for f in result.findings],
        "errors": [e.__dict__ for e in result.errors],
        "summary": summarize(result),
    }
    return json.dumps(doc, indent=2) + "\n"
