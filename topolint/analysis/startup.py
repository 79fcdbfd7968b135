"""Shared helpers of the start-up rules: which publishers must not lose their first messages.

Loss tolerance is decided per subscriber connection, in the same order as `silent-drop`:
the receiving socket's `loss_tolerant`, then the publishing socket's, then the message type
of the sender, then that of the receiver; silence means the stream must not lose messages.
"""

from __future__ import annotations

from topolint.lint.graph import Connection, TopologyGraph
from topolint.lint.model import Socket, Topology

PUBLISHERS = {"pub", "xpub"}


def loss_tolerance(topo: Topology, c: Connection) -> tuple[bool, str]:
    """Is the stream on ``c`` declared loss-tolerant, and by whom (``""``: nobody)?"""
    ss, rs = c.sender_socket, c.receiver_socket
    candidates = [
        (rs.loss_tolerant if rs else None, f"socket {rs.id}" if rs else ""),
        (ss.loss_tolerant if ss else None, f"socket {ss.id}" if ss else ""),
    ]
    for sock in (ss, rs):
        mt = topo.message(sock.sends if sock is ss else sock.receives) if sock else None
        if mt is not None:
            candidates.append((mt.loss_tolerant, f"message type {mt.name!r}"))
    for flag, where in candidates:
        if flag is not None:
            return bool(flag), where
    return False, ""


def strict_publishers(topo: Topology, wiring: TopologyGraph) -> list[tuple[Socket, list[str], str]]:
    """PUB/XPUB data sockets with subscribers whose stream must not lose messages.

    Returns
    -------
    list of tuples
        ``(socket, subscribers, why)`` per such socket: the subscribers are instances or
        unresolved peers, sorted; ``why`` says, for a finding's message, why the stream must
        not lose messages (the first subscriber's).
    """
    out = []
    for p in topo.processes.values():
        for s in p.sockets.values():
            if s.type not in PUBLISHERS or s.is_control:
                continue
            strict: dict[str, str] = {}
            for c in wiring.outgoing(s):
                if c.mismatch:
                    continue
                tolerant, where = loss_tolerance(topo, c)
                # FairMQ files cannot say whether a stream may lose messages: unknown
                if not tolerant and (where or topo.source_format != "fairmq"):
                    strict.setdefault(c.receiver, where)
            if strict:
                subs = sorted(strict)
                out.append((s, subs, _why(s, strict[subs[0]])))
    return out


def _why(s: Socket, where: str) -> str:
    if where:
        return f"{where} declares loss_tolerant: false"
    if s.message:
        return f"stream {s.message!r} is not declared loss-tolerant"
    return "its stream is not declared loss-tolerant"


def names(items: list[str], limit: int = 4) -> str:
    """``a, b, c`` or ``a, b, c, d and 5 more``."""
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"
