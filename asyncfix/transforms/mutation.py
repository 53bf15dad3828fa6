"""State the module itself changes on the loop, which a thread must not read meanwhile.

`await asyncio.to_thread(json.dumps, STATE)` serialises `STATE` in a worker thread while other
tasks keep changing it on the loop: where the original dump was atomic, the rewrite can raise
"dictionary changed size during iteration" or write a torn snapshot. A blocking call (or run) that
reads a module variable, or an attribute of `self`, that some function or method of the module
changes (outside `__init__`) stays on the loop.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from asyncfix.engine.astutil import FUNCS, HOLDS_STATEMENTS, child_nodes
from asyncfix.transforms.sharing import Sharing, walk_own


@dataclass
class Mutations:
    module: set[str] = field(default_factory=set)  # keys rooted at module variables
    by_class: dict[str, set[str]] = field(default_factory=dict)  # class name -> `self.x` keys

    @classmethod
    def of(cls, tree: ast.Module, module_vars: set[str]) -> "Mutations":
        out = cls()
        stack: list[tuple[ast.AST, str | None]] = [(tree, None)]
        while stack:
            node, owner = stack.pop()
            for child in child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    stack.append((child, child.name))
                elif isinstance(child, FUNCS):
                    out._function(child, owner, module_vars)
                    stack.append((child, None))
                elif isinstance(child, HOLDS_STATEMENTS):  # an expression holds no def
                    stack.append((child, owner))
        return out

    def _function(self, func, owner: str | None, module_vars: set[str]) -> None:
        args = func.args.posonlyargs + func.args.args
        nodes = walk_own(func)
        declared = {n for s in nodes if isinstance(s, ast.Global) for n in s.names}
        own = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        roots = (set(module_vars) - own) | declared
        self_name = args[0].arg if owner and args and func.name != "__init__" else None
        if self_name:
            roots.add(self_name)
        _, writes = Sharing(frozenset(roots), frozenset(declared), {}).accesses(func.body, set(), strict=False)
        for key in writes:
            root, _, rest = key.partition(".")
            if root == self_name:
                self.by_class.setdefault(owner, set()).add("self" + ("." + rest if rest else ""))
            elif root in roots:
                self.module.add(key)

    def changed(self, reads: set[str], self_name: str | None, class_name: str | None) -> str | None:
        """The first key of ``reads`` (keys as read in the coroutine) that other code changes."""
        theirs = set(self.module)
        if self_name and class_name:
            theirs |= {self_name + k[4:] for k in self.by_class.get(class_name, ())}
        for key in sorted(reads):
            for other in theirs:
                if key == other or key.partition(".")[0] == other or other.partition(".")[0] == key:
                    return key
        return None
