"""A sink that end-of-data from every source cannot reach, so the run never ends.

## What it finds
In a `runs: finite` topology, a sink (a process that receives data and sends none on) that
end-of-data cannot reach from every producer upstream of it. End-of-data starts at the
processes that `emit` it and passes only through processes that `forward` it, on the sockets
that carry it (a process's `carries: [end-of-data]` sockets when it has any, else its data
outputs). One finding per process where it stops, naming the path and the sinks that never
end because of it:

- a source that does not `emit` (it declares no `end_of_data`, `none`, `consume` or
  `forward` with nothing to forward);
- a process on the way that does not pass it on (`consume`, `none`, or no `end_of_data`);
- a process that sends end-of-data only on sockets that do not reach the next process;
- a process that waits for more end-of-data signals (`wait_for: N`) than it has producers;
- a sink that declares no `end_of_data` (or `none`): it receives end-of-data and ignores it.

A `lifecycle: persistent` service (a monitor or conditions server reused across runs) is
not expected to end and is not a sink here.

Processes with `wait_for: any` or a count end once that many producers deliver; whether that
is too few is `end-of-data-undercounted`'s business. End-of-data lost on a load-balancing
socket is `end-of-data-load-balanced`'s. A topology that declares `end_of_data` nowhere gets
one finding, not one per process; imported FairMQ files (whose devices run their own state
machine) are left alone until they declare `end_of_data`.

## Why it matters
Problem 5 of the talk: a worker in the middle that does not pass end-of-data on, and the sink
waits forever — the run never finishes, the job is killed by a timeout or by hand, and
whatever the sink would have written at the end (totals, closed files) is lost. ALICE DPL
users report the same: "workflows that never quit because one sink waits for end-of-stream".

## Example
```yaml
runs: finite
processes:
  camera:
    end_of_data: emit
    sockets: {out: {type: push, bind: "tcp://*:7000"}}
  worker:                       # no end_of_data: swallows it
    sockets:
      in: {type: pull, connect: camera.out}
      out: {type: push, bind: "tcp://*:7001"}
  sink:
    end_of_data: consume
    sockets: {in: {type: pull, connect: worker.out}}
```

## Fix
Declare `end_of_data: emit` on every source, `forward` on every process in between
(`{action: forward, wait_for: all, timeout: 30s}`) and `consume` on the sinks; send
end-of-data on a socket that reaches every consumer; or declare `runs: continuous` if the
topology is not meant to end.
"""

from collections.abc import Iterator

from topolint.analysis.end_of_data import (
    BLOCKS,
    CYCLE,
    OVERCOUNT,
    ROUTE,
    SOURCE,
    EodModel,
    action,
    chain,
    declaration,
    eod_path,
    finite,
    model,
    names,
    wait_path,
)
from topolint.lint.context import Context
from topolint.lint.findings import Fact, Path
from topolint.lint.model import Process, Topology

NAME = "missing-end-of-data"
CODE = "TL601"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    """Sinks of a finite run that end-of-data never reaches: nothing declared at all, or
    each process where it stops (with the sinks it keeps from ending), and sinks that
    ignore it."""
    topo = ctx.topology
    if not finite(topo):
        return
    procs = topo.processes
    sinks = [s for s in ctx.wiring.sinks() if procs[s].lifecycle != "persistent"]
    if not any(p.end_of_data is not None for p in procs.values()):
        if sinks and topo.source_format != "fairmq":
            yield _nothing_declared(ctx, sinks)
        return
    m = model(ctx)
    for u, blocked in m.blocked_sinks().items():
        yield _stop(ctx, m, u, blocked)
    for s in m.ending_sinks():
        if action(procs[s]) == "none":
            yield _ignoring_sink(m, s)


def _nothing_declared(ctx: Context, sinks: list[str]) -> Fact:
    topo = ctx.topology
    sources = ctx.wiring.sources()
    where = topo.processes[sources[0] if sources else sinks[0]]
    return Fact(
        f"runs: finite, but no process declares end_of_data: no end-of-data reaches "
        f"{'the sink' if len(sinks) == 1 else f'the {len(sinks)} sinks'} {names(sinks)}, "
        "so the run never ends",
        path=where.path,
        subject=(where.name, *sinks),
        fix="declare `end_of_data: emit` on the sources, `forward` on the processes between "
        "and `consume` on the sinks, or `runs: continuous` if the topology never ends",
        data={"sinks": sinks},
    )


