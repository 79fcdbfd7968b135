"""The two ends of a connection use different transports.

## What it finds
A connection whose sending and receiving sockets declare different transports (FairMQ's
`transport=` of a channel or the device's `--transport`, kept as `x-transport`: zeromq,
shmem, nanomsg, ofi). One finding per pair of sockets, at the connecting end.

## Why it matters
FairMQ transports do not interoperate: a shmem channel sends descriptors of buffers in a
shared-memory segment, a zeromq channel sends the bytes, nanomsg and ofi speak their own
protocols. Two ends on different transports either never exchange a message or read
garbage — FairMQ's documentation calls mixing them undefined behaviour, and in practice the
receiving device crashes on the first message or waits forever.

## Example
```yaml
processes:
  sampler: {sockets: {data: {type: push, bind: "tcp://*:5555", x-transport: shmem}}}
  sink:    {sockets: {data: {type: pull, connect: sampler.data, x-transport: zeromq}}}
```

## Fix
Use one transport on both ends: set `transport=` on the channel (or `--transport` on both
devices) to the same value. To move data between transports, put a device in between that
receives on one and sends on the other (FairMQ's multiple-transports example).
"""

from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "transport-mismatch"
CODE = "TL109"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    seen: set[tuple[str, str]] = set()
    for c in ctx.wiring.connections:
        s, r = c.sender_socket, c.receiver_socket
        if c.reply or s is None or r is None or s.transport is None or r.transport is None:
            continue
        if s.transport == r.transport or (s.id, r.id) in seen:
            continue
        seen.add((s.id, r.id))
        yield Fact(
            f"{s.id} ({s.transport}) sends to {r.id} ({r.transport}): the two ends of a "
            "connection must use one transport, or nothing arrives intact",
            path=c.path,
            subject=(s.id, r.id),
            related=(r.path if c.endpoint.path[: len(s.path)] == s.path else s.path,),
            fix=f"set transport={s.transport} on both channels (or the same --transport on both devices)",
        )
