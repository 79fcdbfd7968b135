"""A memory bound cannot be computed in bytes: the message size is unknown.

## What it finds
Connections that queue data but whose message type is missing (no `sends:`/`receives:`),
names a type that `messages:` does not declare, or declares no `max_size` — and whose
receiver sets no `maxmsgsize` either. One finding per message type without `max_size`
(listing the sockets that use it), and one per socket without a usable type; never one
per replica connection. FairMQ channel files cannot say sizes, so this rule says so.
The empty direction of a one-way PAIR or DEALER/ROUTER channel (neither end declares it,
one end declares the other direction) queues nothing and needs no size.

## Why it matters
ZeroMQ's high-water marks count messages, not bytes: 1000 queued messages are 1 MB at
1 kB and 10 GB at 10 MB. Without a size the per-process memory bound of the talk's
problem 2 ("limiting memory usage") cannot be checked against `memory_limit`, and without
MAXMSGSIZE a peer decides how much memory the receiver allocates for one message.

## Example
```yaml
messages:
  image: {encoding: msgpack}          # no max_size
processes:
  camera:
    sockets:
      out: {type: push, bind: "tcp://*:7000", sends: image}
  worker:
    sockets:
      in: {type: pull, connect: camera.out, receives: image}
```

## Fix
Declare `max_size` on the message type (the largest payload, e.g. `max_size: 10kB`), name
the type on the socket with `sends:`/`receives:`, or set `maxmsgsize` on the receiver.
"""

from collections import defaultdict
from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact, Path
from topolint.lint.graph import Connection
from topolint.lint.model import Socket, Topology

NAME = "unknown-message-size"
CODE = "TL303"
SEVERITY = "info"


def _blame(topo: Topology, c: Connection) -> tuple[str, str, Socket | None]:
    """(kind, key, socket): kind is "type" (declared without max_size), "undeclared" or "none"."""
    sides = [(c.sender_socket, "sends"), (c.receiver_socket, "receives")]
    for s, attr in sides:
        name = getattr(s, attr) if s is not None else None
        if name and name in topo.messages:
            return "type", name, s
    for s, attr in sides:
        name = getattr(s, attr) if s is not None else None
        if name:
            return "undeclared", attr, s
    s = c.sender_socket or c.receiver_socket
    return "none", "", s


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    by_type: dict[str, dict[str, Socket]] = defaultdict(dict)
    by_socket: dict[str, tuple[str, str, Socket, int]] = {}
    for cm in ctx.analysis.connections:
        if cm.size_source != "unknown" or cm.kind == "none" or cm.connection.carries_nothing:
            continue
        kind, key, s = _blame(topo, cm.connection)
        if s is None:
            continue
        if kind == "type":
            for side in (cm.connection.sender_socket, cm.connection.receiver_socket):
                if side is not None and side.message == key:
                    by_type[key][side.id] = side
            continue
        prev = by_socket.get(s.id)
        by_socket[s.id] = (kind, key, s, (prev[3] if prev else 0) + 1)
    for name, socks in by_type.items():
        m = topo.messages[name]
        ids = sorted(socks)
        listed = ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
        yield Fact(
            f"message type {name!r} declares no max_size: the memory bound of the queues of "
            f"{listed} counts messages but cannot be given in bytes",
            path=m.path,
            subject=(name, *ids),
            fix=f"declare messages.{name}.max_size (the largest payload, e.g. 10kB)",
        )
    for sid, (kind, key, s, n) in sorted(by_socket.items()):
        conns = f"{n} connection{'s' if n != 1 else ''}"
        if kind == "undeclared":
            name = getattr(s, key)
            path: Path = (*s.path, key)
            msg = (
                f"{s.type.upper()} {sid} {key} {name!r}, which messages: does not declare: the "
                f"memory bound of its {conns} cannot be given in bytes"
            )
            fix = f"declare messages.{name} with a max_size, or fix the name"
        else:
            path = s.path
            verb = "sends" if s.can_send else "receives"
            msg = (
                f"{s.type.upper()} {sid} names no message type ({verb}:): the memory bound of "
                f"its {conns} cannot be given in bytes"
            )
            fix = f"add {verb}: <type> with a declared max_size, or set maxmsgsize on the receiver"
            if topo.source_format == "fairmq":
                msg += " (FairMQ channel files cannot say message sizes)"
                fix = (
                    "run `topolint import fairmq` and declare a message type with max_size, "
                    "or set maxmsgsize on the receiving channel"
                )
        yield Fact(msg, path=path, subject=(sid,), fix=fix)
