"""A matching join holds unmatched units without a bound, or with a bound below the skew.

## What it finds
A join with `match: key` or `match: order` that either declares no `max_pending` (it keeps
every unit that waits for its partners), or declares a `max_pending` smaller than the skew
its branches build: rate × (latency of the slowest branch − latency of the fastest), where
a branch's latency is the sum of `service_time` along it from the fan-out where the inputs
separate (from the sources for independent inputs), and the rate is what reaches the join
(source rates limited by each stage's `replicas / service_time`). The message shows the
numbers.

## Why it matters
The talk's problem 3: the join must hold the units of the fast branch until the slow
branch's partners arrive. Without a bound, a lost or late input makes that buffer grow
until the process is killed for memory — an unbounded queue inside the application, beyond
every high-water mark. With a bound below the skew, the join is full during normal
operation: it stalls the fast branch (and, through blocking sockets, the whole pipeline)
or drops units that would have matched a moment later.

## Example
```yaml
processes:
  split:
    rate: 500/s
    sockets:
      a: {type: push, bind: "tcp://*:7001"}
      b: {type: push, bind: "tcp://*:7002"}
  reco:
    replicas: 20
    service_time: 30ms                 # 15 units behind the fast branch at 500/s
    sockets:
      in: {type: pull, connect: split.b}
      out: {type: push, connect: fusion.slow}
  fusion:
    join: {inputs: [fast, slow], match: key, timeout: 1s}   # no max_pending
    sockets:
      fast: {type: pull, connect: split.a}
      slow: {type: pull, bind: "tcp://*:7003"}
```

## Fix
Set `max_pending` to at least rate × latency difference (the message gives the number),
with headroom for bursts, and a `timeout` with `on_timeout: drop` so that orphans leave
the buffer; or shorten the slow branch (more replicas) so the skew shrinks.
"""

import math
from collections.abc import Iterator

from topolint.analysis.join_branches import MATCHING, Join, fmt_rate, fmt_time, joins
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "unbounded-join-buffer"
CODE = "TL405"
SEVERITY = "warning"


def skew_text(j: Join) -> tuple[str, int | None]:
    """The branch skew in words, and in units when the rate is known."""
    sk = j.skew()
    if sk is None or sk[0] <= 0:
        return "", None
    d, long, short = sk
    r = j.rate
    base = (
        f"input {long.input.label} trails input {short.input.label} by up to {fmt_time(d)} "
        f"{j.from_where()} ({fmt_time(long.lat_max)} vs {fmt_time(short.lat_min)} of "
        "service time)"
    )
    if not math.isfinite(r):
        return base, None
    n = math.ceil(r * d - 1e-9)
    return f"{base}; at {fmt_rate(r)} that is {n} units", n


def check(ctx: Context) -> Iterator[Fact]:
    for j in joins(ctx):
        p = j.process
        if j.policy not in MATCHING or p.join is None:
            continue
        text, units = skew_text(j)
        mp = p.join.max_pending
        subject = (p.name,)
        if mp is None:
            if p.join.timeout is not None and math.isfinite(j.rate):
                held = math.ceil(j.rate * p.join.timeout)
                bound = (
                    f"its timeout of {fmt_time(p.join.timeout)} bounds how long a unit waits, "
                    f"not how many wait: up to {held} units at {fmt_rate(j.rate)}"
                )
            else:
                bound = "a lost or late input makes it grow until memory runs out"
            yield Fact(
                f"join {p.name} declares no max_pending: it holds every unmatched unit, and "
                f"{bound}" + (f" ({text})" if text else ""),
                path=p.join.path,
                subject=subject,
                fix=f"set max_pending to at least {units or 'rate x branch skew'} plus headroom",
            )
        elif units is not None and mp < units:
            yield Fact(
                f"join {p.name} holds at most {mp} unmatched units (max_pending), but {text}: "
                "the buffer is full in normal operation and the join stalls the fast branch "
                "or drops units about to match",
                path=(*p.join.path, "max_pending"),
                subject=subject,
                fix=f"set max_pending to at least {units} plus headroom, or shorten the slow "
                "branch",
            )
