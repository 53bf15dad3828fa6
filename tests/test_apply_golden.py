"""Golden cases: fixtures/apply/<category>/<case>.py is rewritten to exactly <case>.fixed.py, the
lines marked `# unfixable` keep their findings, and a second pass changes nothing. A first line
`# apply-options: sqlite=thread` passes options, as the command's flags would."""

from __future__ import annotations

import pytest

from asyncfix.apply import checked_rewrite
from tests.conftest import FIXTURES

CASES = sorted(p for p in (FIXTURES / "apply").rglob("*.py") if not p.name.endswith(".fixed.py"))


def options(source: str) -> dict[str, str]:
    first = source.partition("\n")[0]
    if not first.startswith("# apply-options:"):
        return {}
    return dict(item.split("=") for item in first.partition(":")[2].split())


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(path, catalog):
    source = path.read_text()
    expected = path.with_name(path.stem + ".fixed.py").read_text()
    result = checked_rewrite(source, path.name, catalog, set(catalog.categories), **options(source))
    assert (result.text or source) == expected
    marked = {n for n, line in enumerate(source.splitlines(), 1) if line.rstrip().endswith("# unfixable")}
    assert {f.line for f in result.unfixable} == marked
    again = checked_rewrite(expected, path.name, catalog, set(catalog.categories), **options(source))
    assert not again.text or again.text == expected
    compile(expected, path.name, "exec")


OTHER = sorted(p for folder in ("check", "realistic", "realistic_holdout", "demo_backend")
               for p in (FIXTURES / folder).rglob("*.py") if p.name != "broken_syntax.py")


@pytest.mark.parametrize("path", OTHER, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_rewrites_verified_and_idempotent(path, catalog):
    """The verification inside checked_rewrite includes the second pass: it raises on a file whose
    rewrite would change again, or whose re-analysis disagrees."""
    source = path.read_text()
    result = checked_rewrite(source, path.name, catalog, set(catalog.categories))
    if result.text:
        again = checked_rewrite(result.text, path.name, catalog, set(catalog.categories))
        assert not again.text or again.text == result.text


def test_passes_repeat_until_one_changes_nothing(monkeypatch, catalog):
    """As ruff's fix loop: a later pass may move what an earlier one kept (its hops end sections);
    the findings it moves count as fixed, and a file that never settles is refused."""
    import asyncfix.apply as apply_mod
    from asyncfix.findings import Finding

    def finding(line, fixable=True, reason=None):
        return Finding("m.py", line, 5, line, 9, "AF201", "file-io", "m", "open", "main", fixable, reason)

    texts = {"A": ("B", [finding(1)], [finding(2, False, "kept")]), "B": ("C", [finding(7)], []), "C": ("", [], [])}

    def fake(text, *args, **kwargs):
        new, fixed, unfixable = texts[text]
        before = {"A": 2, "B": 1}.get(text, 0)
        return apply_mod.Rewrite(new, fixed, unfixable, [("AF201", "open", "main")] * before)

    monkeypatch.setattr(apply_mod, "rewrite", fake)
    monkeypatch.setattr(apply_mod, "compile", lambda *a, **k: None, raising=False)
    result = apply_mod.checked_rewrite("A", "m.py", catalog, set())
    assert result.text == "C"
    assert [(f.line, f.fixable) for f in result.fixed] == [(1, True), (2, True)]
    assert result.unfixable == []
    texts["C"] = ("D", [], [])
    texts["D"] = ("E", [], [])
    texts["E"] = ("F", [], [])
    texts["F"] = ("G", [], [])
    with pytest.raises(apply_mod.VerifyError, match="would change the file again"):
        apply_mod.checked_rewrite("A", "m.py", catalog, set())
