"""``topolint diff OLD NEW``: what changed between two versions of a topology, and whom it breaks.

Both versions are loaded and wired (:func:`topolint.lint.engine.load`,
:func:`topolint.lint.graph.build_graph`).  Every change to a process, socket or message type is
listed; a change is **breaking** when it breaks a process of *another owner* than the one
that owns the changed element:

- a connection that worked in OLD no longer works in NEW — a removed process or socket, a
  socket renamed under a peer's logical reference, a changed endpoint or host that a peer's
  ``tcp://`` no longer meets, a socket type the peer no longer fits, CURVE on one side only.
  The change on the other side of the lost connection gets the blame; the peer is affected.
- on a connection that still works, the producer's message changed (its ``sends:`` type,
  the type's ``schema`` or ``encoding``) and no longer satisfies what the consumer required
  before: :func:`topolint.analysis.contracts.incompatibilities` between the producer's new schema and
  the consumer's old one, minus what was already incompatible in OLD.  Removing a required
  field breaks; adding an optional one does not (unless the consumer forbids additional
  properties).
- a larger ``max_size`` (or other change) pushes another owner's process over its
  ``memory_limit`` (needs :mod:`topolint.analysis.performance`; without it the change is reported as
  non-breaking with "memory impact unknown").

Owners: a process without ``owner`` counts as an unknown owner, different from every other,
so a topology without owners gets a gate on every cross-process break.  Exit code 1 when any
change is breaking, 0 otherwise; input errors propagate as
:class:`~topolint.errors.InputError` (exit 2 in the CLI).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topolint.analysis.contracts import UNCERTAIN_KINDS, incompatibilities
from topolint.lint.engine import load
from topolint.lint.findings import Path as ElementPath
from topolint.lint.graph import TopologyGraph, build_graph
from topolint.lint.model import Process, Socket, Topology

__all__ = ["Change", "diff_files", "diff_topologies", "render"]

SockKey = tuple[str, str]  # (process, socket)
EdgeKey = tuple[SockKey, SockKey]  # (sender, receiver)

#: Socket fields compared as plain options (a change is listed, never breaking by itself).
_OPTIONS = (
    "sndhwm", "rcvhwm", "sndbuf", "rcvbuf", "linger", "immediate", "conflate", "nodrop",
    "maxmsgsize", "subscribe", "sync", "loss_tolerant", "carries",
)  # fmt: skip
_MAX_DETAILS = 6


@dataclass
class Change:
    """One change between the two versions."""

    kind: str
    element: str
    owner: str | None
    message: str
    breaking: bool = False
    affected_owners: list[str] = field(default_factory=list)
    affected_processes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    # membership of the lists above, so that marking stays O(1) however many are affected
    _seen: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "element": self.element,
            "breaking": self.breaking,
            "owner": self.owner,
            "affected_owners": self.affected_owners,
            "affected_processes": self.affected_processes,
            "message": self.full_message,
        }

    @property
    def full_message(self) -> str:
        if not self.details:
            return self.message
        shown = self.details[:_MAX_DETAILS]
        more = len(self.details) - len(shown)
        return self.message + " — " + "; ".join(shown) + (f"; and {more} more" if more else "")


def _dotted(path: ElementPath) -> str:
    return ".".join(str(p) for p in path)


@dataclass(frozen=True)
class _ContractEdge:
    """A producer -> consumer connection whose producer changed what it sends."""

    rs: Socket  # the consumer's socket (NEW)
    label: str  # "producer -> consumer (receives TYPE)", for the details
    by: str | None  # the producer's owner
    blame: Change  # the change that caused it
    p_old: str | None  # the type the producer sent
    p_new: str  # the type it sends now
    req_name: str  # the type the consumer receives


class _Differ:
    def __init__(self, old: Topology, new: Topology) -> None:
        from topolint.analysis.contracts.schemas import Schemas

        self.old, self.new = old, new
        self.ow: TopologyGraph = build_graph(old)
        self.nw: TopologyGraph = build_graph(new)
        self.old_schemas = Schemas(old)
        self.new_schemas = Schemas(new)
        self.changes: dict[tuple[str, str], Change] = {}
        self.sock_map: dict[SockKey, SockKey] = {}  # old -> new (same name or renamed)
        self.renamed: dict[SockKey, SockKey] = {}
        self._type_owners: dict[bool, dict[str, str | None]] = {}
        self._incompatible: dict[tuple[int, int], list[Any]] = {}
        self._causes: dict[tuple[str, str], list[Change]] | None = None
        self._cause_rank: dict[int, int] = {}
        self._canons: dict[int, str] = {}

    # ----------------------------------------------------------------- bookkeeping

    def add(self, kind: str, path: ElementPath, owner: str | None, message: str) -> Change:
        key = (kind, _dotted(path))
        if key not in self.changes:
            self.changes[key] = Change(kind, key[1], owner, message)
        return self.changes[key]

    def affect(
        self, change: Change, process: str, detail: str | None = None, *, by: str | None = ""
    ) -> None:
        """Mark ``process`` (of NEW) as affected by ``change``, made by owner ``by``.

        ``by`` defaults to the change's owner; the change breaks when the affected process
        has another owner (or none).
        """
        p = self.new.processes.get(process)
        if p is None:
            return
        by = change.owner if by == "" else by
        seen = change._seen
        if ("p", process) not in seen:
            seen.add(("p", process))
            change.affected_processes.append(process)  # sorted once, in run()
        if p.owner and p.owner != by and ("o", p.owner) not in seen:
            seen.add(("o", p.owner))
            change.affected_owners.append(p.owner)
        if p.owner is None or p.owner != by:
            change.breaking = True
        if detail and ("d", detail) not in seen:
            seen.add(("d", detail))
            change.details.append(detail)

    # ----------------------------------------------------------------- element changes

    def run(self) -> list[Change]:
        self.processes()
        self.messages()
        self.lost_connections()
        self.contracts()
        self.memory()
        for c in self.changes.values():
            c.affected_processes.sort()
            c.affected_owners.sort()
        order = {"process": 0, "socket": 1, "endpoint": 1, "message": 2}
        return sorted(
            self.changes.values(),
            key=lambda c: (not c.breaking, order.get(c.kind.split("-")[0], 3), c.element, c.kind),
        )

    def processes(self) -> None:
        old, new = self.old.processes, self.new.processes
        for name, p in old.items():
            if name not in new:
                self.add("process-removed", p.path, p.owner, f"process {name} removed")
        for name, p in new.items():
            if name not in old:
                self.add("process-added", p.path, p.owner, f"process {name} added")
                continue
            o = old[name]
            if o.owner != p.owner:
                self.add(
                    "owner-changed",
                    (*p.path, "owner"),
                    p.owner,
                    f"process {name}: owner {o.owner or '(none)'} -> {p.owner or '(none)'}",
                )
            if o.host != p.host:
                self.add(
                    "host-changed",
                    (*p.path, "host"),
                    p.owner,
                    f"process {name} moved from host {o.host!r} to {p.host!r}",
                )
            for attr, label in (
                ("replicas", "replicas"),
                ("memory_limit", "memory_limit"),
                ("service_time", "service_time"),
                ("rate", "rate"),
            ):
                if getattr(o, attr) != getattr(p, attr):
                    self.add(
                        f"{attr.replace('_', '-')}-changed",
                        (*p.path, attr),
                        p.owner,
                        f"process {name}: {label} {_value(attr, getattr(o, attr))} -> "
                        f"{_value(attr, getattr(p, attr))}",
                    )
            self.sockets(o, p)

    def sockets(self, o: Process, p: Process) -> None:
        """This process's socket changes; work proportional to its own sockets."""
        gone = [s for n, s in o.sockets.items() if n not in p.sockets]
        fresh = [s for n, s in p.sockets.items() if n not in o.sockets]
        pairs: list[tuple[str, str]] = [(n, n) for n in o.sockets if n in p.sockets]
        targets = _RenameTargets(fresh)
        for s in gone:
            match = targets.take(s)
            if match is not None:
                pairs.append((s.name, match.name))
                self.renamed[(o.name, s.name)] = (p.name, match.name)
                self.add(
                    "socket-renamed",
                    match.path,
                    p.owner,
                    f"socket {s.id} renamed to {match.id}",
                )
            else:
                self.add("socket-removed", s.path, o.owner, f"socket {s.id} removed")
        for s in targets.left():
            self.add("socket-added", s.path, p.owner, f"socket {s.id} added")
        for on, nn in pairs:
            self.sock_map[(o.name, on)] = (p.name, nn)
            self.socket_fields(o.sockets[on], p.sockets[nn], p.owner)

    def socket_fields(self, a: Socket, b: Socket, owner: str | None) -> None:
        if a.type != b.type:
            self.add(
                "socket-type-changed",
                (*b.path, "type"),
                owner,
                f"socket {b.id}: type {a.type.upper()} -> {b.type.upper()}",
            )
        for key in ("binds", "connects"):
            was = [e.text for e in getattr(a, key)]
            now = [e.text for e in getattr(b, key)]
            if was != now:
                self.add(
                    "endpoint-changed",
                    (*b.path, "bind" if key == "binds" else "connect"),
                    owner,
                    f"socket {b.id}: {key[:-1]} {_show(was)} -> {_show(now)}",
                )
        if a.curve != b.curve:
            self.add(
                "curve-changed",
                (*b.path, "curve"),
                owner,
                f"socket {b.id}: curve {a.curve or 'none'} -> {b.curve or 'none'}",
            )
        for key in ("sends", "receives"):
            if getattr(a, key) != getattr(b, key):
                self.add(
                    "message-type-changed",
                    (*b.path, key) if getattr(b, key) else b.path,
                    owner,
                    f"socket {b.id}: {key} {getattr(a, key) or '(none)'} -> "
                    f"{getattr(b, key) or '(none)'}",
                )
        opts = [o for o in _OPTIONS if getattr(a, o) != getattr(b, o)]
        if opts:
            self.add(
                "socket-options-changed",
                b.path,
                owner,
                f"socket {b.id}: "
                + ", ".join(
                    f"{o} {_value(o, getattr(a, o))} -> {_value(o, getattr(b, o))}" for o in opts
                ),
            )

    def messages(self) -> None:
        old, new = self.old.messages, self.new.messages
        for name, m in old.items():
            if name not in new:
                self.add("message-removed", m.path, self._type_owner(name, old=True),
                         f"message type {name} removed")  # fmt: skip
        for name, m in new.items():
            owner = self._type_owner(name)
            if name not in old:
                self.add("message-added", m.path, owner, f"message type {name} added")
                continue
            o = old[name]
            ls_old, ls_new = self.old_schemas.get(name), self.new_schemas.get(name)
            if self._canon(ls_old) != self._canon(ls_new):
                summary = _schema_summary(
                    ls_old.schema if ls_old else None, ls_new.schema if ls_new else None
                )
                self.add("message-schema-changed", (*m.path, "schema"), owner,
                         f"message type {name}: {summary}")  # fmt: skip
            if o.encoding != m.encoding:
                self.add("encoding-changed", (*m.path, "encoding"), owner,
                         f"message type {name}: encoding {o.encoding} -> {m.encoding}")  # fmt: skip
            if o.max_size != m.max_size:
                self.add("max-size-changed", (*m.path, "max_size"), owner,
                         f"message type {name}: max_size {_size(o.max_size)} -> "
                         f"{_size(m.max_size)}")  # fmt: skip
            for attr in ("key", "version", "loss_tolerant"):
                if getattr(o, attr) != getattr(m, attr):
                    self.add("message-changed", (*m.path, attr), owner,
                             f"message type {name}: {attr} {getattr(o, attr)} -> "
                             f"{getattr(m, attr)}")  # fmt: skip

    def _type_owner(self, name: str, *, old: bool = False) -> str | None:
        """The owner of a message type: the owner(s) of the processes that send it."""
        index = self._type_owners.get(old)
        if index is None:
            topo = self.old if old else self.new
            senders: dict[str, set[str]] = {}
            for p in topo.processes.values():
                if p.owner:
                    for s in p.sockets.values():
                        if s.sends:
                            senders.setdefault(s.sends, set()).add(p.owner)
            index = self._type_owners[old] = {
                t: ", ".join(sorted(owners)) for t, owners in senders.items()
            }
        return index.get(name)

    # ----------------------------------------------------------------- broken connections

    def lost_connections(self) -> None:
        old_edges = _edges(self.ow)
        new_edges = _edges(self.nw)
        served = {s for (s, _), ok in new_edges.items() if ok}
        for (s_key, r_key), working in sorted(old_edges.items()):
            if not working:
                continue
            ms, mr = self.sock_map.get(s_key), self.sock_map.get(r_key)
            if ms is not None and mr is not None and new_edges.get((ms, mr)):
                continue
            sender, receiver = f"{s_key[0]}.{s_key[1]}", f"{r_key[0]}.{r_key[1]}"
            what = f"{sender} no longer reaches {receiver}"
            blamed = False
            for side, other in ((s_key, r_key), (r_key, s_key)):
                for change in self._blame(side, other):
                    blamed = True
                    if other == s_key and ms in served:
                        continue  # a receiver went away; the sender still has others
                    self.affect(change, other[0], _why(change, what))
            if not blamed:
                r = self.new.processes.get(r_key[0])
                c = self.add(
                    "connection-lost",
                    self._old_socket_path(s_key),
                    self._owner(s_key),
                    f"connection {sender} -> {receiver} lost",
                )
                self.affect(c, r_key[0] if r is not None else s_key[0], what)

    def _owner(self, key: SockKey) -> str | None:
        p = self.new.processes.get(key[0]) or self.old.processes.get(key[0])
        return p.owner if p else None

    def _old_socket_path(self, key: SockKey) -> ElementPath:
        return ("processes", key[0], "sockets", key[1])

    def _blame(self, side: SockKey, other: SockKey) -> list[Change]:
        """The changes on ``side`` that can explain a lost connection to ``other``."""
        proc, sock = side
        found = []
        pkey = ("processes", proc)
        if ("process-removed", _dotted(pkey)) in self.changes:
            return [self.changes[("process-removed", _dotted(pkey))]]
        old_sock = ("processes", proc, "sockets", sock)
        if ("socket-removed", _dotted(old_sock)) in self.changes:
            return [self.changes[("socket-removed", _dotted(old_sock))]]
        mapped = self.sock_map.get(side)
        if mapped is None:
            return []
        new_path = ("processes", *mapped[:1], "sockets", mapped[1])
        if side in self.renamed and self._referenced_by(other, side):
            found.append(self.changes[("socket-renamed", _dotted(new_path))])
        for kind, sub in (
            ("socket-type-changed", ("type",)),
            ("endpoint-changed", ("bind",)),
            ("endpoint-changed", ("connect",)),
            ("curve-changed", ("curve",)),
        ):
            key = (kind, _dotted((*new_path, *sub)))
            if key in self.changes:
                found.append(self.changes[key])
        host = ("host-changed", _dotted(("processes", proc, "host")))
        if host in self.changes:
            found.append(self.changes[host])
        return found

    def _referenced_by(self, referrer: SockKey, target: SockKey) -> bool:
        s = self.old.socket(*referrer)
        return s is not None and any(e.ref == target for e in s.connects)

    # ----------------------------------------------------------------- contracts

    def contracts(self) -> None:
        back = {v: k for k, v in self.sock_map.items()}
        seen: set[EdgeKey] = set()
        for c in self.nw.connections:
            if c.unresolved or c.mismatch or c.control:
                continue
            ss, rs = c.sender_socket, c.receiver_socket
            assert ss is not None and rs is not None
            key = ((ss.process, ss.name), (rs.process, rs.name))
            if key in seen or ss.process == rs.process:
                continue
            seen.add(key)
            o_ss = self.old.socket(*back[key[0]]) if key[0] in back else None
            o_rs = self.old.socket(*back[key[1]]) if key[1] in back else None
            self.contract_edge(ss, rs, o_ss, o_rs)

    def contract_edge(
        self, ss: Socket, rs: Socket, o_ss: Socket | None, o_rs: Socket | None
    ) -> None:
        """Record what breaks for the consumer ``rs`` now that the producer ``ss`` sends
        another type, schema or encoding (``o_ss`` and ``o_rs``: the two sockets in the
        old version, ``None`` when new)."""
        p_new = ss.sends
        if not p_new or o_ss is None:
            return  # a new producer (its socket-added change says so) or no declared type
        p_old = o_ss.sends
        req_name = rs.receives
        if not req_name:
            return
        # what the consumer was written against: its old type, unless it changed it itself
        if o_rs is not None and o_rs.receives == req_name and req_name in self.old.messages:
            req_topo, req_schemas = self.old, self.old_schemas
        else:
            req_topo, req_schemas = self.new, self.new_schemas
        sp_new = self.new_schemas.get(p_new)
        sp_old = self.old_schemas.get(p_old) if p_old else None
        if self._same_producer(p_old, p_new, sp_old, sp_new):
            return
        e = _ContractEdge(
            rs=rs,
            label=f"{ss.id} -> {rs.id} (receives {req_name})",
            by=self.new.processes[ss.process].owner,
            blame=self._producer_change(ss, p_old, p_new),
            p_old=p_old,
            p_new=p_new,
            req_name=req_name,
        )
        self._encoding_break(e, req_topo.messages.get(req_name))
        self._schema_breaks(e, req_schemas.get(req_name), sp_old, sp_new)

    def _same_producer(self, p_old: str | None, p_new: str, sp_old: Any, sp_new: Any) -> bool:
        """Whether the producer sends what it sent: the same type, schema and encoding."""
        m_new, m_old = self.new.messages.get(p_new), self.old.message(p_old)
        return (
            p_old == p_new
            and self._canon(sp_old) == self._canon(sp_new)
            and (m_old.encoding if m_old else None) == (m_new.encoding if m_new else None)
        )

    def _producer_change(self, ss: Socket, p_old: str | None, p_new: str) -> Change:
        """The change to blame for what ``ss`` now sends: its message type, else the type's
        schema, else its encoding (recorded if not yet)."""
        if p_old != p_new:
            return self.changes.get(
                ("message-type-changed", _dotted((*ss.path, "sends")))
            ) or self.add(
                "message-type-changed",
                (*ss.path, "sends"),
                self.new.processes[ss.process].owner,
                f"socket {ss.id}: sends {p_old or '(none)'} -> {p_new}",
            )
        return self.changes.get(
            ("message-schema-changed", _dotted(("messages", p_new, "schema")))
        ) or self.add(
            "encoding-changed",
            ("messages", p_new, "encoding"),
            self._type_owner(p_new),
            f"message type {p_new}: encoding changed",
        )

    def _encoding_break(self, e: _ContractEdge, req_msg: Any) -> None:
        """The consumer breaks when the producer's new encoding differs from the one it
        decodes (``req_msg``: the message type it was written against) and the old one
        did not."""
        m_new, m_old = self.new.messages.get(e.p_new), self.old.message(e.p_old)
        if not (
            m_new
            and req_msg
            and m_new.encoding
            and req_msg.encoding
            and m_new.encoding != req_msg.encoding
            and (not m_old or m_old.encoding == req_msg.encoding)
        ):
            return
        change = (
            self.changes.get(("encoding-changed", _dotted(("messages", e.p_new, "encoding"))))
            or e.blame
        )
        self.affect(
            change,
            e.rs.process,
            f"{e.label}: now encoded {m_new.encoding}, decoded as {req_msg.encoding}",
            by=e.by,
        )

    def _schema_breaks(self, e: _ContractEdge, req: Any, sp_old: Any, sp_new: Any) -> None:
        """The consumer breaks on each new incompatibility of the producer's schema
        (``sp_new``) with the consumer's (``req``) that the old one (``sp_old``) did not
        have; without both schemas, only a change of type away from the consumer's."""
        p_schema = sp_new.schema if sp_new and not sp_new.error else None
        r_schema = req.schema if req and not req.error else None
        if p_schema is None or r_schema is None:
            if e.p_new != e.req_name and e.p_old == e.req_name:
                self.affect(
                    e.blame,
                    e.rs.process,
                    f"{e.label}: now sends {e.p_new}, with no schema to show it satisfies "
                    f"{e.req_name}",
                    by=e.by,
                )
            return
        baseline: set[tuple[str, str]] = set()
        if sp_old is not None and sp_old.schema is not None and not sp_old.error:
            baseline = {
                (i.pointer, i.kind) for i in self._incompatibilities(sp_old.schema, r_schema)
            }
        from topolint.analysis.contracts.schemas import field_of

        for inc in self._incompatibilities(p_schema, r_schema):
            if inc.kind in UNCERTAIN_KINDS or (inc.pointer, inc.kind) in baseline:
                continue
            self.affect(
                e.blame,
                e.rs.process,
                f"{e.label}: field {field_of(inc.pointer)}: {inc.reason}",
                by=e.by,
            )

    def _canon(self, loaded: Any) -> str:
        """:func:`_canon`, once per loaded schema."""
        key = id(loaded)
        if key not in self._canons:
            self._canons[key] = _canon(loaded)
        return self._canons[key]

    def _incompatibilities(self, producer: Any, consumer: Any) -> list[Any]:
        """:func:`incompatibilities`, once per pair of loaded schemas (many edges share one)."""
        key = (id(producer), id(consumer))
        if key not in self._incompatible:
            self._incompatible[key] = list(incompatibilities(producer, consumer))
        return self._incompatible[key]

    # ----------------------------------------------------------------- memory

    def memory(self) -> None:
        """Processes that a change pushes over their ``memory_limit``."""
        limited = [p for p in self.new.processes.values() if p.memory_limit is not None]
        grown = [
            c
            for c in self.changes.values()
            if c.kind == "max-size-changed" and _grew(self.old, self.new, c.element)
        ]
        if not limited and not grown:
            return
        try:
            from topolint.analysis.performance import analyze
        except ImportError:  # the analysis module is optional
            for c in grown:
                c.details.append(
                    "memory impact unknown: topolint.analysis.performance is not available to bound the queues"
                )
            return
        before = analyze(self.old, self.ow).processes
        after = analyze(self.new, self.nw).processes
        for p in limited:
            mem = after.get(p.name)
            if mem is None or not mem.exceeds:
                continue
            was = before.get(p.name)
            if was is not None and was.exceeds and was.limit == mem.limit:
                continue  # already over before: not this change's doing
            detail = (
                f"process {p.name}'s worst-case queued memory is now "
                f"{_size(mem.known_bytes)}{'+' if mem.bytes is None else ''}, over its "
                f"memory_limit {_size(p.memory_limit)}"
                + (f" (was {_size(was.known_bytes)})" if was is not None else "")
            )
            causes = self._memory_causes(p)
            for c in causes:
                self.affect(c, p.name, detail)
            if not causes:
                c = self.add(
                    "memory-limit-exceeded",
                    (*p.path, "memory_limit"),
                    p.owner,
                    f"process {p.name} now exceeds its memory_limit",
                )
                c.details.append(detail)

    def _memory_causes(self, p: Process) -> list[Change]:
        """Changes that can raise ``p``'s queued memory: sizes, options, replicas, its limit."""
        types: set[str] = set()
        sockets: set[str] = set()
        procs: set[str] = set()
        for s in p.sockets.values():
            for conn in (*self.nw.outgoing(s), *self.nw.incoming(s)):
                if conn.message:
                    types.add(conn.message)
                for peer in (conn.sender_socket, conn.receiver_socket):
                    if peer is not None:
                        sockets.add(_dotted(peer.path))
                        procs.add(peer.process)
        index = self._cause_index()
        keys = [
            *(("max-size", t) for t in types),
            *(("options", e) for e in sockets),
            *(("process", q) for q in procs),
            ("limit", p.name),
        ]
        found = {id(c): c for k in keys for c in index.get(k, ())}
        return sorted(found.values(), key=lambda c: self._cause_rank[id(c)])

    def _cause_index(self) -> dict[tuple[str, str], list[Change]]:
        """The changes that can raise queued memory, by what they are about (built once)."""
        if self._causes is None:
            index: dict[tuple[str, str], list[Change]] = {}
            for rank, c in enumerate(self.changes.values()):
                self._cause_rank[id(c)] = rank
                parts = c.element.split(".")
                if c.kind == "max-size-changed" and _grew(self.old, self.new, c.element):
                    key = ("max-size", parts[1])
                elif c.kind == "socket-options-changed":
                    key = ("options", c.element)
                elif c.kind in ("replicas-changed", "process-added"):
                    key = ("process", parts[1])
                elif c.kind == "memory-limit-changed":
                    key = ("limit", parts[1])
                else:
                    continue
                index.setdefault(key, []).append(c)
            self._causes = index
        return self._causes


