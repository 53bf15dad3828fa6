"""Which httpx the rewrite targets: httpx2 (the maintained fork, same API) where the project
already depends on it, httpx otherwise; `--http-client` overrides."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from asyncfix.transforms.imports import module_aliases

TARGETS = ("httpx", "httpx2")
# A requirement naming httpx2: a line's start or a quote/bracket before it, a version or the end after.
_DEPENDENCY = re.compile(r"""(?mi)(?:^|["'\s,\[(])httpx2(?=[\s"'<>=!~;\[,)@]|$)""")
_ORJSON = re.compile(r"""(?mi)(?:^|["'\s,\[(])orjson(?=[\s"'<>=!~;\[,)@]|$)""")
_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "poetry.lock", "uv.lock")


def project_target(root: Path) -> str | None:
    """"httpx2" when the project's dependency files name it (pyproject, setup, requirements*),
    else None: the module's own imports then decide."""
    return "httpx2" if depends_on(root, _DEPENDENCY) else None


def project_json(root: Path) -> str | None:
    """"orjson" when the project's dependency files name it, else None (the module's imports
    decide): moved json calls then use it where it writes the same text (`json_forms`)."""
    return "orjson" if depends_on(root, _ORJSON) else None


def depends_on(root: Path, requirement: re.Pattern) -> bool:
    candidates = [root / name for name in _FILES] + sorted(root.glob("requirements*.txt")) + sorted(
        root.glob("requirements/*.txt"))
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if requirement.search(text):
            return True
    return False


def module_target(tree: ast.Module, chosen: str | None) -> tuple[str, str, bool]:
    """(library, how this module spells it, whether the import must be added). ``chosen``: the
    library the user or the project picked; None: httpx2 if the module imports it, else httpx."""
    spelled = {m: name for m, name in module_aliases(tree).items() if m in TARGETS}
    library = chosen or ("httpx2" if "httpx2" in spelled else "httpx")
    if library in spelled:
        return library, spelled[library], False
    return library, library, True
