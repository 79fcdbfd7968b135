"""Pickled messages on a socket that other hosts or other owners can reach.

## What it finds
A receiving socket whose messages are declared `encoding: pickle` (by its own `receives:`
type or by the `sends:` type of a peer) and that is reachable by someone else: it binds a
network transport on a non-loopback address, it receives from a process on another host,
from a process of another `owner`, or from an endpoint outside the topology.

## Why it matters
Unpickling runs code chosen by the sender: pyzmq's `recv_pyobj` on a socket that anyone
can reach is remote code execution for anyone who can reach the port. The talk's problem 4
test script used `send_pyobj` towards a production host — the receiving side was
unpickling whatever arrived. Across owners, one team's bug or compromise becomes another
team's process. CURVE encrypts, but without a ZAP handler it authenticates no one.

## Example
```yaml
messages:
  greeting: {encoding: pickle}
processes:
  collector:
    sockets:
      in: {type: pull, bind: "tcp://*:7891", receives: greeting}
```

## Fix
Use a data-only encoding (`json`, `msgpack`, `protobuf`) for anything that crosses a host
or an owner boundary; keep pickle for sockets bound to loopback, `ipc://` or `inproc://`
between processes of one owner.

When the only exposure is a `connect:` that does not resolve (a typo, or a peer missing
from the file), the finding is folded into that `unresolved-endpoint` finding as a related
note (`FOLLOWS`): fix the endpoint first. It stands on its own when that finding is not
reported (not selected, or suppressed because the peer really lives outside the file).
"""

from collections.abc import Iterator

from topolint.analysis.hosts import NETWORK_TRANSPORTS, is_loopback
from topolint.lint.context import Context
from topolint.lint.findings import Fact, Path
from topolint.lint.graph import Connection
from topolint.lint.model import Socket, Topology

NAME = "unsafe-deserialization"
CODE = "TL504"
SEVERITY = "error"
#: Exposure that comes only from connects that do not resolve is folded into those
#: unresolved-endpoint findings (the typo is the root cause, reported once).
FOLLOWS = ("unresolved-endpoint",)


def _pickled(topo: Topology, name: str | None) -> bool:
    m = topo.message(name)
    return m is not None and (m.encoding or "").lower() == "pickle"


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    for p in topo.processes.values():
        for s in p.sockets.values():
            incoming = ctx.wiring.incoming(s)
            types: set[str] = set()
            if s.can_receive and _pickled(topo, s.receives):
                types.add(s.receives or "")
            for c in incoming:
                if c.message and _pickled(topo, c.message):
                    types.add(c.message)
            if not types:
                continue
            reasons, unresolved = _exposure(topo, p.host, p.owner, s, incoming)
            if not reasons:
                continue
            names = ", ".join(sorted(types))
            related: tuple[Path, ...] = tuple(
                (*topo.messages[t].path, "encoding") for t in sorted(types)
            )
            yield Fact(
                f"{s.type.upper()} socket {s.id} unpickles {names} (encoding: pickle) although "
                f"{'; '.join(reasons[:3])}"
                + (f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else "")
                + ": whoever sends it a message runs code in "
                f"{p.name}",
                path=(*s.path, "receives") if s.receives else s.path,
                subject=(s.id,),
                related=related,
                fix="use encoding json, msgpack or protobuf for messages that cross hosts or "
                "owners",
                # exposed only through connects that do not resolve: those are the cause
                follows=tuple(unresolved) if len(unresolved) == len(reasons) else (),
            )


def _exposure(
    topo: Topology, host: str, owner: str | None, s: Socket, incoming: list[Connection]
) -> tuple[list[str], list[str]]:
    """Why ``s`` is reachable by others, and the unresolved peers (``?endpoint``) among them."""
    reasons: list[str] = []
    unresolved: list[str] = []
    for e in s.binds:
        if e.kind in NETWORK_TRANSPORTS and not is_loopback(e.host):
            reasons.append(f"it binds {e.text}, open to any host that reaches port {e.port}")
    seen: set[str] = set()
    for c in incoming:
        peer = c.sender_socket
        if peer is None:
            key = f"?{c.endpoint.text}"
            if key not in seen:
                seen.add(key)
                reasons.append(f"it receives from {c.endpoint.text}, outside this topology")
                unresolved.append(key)
            continue
        pp = topo.processes[peer.process]
        if pp.host.lower() != host.lower() and f"host:{pp.name}" not in seen:
            seen.add(f"host:{pp.name}")
            reasons.append(f"it receives from {peer.id} on another host ({pp.host!r})")
        if owner and pp.owner and pp.owner != owner and f"owner:{pp.name}" not in seen:
            seen.add(f"owner:{pp.name}")
            reasons.append(f"it receives from {peer.id} of owner {pp.owner!r} (not {owner!r})")
    return reasons, unresolved