def _grew(old: Topology, new: Topology, element: str) -> bool:
    name = element.split(".")[1]
    a, b = old.messages[name].max_size, new.messages[name].max_size
    return b is None or (a is not None and b > a)


# --------------------------------------------------------------------------- helpers


def _edges(wiring: TopologyGraph) -> dict[EdgeKey, bool]:
    """Socket-level connections (forward direction) -> whether they work."""
    out: dict[EdgeKey, bool] = {}
    for c in wiring.connections:
        if c.unresolved or c.reply:
            continue
        ss, rs = c.sender_socket, c.receiver_socket
        assert ss is not None and rs is not None
        if ss.process == rs.process:
            continue
        key = ((ss.process, ss.name), (rs.process, rs.name))
        works = not c.mismatch and _curve_ok(ss, rs)
        out[key] = out.get(key, False) or works
    return out


def _curve_ok(a: Socket, b: Socket) -> bool:
    if a.curve is None and b.curve is None:
        return True
    return a.curve is not None and b.curve is not None and a.curve != b.curve


class _RenameTargets:
    """The new sockets of one process that a removed socket may have been renamed to.

    A candidate has the removed socket's type and shares its endpoints (score 2), its
    message types (score 1), or both (3); the one best candidate is the target, a tie at
    the top is ambiguous (no rename).  Candidates are indexed by endpoints and by message
    types, so each removed socket costs what its few look-alikes cost, not every new socket.
    """

    def __init__(self, fresh: list[Socket]) -> None:
        self.fresh: dict[str, Socket] = {f.name: f for f in fresh}
        self.by_ends: dict[tuple[Any, ...], dict[str, Socket]] = {}
        self.by_msg: dict[tuple[Any, ...], dict[str, Socket]] = {}
        for f in fresh:
            ends, msg = _rename_keys(f)
            if ends is not None:
                self.by_ends.setdefault(ends, {})[f.name] = f
            if msg is not None:
                self.by_msg.setdefault(msg, {})[f.name] = f

    def take(self, s: Socket) -> Socket | None:
        """The target of ``s`` (removed from the candidates), or ``None``."""
        ends, msg = _rename_keys(s)
        e = self.by_ends.get(ends, {}) if ends is not None else {}
        m = self.by_msg.get(msg, {}) if msg is not None else {}
        small, large = (e, m) if len(e) <= len(m) else (m, e)
        best: list[Socket] = []
        for name, f in small.items():  # score 3: both; two are enough to be a tie
            if name in large:
                best.append(f)
                if len(best) > 1:
                    return None
        if not best:
            best = list(itertools.islice(e.values(), 2)) or list(itertools.islice(m.values(), 2))
        if len(best) != 1:
            return None
        match = best[0]
        del self.fresh[match.name]
        f_ends, f_msg = _rename_keys(match)
        if f_ends is not None:
            del self.by_ends[f_ends][match.name]
        if f_msg is not None:
            del self.by_msg[f_msg][match.name]
        return match

    def left(self) -> list[Socket]:
        """The new sockets that are no rename target, in declaration order."""
        return list(self.fresh.values())


