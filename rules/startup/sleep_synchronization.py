"""A publisher waits a fixed time for its subscribers instead of waiting for proof.

## What it finds
A PUB or XPUB data socket with `sync: sleep` with subscribers whose stream is not declared
loss-tolerant (`loss_tolerant` on the SUB socket, the publisher socket or the message type,
as `slow-joiner` decides it): the publisher sleeps after bind or connect and then assumes
every subscriber is listening.

## Why it matters
The talk's problem 1, "synchronization" slide: `time.sleep(1)` after bind makes the demo
work, and the summary slide says "Do not rely on synchronization with `sleep()`". A sleep
proves nothing (the ZeroMQ Guide, chapter 2, "Node Coordination"): a subscriber that
starts late, a loaded machine or a slow DNS lookup takes longer than the sleep, and the
first messages are lost silently — in production, not on the laptop. It also delays every
start-up by the full sleep when everyone was ready at once.

## Example
```yaml
processes:
  publisher:
    sockets:
      out: {type: pub, bind: "tcp://*:7891", sends: greeting, sync: sleep}
  subscriber:
    sockets:
      in: {type: sub, connect: publisher.out, subscribe: [""], receives: greeting}
```

## Fix
Replace the sleep with a synchronisation that proves the subscriptions arrived: an XPUB that
waits for one subscription message per expected subscriber (`sync: subscription-events`) or
a REQ/REP handshake (`sync: handshake`). If losing the first messages is acceptable, declare
`loss_tolerant: true` and drop the sleep.
"""

from collections.abc import Iterator

from topolint.analysis.startup import names, strict_publishers
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "sleep-synchronization"
CODE = "TL202"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Fact]:
    for s, subs, stream in strict_publishers(ctx.topology, ctx.wiring):
        if s.sync != "sleep":
            continue
        yield Fact(
            f"{s.type.upper()} socket {s.id} waits for its {len(subs)} subscriber"
            f"{'s' if len(subs) != 1 else ''} ({names(subs)}) by sleeping: a sleep proves "
            f"nothing, a late subscriber still misses the first messages, and {stream}",
            path=(*s.path, "sync"),
            subject=(s.id, *subs),
            fix="wait for the subscriptions (XPUB, sync: subscription-events) or handshake "
            "with each subscriber (sync: handshake)",
        )
