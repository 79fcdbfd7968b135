"""What the language server knows about one open document, without the protocol plumbing.

:class:`Linted` is one version of a document checked as ``topolint check`` checks the file
(same configuration discovery, same rules and suppressions): its findings as LSP
diagnostics, and — from the same topology, wiring and (lazily) analysis — hover texts,
definitions, document symbols and code actions.  Positions are 0-based lines and columns
in characters (the loader's columns), as LSP wants them for ASCII text.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from lsprotocol import types as t

from topolint.commands.check import check_text, edit_format, settings_for_file
from topolint.errors import InputError
from topolint.lint.engine import Settings, catalogue
from topolint.lint.findings import Finding
from topolint.lint.findings import Path as ElementPath

SEVERITY = {
    "error": t.DiagnosticSeverity.Error,
    "warning": t.DiagnosticSeverity.Warning,
    "info": t.DiagnosticSeverity.Information,
}
SOURCE = "topolint"
#: A topology (native or FairMQ); other YAML/JSON opened in the editor is left alone.
_MARKER = re.compile(
    r'(?m)^(topolint|processes)\s*:|"(topolint|processes)"\s*:|fairMQOptions|--channel-config'
    r"|--mq-config|<topology"
)
_TOKEN_END = re.compile(r"""[^\s,\]}#:]*""")