def _rename_keys(s: Socket) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]:
    """What a renamed socket keeps: (type, its endpoints), (type, its message types)."""
    ends = tuple(sorted(e.text for e in s.endpoints))
    return (
        (s.type, ends) if ends else None,
        (s.type, s.sends, s.receives) if (s.sends or s.receives) else None,
    )


def _why(change: Change, what: str) -> str:
    if change.kind == "socket-type-changed":
        return f"{what}: the socket types no longer fit"
    if change.kind == "curve-changed":
        return f"{what}: CURVE is now declared on one side only"
    return what


def _canon(loaded: Any) -> str:
    if loaded is None:
        return "null"
    if loaded.error:
        return "error:" + (loaded.source or "")
    return json.dumps(loaded.schema, sort_keys=True, default=str)


def _show(items: list[str]) -> str:
    if not items:
        return "(none)"
    return "[" + ", ".join(items) + "]" if len(items) != 1 else items[0]


def _value(attr: str, v: Any) -> str:
    if v is None:
        return "(none)"
    if attr in ("memory_limit", "sndbuf", "rcvbuf", "maxmsgsize", "max_size"):
        return _size(v)
    return str(v)


def _size(n: int | float | None) -> str:
    if n is None:
        return "unbounded"
    n = int(n)
    for k in (3, 2, 1):
        if n >= 1000**k and n % (1024**k) == 0:
            return f"{n // 1024**k} {('KiB', 'MiB', 'GiB')[k - 1]}"
        if n >= 1000**k and n % (1000**k) == 0:
            return f"{n // 1000**k} {('kB', 'MB', 'GB')[k - 1]}"
    for k in (3, 2, 1):
        if n >= 1024**k:
            return f"{n / 1024**k:.1f} {('KiB', 'MiB', 'GiB')[k - 1]}"
    return f"{n} B"


