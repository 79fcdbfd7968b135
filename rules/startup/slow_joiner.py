"""A publisher of a must-not-lose stream sends before it knows its subscribers listen.

## What it finds
A PUB or XPUB data socket with subscribers whose stream is not declared loss-tolerant and
whose `sync:` does not prove that each subscription has arrived. Loss tolerance is decided
per subscriber, in the order `silent-drop` uses: the SUB socket's `loss_tolerant`, then the
publisher socket's, then the message types'; undeclared means "must not lose". Only the
subscribers that must not lose messages are named. Only
`sync: subscription-events` (an XPUB that waits for the expected subscription messages) and
`sync: handshake` (an application handshake, e.g. REQ/REP, counting ready subscribers) prove
it. `sync: welcome` (a welcome message) and connection events prove only that a TCP
connection exists, not that the subscription has reached the publisher, so they are
reported too, with that reason. `sync: sleep` is left to `sleep-synchronization`.

On FairMQ input, which cannot say whether a stream may lose messages, the rule applies only
where `loss_tolerant: false` is declared, e.g. after `topolint import`.

## Why it matters
The talk's problem 1: a PUB binds, sends "hello" at once, and the SUB that connects a moment
later waits forever — ZeroMQ delivers to a subscriber only what is published after its
subscription has travelled back to the publisher (the "slow joiner"; the ZeroMQ Guide,
chapter 2, "Node Coordination"). Every start-up silently loses the first
messages, and how many depends on scheduling.

## Example
```yaml
processes:
  publisher:
    sockets:
      out: {type: pub, bind: "tcp://*:7891", sends: greeting}   # sends at once
  subscriber:
    sockets:
      in: {type: sub, connect: publisher.out, subscribe: [""], receives: greeting}
```

## Fix
Make the publisher wait for proof: use an XPUB and wait for one subscription message per
expected subscriber (`sync: subscription-events`), or run a REQ/REP handshake in which each
subscriber reports ready once its subscription is set (`sync: handshake`). If losing the
first messages is acceptable (a live monitoring feed), say so with `loss_tolerant: true` on
the socket (publisher or subscriber) or the message type.
"""

from collections.abc import Iterator

from topolint.analysis.startup import names, strict_publishers
from topolint.lint.context import Context
from topolint.lint.findings import Edit, Fact

NAME = "slow-joiner"
CODE = "TL201"
SEVERITY = "error"
#: `sync: handshake` declares start-up code the processes must then implement.
FIX_SAFETY = "unsafe"

#: sync values that prove the subscription reached the publisher.
PROVEN = {"subscription-events", "handshake"}
#: sync values that prove less, and why.
WEAK = {
    "welcome": "a welcome message proves that a subscriber connected, not that its "
    "subscription has reached the publisher",
}
FIX = (
    "wait for each expected subscription (XPUB, sync: subscription-events) or handshake with "
    "every subscriber (sync: handshake); or declare loss_tolerant: true if losing the first "
    "messages is acceptable"
)


def check(ctx: Context) -> Iterator[Fact]:
    topo = ctx.topology
    for s, subs, stream in strict_publishers(topo, ctx.wiring):
        if s.sync in PROVEN or s.sync == "sleep":
            continue
        who = f"{len(subs)} subscriber{'s' if len(subs) != 1 else ''} ({names(subs)})"
        if s.sync in WEAK:
            msg = (
                f"{s.type.upper()} socket {s.id} synchronises start-up with sync: {s.sync}, but "
                f"{WEAK[s.sync]}: messages sent in between are lost by {who}, and {stream}"
            )
            path = (*s.path, "sync")
        else:
            how = "sync: none" if s.sync == "none" else "no start-up synchronisation (sync:)"
            msg = (
                f"{s.type.upper()} socket {s.id} declares {how}: whatever it sends before the "
                f"subscriptions of {who} arrive is silently lost (slow joiner), and {stream}"
            )
            path = (*s.path, "sync") if s.sync else s.path
        yield Fact(
            msg,
            path=path,
            subject=(s.id, *subs),
            fix=FIX,
            edit=Edit(s.path, "handshake", key="sync"),
        )
