"""Two sockets are wired together whose types cannot talk to each other.

## What it finds
A connection between socket types that ZeroMQ refuses to pair, such as PUSH to SUB, PUB to
PULL or REQ to REQ. The finding points at the connecting endpoint and names both sides.

## Why it matters
libzmq checks the peer's socket type during the ZMTP handshake and silently drops
connections between incompatible types: the sender queues until its high-water mark, the
receiver waits forever, and nothing is logged. A pipeline stage that "just hangs" at start
is often this.

## Example
```yaml
processes:
  camera:
    sockets:
      out: {type: push, bind: tcp://*:7891}
  viewer:
    sockets:
      in: {type: sub, connect: camera.out, subscribe: [""]}   # SUB cannot talk to PUSH
```

## Fix
Pair compatible types: PUSH→PULL, PUB/XPUB→SUB/XSUB, REQ/DEALER↔REP/ROUTER, PAIR↔PAIR,
DEALER↔DEALER, ROUTER↔ROUTER. If the receiver needs every message, use PULL; if it needs a
copy of a broadcast, make the sender a PUB.
"""

from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact
from topolint.lint.model import COMPATIBLE

NAME = "socket-type-mismatch"
CODE = "TL101"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    for c in ctx.wiring.connections:
        if not c.mismatch or c.sender_socket is None or c.receiver_socket is None:
            continue
        a, b = c.sender_socket, c.receiver_socket
        ok = ", ".join(sorted(COMPATIBLE[a.type]))
        yield Fact(
            f"{a.type.upper()} socket {a.id} is wired to {b.type.upper()} socket {b.id}; "
            f"{a.type.upper()} can only talk to {ok.upper()}",
            path=c.path,
            subject=(a.id, b.id),
            related=(b.path,),
        )