def _stop(ctx: Context, m: EodModel, u: str, blocked: list[str]) -> Fact:
    """The fact for process ``u``, where end-of-data stops before the sinks ``blocked``."""
    topo = ctx.topology
    first = blocked[0]
    head = m.origin_path(u)
    tail = m.path_to(u, first)
    origin = head[0] if head[0] != u else None
    nxt = tail[1] if len(tail) > 1 else first
    ends = _never_ends(u, chain(head + tail[1:]), blocked)
    msg, fix, where = _why_it_stops(topo, m, u, ends, origin, nxt)
    return Fact(
        msg,
        path=where,
        subject=(u, *blocked),
        related=tuple(topo.processes[s].path for s in blocked[:5] if s != u),
        fix=fix,
        data={"stop": u, "kind": m.kind[u], "sinks": blocked},
    )


def _never_ends(u: str, path: str, blocked: list[str]) -> str:
    """``a -> b -> sink never ends (and 2 more sinks: ...)``: the sinks ``blocked`` by ``u``,
    the first reached along ``path``."""
    ends = f"{path} never ends" if blocked[0] != u else f"{u} never ends"
    if len(blocked) > 1:
        ends += f" (and {len(blocked) - 1} more sink{'s' if len(blocked) > 2 else ''}: "
        ends += names(blocked[1:]) + ")"
    return ends


def _why_it_stops(
    topo: Topology, m: EodModel, u: str, ends: str, origin: str | None, nxt: str
) -> tuple[str, str, Path]:
    """Message, fix and element at fault for the way end-of-data stops at ``u``.

    Parameters
    ----------
    ends : str
        What never ends (:func:`_never_ends`).
    origin : str or None
        Where the end-of-data that stops at ``u`` comes from (None: ``u`` itself).
    nxt : str
        The next process on the way to the first blocked sink.
    """
    p = topo.processes[u]
    from_ = f" from {origin}" if origin else ""
    kind = m.kind[u]
    if kind == SOURCE:
        msg = f"no end-of-data from {u}: it {declaration(p)} and a source must `emit`: {ends}"
        return msg, f"declare `end_of_data: emit` on {u}", eod_path(p)
    if kind == BLOCKS:
        fix = (
            f"declare `end_of_data: {{action: forward, wait_for: all, timeout: 30s}}` on {u}"
            if action(p) != "consume"
            else f"make {u} `forward` end-of-data instead of `consume` it"
        )
        return f"end-of-data{from_} stops at {u} ({declaration(p)}): {ends}", fix, eod_path(p)
    if kind == ROUTE:
        socks = [s.id for s in m.out_sockets[u]]
        on = f"only on {names(socks)}, which do" if socks else "on no socket, so it does"
        msg = f"end-of-data{from_} stops at {u}: it sends end-of-data {on} not reach {nxt}: {ends}"
        where = m.out_sockets[u][0].path if m.out_sockets[u] else eod_path(p)
        return msg, f"let a socket that carries end-of-data reach {nxt}", where
    if kind == OVERCOUNT:
        return _overcounted(topo, m, p, ends)
    assert kind == CYCLE
    cyc = m.cycles[u]
    msg = f"end-of-data never enters the cycle {chain([*cyc, cyc[0]])}: {ends}"
    fix = "let a process on the cycle emit end-of-data, or feed the cycle from a source"
    return msg, fix, p.path


def _overcounted(topo: Topology, m: EodModel, p: Process, ends: str) -> tuple[str, str, Path]:
    """Message, fix and element at fault when ``p`` waits for more end-of-data signals
    than one of its instances has producers."""
    u = p.name
    eod = p.end_of_data
    assert eod is not None
    counts = m.instance_producers(p)
    inst, senders = min(counts.items(), key=lambda kv: len(kv[1]))
    have = len(senders)
    msg = (
        f"end-of-data stops at {u}: it waits for {eod.wait_for} end-of-data signals but "
        f"{inst} has only {have} producer{'s' if have != 1 else ''}"
        + (f" ({names(sorted(senders))})" if senders else "")
        + f": {ends}"
    )
    fix = f"set `wait_for: {have}` (or `all`) on {u}" if have else f"connect a producer to {u}"
    return msg, fix, wait_path(topo, p)


def _ignoring_sink(m: EodModel, s: str) -> Fact:
    p = m.topology.processes[s]
    if s in m.reached:
        how = f"end-of-data reaches it ({chain(m.origin_path(s))}) but it ignores it"
    else:
        how = "it would ignore end-of-data even if it arrived"
    return Fact(
        f"sink {s} {declaration(p)}: {how}, so {s} never ends",
        path=eod_path(p),
        subject=(s,),
        fix=f"declare `end_of_data: consume` on {s} (with a timeout)",
        data={"stop": s, "kind": "sink", "sinks": [s]},
    )
