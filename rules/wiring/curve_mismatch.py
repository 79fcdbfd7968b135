"""One end of a connection requires CURVE and the other does not: the link never carries data.

## What it finds
A connection whose two sockets do not form one CURVE client/server pair: `curve: client`
facing a socket without `curve:` (or the reverse), `curve: server` facing a socket without
it, or two ends that both declare the same role (two servers, two clients). Which end binds
does not matter: CURVE's server and client roles are independent of bind and connect. One
finding per pair of sockets (replicas and the reply direction are not counted again), at
the connecting endpoint, naming what each end declares. `inproc://` connections are
exempt: libzmq runs no security handshake on them.

## Why it matters
ZeroMQ checks the security mechanism in the ZMTP greeting before any message moves: a
CURVE end meeting a NULL end, or two ends that both wait for (or both send) the CURVE
HELLO, fail the handshake. libzmq then closes the connection and reconnects, forever,
without an error at `send` or `recv`: the sender parks up to SNDHWM messages, the receiver
waits, and nothing but a socket monitor event (`HANDSHAKE_FAILED_PROTOCOL`) says why.
It is a broken link, not a weaker one — `unauthenticated-endpoint` (an info about who may
connect) does not cover it.

## Example
```yaml
processes:
  collector:
    sockets:
      in: {type: pull, bind: "tcp://*:7000"}                      # no CURVE
  camera:
    sockets:
      out: {type: push, connect: collector.in, curve: client}     # never connects
```

## Fix
Give the pair one client and one server: `curve: server` on one end (usually the bind, with
a ZAP handler checking client keys) and `curve: client` on the other — or remove `curve:`
from both if the link is meant to be unencrypted.
"""

from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact, Path
from topolint.lint.model import Socket

NAME = "curve-mismatch"
CODE = "TL110"
SEVERITY = "error"


def _role(s: Socket) -> str:
    return f"curve: {s.curve}" if s.curve else "no CURVE"


def _problem(a: Socket, b: Socket) -> str | None:
    """Why the pair cannot complete a handshake, or None when it can."""
    if a.curve == b.curve:
        if a.curve is None:
            return None
        return f"both ends are CURVE {a.curve}s, and a handshake needs one of each"
    if a.curve and b.curve:
        return None  # one server, one client
    return "one end uses CURVE, the other NULL security, so the handshake fails"


def check(ctx: Context) -> Iterator[Fact]:
    seen: set[frozenset[str]] = set()
    for c in ctx.wiring.connections:
        s, r = c.sender_socket, c.receiver_socket
        if s is None or r is None or c.mismatch or c.transport == "inproc":
            continue
        if s.curve is None and r.curve is None:
            continue
        pair = frozenset((s.id, r.id))
        if pair in seen:
            continue
        seen.add(pair)
        why = _problem(s, r)
        if why is None:
            continue
        # the connecting socket first: the finding points at its endpoint
        conn, other = (s, r) if any(e is c.endpoint for e in s.connects) else (r, s)
        related: tuple[Path, ...] = ((*other.path, "curve") if other.curve else other.path,)
        need = (
            f"curve: {'client' if other.curve == 'server' else 'server'} on {conn.id}"
            if other.curve and not conn.curve
            else f"curve: {'client' if conn.curve == 'server' else 'server'} on {other.id}"
            if conn.curve and not other.curve
            else f"curve: server on one of {conn.id}, {other.id} and curve: client on the other"
        )
        yield Fact(
            f"{conn.type.upper()} socket {conn.id} ({_role(conn)}) connects to {other.id} "
            f"({_role(other)}): {why}; the connection never carries data (libzmq "
            "reconnects forever, with no error at send or receive)",
            path=c.path,
            subject=(conn.id, other.id),
            related=related,
            fix=f"set {need}, or remove curve: from both ends if the link need not be encrypted",
        )
