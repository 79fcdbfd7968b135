"""ZeroMQ socket semantics shared by the loader, the model, the importers and the executor.

Standard library only (the executor's children import it).
"""

from __future__ import annotations

#: The socket types of format 1 (SPEC §1).
SOCKET_TYPES: tuple[str, ...] = (
    "push",
    "pull",
    "pub",
    "sub",
    "xpub",
    "xsub",
    "req",
    "rep",
    "dealer",
    "router",
    "pair",
)
#: Which socket types send data, receive data, or both.
SENDERS = frozenset({"push", "pub", "xpub", "req", "rep", "dealer", "router", "pair"})
RECEIVERS = frozenset({"pull", "sub", "xsub", "req", "rep", "dealer", "router", "pair"})
#: Valid peer types (libzmq's socket_base compatibility table).
COMPATIBLE: dict[str, frozenset[str]] = {
    "push": frozenset({"pull"}),
    "pull": frozenset({"push"}),
    "pub": frozenset({"sub", "xsub"}),
    "xpub": frozenset({"sub", "xsub"}),
    "sub": frozenset({"pub", "xpub"}),
    "xsub": frozenset({"pub", "xpub"}),
    "req": frozenset({"rep", "router"}),
    "rep": frozenset({"req", "dealer"}),
    "dealer": frozenset({"rep", "dealer", "router"}),
    "router": frozenset({"req", "dealer", "router"}),
    "pair": frozenset({"pair"}),
}
#: Socket types that block the sender when the peer's queue is full.
BLOCKING = frozenset({"push", "pair", "dealer", "req", "rep"})
#: Socket types that may silently drop messages when a peer's queue is full.
LOSSY = frozenset({"pub", "xpub", "router"})
#: Socket types whose two directions are independent: either may carry nothing (REQ/REP
#: always answer, so they are never one-way).
ONE_WAY_CAPABLE = frozenset({"pair", "dealer", "router"})
