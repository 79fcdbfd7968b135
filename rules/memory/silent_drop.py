"""A lossy socket feeds a stream that must not lose messages and can fall behind.

## What it finds
A PUB or XPUB without `nodrop: true`, or a ROUTER, sending data to a receiver when the
stream is not declared loss-tolerant (`loss_tolerant: true` on either socket or on the
message type) and the receiver cannot be shown to keep up: the sender's rate is unknown
(an unlimited source upstream), the receiver declares no `service_time`, or the declared
arrivals exceed what the receiver's replicas serve. A finite source whose `count` fits in
the socket's SNDHWM cannot overflow it and is exempt. One finding per sending socket.

## Why it matters
When a subscriber's pipe is full, PUB and XPUB silently skip that subscriber, and ROUTER
silently drops messages to a peer whose pipe is full: no error, no counter (the talk's
"non-blocking queue"). A consumer that is slower than its producer, even briefly, loses
data without anyone noticing; later the joins and end-of-data logic downstream see holes.

## Example
```yaml
messages:
  event: {max_size: 1kB}
processes:
  detector:
    sockets:
      out: {type: pub, bind: "tcp://*:7000", sends: event}
  recorder:
    sockets:
      in: {type: sub, connect: detector.out, subscribe: [""], receives: event}
```

## Fix
If every message matters, use PUSH/PULL (blocking) or set `nodrop: true` on the PUB/XPUB
(XPUB_NODROP: the publisher blocks instead of dropping); otherwise declare the stream
`loss_tolerant: true`. Declaring the source `rate` and the receiver `service_time` lets
topolint check that the receiver keeps up.
"""

from collections.abc import Iterator

from topolint.analysis import fmt_rate
from topolint.context import Context
from topolint.findings import Fact
from topolint.graph import Connection
from topolint.model import Socket, Topology

NAME = "silent-drop"
CODE = "TL307"
SEVERITY = "warning"


def _lossy(s: Socket) -> bool:
    if s.type in ("pub", "xpub"):
        return not s.nodrop
    return s.type == "router"


def _tolerant(topo: Topology, c: Connection) -> bool:
    ss, rs = c.sender_socket, c.receiver_socket
    ms = topo.message(ss.sends) if ss else None
    mr = topo.message(rs.receives) if rs else None
    flags = (
        rs.loss_tolerant if rs else None,
        ss.loss_tolerant if ss else None,
        ms.loss_tolerant if ms else None,
        mr.loss_tolerant if mr else None,
    )
    for flag in flags:
        if flag is not None:
            return bool(flag)
    # FairMQ files cannot say whether a stream may lose messages: unknown, not claimed
    return topo.source_format == "fairmq"


def check(ctx: Context) -> Iterator[Fact]:
    topo, a = ctx.topology, ctx.analysis
    for p in topo.processes.values():
        sender = a.stages[p.name]
        for s in p.sockets.values():
            if not _lossy(s):
                continue
            if sender.source and p.count is not None and s.sndhwm and p.count <= s.sndhwm:
                continue
            risky: dict[str, str] = {}
            for c in ctx.wiring.outgoing(s):
                if not c.data or c.receiver_socket is None or _tolerant(topo, c):
                    continue
                rs = c.receiver_socket
                if rs.id in risky:
                    continue
                q = topo.processes[rs.process]
                recv = a.stages[q.name]
                u = recv.declared_utilisation
                if sender.unlimited_weight > 0 or (sender.source and sender.unlimited_source):
                    why = f"{p.name} has no declared rate"
                elif not q.service_time:
                    why = f"{q.name} declares no service_time"
                elif u is not None and u > 1.0 + 1e-9:
                    why = (
                        f"{q.name} receives {fmt_rate(recv.declared_load)} but serves "
                        f"{fmt_rate(recv.capacity)}"
                    )
                else:
                    continue
                risky[rs.id] = why
            if not risky:
                continue
            ids = list(risky)
            shown = "; ".join(f"{r} ({risky[r]})" for r in ids[:4])
            more = f" and {len(ids) - 4} more" if len(ids) > 4 else ""
            what = (
                "drops messages for a subscriber whose queue is full"
                if s.type != "router"
                else "drops messages to a peer whose queue is full"
            )
            stream = f"stream {s.sends!r}" if s.sends else "its stream"
            yield Fact(
                f"{s.type.upper()} {s.id} silently {what}, and {stream} is not declared "
                f"loss-tolerant; receivers that may fall behind: {shown}{more}",
                path=s.path,
                subject=(s.id, *ids),
                fix=(
                    "use PUSH/PULL or set nodrop: true if every message matters; declare "
                    "loss_tolerant: true if losing some is fine"
                    if s.type != "router"
                    else "use a blocking pattern (DEALER/ROUTER with credit, PUSH/PULL) or declare "
                    "loss_tolerant: true"
                ),
            )
