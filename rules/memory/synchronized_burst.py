"""Periodic publishers with the same period and phase send into one receiver.

## What it finds
Processes with a `period` (and the same `phase`, 0 when absent) that send data to the
same receiving process, counting replicas: two or more instances fire at the same instant
every period. One finding per group of publishers, naming the receivers.

## Why it matters
The talk's problem 2 shows "CPU, memory and bandwidth spikes" when every publisher sends
at once: the receiver must queue a whole burst — the sum over all senders, not the
average — and its memory, CPU and network peak together. "Shifting publication time in
phase evens out the receiver's load."

## Example
```yaml
processes:
  sensor-a:
    period: 10ms
    sockets: {out: {type: pub, bind: "tcp://*:7001", sends: reading}}
  sensor-b:
    period: 10ms
    sockets: {out: {type: pub, bind: "tcp://*:7002", sends: reading}}
  monitor:
    sockets:
      in: {type: sub, connect: [sensor-a.out, sensor-b.out], subscribe: [""], receives: reading}
```

## Fix
Spread the phases evenly: with N publishers of period T, give them `phase: 0`, `T/N`,
`2T/N`, ... so that at most one message arrives at a time.
"""

from collections import defaultdict
from collections.abc import Iterator

from topolint.analysis.performance import fmt_seconds
from topolint.lint.context import Context
from topolint.lint.findings import Fact, Path
from topolint.lint.model import Process

NAME = "synchronized-burst"
CODE = "TL306"
SEVERITY = "warning"


def _key(p: Process) -> tuple[float, float]:
    assert p.period
    phase = (p.phase or 0.0) % p.period
    if abs(phase - p.period) < 1e-12:
        phase = 0.0
    return round(p.period, 12), round(phase, 12)


def _where(p: Process) -> Path:
    return (*p.path, "phase") if p.phase is not None else (*p.path, "period")


def check(ctx: Context) -> Iterator[Fact]:
    procs = ctx.topology.processes
    if sum(p.replicas for p in procs.values() if p.period) < 2:
        return  # fewer than two periodic instances: nothing can be in phase
    flow = ctx.wiring.flow
    groups: dict[tuple[tuple[str, ...], tuple[float, float]], list[str]] = defaultdict(list)
    for q in flow:
        by_key: dict[tuple[float, float], list[str]] = defaultdict(list)
        for pred in flow.predecessors(q):
            p = procs[pred]
            if p.period and pred != q:
                by_key[_key(p)].append(pred)
        for key, pubs in by_key.items():
            if sum(procs[n].replicas for n in pubs) >= 2:
                groups[(tuple(sorted(pubs)), key)].append(q)
    for (group, (period, phase)), receivers in groups.items():
        pubs = list(group)
        n = sum(procs[x].replicas for x in pubs)
        names = ", ".join(
            x if procs[x].replicas == 1 else f"{x} (x{procs[x].replicas})" for x in pubs
        )
        step = period / n
        plan = ", ".join(f"{x}: {fmt_seconds(i * step)}" for i, x in enumerate(pubs[:6]))
        if len(pubs) == 1:
            advice = (
                f"the {n} replicas of {pubs[0]} share one phase; stagger them {fmt_seconds(step)} "
                "apart (period/N) or split them into processes with their own phase"
            )
        else:
            advice = f"shift the phases {fmt_seconds(step)} apart (period/N), e.g. {plan}"
        yield Fact(
            f"{n} periodic publisher instances ({names}) fire every {fmt_seconds(period)} at "
            f"phase {fmt_seconds(phase)} into {', '.join(sorted(receivers))}: each period the "
            f"receiver gets a burst of {n} messages at once; {advice}",
            path=_where(procs[pubs[0]]),
            subject=(*pubs, *sorted(receivers)),
            related=tuple(_where(procs[x]) for x in pubs[1:]),
            fix=advice,
        )
