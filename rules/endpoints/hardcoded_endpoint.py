"""A literal host name or IP address in a bind or connect endpoint.

## What it finds
A `tcp://`, `ws://` or `wss://` endpoint whose host is written into the file — `connect:
tcp://prod01:7891`, `bind: tcp://10.0.3.7:5555` — where a logical reference
(`connect: collector.in`) or a `${VARIABLE}` belongs. Loopback hosts (`localhost`,
`127.0.0.1`, `::1`) and wildcard binds (`*`, `0.0.0.0`) are fine by default. A host that
comes from a variable (`tcp://${COLLECTOR_HOST}:7891`, with or without a default) is fine.

Options (`[tool.topolint.rules.hardcoded-endpoint]`): `allow-hosts` — globs of host names
or IP networks that may be written literally (e.g. `["build-*", "10.9.0.0/16"]`);
`allow-loopback` (default `true`) — set it to `false` to flag loopback hosts too.

## Why it matters
The talk's problem 4: a test script that says `s.connect("tcp://prod01:7891")` pushes its
test data straight into the production collector the moment someone runs it. A host baked
into a topology file travels with every copy of that file — into test setups, laptops and
CI — and keeps pointing at the same machine. A reference or a variable makes the target a
decision of the deployment, not of the file.

## Example
```yaml
processes:
  test-sender:
    sockets:
      out: {type: push, connect: "tcp://prod01:7891"}
```

## Fix
Connect by logical reference (`connect: collector.in`) when the peer is in the same
topology; otherwise take the host from a variable (`tcp://${COLLECTOR_HOST}:7891`, passed
with `--var` or the environment). Bind to `*` (or a variable) rather than an interface
address. Hosts that really are fixed (a build farm) go into `allow-hosts`.
"""

from collections.abc import Iterator

from topolint.analysis.hosts import (
    NETWORK_TRANSPORTS,
    HostSet,
    is_loopback,
    is_wildcard,
    literal_host,
    option_list,
)
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "hardcoded-endpoint"
CODE = "TL501"
SEVERITY = "warning"
OPTIONS: dict[str, object] = {"allow-hosts": [], "allow-loopback": True}


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    allowed = HostSet.of(option_list(ctx.option("allow-hosts", [])))
    allow_loopback = bool(ctx.option("allow-loopback", True))
    reaches = _reaches(ctx)
    for p in topo.processes.values():
        for s in p.sockets.values():
            for e in s.endpoints:
                if e.kind not in NETWORK_TRANSPORTS or e.host is None or not literal_host(e):
                    continue
                host = e.host
                if e.bind and is_wildcard(host):
                    continue
                if allow_loopback and is_loopback(host):
                    continue
                if allowed.match(host):
                    continue
                if e.bind:
                    msg = (
                        f"{s.type.upper()} socket {s.id} binds {e.text} on the literal host "
                        f"{host!r}: the file now only works on the machine that has that address"
                    )
                    fix = f"bind {e.kind}://*:{e.port} or take the interface from a ${{VARIABLE}}"
                else:
                    refs = sorted(reaches.get(e.path, set()) - {s.id})
                    target = f" (it reaches {', '.join(refs)})" if refs else ""
                    msg = (
                        f"{s.type.upper()} socket {s.id} connects to the literal host {host!r} "
                        f"in {e.text}{target}: every copy of this file reaches that machine"
                    )
                    fix = (
                        f"connect by reference: connect: {refs[0]}"
                        if len(refs) == 1
                        else f"take the host from a variable: {e.kind}://${{HOST}}:{e.port}"
                    )
                yield Fact(msg, path=e.path, subject=(s.id, e.text), fix=fix)


def _reaches(ctx: Context) -> dict[tuple[str | int, ...], set[str]]:
    """Connect endpoint path -> logical names (``process.socket``) of the sockets it meets."""
    out: dict[tuple[str | int, ...], set[str]] = {}
    for c in ctx.wiring.connections:
        if c.unresolved or c.endpoint.bind:
            continue
        peers = out.setdefault(c.endpoint.path, set())
        for sock in (c.sender_socket, c.receiver_socket):
            if sock is not None:
                peers.add(sock.id)
    return out
