"""Writing results: a file or standard output that cannot take them is a one-line error.

``topolint check -o json:/nonexistent/x``, an output on a full disk (``/dev/full``), a
folder given as output file, or standard output redirected to a full disk all end in
``topolint: cannot write OUTPUT: CAUSE`` and exit code 2, never in a traceback or an
"internal error".  A closed pipe (``topolint check | head -1``) ends quietly.

- :func:`write_file` writes an output file, raising :class:`OutputError`;
- :func:`guard_stdout` makes every later write to ``sys.stdout`` (``print``,
  ``typer.echo``, ``sys.stdout.write``) raise :class:`OutputError` when the descriptor
  refuses it, and swallow what is written after that, so that the interpreter's final
  flush does not fail a second time.
"""

from __future__ import annotations

import contextlib
import errno
import io
import sys
from pathlib import Path

from topolint.errors import UsageError
from topolint.textsafe import escape

__all__ = ["OutputError", "guard_stdout", "write_file"]


class OutputError(UsageError):
    """An output could not be written (exit code 2)."""


def _cause(e: OSError) -> str:
    return e.strerror or str(e) or type(e).__name__


def write_file(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, or raise :class:`OutputError` naming it."""
    try:
        path.write_text(text, encoding="utf-8", errors="backslashreplace")
    except OSError as e:
        raise OutputError(f"cannot write {escape(str(path))}: {_cause(e)}") from None


class _Stdout(io.FileIO):
    """File descriptor 1, turning a refused write into :class:`OutputError` once."""

    failed = False

    def write(self, data: object) -> int:
        size = len(memoryview(data))  # type: ignore[arg-type]
        if self.failed:
            return size  # already reported: drop the rest
        try:
            return super().write(data)  # type: ignore[arg-type]
        except BrokenPipeError:
            self.failed = True  # the reader is gone: nothing to say to anyone
            raise
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EINTR):
                raise
            self.failed = True
            raise OutputError(f"cannot write to standard output: {_cause(e)}") from None


def guard_stdout() -> None:
    """Put :class:`_Stdout` under ``sys.stdout`` (only the process's real standard output,
    not a capture of it), with unencodable characters written as backslash escapes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a detached stream
                reconfigure(errors="backslashreplace")
    old = sys.stdout
    if old is None or old is not sys.__stdout__ or not isinstance(old, io.TextIOWrapper):
        return
    try:
        fd = old.fileno()
        old.flush()
        raw = _Stdout(fd, "w", closefd=False)
    except (OSError, ValueError):
        return
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding=old.encoding,
        errors="backslashreplace",
        line_buffering=old.line_buffering,
    )
