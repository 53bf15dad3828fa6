"""What the engine reports: one ``Finding`` per blocking call that runs on the event loop."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int  # 1-based
    column: int  # 1-based, in characters
    end_line: int
    end_column: int  # 1-based, exclusive, in characters
    code: str
    category: str
    message: str
    qualname: str  # what was called, as resolved: `sqlite3.Connection.execute`, `time.sleep`
    function: str  # the enclosing `async def`, dotted through classes: `Repo.get`
    fixable: bool | None  # None: not planned (`check` without --show-fixes); see verdict
    unfixable_reason: str | None = None
    notes: tuple[str, ...] = ()  # what `apply` wants a reviewer of its change to know

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        return cls(**{**data, "notes": tuple(data.get("notes", ()))})


@dataclass(frozen=True)
class FileError:
    """A file the run could not read or parse: reported, skipped, and the run goes on."""

    path: str
    message: str
    line: int = 1
    column: int = 1
