"""``topolint server``: a Language Server (LSP over stdio, pygls) for topology files.

Diagnostics on open, change and save (the findings of ``topolint check``, with the same
configuration discovery), hover with memory bounds, go to definition from a connect
endpoint to the socket that binds it, document symbols, and code actions from the rules'
mechanical fixes.  See ``docs/editors.md``.
"""

from __future__ import annotations


def serve() -> None:
    """Run the server on standard input/output until the client exits."""
    import os
    import sys

    try:
        from topolint.lsp.server import build
    except ImportError as e:
        from topolint.errors import UsageError

        raise UsageError(
            f"topolint server needs pygls ({e.name} is missing): pip install 'topolint[lsp]'"
        ) from None
    try:
        build().start_io()
    finally:
        # pygls closes standard output when the client says exit: nothing more may be
        # written (or flushed) there.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
