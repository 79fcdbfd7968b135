"""A matching join has an input that can lose messages or run at another rate, and no timeout.

## What it finds
A join with `match: key` or `match: order` and no `timeout` where some input, between the
fan-out where the inputs separate and the join (anywhere upstream for inputs from independent
sources), can lose or skip messages: a process with `filters: true`, a PUB/XPUB without
`nodrop` (drops for a slow subscriber), a ROUTER (drops for a full peer), a CONFLATE socket
(keeps only the latest). Also inputs from independent sources whose declared rates (`rate`,
or 1/`period`) differ. One finding per lossy input, naming the element that drops.

## Why it matters
The talk's problem 3, case 2: one input filters or loses a message, and its partner on the
other input waits for it forever. A key join without a timeout keeps every orphan: its
buffer grows without end, or, bounded by `max_pending`, fills with orphans and stops the
pipeline. An order join is worse: from the first lost message on, every pair is off by one,
silently. Inputs at different rates fill the join with units of the faster input the same
way.

## Example
```yaml
processes:
  camera:
    sockets:
      frames: {type: push, bind: "tcp://*:7001"}
      copy: {type: push, bind: "tcp://*:7002"}
  detector:
    filters: true                      # skips frames without a hit
    sockets:
      in: {type: pull, connect: camera.copy}
      out: {type: push, connect: fusion.hits}
  fusion:
    join: {inputs: [frames, hits], match: key, max_pending: 100}   # no timeout
    sockets:
      frames: {type: pull, connect: camera.frames}
      hits: {type: pull, bind: "tcp://*:7003"}
```

## Fix
Give the join a `timeout` with `on_timeout: drop` (or `emit-partial`) so orphans are
released; or make the lossy input lossless (forward a placeholder for filtered units, set
`nodrop` on the XPUB, drop CONFLATE); or use `match: latest` for inputs that are meant to
run at different rates.
"""

from collections.abc import Iterator

from topolint.analysis.join_branches import (
    MATCHING,
    Witness,
    conn_drops,
    describe_drop,
    fmt_rate,
    joins,
)
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "lossy-join-input"
CODE = "TL404"
SEVERITY = "warning"
FIX = "add timeout: T and on_timeout: drop to the join, or make the input lossless"


def _consequence(policy: str, max_pending: int | None) -> str:
    if policy == "order":
        return "from the first lost message on it pairs every unit with the wrong partner"
    if max_pending is None:
        return "the partners of lost units wait forever and its buffer grows without bound"
    return (
        f"the partners of lost units wait forever and, after {max_pending} orphans "
        "(max_pending), it stalls"
    )


def _rate_consequence(policy: str, max_pending: int | None) -> str:
    if policy == "order":
        return "the pairs drift apart, each unit matched with a later one"
    if max_pending is None:
        return "the extra units of the faster input never find a partner and its buffer grows"
    return (
        "the extra units of the faster input never find a partner and, after "
        f"{max_pending} (max_pending), it stalls"
    )


def check(ctx: Context) -> Iterator[Fact]:
    for j in joins(ctx):
        p = j.process
        if j.policy not in MATCHING or p.join is None or p.join.timeout is not None:
            continue
        consequence = _consequence(p.join.match, p.join.max_pending)
        for b in j.branches:
            w = b.drop
            if w is None and not b.known:  # unresolved or cyclic: look at the last hop only
                c = next((c for c in b.input.conns if conn_drops(c)), None)
                w = Witness(describe_drop(c), c.path) if c else None
            if w is None:
                continue
            yield Fact(
                f"input {b.input.label} of join {p.name} can lose messages ({w.text}), and the "
                f"join matches by {p.join.match} with no timeout: {consequence}",
                path=p.join.path,
                subject=(p.name, f"{p.name}.{b.input.label}"),
                related=(w.path,),
                fix=FIX,
            )
        known = [b for b in j.branches if b.known and b.src_rate is not None]
        if j.fanout_name is None and len(known) == len(j.branches) and len(known) > 1:
            rates = [b.src_rate for b in known if b.src_rate is not None]
            if max(rates) > min(rates) * (1 + 1e-6):
                desc = ", ".join(f"{b.input.label} {fmt_rate(b.src_rate or 0)}" for b in known)
                yield Fact(
                    f"the inputs of join {p.name} come from independent sources at different "
                    f"rates ({desc}), and the join matches by {p.join.match} with no timeout: "
                    f"{_rate_consequence(p.join.match, p.join.max_pending)}",
                    path=p.join.path,
                    subject=(p.name, "rate"),
                    related=tuple(dict.fromkeys(b.input.path for b in known)),
                    fix="add timeout: T and on_timeout: drop, or match: latest for inputs "
                    "meant to run at different rates",
                )
