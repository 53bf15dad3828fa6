"""Where the grammar's random decisions come from.

The grammar only ever calls `integer`, so it can be driven by hypothesis (CI: shrinkable,
derandomized) or by `random.Random(seed)` (the long run: fast, one seed per program, reproducible
without hypothesis' database). Every helper maps 0 to the simplest option, because hypothesis
shrinks integers toward 0.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")


class Chooser:
    def integer(self, lo: int, hi: int) -> int:  # inclusive bounds
        raise NotImplementedError

    def chance(self, p: float) -> bool:
        """True with probability p; 0 (the shrink target) is False."""
        return self.integer(0, 999) >= 1000 - round(p * 1000)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def weighted(self, options: Sequence[tuple[int, T]]) -> T:
        """Pick by weight; the first option is the shrink target, so list the simplest first."""
        options = [(w, v) for w, v in options if w > 0]
        k = self.integer(0, sum(w for w, _ in options) - 1)
        for weight, value in options:
            if k < weight:
                return value
            k -= weight
        raise AssertionError("unreachable")


class RandomChooser(Chooser):
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser(Chooser):
    """Inside `@st.composite`: each decision is one hypothesis draw, so examples shrink."""

    def __init__(self, draw: Callable):
        from hypothesis import strategies as st

        self.draw = draw
        self.st = st

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(self.st.integers(lo, hi))