def _schema_summary(old: Any, new: Any) -> str:
    """What changed at the top level of an object schema, in words."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return "schema changed"
    po, pn = old.get("properties") or {}, new.get("properties") or {}
    ro, rn = set(old.get("required") or []), set(new.get("required") or [])
    if not isinstance(po, dict) or not isinstance(pn, dict):
        return "schema changed"
    parts = []
    for f in sorted(set(pn) - set(po)):
        parts.append(f"added {'required' if f in rn else 'optional'} field {f}")
    for f in sorted(set(po) - set(pn)):
        parts.append(f"removed field {f}")
    for f in sorted((rn - ro) & set(po)):
        parts.append(f"field {f} now required")
    for f in sorted((ro - rn) & set(pn)):
        parts.append(f"field {f} no longer required")
    for f in sorted(set(po) & set(pn)):
        if po[f] != pn[f]:
            parts.append(f"field {f} changed")
    rest = {k for k in set(old) | set(new) if old.get(k) != new.get(k)} - {"properties", "required"}
    if rest:
        parts.append("changed " + ", ".join(sorted(rest)))
    return "schema changed: " + ", ".join(parts) if parts else "schema changed"


# --------------------------------------------------------------------------- entry points


def diff_topologies(old: Topology, new: Topology) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones first."""
    from topolint.lint.engine import gc_paused

    with gc_paused():  # millions of live objects, none cyclic: collections only cost time
        return _Differ(old, new).run()


