"""A process without an owner in a topology that uses owners.

## What it finds
When at least one process declares `owner:`, every process that does not. A topology
where no process declares an owner is left alone.

## Why it matters
The talk's problem 6: a topology is shared between people ("responsibility of Tom",
"responsibility of Sally"), and every change to it has to reach whoever owns the other
end. A process without an owner falls between teams: nobody is asked when its inputs
change, `topolint diff` cannot say whose process a change breaks, and the contract rules
cannot tell which edges cross a team boundary.

## Example
```yaml
processes:
  camera: {owner: daq-team, sockets: {out: {type: push, bind: "tcp://*:7000"}}}
  viewer: {sockets: {in: {type: pull, connect: camera.out}}}   # whose is it?
```

## Fix
Add `owner:` (a team or person) to the process. A process that genuinely belongs to
everyone still needs someone to ask.
"""

from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "missing-owner"
CODE = "TL701"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Fact]:
    procs = list(ctx.topology.processes.values())
    owners = sorted({p.owner for p in procs if p.owner})
    if not owners:
        return
    owned = sum(1 for p in procs if p.owner)
    shown = ", ".join(owners[:4]) + (f" and {len(owners) - 4} more" if len(owners) > 4 else "")
    neighbours = ctx.wiring.flow
    for p in procs:
        if p.owner:
            continue
        near = sorted(
            {
                q.owner
                for n in (*neighbours.predecessors(p.name), *neighbours.successors(p.name))
                for q in [ctx.topology.processes[n]]
                if q.owner
            }
        )
        hint = f"; it exchanges data with processes of {', '.join(near)}" if near else ""
        yield Fact(
            f"process {p.name} has no owner, while {owned} of {len(procs)} processes declare "
            f"one ({shown}){hint}",
            path=p.path,
            subject=(p.name,),
            fix=f"add owner: to process {p.name}",
        )
