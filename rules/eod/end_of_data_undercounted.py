"""A fan-in that stops after fewer end-of-data signals than it has producers.

## What it finds
In a `runs: finite` topology, a process that waits for end-of-data (`forward` or `consume`)
with `wait_for: any` or a count smaller than the number of producer instances that send it
end-of-data — replicas and fan-in count: `worker` × 3 pushing into one `collector` is three
producers. `wait_for: all` (the default) is always fine; a count larger than the producers
can send is `missing-end-of-data` (the process never ends).

## Why it matters
Problem 5 of the talk: with several producers, the first end-of-data only says that *one*
of them is done. A collector that stops there closes its socket while the others still have
data in flight — in their send queues, in the kernel buffers, in its own receive queue — and
that data is silently lost; the result looks complete and is not.

## Example
```yaml
runs: finite
processes:
  worker:
    replicas: 3
    end_of_data: emit
    sockets: {out: {type: push, connect: collector.in}}
  collector:
    end_of_data: {action: consume, wait_for: any, timeout: 10s}
    sockets: {in: {type: pull, bind: "tcp://*:7000"}}
```

## Fix
Wait for every producer: `wait_for: all`, or the exact number of producer instances
(`wait_for: 3` for three replicas — and update it when `replicas` changes; `all` follows by
itself).
"""

from collections.abc import Iterator

from topolint.analysis.end_of_data import WAITS, action, finite, model, names, wait_path
from topolint.lint.context import Context
from topolint.lint.findings import Edit, Fact

NAME = "end-of-data-undercounted"
CODE = "TL603"
SEVERITY = "error"
#: `wait_for: all` waits for every producer however many there are: nothing is lost.
FIX_SAFETY = "safe"


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    if not finite(topo):
        return
    m = None
    for p in topo.processes.values():
        eod = p.end_of_data
        if eod is None or action(p) not in WAITS or eod.wait_for == "all":
            continue
        m = m or model(ctx)
        want = 1 if eod.wait_for == "any" else int(eod.wait_for)
        inst, senders = max(m.instance_producers(p).items(), key=lambda kv: len(kv[1]))
        have = len(senders)
        if have <= want:
            continue
        said = "wait_for: any" if eod.wait_for == "any" else f"wait_for: {eod.wait_for}"
        who = "it" if inst == p.name else inst
        rest = "the other one" if have - want == 1 else f"the other {have - want}"
        yield Fact(
            f"{p.name} stops after {want} end-of-data signal{'s' if want != 1 else ''} "
            f"({said}) but {who} has {have} producers ({names(sorted(senders))}): "
            f"it ends while data from {rest} may still be in flight",
            path=wait_path(topo, p),
            subject=(p.name, *sorted(senders)),
            fix=f"set `wait_for: all` on {p.name} (or `wait_for: {have}`)",
            data={"wait_for": want, "producers": sorted(senders)},
            edit=Edit(eod.path, "all", key="wait_for"),
        )
