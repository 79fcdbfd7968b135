"""A connecting socket with an infinite linger: the process can hang at exit.

## What it finds
A sending socket (PUSH, PUB, DEALER, REQ, PAIR, …) that `connect`s to a process of another
name or to a peer outside the topology, over tcp, ipc or another network transport, and
whose linger is infinite: unset (libzmq's default), `-1`/`infinite` on the socket, or
inherited from an infinite `defaults: {linger: …}`. Applies to `finite` and `continuous`
runs alike. One finding per socket; the message says where the infinite linger comes from
and when a peer lives on another host.

Silent for a finite linger (`0`, `1s`, …) on the socket or in `defaults:` (a socket's own
value wins over the default), for sockets that only `bind` (libzmq drops a departed peer's
queue there), for `immediate: true` (the queue goes with the connection) and for inproc.
An explicit `-1` is not an exemption: it is exactly the hang this rule is about; if
waiting forever for a peer is really intended, suppress the finding with that reason.

## Why it matters
libzmq's LINGER defaults to −1: at close, a socket keeps its unsent messages until they are
delivered, and `zmq_ctx_term` waits for them. A connecting socket keeps its queue to a peer
that is gone — crashed, or already ended — and reconnects forever, so the process never
exits (verified here with pyzmq: a PUSH connected to a stopped PULL hangs in `term()`; the
same PUSH bound, or with linger 0, exits at once). Problem 5 of the talk: the end of a run
is exactly when peers go away; a finished job that does not exit blocks the next run, and
over tcp to another host the peer can vanish at any time.

## Example
```yaml
processes:
  worker:
    sockets:
      out: {type: push, connect: "tcp://collector-host:7000"}   # linger unset: infinite
  collector:
    host: collector-host
    sockets: {in: {type: pull, bind: "tcp://*:7000"}}
```

## Fix
Set `linger: 0` (discard what is unsent at exit; end-of-data and acknowledgements make sure
nothing needed is still queued) or a bounded value such as `linger: 1s` on the socket, or
once for all sockets in `defaults: {linger: 1s}` (replacing an infinite default).
"""

from collections.abc import Iterator

from topolint.analysis.end_of_data import names
from topolint.lint.context import Context
from topolint.lint.findings import Edit, Fact, Path
from topolint.lint.graph import LOOPBACK
from topolint.lint.model import Socket, Topology

NAME = "shutdown-hang"
CODE = "TL607"
SEVERITY = "info"
#: `linger: 0` drops what is still queued at close: behaviour changes.
FIX_SAFETY = "unsafe"


def _infinite(topo: Topology, s: Socket) -> tuple[str, Path] | None:
    """Where ``s``'s infinite linger comes from (words, element), or None when it is finite.

    The model resolves ``-1``/``infinite`` and the socket-over-defaults precedence into
    ``Socket.linger`` (None = infinite); only the wording depends on where it was written."""
    if s.linger is not None:
        return None
    if "linger" in s.declared:
        return "sets an infinite linger (-1)", (*s.path, "linger")
    if "linger" in topo.defaults:
        return "inherits an infinite linger from the topology's defaults", ("defaults", "linger")
    return "sets no linger (libzmq's default is infinite)", s.path


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    w = ctx.wiring
    for p in topo.processes.values():
        for s in p.sockets.values():
            if not s.can_send or not s.connects or s.immediate:
                continue
            infinite = _infinite(topo, s)
            if infinite is None:
                continue
            how, where_set = infinite
            mine = {id(e) for e in s.connects}
            peers: dict[str, None] = {}
            remote: dict[str, None] = {}
            for c in w.outgoing(s):
                if id(c.endpoint) not in mine or c.mismatch or c.transport == "inproc":
                    continue
                rs = c.receiver_socket
                if rs is not None and rs.process == p.name:
                    continue
                peer = c.receiver_id if rs is not None else c.endpoint.text
                peers[peer] = None
                if rs is not None:
                    host = topo.processes[rs.process].host
                    if host != p.host:
                        remote[host] = None
                elif (c.endpoint.host or "") not in LOOPBACK | {""}:
                    remote[c.endpoint.host or ""] = None
            if not peers:
                continue
            where = ""
            if remote:
                hosts = names(list(remote))
                where = (
                    f" ({'host' if len(remote) == 1 else 'hosts'} {hosts}, over "
                    f"{s.connects[0].transport}: a peer that can go away on its own)"
                )
            yield Fact(
                f"{s.type.upper()} socket {s.id} connects to {names(list(peers))}{where} and "
                f"{how}: if the peer is gone at "
                f"shutdown with messages still queued for it, {p.name} hangs in close/term "
                "forever",
                path=s.path,
                subject=(s.id,),
                related=(where_set,) if where_set != s.path else (),
                fix=f"set `linger: 0` or a bounded value such as `linger: 1s` on {s.id} "
                "(or in `defaults:`)",
                data={"peers": list(peers), "remote_hosts": list(remote)},
                edit=Edit(s.path, 0, key="linger"),
            )
