"""A small JSON-RPC client that drives ``topolint server`` over stdio (tests, benchmark).

It starts the real server as a subprocess, frames messages with ``Content-Length`` as LSP
does, and collects what the server sends in a reader thread: responses by id,
notifications (``textDocument/publishDiagnostics``, ``window/logMessage``) in a queue.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


class LspClient:
    """A ``topolint server`` subprocess and the JSON-RPC conversation with it.

    Parameters
    ----------
    cwd
        The server's working folder (configuration lookup starts from the files, not here).
    command
        The command that starts the server (default: ``python -m topolint server``).
    """

    def __init__(self, cwd: Path | str | None = None, command: list[str] | None = None) -> None:
        cmd = command or [sys.executable, "-m", "topolint", "server"]
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._id = 0
        self._responses: dict[int, Any] = {}
        self._cond = threading.Condition()
        self.notifications: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- framing -------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            msg = json.loads(out.read(length))
            if "id" in msg and "method" not in msg:
                with self._cond:
                    self._responses[msg["id"]] = msg
                    self._cond.notify_all()
            elif "id" in msg:  # a request from the server: answer it plainly
                self._send({"id": msg["id"], "result": None})
            else:
                self.notifications.put((time.perf_counter(), msg))

    # -- API -------------------------------------------------------------------------------

    def request(self, method: str, params: Any, timeout: float = 60) -> Any:
        """Send a request and wait for its answer; returns its ``result``.

        Raises :class:`TimeoutError` when no answer comes within ``timeout`` seconds (or the
        server exited), :class:`RuntimeError` with the ``error`` of an error answer.
        """
        self._id += 1
        rid = self._id
        self._send({"id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self._cond:
            while rid not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"no answer to {method}")
                self._cond.wait(left)
            msg = self._responses.pop(rid)
        if "error" in msg:
            raise RuntimeError(msg["error"])
        return msg.get("result")

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (no answer expected)."""
        self._send({"method": method, "params": params})

    def initialize(self, root: Path) -> Any:
        """The LSP handshake (``initialize`` with ``root`` as workspace, then ``initialized``);
        returns the server's capabilities answer.
        """
        result = self.request(
            "initialize",
            {"processId": None, "rootUri": root.resolve().as_uri(), "capabilities": {}},
        )
        self.notify("initialized", {})
        return result

    def diagnostics(self, uri: str, version: int | None = None, timeout: float = 60) -> Any:
        """The next diagnostics published for ``uri`` (for ``version``, when given)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no diagnostics for {uri}")
            at, msg = self.notifications.get(timeout=left)
            if msg.get("method") != "textDocument/publishDiagnostics":
                continue
            p = msg["params"]
            if p["uri"] == uri and (version is None or p.get("version") == version):
                return at, p["diagnostics"]

    def open(self, uri: str, text: str, language: str = "yaml") -> None:
        """``textDocument/didOpen``: the editor opened ``uri`` with ``text`` (version 1)."""
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
        )

    def change(self, uri: str, version: int, text: str) -> None:
        """``textDocument/didChange``: the whole new ``text`` of ``uri`` as ``version``."""
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )

    def close(self) -> int | None:
        """Shut the server down (``shutdown``, ``exit``; killed if that fails); returns its
        exit status.
        """
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            return self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            return self.proc.wait(timeout=10)
