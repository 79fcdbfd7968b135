"""End-of-data sent on a socket that may drop it, or drop the data just before it.

## What it finds
In a `runs: finite` topology, a socket on which a process sends end-of-data (`emit` or
`forward`; its `carries: [end-of-data]` sockets if it has any, else its data outputs) that
can lose it:

- a PUB or XPUB, unless end-of-data is safe from both ways a publisher drops: a full
  subscriber queue (safe with `nodrop: true`, or on a dedicated control socket that carries
  nothing but end-of-data, so its queue cannot fill) and a subscriber that has not subscribed
  yet (safe with `sync: handshake`, `subscription-events` or `welcome`);
- a ROUTER, which silently drops what it cannot route (a peer that is gone or not yet
  connected);
- a data socket with `conflate: true` on either side: it keeps only the newest message, so
  end-of-data overwrites data not yet read (the receiver ends without its last messages).

One finding per socket. End-of-data over a control PUB with proper start-up sync is fine,
and so is a lossy socket whose receivers do not rely on end-of-data (`end_of_data: none`, or
a `lifecycle: persistent` service such as a monitor).

## Why it matters
Problem 5 of the talk: end-of-data is one message, sent once. If a publisher drops it — the
subscriber's queue was full at the end of a burst, or it joined late — the consumer never
learns that the input is over and waits forever; a conflated queue ends the run a message
early. Unlike lost data, a lost end-of-data is never noticed in the output: the job just hangs.

## Example
```yaml
runs: finite
processes:
  source:
    end_of_data: emit
    sockets: {out: {type: pub, bind: "tcp://*:7000"}}     # no nodrop, no sync
  sink:
    end_of_data: consume
    sockets: {in: {type: sub, connect: source.out, subscribe: [""]}}
```

## Fix
Send end-of-data on a dedicated control PUB (`carries: [end-of-data]`) with `sync:
handshake` or `subscription-events`, received by a SUB with `carries: [end-of-data]`; or
set `nodrop: true` and a start-up `sync` on the data PUB. Replace a ROUTER on the
end-of-data path by a DEALER or a PUB; drop `conflate` from sockets that carry end-of-data.
"""

from collections.abc import Iterator

from topolint.analysis.end_of_data import PASSES, PROPER_SYNC, action, finite, model, names
from topolint.lint.context import Context
from topolint.lint.findings import Fact
from topolint.lint.model import LOSSY, Socket, Topology

NAME = "lossy-end-of-data"
CODE = "TL604"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    if not finite(topo):
        return
    m = model(ctx)
    conflated: dict[str, tuple[Socket, Socket]] = {}
    for c in m.conns:
        ss, rs = c.sender_socket, c.receiver_socket
        assert ss is not None and rs is not None
        if action(topo.processes[ss.process]) not in PASSES or ss.is_control:
            continue
        if ss.conflate or rs.conflate:
            culprit = ss if ss.conflate else rs
            conflated.setdefault(culprit.id, (culprit, ss))
    for p in topo.processes.values():
        if action(p) not in PASSES:
            continue
        for s in m.out_sockets[p.name]:
            if s.type not in LOSSY:
                continue
            peers = sorted(
                {
                    c.receiver_id
                    for c in ctx.wiring.outgoing(s)
                    if not c.mismatch and _waits(topo, c.receiver_socket)
                }
            )
            if peers:
                yield from _lossy(s, peers)
    for culprit, sender in conflated.values():
        yield Fact(
            f"{culprit.id} has `conflate: true` and carries end-of-data from {sender.id}: it "
            "keeps only the newest message, so end-of-data overwrites data not yet read and "
            "the receiver ends without its last messages",
            path=culprit.path,
            subject=(culprit.id, sender.id),
            fix=f"drop `conflate` from {culprit.id}, or send end-of-data on a separate control "
            "socket",
        )


def _waits(topo: Topology, sock: Socket | None) -> bool:
    """Does the receiving process rely on end-of-data (forward or consume it)?  A monitor
    that declares ``end_of_data: none`` or a persistent service does not."""
    if sock is None:
        return True
    p = topo.processes[sock.process]
    return p.lifecycle != "persistent" and action(p) in ("forward", "consume")


def _lossy(s: Socket, peers: list[str]) -> Iterator[Fact]:
    to = names(peers)
    if s.type == "router":
        yield Fact(
            f"end-of-data from {s.process} goes out on ROUTER socket {s.id} to {to}: a "
            "ROUTER silently drops what it cannot route (a peer not connected yet, or gone)",
            path=s.path,
            subject=(s.id,),
            fix="send end-of-data on a DEALER or PUSH with one peer, or on a control PUB "
            "(`carries: [end-of-data]`) with `sync: handshake`",
            data={"peers": peers},
        )
        return
    problems = []
    if not (s.nodrop or s.is_control):
        problems.append(
            "a subscriber whose queue is full at the end loses it (no `nodrop`; it shares the "
            "queue with data)"
        )
    if s.sync not in PROPER_SYNC:
        problems.append(
            f"a subscriber that has not subscribed yet misses it (sync: {s.sync or 'none'})"
        )
    if not problems:
        return
    kind = "control" if s.is_control else "data"
    yield Fact(
        f"end-of-data from {s.process} goes out on {kind} {s.type.upper()} socket {s.id} to "
        f"{to}, which may drop it: " + "; ".join(problems),
        path=s.path,
        subject=(s.id,),
        fix="send end-of-data on a control PUB (`carries: [end-of-data]`) with "
        "`sync: handshake` or `subscription-events`"
        + ("" if s.is_control else ", or set `nodrop: true` and a `sync`"),
        data={"peers": peers},
    )
