"""A sending socket that nobody receives from.

## What it finds
A socket that can only send (PUSH, PUB, XPUB) and has no connection to any receiver in the
topology: nobody connects to its bind, or it declares no endpoint at all. On FairMQ input a
bind (or an address the runner supplies) without a peer in the file is not claimed: a
launch need not start every peer.

## Why it matters
A PUSH with no peer blocks (or queues up to its HWM and then blocks) the whole stage; a PUB
with no subscriber throws every message away. Either way the data produced there is lost,
and often a consumer elsewhere is waiting for it under a slightly different name.

## Example
```yaml
processes:
  camera:
    sockets:
      out: {type: push, bind: tcp://*:7891}   # no process connects to camera.out
```

## Fix
Connect the intended consumer (`connect: camera.out`), or remove the socket. For an
output consumed by tools outside the topology, declare that consumer as a process.

When the consumer exists but its `connect:` does not resolve and looks meant for this
socket (a near-miss name, the port or path this socket binds), the typo is the one root
cause: the dead output is folded into that `unresolved-endpoint` finding as a related note
(`FOLLOWS`), and reported on its own only when that finding is not (not selected,
suppressed).
"""

import difflib
from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact
from topolint.lint.model import COMPATIBLE, Process, Socket

NAME = "dead-output"
CODE = "TL104"
SEVERITY = "warning"
#: A connect that meant this socket but does not resolve is reported by unresolved-endpoint;
#: the dead output is its consequence and is folded into that finding.
FOLLOWS = ("unresolved-endpoint",)
SEND_ONLY = {"push", "pub", "xpub"}


def check(ctx: Context) -> Iterator[Fact]:
    w = ctx.wiring
    for p in ctx.topology.processes.values():
        for s in p.sockets.values():
            if s.type not in SEND_ONLY:
                continue
            if any(not c.mismatch for c in w.outgoing(s)):
                continue
            if ctx.topology.source_format == "fairmq" and (s.binds or s.address_at_run_time):
                continue  # FairMQ: a launch need not start every peer of a bind: unknown
            where = "declares no endpoint" if not s.endpoints else "has no receiver in the topology"
            meant = _meant_for(ctx, p, s)
            hint = f" ({', '.join(meant[:3])} does not resolve: meant for {s.id}?)" if meant else ""
            yield Fact(
                f"{s.type.upper()} socket {s.id} {where}: what it sends is "
                + ("lost" if s.type != "push" else "never delivered and the sender blocks")
                + hint,
                path=s.path,
                subject=(s.id,),
                follows=tuple(f"?{m}" for m in meant[:1]),
            )


def _meant_for(ctx: Context, p: Process, s: Socket) -> list[str]:
    """Unresolved connect endpoints of compatible receivers that look meant for ``s``: a
    reference whose process or socket name is a near miss of ``p.name``/``s.name`` (the
    "did you mean" of unresolved-endpoint), or an address on the port or path ``s`` binds."""
    topo = ctx.topology
    ports = {(e.kind, e.port) for e in s.binds if e.port}
    paths = {(e.kind, e.address) for e in s.binds if e.address}
    out: dict[str, None] = {}
    for c in ctx.wiring.connections:
        r = c.receiver_socket
        if not c.unresolved or r is None or r.type not in COMPATIBLE.get(s.type, frozenset()):
            continue
        e = c.endpoint
        if e.kind == "ref" and e.ref:
            proc, sname = e.ref
            if proc in topo.processes:
                near = proc == p.name and _near(sname, list(p.sockets)) == s.name
            else:
                near = _near(proc, list(topo.processes)) == p.name and (
                    sname == s.name or _near(sname, list(p.sockets)) == s.name
                )
        else:
            near = (e.kind, e.port) in ports or (e.kind, e.address) in paths
        if near:
            out[e.text] = None
    return list(out)


def _near(name: str, names: list[str]) -> str | None:
    close = difflib.get_close_matches(name, names, n=1)
    return close[0] if close else None
