"""Output formats of `asyncfix check`: text (ruff-like), json, sarif, github annotations."""

from asyncfix.reporters import github, json_report, sarif, text

FORMATS = {"text": text.render, "json": json_report.render, "sarif": sarif.render,
           "github": github.render}
