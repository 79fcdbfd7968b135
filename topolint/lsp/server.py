"""The pygls wiring of :mod:`topolint.lsp.features`.

Every document version is checked once: a burst of changes is coalesced (the check runs
from the event loop after the change notifications already read, and a version that is
already outdated is skipped); a save or re-open of unchanged text reuses the last result.
Rules, configuration and the parser are imported and loaded once per server.  No handler
lets an exception out: the server keeps running and reports the problem as a diagnostic
or a log message.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from topolint import __version__
from topolint.lint.engine import gc_paused
from topolint.lsp.features import Linted, SettingsCache

F = TypeVar("F", bound=Callable[..., Any])


class TopolintServer(LanguageServer):
    """The language server: keeps the last checked state of each open document."""

    def __init__(self) -> None:
        super().__init__(
            "topolint", __version__, text_document_sync_kind=t.TextDocumentSyncKind.Incremental
        )
        self.settings_cache = SettingsCache()
        self.linted: dict[str, Linted] = {}
        self.pending: dict[str, int] = {}
        self.frozen = False

    def current(self, uri: str) -> Linted | None:
        """The checked state of the document's current text (checked now if needed)."""
        doc = self.workspace.get_text_document(uri)
        text = doc.source
        last = self.linted.get(uri)
        if last is not None and last.text == text:
            return last
        path = Path(to_fs_path(uri) or uri)
        with gc_paused():  # see engine.gc_paused: no collection walks the new model
            last = Linted.check(uri, path, text, self.settings_cache)
        self.linted[uri] = last
        if not self.frozen:
            # What the first check loaded for good (rules, schema, caches) leaves the
            # collector's generations: later collections do not walk it again.
            gc.collect()
            gc.freeze()
            self.frozen = True
        return last

    def lint(self, uri: str, version: int | None = None) -> None:
        """Check the document ``uri`` and publish its diagnostics; skipped when ``version`` is
        no longer the latest change received (a newer check is on its way).
        """
        if version is not None and self.pending.get(uri) != version:
            return  # a newer change is on its way: check that one
        try:
            state = self.current(uri)
        except Exception:  # pragma: no cover - belt and braces
            self.log(traceback.format_exc())
            return
        if state is None:
            return
        if state.crash:
            self.log(state.crash)
        self.text_document_publish_diagnostics(
            t.PublishDiagnosticsParams(uri=uri, diagnostics=state.diagnostics(), version=version)
        )

    def log(self, message: str) -> None:
        """Send ``message`` to the editor's log as an error."""
        self.window_log_message(t.LogMessageParams(type=t.MessageType.Error, message=message))


def _guarded(server: TopolintServer, default: Any = None) -> Callable[[F], F]:
    """Run a handler; on any exception log it and answer ``default``."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception:
                server.log(f"topolint: {fn.__name__} failed:\n{traceback.format_exc()}")
                return default

        return inner  # type: ignore[return-value]

    return wrap


def build() -> TopolintServer:
    """The server with its features registered (open/change/save/close, hover, definition,
    symbols, code actions); every handler logs its failures instead of crashing.
    """
    server = TopolintServer()
    guard = functools.partial(_guarded, server)

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    @guard()
    def did_open(params: t.DidOpenTextDocumentParams) -> None:
        server.lint(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    @guard()
    def did_change(params: t.DidChangeTextDocumentParams) -> None:
        uri, version = params.text_document.uri, params.text_document.version
        server.pending[uri] = version
        asyncio.get_event_loop().call_soon(server.lint, uri, version)

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE)
    @guard()
    def did_save(params: t.DidSaveTextDocumentParams) -> None:
        server.lint(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    @guard()
    def did_close(params: t.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        server.linted.pop(uri, None)
        server.pending.pop(uri, None)
        server.text_document_publish_diagnostics(
            t.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    @guard()
    def hover(params: t.HoverParams) -> t.Hover | None:
        state = server.current(params.text_document.uri)
        if state is None or state.topology is None:
            return None
        text = state.hover(params.position.line, params.position.character)
        if text is None:
            return None
        return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text))

    @server.feature(t.TEXT_DOCUMENT_DEFINITION)
    @guard()
    def definition(params: t.DefinitionParams) -> t.Location | None:
        state = server.current(params.text_document.uri)
        if state is None or state.topology is None:
            return None
        return state.definition(params.position.line, params.position.character)

    @server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @guard(default=[])
    def symbols(params: t.DocumentSymbolParams) -> list[t.DocumentSymbol]:
        state = server.current(params.text_document.uri)
        return state.symbols() if state is not None else []

    @server.feature(
        t.TEXT_DOCUMENT_CODE_ACTION,
        t.CodeActionOptions(
            code_action_kinds=[t.CodeActionKind.QuickFix, t.CodeActionKind.SourceFixAll]
        ),
    )
    @guard(default=[])
    def code_action(params: t.CodeActionParams) -> list[t.CodeAction]:
        state = server.current(params.text_document.uri)
        return state.code_actions(params.range) if state is not None else []

    return server
