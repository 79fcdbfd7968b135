"""A high-water mark of 0 where data can pile up: the queue has no limit.

## What it finds
A socket with `sndhwm: 0` that sends data on some connection, or with `rcvhwm: 0` that
receives data from a peer — directly or through `defaults:`. One finding per socket that
sets it, or one at `defaults:` listing every socket that inherits it. CONFLATE sockets
(which keep at most one message) are exempt.

## Why it matters
In ZeroMQ an HWM of 0 means "no limit" (`pipe.cpp::check_hwm`), not "no queue": when the
peer is slow, stalled or gone, the pipe grows until the process is killed by the OOM killer.
The talk's problem 2 ("limiting memory usage") is about exactly this growth; over inproc a 0
on either side makes the one shared pipe unbounded. NiFi rejects a back-pressure threshold
of 0 for the same reason.

## Example
```yaml
processes:
  camera:
    sockets:
      out: {type: push, bind: "tcp://*:7000", sends: image, sndhwm: 0}
  worker:
    sockets:
      in: {type: pull, connect: camera.out, receives: image}
```

## Fix
Give the socket a finite high-water mark sized from the memory you can spend
(`topolint analyze` shows the bound per process); use `conflate: true` for "latest value"
streams; if a slow consumer must never block the producer, decide explicitly what to drop.
"""

from collections.abc import Iterator

from topolint.analysis.performance import socket_opts
from topolint.analysis.queue_model import effective_conflate
from topolint.lint.context import Context
from topolint.lint.findings import Fact
from topolint.lint.model import Socket

NAME = "unbounded-queue"
CODE = "TL301"
SEVERITY = "warning"


def _piles_up(ctx: Context, s: Socket, option: str) -> int:
    """Connections on which the ``option`` pipe of ``s`` holds data."""
    if option == "sndhwm":
        return len(ctx.wiring.outgoing(s))
    return sum(1 for c in ctx.wiring.incoming(s) if c.sender_socket is not None and not c.mismatch)


def check(ctx: Context) -> Iterator[Fact]:
    inherited: dict[str, list[tuple[Socket, int]]] = {"sndhwm": [], "rcvhwm": []}
    for p in ctx.topology.processes.values():
        for s in p.sockets.values():
            if effective_conflate(socket_opts(s)):
                continue
            for option in ("sndhwm", "rcvhwm"):
                if getattr(s, option) != 0:
                    continue
                n = _piles_up(ctx, s, option)
                if not n:
                    continue
                if option not in s.declared:
                    inherited[option].append((s, n))
                    continue
                where = "its sender side" if option == "sndhwm" else "its receiver side"
                yield Fact(
                    f"{s.type.upper()} {s.id} sets {option}: 0 (no limit) on {where} of {n} "
                    f"connection{'s' if n != 1 else ''}: when a peer is slow or stalled, "
                    "messages pile up until the process runs out of memory",
                    path=(*s.path, option),
                    subject=(s.id,),
                    fix=f"set a finite {option} (topolint analyze shows the resulting bound)",
                )
    for option, socks in inherited.items():
        if not socks:
            continue
        names = ", ".join(s.id for s, _ in socks[:5]) + (
            f" and {len(socks) - 5} more" if len(socks) > 5 else ""
        )
        yield Fact(
            f"defaults set {option}: 0 (no limit), inherited by {len(socks)} socket"
            f"{'s' if len(socks) != 1 else ''} that carry data ({names}): their queues grow "
            "without bound when a peer is slow or stalled",
            path=("defaults", option),
            subject=tuple(s.id for s, _ in socks),
            fix=f"set a finite default {option}",
        )
