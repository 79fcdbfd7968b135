"""An edge between two owners where a side declares no message type.

## What it finds
A connection between processes of different `owner`s where the sending socket has no
`sends:` or the receiving socket has no `receives:` — or names a type that `messages:`
does not define. Replies count too: a REP answering another team's REQ sends something.
One finding per socket, naming the peers across the boundary.

A one-way PAIR or DEALER/ROUTER channel needs no contract for the direction that carries
nothing: when neither end declares a direction but one of them declares the other one
(e.g. a PAIR with only `sends:` facing a PAIR with only `receives:`), the empty direction
is not reported.

## Why it matters
The talk's problem 6: when Tom's process feeds Sally's, the message format is the
interface between two people. Without a declared type the interface exists only in code,
nothing checks it (`contract-mismatch` needs both sides), and a change on one side breaks
the other at run time — often silently, as a mis-decoded field.

## Example
```yaml
processes:
  hitfinder:
    owner: team-a
    sockets: {out: {type: push, bind: "tcp://*:7000"}}           # sends what?
  calibrator:
    owner: team-b
    sockets: {in: {type: pull, connect: hitfinder.out, receives: hits}}
```

## Fix
Declare the message type on both sides (`sends: hits` / `receives: hits`) and define it
under `messages:`, ideally with a `schema`, so the contract is written down and checked.
"""

from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Fact
from topolint.lint.model import Socket

NAME = "undeclared-contract"
CODE = "TL702"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    # (socket id, key) -> (socket, peer ids, peer owners)
    missing: dict[tuple[str, str], tuple[Socket, set[str], set[str]]] = {}
    for c in ctx.wiring.connections:
        if c.unresolved or c.mismatch or c.control or c.carries_nothing:
            continue
        ss, rs = c.sender_socket, c.receiver_socket
        assert ss is not None and rs is not None
        so, ro = topo.processes[ss.process].owner, topo.processes[rs.process].owner
        if not so or not ro or so == ro:
            continue
        for sock, key, name, peer, peer_owner in (
            (ss, "sends", ss.sends, rs, ro),
            (rs, "receives", rs.receives, ss, so),
        ):
            if name and name in topo.messages:
                continue
            entry = missing.setdefault((sock.id, key), (sock, set(), set()))
            entry[1].add(peer.id)
            entry[2].add(peer_owner)
    for (_, key), (sock, peers, owners) in sorted(missing.items(), key=lambda kv: kv[0]):
        owner = topo.processes[sock.process].owner
        direction = "sends to" if key == "sends" else "receives from"
        declared = getattr(sock, key)
        what = (
            f"declares {key}: {declared}, which messages: does not define"
            if declared
            else f"declares no message type ({key}:)"
        )
        yield Fact(
            f"{sock.type.upper()} socket {sock.id} (owner {owner}) {direction} "
            f"{_list(peers)} (owner {_list(owners)}) but {what}: the contract between "
            "the owners is unwritten",
            path=(*sock.path, key) if declared else sock.path,
            subject=(sock.id, *sorted(peers)),
            fix=f"declare {key}: <type> on {sock.id} and define the type under messages:",
        )


def _list(items: set[str]) -> str:
    shown = sorted(items)
    return ", ".join(shown[:4]) + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")
