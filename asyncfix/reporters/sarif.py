"""SARIF 2.1.0 with URIs relative to the project root (`%SRCROOT%`), for code-scanning upload."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

from asyncfix import __version__

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rules(catalog):
    rules, index = [], {}
    for cat in catalog.categories.values():
        for rule in cat.rules:
            index[rule.code] = len(rules)
            rules.append({
                "id": rule.code,
                "name": f"{cat.name}/{rule.code}",
                "shortDescription": {"text": rule.message.format(name="call")},
                "fullDescription": {"text": cat.doc.what},
                "help": {"text": f"{cat.doc.why}\n\nInstead: {cat.doc.instead}\n\nFix safety: {cat.doc.fix_safety}"},
                "properties": {"category": cat.name, "checklist": cat.section},
                "defaultConfiguration": {"level": "warning"},
            })
    return rules, index


def _uri(path: str) -> str:
    """A relative URI reference (RFC 3986): spaces, `%`, `#`, `?` and non-ASCII percent-encoded."""
    return quote(path, safe="/")


def render(result, catalog) -> str:
    rules, index = _rules(catalog)
    results = []
    for f in result.findings:
        fingerprint = hashlib.sha256(f"{f.path}:{f.code}:{f.function}:{f.qualname}".encode()).hexdigest()
        results.append({
            "ruleId": f.code,
            "ruleIndex": index.get(f.code, 0),
            "level": "warning",
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": _uri(f.path), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": f.line, "startColumn": f.column,
                           "endLine": f.end_line, "endColumn": f.end_column},
            }}],
            "partialFingerprints": {"asyncfix/v1": fingerprint[:32]},
            "properties": {"category": f.category, **({"fixable": f.fixable} if f.fixable is not None else {}),
                           **({"unfixableReason": f.unfixable_reason} if f.unfixable_reason else {})},
        })
    notes = [{
        "level": "error",
        "message": {"text": e.message},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(e.path), "uriBaseId": "%SRCROOT%"},
                                            "region": {"startLine": e.line}}}],
    } for e in result.errors]
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "asyncfix", "version": __version__,
                                "informationUri": "https://pypi.org/project/asyncfix/", "rules": rules}},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notes}],
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"
