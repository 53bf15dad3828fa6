"""What a category's change says about itself: the commit message of its branch and the body of
its pull request (Pixee's pattern: what, why, the changes, fix safety, review notes, how to
verify). Both come from the category's docs (`asyncfix explain`) and the findings `apply` moved."""

from __future__ import annotations

from asyncfix import __version__
from asyncfix.catalog import Category
from asyncfix.diff import unified_diff
from asyncfix.findings import Finding

TRAILER = "Generated-by: asyncfix"  # marks the commits a re-run may replace
MAX_DIFF_LINES = 60  # per file in a PR body; the whole diff is the PR's own


def subject(category: Category) -> str:
    return f"asyncfix({category.name}): {category.title}"


def changes(fixed: list[Finding]) -> list[str]:
    """`path:line: what`, one per call moved, in file order."""
    return [f"{f.path}:{f.line}: {f.message}" for f in sorted(fixed, key=lambda f: (f.path, f.line, f.column))]


def notes(fixed: list[Finding]) -> list[str]:
    """The review notes the transforms left, each once (`path:line: note`)."""
    seen, out = set(), []
    for f in sorted(fixed, key=lambda f: (f.path, f.line, f.column)):
        for note in f.notes:
            if (f.path, f.function, note) not in seen:
                seen.add((f.path, f.function, note))
                out.append(f"{f.path}:{f.line}: {note}")
    return out


def commit_message(category: Category, fixed: list[Finding]) -> str:
    where = f"Checklist {category.section}: {category.title}." if category.section != "-" else f"{category.title} (beyond the checklist)."
    lines = [subject(category), "", where, "", "Changes:"]
    lines += [f"- {c}" for c in changes(fixed)]
    review = notes(fixed)
    if review:
        lines += ["", "Review notes:"] + [f"- {n}" for n in review]
    lines += ["", f"{TRAILER} {__version__}", f"Asyncfix-Category: {category.name}"]
    return "\n".join(lines) + "\n"


def pr_body(category: Category, fixed: list[Finding], diffs: dict[str, tuple[str, str]], base: str) -> str:
    """``diffs``: path -> (before, after) text of each changed file."""
    doc = category.doc
    out = [f"## {category.title} (checklist {category.section})", "",
           f"**What.** {doc.what}", "", f"**Why it blocks the event loop.** {doc.why}", "",
           f"**Instead.** {doc.instead}", "", f"### Changes ({len(fixed)})", ""]
    out += [f"- `{c}`" for c in changes(fixed)]
    for path in sorted(diffs):
        before, after = diffs[path]
        patch = unified_diff(path, before, after).splitlines()
        shown = patch[:MAX_DIFF_LINES]
        out += ["", f"<details><summary><code>{path}</code></summary>", "", "```diff", *shown]
        if len(patch) > len(shown):
            out.append(f"... ({len(patch) - len(shown)} more lines in the PR's diff)")
        out += ["```", "", "</details>"]
    out += ["", "### Fix safety", "", doc.fix_safety]
    review = notes(fixed)
    if review:
        out += ["", "### Review notes", ""] + [f"- {n}" for n in review]
    out += ["", "### How to verify", "",
            f"- `asyncfix check --select {category.name}` on this branch reports none of the calls above;",
            f"- `git diff {base}...HEAD` holds only this category's change; run the test suite;",
            f"- `asyncfix explain {category.name}` tells the rule in full.",
            "", f"<sub>{TRAILER} {__version__}. This branch is rebuilt on `{base}` at each run; "
            "commits pushed to it by hand stop the bot from touching it.</sub>"]
    return "\n".join(out) + "\n"
