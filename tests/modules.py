"""Loading the before and after of a rewrite as modules, each executed afresh under its own name
(not registered in sys.modules)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def load_file(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(source: str, folder: Path, name: str):
    """``source`` written to ``folder/<name>.py`` and loaded from there."""
    path = folder / f"{name}.py"
    path.write_text(source)
    return load_file(path, name)
