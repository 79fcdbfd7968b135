"""Input errors: one clear message with a location, exit code 2, never a traceback."""

from __future__ import annotations


class InputError(Exception):
    """Something is wrong with the input: file, YAML/JSON, schema, unit, variable.

    ``str(err)`` is ``file:line:col: message`` (as much of the location as is known).
    """

    def __init__(
        self, message: str, file: str = "", line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column

    def __str__(self) -> str:
        loc = self.file or "<input>"
        if self.line is not None:
            loc += f":{self.line}"
            if self.column is not None:
                loc += f":{self.column}"
        return f"{loc}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class NoDevices(InputError):
    """A file of a FairMQ form that starts no FairMQ device: nothing to check (skipped when
    found by a folder scan or named in a check, an input error for other commands)."""


class UsageError(Exception):
    """The command line is wrong (unknown rule, bad option value): exit code 2."""
