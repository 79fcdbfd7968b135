"""A cycle of processes joined by blocking sockets.

## What it finds
A strongly connected group of processes in which every data connection blocks the sender
when the receiver's queue is full (PUSH, PAIR, DEALER, REQ/REP) — one finding per group,
naming a cycle in it. Silent on FairMQ input: devices serve each channel by its own
handler, so whether a loop blocks is not in the file.

## Why it matters
When every process in a loop waits to send to the next one and every queue on the loop is
full, nobody reads: a deadlock that appears only under load, after the high-water marks
fill up. Bounded buffers around a cycle always can fill.

## Example
```yaml
processes:
  a: {sockets: {out: {type: push, bind: tcp://*:1}, in: {type: pull, connect: b.out}}}
  b: {sockets: {out: {type: push, bind: tcp://*:2}, in: {type: pull, connect: a.out}}}
```

## Fix
Break the loop with a non-blocking edge: a PUB for feedback (losing old feedback rather
than deadlocking), a CONFLATE socket for "latest state" messages, or a credit-based flow
control so no process waits on a full queue.
"""

from collections.abc import Iterator

import networkx as nx

from topolint.lint.context import Context
from topolint.lint.findings import Fact
from topolint.lint.model import BLOCKING

NAME = "blocking-cycle"
CODE = "TL107"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Fact]:
    if ctx.topology.source_format == "fairmq":
        return  # FairMQ devices serve each channel by its own handler: the loop is unknown
    g = nx.DiGraph()
    for u, v, data in ctx.wiring.flow.edges(data=True):
        if all(
            c.sender_socket.type in BLOCKING and not c.sender_socket.conflate for c in data["conns"]
        ):
            g.add_edge(u, v, conn=data["conns"][0])
    for scc in nx.strongly_connected_components(g):
        if len(scc) < 2:
            continue
        start = min(scc)
        cycle = nx.find_cycle(g.subgraph(scc), source=start)
        names = [u for u, _ in cycle] + [cycle[0][0]]
        first = g[cycle[0][0]][cycle[0][1]]["conn"]
        yield Fact(
            f"blocking cycle {' -> '.join(names)}: when the queues on it fill, every process "
            "waits to send and none reads (deadlock)",
            path=first.path,
            subject=tuple(sorted(scc)),
            related=tuple(g[u][v]["conn"].path for u, v in cycle[1:]),
        )
