"""GitHub Actions workflow commands: one `::warning` annotation per finding."""

from __future__ import annotations


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(result, catalog) -> str:
    out = []
    for f in result.findings:
        out.append(
            f"::warning file={_prop(f.path)},line={f.line},col={f.column},endLine={f.end_line},"
            f"endColumn={f.end_column},title={_prop('asyncfix ' + f.code)}::{_data(f.code + ' ' + f.message)}"
        )
    for e in result.errors:
        out.append(f"::error file={_prop(e.path)},line={e.line},col={e.column},"
                   f"title=asyncfix::{_data(e.message)}")
    return "\n".join(out) + ("\n" if out else "")
