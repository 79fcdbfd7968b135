"""A PAIR socket connected to more than one peer.

## What it finds
A `pair` socket whose wiring gives it more than one peer — several processes connecting
to its bind, a list of endpoints, or a peer with replicas.

## Why it matters
PAIR is an exclusive one-to-one socket: libzmq accepts only the first peer and silently
ignores (or disconnects) the others, so all but one replica never exchange a message.

## Example
```yaml
processes:
  ctrl:   {sockets: {p: {type: pair, bind: tcp://*:6000}}}
  agent:  {replicas: 2, sockets: {p: {type: pair, connect: ctrl.p}}}
```

## Fix
Use one PAIR per peer, or switch to DEALER/ROUTER (many peers, addressed) or PUSH/PULL.
"""

from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "pair-with-many-peers"
CODE = "TL106"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    w = ctx.wiring
    for p in ctx.topology.processes.values():
        for s in p.sockets.values():
            if s.type != "pair":
                continue
            per_instance: dict[str, set[str]] = {}
            for c in w.outgoing(s):  # PAIR edges go both ways: the outgoing ones see every peer
                per_instance.setdefault(c.sender, set()).add(c.receiver)
            worst = max(per_instance.items(), key=lambda kv: len(kv[1]), default=None)
            if worst and len(worst[1]) > s.sub_sockets:  # FairMQ numSockets: one peer each
                yield Fact(
                    f"PAIR socket {worst[0]}.{s.name} has {len(worst[1])} peers "
                    f"({', '.join(sorted(worst[1]))}); PAIR talks to exactly one",
                    path=s.path,
                    subject=(s.id,),
                )
