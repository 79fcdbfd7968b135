"""Two sockets bind the same endpoint.

## What it finds
Two binds of the same TCP port on one host (wildcard `*` binds included), the same
`ipc://` path on one host, or the same `inproc://` name in one process. A bind in a
process with several replicas on one host conflicts with itself.

## Why it matters
The second bind fails with EADDRINUSE at start-up — or, for ipc, silently steals the path
from the first socket, so the first process stops receiving while still running. With
replicas, only one instance ever gets the port.

## Example
```yaml
processes:
  a: {sockets: {out: {type: push, bind: tcp://*:5555}}}
  b: {sockets: {out: {type: push, bind: tcp://*:5555}}}
```

## Fix
Give each bind its own port or path; for replicas, let the replicas connect and have the
single peer bind, or template the port per replica.
"""

from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "endpoint-conflict"
CODE = "TL103"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    fairmq = ctx.topology.source_format == "fairmq"
    for group in ctx.wiring.conflicts:
        first = group[0]
        # FairMQ does not say where devices run: the conflict is on any host they share
        where = "on one host" if fairmq else f"on host {first.process.host!r}"
        if len(group) == 1:
            yield Fact(
                f"{first.socket.id} binds {first.endpoint.text} but process {first.process.name!r} "
                f"has {first.process.replicas} replicas {where}: only one of them can bind it",
                path=first.endpoint.path,
                subject=(first.socket.id,),
            )
            continue
        for other in group[1:]:
            yield Fact(
                f"{other.socket.id} binds {other.endpoint.text}, already bound by {first.socket.id} "
                f"{where}",
                path=other.endpoint.path,
                subject=(other.socket.id, first.socket.id),
                related=(first.endpoint.path,),
            )
