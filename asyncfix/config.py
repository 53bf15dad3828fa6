"""`[tool.asyncfix]` in the nearest pyproject.toml: exclude globs, code selection, test code, extras."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

KNOWN_KEYS = {"exclude", "categories", "blocking", "select", "extend-select", "ignore", "include-tests"}
_SELECTOR_KEYS = ("categories", "select", "extend-select", "ignore")


class ConfigError(Exception):
    """A pyproject.toml asyncfix cannot use; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    root: Path  # the project root: the directory of pyproject.toml, else where the run started
    path: Path | None = None
    exclude: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # the old spelling of `select`: both select
    blocking: dict[str, str] = field(default_factory=dict)  # "mylib.render" = "image"
    select: tuple[str, ...] | None = None  # None: the default codes
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    include_tests: bool = False

    def layer(self):
        """This file's code selection, the first layer under the command line's."""
        from asyncfix.selection import Layer

        chosen = None if self.select is None and not self.categories else (*self.categories, *(self.select or ()))
        return Layer(chosen, self.extend_select, self.ignore)


def find_pyproject(start: Path) -> Path | None:
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else start.parents:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path) -> Config:
    path = find_pyproject(start)
    if path is None:
        return Config(root=(start if start.is_dir() else start.parent).resolve())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    table = data.get("tool", {}).get("asyncfix", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.asyncfix] must be a table")
    unknown = set(table) - KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [tool.asyncfix]: {', '.join(sorted(unknown))}")
    exclude = table.get("exclude", [])
    blocking = table.get("blocking", {})
    if not (isinstance(exclude, list) and all(isinstance(x, str) for x in exclude)):
        raise ConfigError(f"{path}: [tool.asyncfix] exclude must be a list of glob strings")
    for key in _SELECTOR_KEYS:
        value = table.get(key, [])
        if not (isinstance(value, list) and all(isinstance(x, str) for x in value)):
            raise ConfigError(f"{path}: [tool.asyncfix] {key} must be a list of codes, prefixes or category names")
    include_tests = table.get("include-tests", False)
    if not isinstance(include_tests, bool):
        raise ConfigError(f"{path}: [tool.asyncfix] include-tests must be true or false")
    if not (isinstance(blocking, dict) and all(isinstance(v, str) for v in blocking.values())):
        raise ConfigError(f'{path}: [tool.asyncfix.blocking] maps call names to categories: "mylib.render" = "image"')
    return Config(root=path.parent, path=path, exclude=tuple(exclude),
                  categories=tuple(table.get("categories", [])), blocking=dict(blocking),
                  select=tuple(table["select"]) if "select" in table else None,
                  extend_select=tuple(table.get("extend-select", [])), ignore=tuple(table.get("ignore", [])),
                  include_tests=include_tests)
