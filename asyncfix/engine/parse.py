"""Parse any Python 3.8-3.14 source into a stdlib ``ast`` tree with exact positions."""

from __future__ import annotations

import ast
import warnings


def parse(text: str, filename: str = "<unknown>") -> ast.Module:
    """The stdlib parser first (fast); libcst-guided masking for syntax it does not know.

    Raises ``SyntaxError`` only for a file that is not valid Python in any version.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences etc. are the user's business
        try:
            return ast.parse(text, filename)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            first = exc if isinstance(exc, SyntaxError) else SyntaxError(str(exc))
        from asyncfix.engine.mask import mask_for_ast  # libcst loads only for such files

        try:
            masked = mask_for_ast(text)
        except Exception:
            raise first from None
        try:
            return ast.parse(masked, filename)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise first from None
