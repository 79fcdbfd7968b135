"""A process combines several data inputs with no join policy.

## What it finds
A process with two or more data inputs — two receiving data sockets with incoming
connections, or one socket fed by streams of two or more different message types (see the
package docstring; replicas of one stage feeding one PULL are a fan-in, not a join; request
servers (REP, ROUTER) and CONFLATE sockets holding the latest state are side inputs) — that
declares no `join:`. One finding per process, naming its inputs and who feeds them.
Silent on FairMQ input, which cannot declare a join: several input channels are not a join
unless the imported topology says so.

## Why it matters
The talk's problem 3, case 1: a process reads two inputs and combines "the next message from
each", so what it pairs depends on which message happened to arrive first. When one input
runs ahead (a slower branch, a restart, a lost message) the process silently combines data
that does not belong together, or its unread input queues up until memory runs out. Nothing
in the code says how the inputs are meant to be matched, so no reviewer can check it.

## Example
```yaml
processes:
  fusion:
    sockets:
      image: {type: pull, connect: camera.out, receives: image}
      depth: {type: pull, connect: lidar.out, receives: depth}
    # no join: -- which image goes with which depth map?
```

## Fix
Declare the policy: `join: {inputs: [image, depth], match: key, max_pending: 64,
timeout: 2s}` to match units by their key field, `match: order` only when both inputs keep
the same order, `match: latest` to combine the newest of each (state-like inputs), or
`match: any` when the inputs are independent streams handled one message at a time.
"""

from collections.abc import Iterator

from topolint.analysis.join_branches import joins, sources_of
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "unsynchronized-join"
CODE = "TL401"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Fact]:
    if ctx.topology.source_format == "fairmq":
        return  # FairMQ files cannot declare a join: several inputs are not one unless said
    for j in joins(ctx):
        p = j.process
        if p.join is not None:
            continue
        desc = "; ".join(f"{i.label} from {sources_of(i)}" for i in j.inputs)
        socks = list(dict.fromkeys(i.socket.name for i in j.inputs))
        if len(socks) > 1:
            fix = (
                f"declare join: {{inputs: [{', '.join(socks)}], match: key, max_pending: N, "
                "timeout: T} (or match: latest / any for independent streams)"
            )
        else:
            fix = (
                "receive each stream on its own socket and declare join: {match: key, ...}, or "
                "declare join: {match: any} if the streams are handled one message at a time"
            )
        yield Fact(
            f"{p.name} reads {len(j.inputs)} data inputs ({desc}) but declares no join policy: "
            "what it combines depends on arrival timing, not on which units belong together",
            path=p.path,
            subject=(p.name, *(f"{p.name}.{i.label}" for i in j.inputs)),
            related=tuple(dict.fromkeys(i.path for i in j.inputs)),
            fix=fix,
        )