def render(changes: list[Change], fmt: str, *, old: str = "", new: str = "") -> str:
    """Text or JSON (``{"changes": [...], "breaking": n}``)."""
    breaking = [c for c in changes if c.breaking]
    if fmt == "json":
        doc = {
            "old": old,
            "new": new,
            "changes": [c.to_dict() for c in changes],
            "breaking": len(breaking),
        }
        from topolint.textsafe import defuse_json  # no ``##[`` for a CI log to run

        return defuse_json(json.dumps(doc, indent=2)) + "\n"
    from topolint.textsafe import clean_lines  # names from the files: never written raw

    lines = [f"topolint diff {old} -> {new}"]
    if not changes:
        lines.append("no changes")
        return clean_lines(lines)
    for c in changes:
        tag = "BREAKING" if c.breaking else "ok      "
        owner = f" (owner {c.owner})" if c.owner else ""
        lines.append(f"{tag} {c.kind:<24} {c.element}{owner}")
        lines.append(f"         {c.message}")
        for d in c.details[:_MAX_DETAILS]:
            lines.append(f"           - {d}")
        if len(c.details) > _MAX_DETAILS:
            lines.append(f"           - and {len(c.details) - _MAX_DETAILS} more")
        if c.affected_processes:
            who = ", ".join(c.affected_owners) or "no other owner"
            lines.append(f"         affects {who}: {', '.join(c.affected_processes)}")
    owners = sorted({o for c in breaking for o in c.affected_owners})
    summary = f"{len(changes)} change{'s' if len(changes) != 1 else ''}, {len(breaking)} breaking"
    if owners:
        summary += f" (breaks {', '.join(owners)})"
    lines.append(summary)
    return clean_lines(lines)


def diff_files(old: Path, new: Path, *, fmt: str, variables: dict[str, str]) -> tuple[str, int]:
    """Load, compare and render two versions; exit code 1 when a change breaks another owner."""
    t_old = load(old, variables)
    t_new = load(new, variables)
    changes = diff_topologies(t_old, t_new)
    code = 1 if any(c.breaking for c in changes) else 0
    return render(changes, fmt, old=str(old), new=str(new)), code
