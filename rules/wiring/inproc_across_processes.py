"""An inproc endpoint used to reach another process.

## What it finds
A `connect: inproc://NAME` whose name is bound by a different process. `inproc://` only
works between threads sharing one ZeroMQ context, i.e. inside one process.

## Why it matters
The connect succeeds and the messages queue up, but they never leave the process: the
bind in the other process is a different endpoint in a different context. It typically
works in a single-process test and breaks when the stages are split into processes.

## Example
```yaml
processes:
  a: {sockets: {out: {type: push, bind: inproc://frames}}}
  b: {sockets: {in: {type: pull, connect: inproc://frames}}}
```

## Fix
Use `ipc://` (same host) or `tcp://` between processes, or a logical reference
(`connect: a.out`) and let the deployment pick the transport.
"""

from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "inproc-across-processes"
CODE = "TL108"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    binders: dict[str, list[str]] = {}
    for p in ctx.topology.processes.values():
        for s in p.sockets.values():
            for e in s.binds:
                if e.kind == "inproc":
                    binders.setdefault(e.address or "", []).append(s.id)
    for p in ctx.topology.processes.values():
        for s in p.sockets.values():
            for e in s.connects:
                if e.kind != "inproc":
                    continue
                others = [
                    b for b in binders.get(e.address or "", []) if not b.startswith(p.name + ".")
                ]
                if others:
                    yield Fact(
                        f"{s.id} connects to {e.text}, which is bound in another process "
                        f"({', '.join(others)}); inproc only works inside one process",
                        path=e.path,
                        subject=(s.id, *others),
                        fix="use ipc:// or tcp://, or a logical reference",
                    )
