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
"""

from collections.abc import Iterator

from topolint.context import Context
from topolint.findings import Fact

NAME = "dead-output"
CODE = "TL104"
SEVERITY = "warning"
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
            yield Fact(
                f"{s.type.upper()} socket {s.id} {where}: what it sends is "
                + ("lost" if s.type != "push" else "never delivered and the sender blocks"),
                path=s.path,
                subject=(s.id,),
            )