class SettingsCache:
    """Settings per file, re-read only when its configuration file changes (by mtime)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str | None, int], Settings] = {}

    def get(self, path: Path) -> Settings:
        """The settings ``topolint check`` would use for ``path`` (:func:`settings_for_file`),
        from the cache unless its configuration file changed.  Raises :class:`InputError` for a
        broken configuration.
        """
        from topolint.lint.config import find_config

        found = find_config(path)
        try:
            mtime = found.stat().st_mtime_ns if found is not None else 0
        except OSError:
            mtime = 0
        key = (str(path), str(found) if found else None, mtime)
        s = self._cache.get(key)
        if s is None:
            s = settings_for_file(path)  # InputError for a broken configuration
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = s
        return s


@dataclass
class Linted:
    """One version of one document, checked."""

    uri: str
    path: Path
    text: str
    findings: list[Finding] = field(default_factory=list)
    topology: Any = None
    error: InputError | None = None
    crash: str | None = None
    skipped: bool = False

    @classmethod
    def check(cls, uri: str, path: Path, text: str, settings_cache: SettingsCache) -> Linted:
        """Check ``text``, the current content of the document ``uri`` (file ``path``).

        Parameters
        ----------
        uri, path
            The document, as the editor names it and as a file (configuration, display).
        text
            Its current text (possibly unsaved).
        settings_cache
            Where the file's settings come from.

        Returns
        -------
        Linted
            The topology and its findings; or ``error`` (an input error: one diagnostic),
            ``crash`` (a bug, logged, no diagnostics) or ``skipped`` (not a topology).
        """
        out = cls(uri, path, text)
        if not _MARKER.search(text):
            out.skipped = True
            return out
        try:
            settings = settings_cache.get(path)
            out.topology, out.findings = check_text(text, path, settings, display=_display(path))
        except InputError as e:
            out.error = e
        except RecursionError:
            out.error = InputError("nesting too deep", str(path), 1, 1)
        except Exception:  # a bug must not take the editor's server down
            out.crash = traceback.format_exc(limit=8)
        return out

    # -- diagnostics -------------------------------------------------------------------

    def diagnostics(self) -> list[t.Diagnostic]:
        """The LSP diagnostics: one per finding (its fix in the message, its related
        locations as related information), or one for the input error or an internal error;
        none for a file that is not a topology."""
        if self.skipped:
            return []
        if self.error is not None:
            e = self.error
            same_file = e.file is None or Path(e.file).resolve() == self.path.resolve()
            line, col = ((e.line or 1) - 1, (e.column or 1) - 1) if same_file else (0, 0)
            where = "" if same_file else f"{e.file}: "
            return [
                t.Diagnostic(
                    range=self._range(line, col),
                    message=f"{where}{e.message}",
                    severity=t.DiagnosticSeverity.Error,
                    code="input-error",
                    source=SOURCE,
                )
            ]
        if self.crash is not None:
            return [
                t.Diagnostic(
                    range=self._range(0, 0),
                    message="topolint could not check this file (internal error; please "
                    "report it):\n" + self.crash.strip().splitlines()[-1],
                    severity=t.DiagnosticSeverity.Error,
                    source=SOURCE,
                )
            ]
        rules = {r.name: r for r in catalogue()}
        out = []
        for f in self.findings:
            rule = rules.get(f.rule)
            message = f"{f.rule}: {f.message}"
            if f.fix:
                message += f"\nfix: {f.fix}"
            related = [
                t.DiagnosticRelatedInformation(
                    location=t.Location(
                        uri=self.uri, range=self._range(r["line"] - 1, r["column"] - 1)
                    ),
                    message=str(r.get("element", "")),
                )
                for r in f.related
            ]
            out.append(
                t.Diagnostic(
                    range=self._range(f.line - 1, f.column - 1, f.end_line, f.end_column),
                    message=message,
                    severity=SEVERITY[f.severity.value],
                    code=f.code,
                    code_description=t.CodeDescription(href=rule.help_uri) if rule else None,
                    source=SOURCE,
                    related_information=related or None,
                    data={"rule": f.rule, "fixable": f.edit is not None},
                )
            )
        return out

    @cached_property
    def lines(self) -> list[str]:
        """The text's lines (0-based, as LSP counts them)."""
        return self.text.split("\n")

    def _range(
        self, line: int, col: int, end_line: int | None = None, end_col: int | None = None
    ) -> t.Range:
        line, col = max(line, 0), max(col, 0)
        if end_line is not None and end_col is not None:
            return t.Range(t.Position(line, col), t.Position(end_line - 1, end_col - 1))
        text = self.lines[line] if line < len(self.lines) else ""
        if col < len(text) and text[col] in "\"'":
            close = text.find(text[col], col + 1)
            end = close + 1 if close > 0 else len(text)
        else:
            m = _TOKEN_END.match(text, col)
            end = m.end() if m else col
        return t.Range(t.Position(line, col), t.Position(line, max(end, col + 1)))

    # -- the model behind hover, definitions and symbols ---------------------------------

    @cached_property
    def wiring(self) -> Any:
        """The topology's :class:`~topolint.lint.graph.TopologyGraph`, built on first use."""
        from topolint.lint.graph import build_graph

        return build_graph(self.topology)

    @cached_property
    def analysis(self) -> Any:
        """The memory/throughput :class:`~topolint.analysis.performance.Analysis`, built on first use."""
        from topolint.analysis.performance import analyze

        return analyze(self.topology, self.wiring)

    def _pos(self, path: ElementPath, value: bool = False) -> tuple[int, int]:
        doc = self.topology.document
        p = doc.value_position(path) if value else doc.position(path)
        return p.line - 1, p.column - 1

    @cached_property
    def _spans(self) -> dict[ElementPath, int]:
        """Last line (0-based) of every process and socket element."""
        doc = self.topology.document
        last: dict[ElementPath, int] = {}
        for table in (doc.value_pos, doc.key_pos):
            for path, pos in table.items():
                for n in (2, 4):
                    if len(path) >= n:
                        k = path[:n]
                        if pos.line - 1 > last.get(k, -1):
                            last[k] = pos.line - 1
        return last

    def element_at(self, line: int, col: int) -> tuple[str, Any] | None:
        """The endpoint, socket or process under (line, col), innermost first."""
        topo = self.topology
        if topo is None:
            return None
        best: tuple[int, Any] | None = None
        for p in topo.processes.values():
            for s in p.sockets.values():
                for e in s.endpoints:
                    el, ec = self._pos(e.path, value=True)
                    if el == line and ec <= col:
                        end = self._range(el, ec).end.character
                        if col <= end and (best is None or ec > best[0]):
                            best = (ec, e)
        if best is not None:
            return "endpoint", best[1]
        for p in topo.processes.values():
            for s in p.sockets.values():
                sl, _ = self._pos(s.path)
                if sl <= line <= self._spans.get(tuple(s.path[:4]), sl):
                    return "socket", s
        for p in topo.processes.values():
            pl, _ = self._pos(p.path)
            if pl <= line <= self._spans.get(tuple(p.path[:2]), pl):
                return "process", p
        return None

    # -- hover ------------------------------------------------------------------------

    def hover(self, line: int, col: int) -> str | None:
        """Markdown for the element under (``line``, ``col``), 0-based: a process, a socket (its
        memory bound and what it is wired to) or an endpoint (what it resolves to); ``None``
        elsewhere.
        """
        found = self.element_at(line, col)
        if found is None:
            return None
        kind, obj = found
        if kind == "process":
            return self._hover_process(obj)
        if kind == "socket":
            return self._hover_socket(obj)
        return self._hover_endpoint(obj)

    def _connections(self, s: Any) -> list[Any]:
        w = self.wiring
        seen: set[int] = set()
        out = []
        for c in [*w.outgoing(s), *w.incoming(s)]:
            if c.id not in seen:
                seen.add(c.id)
                out.append(c)
        return out

    def _connection_line(self, c: Any) -> str:
        cm = self.analysis.memory_of(c)
        b = cm.bound
        return f"- `{c.sender_id}` → `{c.receiver_id}` ({c.transport}): {b.explain()}"

    def _hover_socket(self, s: Any) -> str:
        from topolint.analysis.performance import fmt_bytes

        a = self.analysis
        lines = [f"**{s.type.upper()} socket `{s.id}`**", ""]
        ends = [f"bind `{e.text}`" for e in s.binds] + [f"connect `{e.text}`" for e in s.connects]
        if ends:
            lines.append(", ".join(ends))
        mems = [(k, m) for k, m in a.sockets.items() if k == s.id or _instance_of(k, s)]
        if mems:
            _, m = max(mems, key=lambda km: km[1].known_bytes)
            total = fmt_bytes(m.bytes) if m.bytes is not None else "unknown (message size)"
            parts = ", ".join(
                f"{name} {fmt_bytes(getattr(m, name))}"
                for name in ("hwm", "batch", "kernel", "parked")
                if getattr(m, name)
            )
            each = f" per instance ({len(mems)} instances)" if len(mems) > 1 else ""
            lines += ["", f"Memory bound{each}: **{total}** — {parts or 'nothing queues'}"]
        conns = self._connections(s)
        if conns:
            lines += ["", "Wired to (worst-case queue per connection):"]
            lines += [self._connection_line(c) for c in conns[:12]]
            if len(conns) > 12:
                lines.append(f"- … and {len(conns) - 12} more")
        else:
            lines += ["", "Not wired to anything."]
        return "\n".join(lines)

    def _hover_process(self, p: Any) -> str:
        from topolint.analysis.performance import fmt_bytes

        a = self.analysis
        lines = [f"**process `{p.name}`**" + (f" × {p.replicas}" if p.replicas > 1 else ""), ""]
        stage = a.stages.get(p.name)
        if stage is not None:
            u = stage.utilisation
            util = f"{u:.0%}" if u is not None else "no service time declared"
            lines.append(f"Utilisation: {util} at {stage.load:g} messages/s")
            if a.throughput.bottleneck == p.name:
                lines.append("This is the throughput bottleneck.")
        m = a.processes.get(p.name)
        if m is not None:
            total = fmt_bytes(m.bytes) if m.bytes is not None else "unknown (message size)"
            parts = ", ".join(
                f"{name} {fmt_bytes(getattr(m, name))}"
                for name in ("hwm", "batch", "kernel", "parked")
                if getattr(m, name)
            )
            limit = f" of {fmt_bytes(m.limit)} declared" if m.limit else ""
            lines.append(f"Memory bound: **{total}**{limit} — {parts or 'nothing queues'}")
        lines += ["", "Sockets:"]
        for s in p.sockets.values():
            peers = sorted(
                {
                    c.receiver_id
                    if c.sender == p.name or c.sender.startswith(p.name + "[")
                    else c.sender_id
                    for c in self._connections(s)
                }
            )
            lines.append(f"- `{s.name}` {s.type.upper()} → {', '.join(peers) or 'nothing'}")
        return "\n".join(lines)

    def _hover_endpoint(self, e: Any) -> str:
        lines = [f"**endpoint `{e.text}`** ({'bind' if e.bind else 'connect'})", ""]
        conns = [c for c in self.wiring.connections if c.endpoint is e or c.bind_endpoint is e]
        target = self.definition_target(e)
        if target is not None and not e.bind:
            lines.append(f"Bound by `{target[0]}`")
        if conns:
            lines += ["", "Connections through it:"]
            lines += [self._connection_line(c) for c in conns[:12]]
        else:
            lines.append("No connection through it.")
        return "\n".join(lines)

    # -- definitions --------------------------------------------------------------------

    def definition_target(self, e: Any) -> tuple[str, ElementPath] | None:
        """The socket that binds what the connect endpoint ``e`` reaches: (id, element)."""
        topo = self.topology
        if e.bind:
            return None
        if e.ref is not None:
            proc, sock = e.ref
            p = topo.processes.get(proc)
            s = p.sockets.get(sock) if p is not None else None
            if s is None:
                return None
            return s.id, (s.binds[0].path if s.binds else s.path)
        for c in self.wiring.connections:
            if c.endpoint is e and c.bind_endpoint is not None:
                binder = (
                    c.receiver_socket
                    if c.bind_endpoint in (c.receiver_socket.binds if c.receiver_socket else [])
                    else c.sender_socket
                )
                if binder is not None:
                    return binder.id, c.bind_endpoint.path
        return None

    def definition(self, line: int, col: int) -> t.Location | None:
        """Go to definition: from a connect endpoint under (``line``, ``col``) to the bind it
        resolves to; ``None`` when there is none.
        """
        found = self.element_at(line, col)
        if found is None or found[0] != "endpoint":
            return None
        target = self.definition_target(found[1])
        if target is None:
            return None
        tl, tc = self._pos(target[1], value=True)
        return t.Location(uri=self.uri, range=self._range(tl, tc))

    # -- symbols ------------------------------------------------------------------------

    def symbols(self) -> list[t.DocumentSymbol]:
        """The outline: processes with their sockets, and message types."""
        topo = self.topology
        if topo is None:
            return []
        out = []
        for p in topo.processes.values():
            pl, pc = self._pos(p.path)
            pend = self._spans.get(tuple(p.path[:2]), pl)
            children = []
            for s in p.sockets.values():
                sl, sc = self._pos(s.path)
                send = self._spans.get(tuple(s.path[:4]), sl)
                children.append(
                    t.DocumentSymbol(
                        name=s.name,
                        detail=s.type.upper(),
                        kind=t.SymbolKind.Interface,
                        range=t.Range(t.Position(sl, sc), t.Position(send, len(self._line(send)))),
                        selection_range=self._range(sl, sc),
                    )
                )
            out.append(
                t.DocumentSymbol(
                    name=p.name,
                    detail=f"× {p.replicas}" if p.replicas > 1 else "process",
                    kind=t.SymbolKind.Class,
                    range=t.Range(t.Position(pl, pc), t.Position(pend, len(self._line(pend)))),
                    selection_range=self._range(pl, pc),
                    children=children,
                )
            )
        return out

    def _line(self, n: int) -> str:
        return self.lines[n] if 0 <= n < len(self.lines) else ""

    # -- code actions -------------------------------------------------------------------

    def code_actions(self, rng: t.Range) -> list[t.CodeAction]:
        """A quick fix per fixable finding on the lines of ``rng`` (the safe ones marked
        preferred), and "apply every safe fix" when there is one; in YAML and JSON documents
        only (a FairMQ form is mapped onto the model, not edited)."""
        from topolint.lint.fixes import fixable, rule_safety, text_edit

        if self.topology is None:
            return []
        fmt = edit_format(self.text, self.topology)
        if fmt not in ("yaml", "json"):
            return []
        safety = rule_safety()
        out = []
        diags = {(d.range.start.line, d.code, d.message): d for d in self.diagnostics()}
        for f in self.findings:
            if f.edit is None or not (rng.start.line <= f.line - 1 <= rng.end.line):
                continue
            te = text_edit(self.text, fmt, f.edit)
            if te is None:
                continue
            safe = safety.get(f.rule) == "safe"
            msg = f"{f.rule}: {f.message}" + (f"\nfix: {f.fix}" if f.fix else "")
            diag = diags.get((f.line - 1, f.code, msg))
            out.append(
                t.CodeAction(
                    title=f"{f.edit.title} ({f.rule}{'' if safe else ', unsafe: changes behaviour'})",
                    kind=t.CodeActionKind.QuickFix,
                    diagnostics=[diag] if diag else None,
                    is_preferred=safe,
                    edit=t.WorkspaceEdit(changes={self.uri: [_lsp_edit(te)]}),
                )
            )
        if fixable(self.findings, unsafe=False):
            new = self.fix_all()
            if new is not None and new != self.text:
                end = len(self.lines) - 1
                out.append(
                    t.CodeAction(
                        title="Apply every safe topolint fix",
                        kind=t.CodeActionKind.SourceFixAll + ".topolint",
                        edit=t.WorkspaceEdit(
                            changes={
                                self.uri: [
                                    t.TextEdit(
                                        range=t.Range(
                                            t.Position(0, 0), t.Position(end, len(self._line(end)))
                                        ),
                                        new_text=new,
                                    )
                                ]
                            }
                        ),
                    )
                )
        return out

    def fix_all(self) -> str | None:
        """The text with every safe fix applied (``None`` when it cannot be checked)."""
        from topolint.lint.fixes import fix_text

        settings = settings_for_file(self.path)

        def check(text: str) -> tuple[list[Finding], str]:
            topo, findings = check_text(text, self.path, settings, display=_display(self.path))
            return findings, edit_format(text, topo)

        try:
            return fix_text(self.text, str(self.path), check, unsafe=False).text
        except InputError:
            return None


def _lsp_edit(te: Any) -> t.TextEdit:
    return t.TextEdit(
        range=t.Range(
            t.Position(te.start_line, te.start_column), t.Position(te.end_line, te.end_column)
        ),
        new_text=te.new,
    )


def _instance_of(key: str, s: Any) -> bool:
    """Is ``key`` (``p[3].s``) an instance of socket ``s``?"""
    return key.startswith(s.process + "[") and key.endswith("]." + s.name)


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel
