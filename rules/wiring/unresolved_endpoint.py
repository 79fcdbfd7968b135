"""A connect endpoint meets no bind in the topology.

## What it finds
A `connect:` that no socket of the topology binds: a logical reference to a process or
socket that does not exist, or a `tcp://HOST:PORT` / `ipc://PATH` that no process on that
host binds. The unresolved peer is kept in the graph (drawn dashed by `topolint render`).

## Why it matters
ZeroMQ connects lazily and retries forever: a typo in a host, port or socket name does not
fail, it parks up to SNDHWM messages per unreachable endpoint (IMMEDIATE=0) and the data
never arrives. If the peer lives outside this file, the dependency is invisible to
reviewers and to every other rule.

## Example
```yaml
processes:
  worker:
    sockets:
      in: {type: pull, connect: camra.out}   # typo: no process "camra"
```

## Fix
Point the endpoint at a socket declared in the file (`process.socket`), or bind the port
on the host you connect to. For a peer that really lives elsewhere, declare it as a
process so the topology is complete, or suppress the finding with a reason.
"""

import difflib
from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "unresolved-endpoint"
CODE = "TL102"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    seen = set()
    for c in ctx.wiring.connections:
        if not c.unresolved:
            continue
        sock = c.sender_socket or c.receiver_socket
        assert sock is not None
        e = c.endpoint
        if (sock.id, e.text) in seen:
            continue
        seen.add((sock.id, e.text))
        hint = ""
        if e.kind == "ref" and e.ref:
            proc, sname = e.ref
            if proc not in topo.processes:
                close = difflib.get_close_matches(proc, list(topo.processes), n=1)
                hint = f"no process {proc!r}" + (f"; did you mean {close[0]!r}?" if close else "")
            else:
                names = list(topo.processes[proc].sockets)
                close = difflib.get_close_matches(sname, names, n=1)
                hint = f"process {proc!r} has no socket {sname!r}" + (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else f" (it has: {', '.join(names) or 'none'})"
                )
        elif e.kind == "inproc":
            hint = "inproc endpoints only meet binds inside the same process"
        elif e.kind == "ipc":
            hint = f"no process on host {topo.processes[sock.process].host!r} binds {e.text}"
        else:
            hint = f"no process binds port {e.port} on host {e.host!r}"
        yield Fact(
            f"{sock.type.upper()} socket {sock.id} connects to {e.text}, which nothing in the topology binds: {hint}",
            path=e.path,
            subject=(sock.id, f"?{e.text}"),
        )
