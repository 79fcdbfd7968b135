"""Shared helpers of the start-up rules: which publishers must not lose their first messages."""

from __future__ import annotations

from topolint.graph import TopologyGraph
from topolint.model import Socket, Topology

PUBLISHERS = {"pub", "xpub"}


def loss_tolerance(topo: Topology, s: Socket) -> tuple[bool, str]:
    """Is the stream of ``s`` declared loss-tolerant, and where is that decided?

    The socket's own ``loss_tolerant`` wins over its message type's; silence means the
    stream must not lose messages.
    """
    if s.loss_tolerant is not None:
        return s.loss_tolerant, f"socket {s.id}"
    mt = topo.message_of(s)
    if mt is not None and mt.loss_tolerant is not None:
        return mt.loss_tolerant, f"message type {mt.name!r}"
    return False, ""


def subscribers(wiring: TopologyGraph, s: Socket) -> list[str]:
    """Receiving instances (or unresolved peers) of the publisher ``s``, sorted."""
    return sorted({c.receiver for c in wiring.outgoing(s) if not c.mismatch})


def strict_publishers(topo: Topology, wiring: TopologyGraph) -> list[tuple[Socket, list[str]]]:
    """PUB/XPUB data sockets with at least one peer whose stream is not loss-tolerant."""
    out = []
    for p in topo.processes.values():
        for s in p.sockets.values():
            if s.type not in PUBLISHERS or s.is_control:
                continue
            subs = subscribers(wiring, s)
            if subs and not loss_tolerance(topo, s)[0]:
                out.append((s, subs))
    return out


def names(items: list[str], limit: int = 4) -> str:
    """``a, b, c`` or ``a, b, c, d and 5 more``."""
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


def stream_note(topo: Topology, s: Socket) -> str:
    """Why the stream of ``s`` must not lose messages, for messages."""
    _, where = loss_tolerance(topo, s)
    if where:
        return f"{where} declares loss_tolerant: false"
    return (
        f"stream {s.message!r} is not declared loss-tolerant"
        if s.message
        else ("its stream is not declared loss-tolerant")
    )
