"""A persistent process reused across runs that does not clear its queues at start.

## What it finds
In a `runs: finite` topology, a process with `lifecycle: persistent` (it keeps running, and
keeps its sockets, from one run to the next) that has sockets but does not declare
`on_start: [drain]`.

## Why it matters
Problem 5 of the talk, "end of data & process reuse": whatever the previous run left in the
process's queues — messages that arrived after it stopped reading, a second end-of-data from
a producer it no longer waited for, messages parked in its send queues for a peer that had
gone — is still there when the next run starts. The new run first reads the old run's data
(mixing two data sets), or reads the stale end-of-data and ends at once with nothing
processed. The talk's summary: the start of processing may include cleaning up the queues.

## Example
```yaml
runs: finite
processes:
  worker:
    lifecycle: persistent          # no on_start: [drain]
    end_of_data: forward
    sockets:
      in: {type: pull, bind: "tcp://*:7000"}
      out: {type: push, bind: "tcp://*:7001"}
```

## Fix
Declare `on_start: [drain]` and implement it: before the run starts, read and discard
whatever is queued (non-blocking receive until empty) and close and reopen sending sockets
with `linger: 0`; or make the process `lifecycle: per-run` so every run starts with fresh
sockets.
"""

from collections.abc import Iterator

from topolint.analysis.end_of_data import finite, names
from topolint.lint.context import Context
from topolint.lint.findings import Edit, Fact

NAME = "stale-queue-on-reuse"
CODE = "TL606"
SEVERITY = "warning"
#: `on_start: [drain]` declares start-up code the process must then implement.
FIX_SAFETY = "unsafe"


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    if not finite(topo):
        return
    for p in topo.processes.values():
        if p.lifecycle != "persistent" or "drain" in p.on_start or not p.sockets:
            continue
        receiving = [s.id for s in p.sockets.values() if s.can_receive]
        if receiving:
            what = (
                f"messages and end-of-data left in {names(receiving)} by the previous run are "
                "read at the start of the next one: it mixes the runs' data or ends at once"
            )
        else:
            what = (
                f"messages left unsent in {names([s.id for s in p.sockets.values()])} by the "
                "previous run are delivered at the start of the next one"
            )
        yield Fact(
            f"{p.name} is persistent (reused across runs) but does not drain its queues at "
            f"start (no `on_start: [drain]`): {what}",
            path=(*p.path, "lifecycle"),
            subject=(p.name,),
            fix=f"declare `on_start: [drain]` on {p.name} and empty its queues before each run",
            edit=Edit(p.path, [*p.on_start, "drain"], key="on_start"),
        )
