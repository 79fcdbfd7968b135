"""Declared arrivals exceed what a stage's replicas can serve.

## What it finds
A process whose arrival rate — computed from the sources' declared `rate` (or `period`)
along the data connections: PUSH splits between peers, PUB copies to each — exceeds
`replicas / service_time`; also a source whose own `rate` exceeds what its `service_time`
allows. The message gives the utilisation ratio. Sources without `rate` are unlimited and
never overload anything: the stages set their pace.

## Why it matters
The talk's pipeline serves one image per 3 ms because B takes 3 ms: feed it faster and its
queues fill to their bounds, after which blocking sockets stall every upstream stage and
lossy ones drop data ("do not introduce more messages in the topology than it is possible
to handle"). Queues only delay the failure by their capacity; they never absorb a steady
surplus.

## Example
```yaml
processes:
  camera:
    rate: 1000/s
    sockets:
      out: {type: push, bind: "tcp://*:7000", sends: image}
  worker:
    service_time: 3ms          # 333 messages/s
    sockets:
      in: {type: pull, connect: camera.out, receives: image}
```

## Fix
Add replicas (at least `arrival rate x service_time`) behind a load-balancing socket,
make the stage faster, or lower the source rate.
"""

import math
from collections.abc import Iterator

from topolint.analysis.performance import COPYING, fmt_rate, fmt_seconds
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "overloaded-stage"
CODE = "TL305"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    a = ctx.analysis
    for name, p in ctx.topology.processes.items():
        st = a.stages[name]
        u = st.declared_utilisation
        if u is None or u <= 1.0 + 1e-9 or not p.service_time:
            continue
        serve = f"{p.replicas} replica{'s' if p.replicas != 1 else ''} x 1/{fmt_seconds(p.service_time)}"
        need = math.ceil(min(st.declared_load * p.service_time, 1e18) - 1e-9)  # inf: 1e308/s
        if st.source:
            msg = (
                f"source {name} is declared to emit {fmt_rate(st.declared_load)} but {serve} "
                f"can produce only {fmt_rate(st.capacity)} (utilisation {u:.0%})"
            )
        else:
            feeders = sorted(
                (
                    pred
                    for pred in ctx.wiring.flow.predecessors(name)
                    if a.stages[pred].declared_out > 0
                ),
                key=lambda n: -a.stages[n].declared_out,
            )
            via = ", ".join(f"{f} {fmt_rate(a.stages[f].declared_out)}" for f in feeders[:4])
            msg = (
                f"stage {name} receives {fmt_rate(st.declared_load)}"
                + (f" (from {via})" if via else "")
                + f" but {serve} serve only {fmt_rate(st.capacity)}: utilisation {u:.0%}; its "
                "queues fill, then senders block or drop"
            )
        incoming = [c for s in p.inputs for c in ctx.wiring.incoming(s) if c.data]
        copies = bool(incoming) and all(
            c.sender_socket is not None and c.sender_socket.type in COPYING for c in incoming
        )
        if copies and p.replicas > 1:
            fix = (
                f"every replica of {name} receives every message (PUB copies), so more replicas "
                "do not help: make it faster, or distribute the stream with PUSH/PULL"
            )
        else:
            fix = (
                f"run at least {need} replicas of {name}, make it faster, or lower the source rates"
            )
        yield Fact(
            msg,
            path=(*p.path, "service_time"),
            subject=(name,),
            fix=fix,
            data={
                "utilisation": u,
                "arrival_per_second": st.declared_load,
                "capacity_per_second": st.capacity,
            },
        )
