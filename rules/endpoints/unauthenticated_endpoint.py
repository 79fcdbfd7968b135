"""A TCP endpoint reachable from other hosts without CURVE.

## What it finds
A socket without `curve: server | client` that either binds a network transport (`tcp`,
`ws`, `wss`) on an address other hosts can reach — a wildcard (`*`, `0.0.0.0`) or an
interface address — or connects to a process on another host. Loopback binds and
connections that stay on one host are fine; so are `ipc://` and `inproc://`.

Option `trusted-hosts` (default `[]`): globs of host names and IP networks inside a
network you trust (e.g. `["daq-*", "10.20.0.0/16"]`); binds by processes on those hosts
and connections to them are not reported.

## Why it matters
ZeroMQ's default NULL security mechanism lets anyone who can reach the port connect, send
and receive: nothing tells a test script from the real producer (the talk's problem 4,
"consider authenticating"), and the data crosses the network in clear text. CURVE
encrypts the connection and, with a ZAP handler checking client keys, authenticates the
peer.

## Example
```yaml
processes:
  collector:
    sockets:
      in: {type: pull, bind: "tcp://*:7891"}
```

## Fix
Give both ends CURVE (`curve: server` on one side, `curve: client` on the other, with a
ZAP handler that checks client keys), or bind `tcp://127.0.0.1:PORT` / use `ipc://` when
only processes on the same machine connect. Hosts on an isolated, trusted network go into
`trusted-hosts`.

The default severity is `info`: most pipelines bind `tcp://*` inside a closed network, and
a warning on every bind would bury the findings that lose data. A production gate raises
it in configuration: `severity = {unauthenticated-endpoint = "error"}`.
"""

from collections.abc import Iterator

from topolint.analysis.hosts import (
    NETWORK_TRANSPORTS,
    HostSet,
    is_loopback,
    option_list,
    target_host,
)
from topolint.lint.context import Context
from topolint.lint.findings import Fact
from topolint.lint.model import Topology

NAME = "unauthenticated-endpoint"
CODE = "TL503"
SEVERITY = "info"
OPTIONS: dict[str, object] = {"trusted-hosts": []}


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    trusted = HostSet.of(option_list(ctx.option("trusted-hosts", [])))
    for p in topo.processes.values():
        for s in p.sockets.values():
            if s.curve:
                continue
            for e in s.binds:
                if e.kind not in NETWORK_TRANSPORTS or is_loopback(e.host):
                    continue
                if trusted.match(p.host) or (e.host and trusted.match(e.host)):
                    continue
                yield Fact(
                    f"{s.type.upper()} socket {s.id} binds {e.text} (process {p.name} on host "
                    f"{p.host!r}) without CURVE: any host that reaches port {e.port} can "
                    "connect and exchange messages unauthenticated, in clear text",
                    path=e.path,
                    subject=(s.id, e.text),
                    fix=f"add curve: server to {s.id} (and curve: client to its peers), or bind "
                    f"{e.kind}://127.0.0.1:{e.port} if only local processes connect",
                )
            for e in s.connects:
                host = target_host(e, p, topo)
                if host is None or host.lower() == p.host.lower() or is_loopback(host):
                    continue
                if e.kind == "ref":
                    if not _network_bind(topo, e.ref):
                        continue
                elif e.kind not in NETWORK_TRANSPORTS:
                    continue
                if trusted.match(host):
                    continue
                yield Fact(
                    f"{s.type.upper()} socket {s.id} (host {p.host!r}) connects to {e.text} on "
                    f"host {host!r} without CURVE: the peer is not authenticated and the "
                    "messages cross the network in clear text",
                    path=e.path,
                    subject=(s.id, host),
                    fix=f"add curve: client to {s.id} and curve: server to the socket it "
                    "connects to",
                )


def _network_bind(topo: Topology, ref: tuple[str, str] | None) -> bool:
    """Does the referenced socket bind a network transport (so the reference crosses hosts)?"""
    if ref is None:
        return False
    target = topo.socket(*ref)
    if target is None:
        return False
    return not target.binds or any(b.kind in NETWORK_TRANSPORTS for b in target.binds)
