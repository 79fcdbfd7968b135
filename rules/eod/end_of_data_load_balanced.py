"""End-of-data sent on a load-balancing socket to several peers reaches only one of them.

## What it finds
In a `runs: finite` topology, a process that sends end-of-data (`emit` or `forward`) on a
PUSH, DEALER or REQ socket — its data output, or a control socket — connected to more than
one receiving instance (replicas count: one PUSH to `worker` × 3 is three peers). One finding
per socket, naming the peers.

Silent when the socket has a single peer, and when end-of-data does not travel on the
load-balancing socket: a process that has a dedicated control socket (`carries:
[end-of-data]`, e.g. a PUB whose subscribers are the replicas) sends end-of-data there, not on
its data PUSH. Sending one end-of-data per peer on the PUSH itself cannot be declared on
purpose: round-robin skips pipes that are full or not yet connected, so N copies can land
twice on one peer and never on another. Whether the control PUB loses messages is
`lossy-end-of-data`'s business (it wants `sync:` on it).

## Why it matters
Problem 5 of the talk: a PUSH hands each message to one peer, end-of-data included. With
three worker replicas, one of them ends and the other two wait forever for an end-of-data
that went elsewhere; downstream, a sink counting end-of-data from three workers never ends.
It works in tests with one replica and hangs in production with three.

## Example
```yaml
runs: finite
processes:
  splitter:
    end_of_data: emit
    sockets: {out: {type: push, bind: "tcp://*:7000"}}
  worker:
    replicas: 3
    end_of_data: forward
    sockets: {in: {type: pull, connect: splitter.out}}
```

## Fix
Send end-of-data on a dedicated control socket that reaches every peer: a PUB with
`carries: [end-of-data]` and `sync: handshake` (or `subscription-events`), and in each
consumer a SUB with `carries: [end-of-data]` and `subscribe: [""]`. Or give each peer its
own PUSH socket, so each gets its own end-of-data.
"""

from collections import defaultdict
from collections.abc import Iterator

from topolint.analysis.end_of_data import LOAD_BALANCING, PASSES, action, finite, model, names
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "end-of-data-load-balanced"
CODE = "TL602"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    if not finite(topo):
        return
    m = model(ctx)
    by_socket: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for c in m.conns:
        ss = c.sender_socket
        assert ss is not None
        if ss.type in LOAD_BALANCING:
            by_socket[(ss.process, ss.name)][c.sender].add(c.receiver_id)
    for (pname, sname), per_sender in by_socket.items():
        p = topo.processes[pname]
        if action(p) not in PASSES:
            continue
        inst, peers = max(per_sender.items(), key=lambda kv: len(kv[1]))
        if len(peers) < 2:
            continue
        s = p.sockets[sname]
        n = len(peers)
        who = f"each instance of {pname}" if p.replicas > 1 else pname
        yield Fact(
            f"end-of-data from {who} goes out on {s.id} ({s.type.upper()}), which "
            f"load-balances: each end-of-data reaches one of its {n} peers "
            f"({names(sorted(peers))}), so {n - 1} of them never see it and never end",
            path=s.path,
            subject=(s.id, *sorted(peers)),
            fix=f"send end-of-data from {pname} on a control socket that reaches every peer "
            "(a PUB with `carries: [end-of-data]` and `sync: handshake`, a SUB with "
            "`carries: [end-of-data]` in each peer), or give each peer its own socket",
            data={"peers": sorted(peers), "instance": inst},
        )
