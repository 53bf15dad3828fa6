"""What a name or expression is known to stand for, as far as the engine can tell."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ref:
    """A module, function or class, by qualified name (`sqlite3`, `time.sleep`)."""

    qual: str


@dataclass(frozen=True)
class Inst:
    """An instance of a catalog type. ``local``: created inside the coroutine being analysed."""

    type: str
    local: bool = False


@dataclass(frozen=True)
class Shadow:
    """A local binding the engine knows nothing about; it hides any outer meaning of the name."""


SHADOW = Shadow()


@dataclass(eq=False)
class ClassInfo:
    """A class of the analysed module: what its attributes hold, from `self.x = ...` and `x: T`."""

    name: str
    bases: list[str] = field(default_factory=list)
    attrs: dict[str, object] = field(default_factory=dict)
    node: object = None  # the ast.ClassDef; its attributes are inferred on first use
    state: str = "new"  # new -> computing -> done


@dataclass(frozen=True)
class SelfOf:
    """`self` (or `cls`) inside a method of a known class."""

    cls: ClassInfo


@dataclass(frozen=True, eq=False)
class Func:
    """A function or method of the analysed module; calling it yields its return annotation."""

    node: object  # ast.FunctionDef | ast.AsyncFunctionDef


Value = Ref | Inst | Shadow | SelfOf | Func | None


def outer(value: Value) -> Value:
    """A value seen from another function: an instance there was not made locally."""
    return Inst(value.type, False) if isinstance(value, Inst) else value
