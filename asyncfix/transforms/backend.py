"""The async library a module runs on, and how to sleep and use a thread in it.

asyncio primitives fail under trio (`RuntimeError: no running event loop`), so a module that
uses trio or anyio gets theirs (../shared/reference/migration-semantics.md, 5.3).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from asyncfix.engine.astutil import statements
from asyncfix.transforms.imports import module_aliases


POOL = "_ASYNCFIX_PROCESS_POOL"  # the module-level ProcessPoolExecutor `--offload process` adds


@dataclass
class Backend:
    name: str  # "asyncio", "anyio" or "trio"
    alias: str  # how the module is spelled in this file
    imports: set[str] = field(default_factory=set)  # modules the rewrite needs imported
    process_pool: bool = False  # whether the module needs POOL defined

    @classmethod
    def detect(cls, tree: ast.Module, path: str = "") -> "Backend":
        """trio or anyio where the module imports them, or lives in their own package (whose
        modules import it relatively: `from .. import to_thread`); asyncio otherwise."""
        aliases = {m: spelled for m, spelled in module_aliases(tree).items()
                   if m in ("asyncio", "anyio", "trio", "functools")}
        used = set()
        for n in statements(tree):  # imports are statements: the expressions need no walk
            if isinstance(n, ast.ImportFrom) and n.module:
                used.add(n.module.partition(".")[0])
            elif isinstance(n, ast.Import):
                used |= {a.name.partition(".")[0] for a in n.names}
        parts = set(re.split(r"[\\/]", path)[:-1])
        name = ("trio" if "trio" in used or ("trio" in parts and "asyncio" not in used) else
                "anyio" if "anyio" in used or ("anyio" in parts and "asyncio" not in used) else "asyncio")
        backend = cls(name, aliases.get(name, name))
        backend.aliases = aliases
        return backend

    def need(self, module: str) -> str:
        self.imports.add(module)
        return getattr(self, "aliases", {}).get(module, module)

    def sleep(self) -> str:
        return f"{self.need(self.name)}.sleep"

    def partial(self) -> str:
        return f"{self.need('functools')}.partial"

    def thread(self) -> str:
        return self._thread()

    def _thread(self) -> str:
        mod = self.need(self.name)
        return f"{mod}.to_thread" if self.name == "asyncio" else f"{mod}.to_thread.run_sync"

    def run_in_thread(self, helper: str, params: list[str]) -> str:
        return f"await {self._thread()}({', '.join([helper, *params])})"

    def run_in_process(self, helper: str, params: list[str]) -> str | None:
        """A module-level helper in the module's process pool (None: this backend has no way)."""
        if self.name == "trio":
            return None
        if self.name == "anyio":
            return f"await {self.need('anyio')}.to_process.run_sync({', '.join([helper, *params])})"
        self.process_pool = True
        loop = f"{self.need('asyncio')}.get_running_loop()"
        return f"await {loop}.run_in_executor({', '.join([POOL, helper, *params])})"

    def await_in_thread(self, func: str, args: list[str], keywords: list) -> str:
        if keywords and self.name != "asyncio":  # run_sync takes no keyword arguments
            partial = f"{self.need('functools')}.partial"
            return f"await {self._thread()}({partial}({', '.join([func, *args])}))"
        return f"await {self._thread()}({', '.join([func, *args])})"
