"""A process that waits for end-of-data from upstream with no timeout.

## What it finds
In a `runs: finite` topology, a process that waits for end-of-data (`end_of_data: forward`
or `consume`) from at least one producer upstream (a data input or an end-of-data control
input) and declares no `timeout`. One finding per process, at its `end_of_data`.

## Why it matters
Problem 5 of the talk ("end of processing sequence may include … using timeouts"): the
end-of-data it waits for may never come — a producer crashed, was killed, lost it on a PUB,
or a replica got none on a PUSH. Without a timeout the process waits forever, the run never
finishes, and nothing says which process is stuck. A timeout turns the hang into an error
with a name.

## Example
```yaml
runs: finite
processes:
  source:
    end_of_data: emit
    sockets: {out: {type: push, bind: "tcp://*:7000"}}
  sink:
    end_of_data: consume          # waits for ever if source dies
    sockets: {in: {type: pull, connect: source.out}}
```

## Fix
Write `end_of_data` as a mapping with a timeout — the longest quiet period after which the
input is declared dead: `end_of_data: {action: consume, wait_for: all, timeout: 30s}`.
"""

from collections.abc import Iterator
from typing import Any

from topolint.analysis.end_of_data import WAITS, action, finite, model, names
from topolint.lint.context import Context
from topolint.lint.findings import Edit, Fact, Path

NAME = "no-end-timeout"
CODE = "TL605"
SEVERITY = "warning"
#: A timeout makes the process give up after 30 s without input: behaviour changes.
FIX_SAFETY = "unsafe"


def _edit(ctx: Context, path: Path, act: str) -> Edit:
    """`timeout: 30s` in the `end_of_data` mapping, or the scalar made a mapping."""
    node: Any = ctx.topology.document.data
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    if isinstance(node, dict):
        return Edit(path, "30s", key="timeout")
    return Edit(path, {"action": act, "timeout": "30s"})


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    if not finite(topo):
        return
    m = None
    for p in topo.processes.values():
        eod = p.end_of_data
        if eod is None or eod.timeout is not None or action(p) not in WAITS:
            continue
        m = m or model(ctx)
        producers = m.producers[p.name]
        if not producers:
            continue
        act = eod.action
        them = "it dies" if len(producers) == 1 else "one of them dies"
        yield Fact(
            f"{p.name} waits for end-of-data from {names(producers)} to {act} it, with no "
            f"timeout: if {them} or its end-of-data is lost, {p.name} waits forever",
            path=eod.path,
            subject=(p.name,),
            fix=f"end_of_data: {{action: {act}, wait_for: {eod.wait_for}, timeout: 30s}} "
            "(a timeout longer than the longest quiet period of the input)",
            data={"producers": list(producers)},
            edit=_edit(ctx, eod.path, act),
        )
