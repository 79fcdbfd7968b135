"""A join pairs its inputs by arrival order although a path into it reorders messages.

## What it finds
A join with `match: order` where some input's path, between the fan-out where the inputs
separate and the join, can change the order of messages: a stage with several replicas fed
by a load-balancing PUSH or DEALER (each replica finishes when it finishes), a socket that
merges several producers (replicas or different processes) in arrival order, or an input of
the join itself fed by several producer instances. One finding per reordering input, naming
the element that reorders. Reordering before the fan-out is harmless: every branch sees the
same order.

## Why it matters
The talk's problem 3, case 3: after a load-balanced fan-out to three workers, frame 2 can
overtake frame 1 on one branch but not on the other; a join that pairs "the n-th message of
each input" then combines frame 1 with frame 2 — silently, with nothing stalling and nothing
logged. ZeroMQ's PUSH round-robins and its fair-queued receivers interleave by arrival, so
order across several peers is not preserved.

## Example
```yaml
processes:
  split:
    sockets:
      work: {type: push, bind: "tcp://*:7001"}
      meta: {type: push, bind: "tcp://*:7002"}
  worker:
    replicas: 3                       # load-balanced: finishes in any order
    sockets:
      in: {type: pull, connect: split.work}
      out: {type: push, connect: merge.left}
  merge:
    join: {inputs: [left, right], match: order}
    sockets:
      left: {type: pull, bind: "tcp://*:7003"}
      right: {type: pull, connect: split.meta}
```

## Fix
Match by key (`match: key` with a `key` field in every input's message type and a
`max_pending` that covers the reordering), or restore order on the reordering branch
(sequence numbers and a re-sequencer) before the join.
"""

from collections.abc import Iterator

from topolint.analysis.join_branches import joins
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "order-join-after-reordering"
CODE = "TL403"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    for j in joins(ctx):
        p = j.process
        if j.policy != "order":
            continue
        assert p.join is not None
        for b in j.branches:
            w = b.reorder
            if w is None:
                merged = b.input.merge()
                if merged is None:
                    continue
                receiver, senders = merged
                text = f"input {b.input.label} of {receiver} merges {len(senders)} producers"
            else:
                text = w.text
            yield Fact(
                f"join {p.name} matches by order, but input {b.input.label} can arrive "
                f"reordered: {text}; {p.name} then pairs units that do not belong together",
                path=(*p.join.path, "match"),
                subject=(p.name, f"{p.name}.{b.input.label}"),
                related=(w.path,) if w else (b.input.path,),
                fix="match by key (a key field in every input's message type) or re-sequence "
                "the branch before the join",
            )
