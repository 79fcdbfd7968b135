"""A SUB socket that subscribes to nothing.

## What it finds
A `sub` socket without a `subscribe:` list (or with an empty one). XSUB sockets are
exempt: they forward subscriptions sent by their own peers.

## Why it matters
A ZeroMQ SUB socket starts with no subscription and filters out every message until
`subscribe` is called. The process connects fine, shows no error, and receives nothing — a
classic "the subscriber hangs" report.

## Example
```yaml
processes:
  viewer:
    sockets:
      in: {type: sub, connect: camera.out}
```

## Fix
Declare the prefixes it needs, or `subscribe: [""]` for everything:
`in: {type: sub, connect: camera.out, subscribe: [""]}`.
"""

from collections.abc import Iterator

from topolint.lint.context import Context
from topolint.lint.findings import Edit, Fact

NAME = "sub-without-subscription"
CODE = "TL105"
SEVERITY = "error"
#: `subscribe: [""]` makes the socket receive what its publishers send, as intended.
FIX_SAFETY = "safe"


def check(ctx: Context) -> Iterator[Fact]:
    for p in ctx.topology.processes.values():
        for s in p.sockets.values():
            if s.type == "sub" and not s.subscribe:
                yield Fact(
                    f"SUB socket {s.id} has no subscription and will receive nothing",
                    path=s.path,
                    subject=(s.id,),
                    fix='add subscribe: [""] (everything) or the prefixes it needs',
                    edit=Edit(s.path, [""], key="subscribe"),
                )
