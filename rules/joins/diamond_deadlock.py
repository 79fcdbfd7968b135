"""Reconvergent blocking branches whose buffers cannot absorb their skew, or where one filters.

## What it finds
A join with `match: key` or `match: order`, a bounded `max_pending` and no `timeout`, whose
inputs separate at a common fan-out (a diamond: the fan-out dominates every input's path)
and where either
- one branch can drop units (`filters: true`, a PUB/XPUB without `nodrop`, ROUTER,
  CONFLATE) while another branch blocks all the way (PUSH, DEALER, PAIR, XPUB `nodrop`):
  the bounded-buffer filtering deadlock; or
- every branch blocks, and the buffering of the short branch (the smallest sum of SNDHWM +
  RCVHWM along it) plus `max_pending` is smaller than the units the long branch has in
  flight before the first partner arrives: rate × (latency of the long branch − latency of
  the short one), latencies summed from `service_time` after the fan-out.
The fan-out is found with a dominator tree, so any number of paths is handled in one pass.

## Why it matters
The talk's problem 3, case 4. With a filtering branch the join waits for a unit that was
filtered, keeps the other branch's units, and once `max_pending` and that branch's queues
are full the fan-out blocks sending into it: every process waits and none reads. Li,
Agrawal, Buhler and Chamberlain (SPAA 2010) show that a DAG of bounded FIFOs with filtering
nodes deadlocks this way unless something (dummy messages, a timeout) tells the join that a
unit will not come. Without filtering, a short branch that cannot buffer
the long branch's lead blocks the fan-out while the join still waits for the long branch: a
join that stops reading when full deadlocks, one that keeps reading the lagging input runs
the whole diamond at (buffer + max_pending) / skew units per second.

## Example
```yaml
processes:
  split:
    sockets:
      a: {type: push, bind: "tcp://*:7001", sndhwm: 2}
      b: {type: push, bind: "tcp://*:7002", sndhwm: 2}
  select:
    filters: true
    sockets:
      in: {type: pull, connect: split.a, rcvhwm: 2}
      out: {type: push, connect: merge.left, sndhwm: 2}
  merge:
    join: {inputs: [left, right], match: key, max_pending: 8}
    sockets:
      left: {type: pull, bind: "tcp://*:7003", rcvhwm: 2}
      right: {type: pull, connect: split.b, rcvhwm: 2}
```

## Fix
Give the join a `timeout` with `on_timeout: drop` (the practical form of Li et al.'s dummy
messages); make filtering stages forward an empty placeholder for every unit they skip; or
size the short branch's high-water marks plus `max_pending` above the long branch's lead
(the message gives the number).
"""

import math
from collections.abc import Iterator

from topolint.analysis.join_branches import (
    MATCHING,
    UNBOUNDED,
    Branch,
    Join,
    fmt_rate,
    fmt_time,
    joins,
)
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "diamond-deadlock"
CODE = "TL406"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Fact]:
    """Diamonds whose bounded join can fill up: a branch drops units while another blocks,
    or a branch lags another by more units than the short branch and the join hold."""
    for j in joins(ctx):
        known = _bounded_diamond(j)
        if known is None:
            continue
        yield from _drop_facts(j, known)
        if any(b.drop is not None or b.nonblocking is not None for b in known):
            continue
        lag = _lag_fact(j, known)
        if lag is not None:
            yield lag


def _bounded_diamond(j: Join) -> list[Branch] | None:
    """The known branches of ``j`` if it is a matching join without timeout, with a bounded
    buffer (``max_pending``), reconverging from a fan-out with two known branches or more;
    else None."""
    jn = j.process.join
    if j.policy not in MATCHING or jn is None or jn.timeout is not None:
        return None
    if jn.max_pending is None or j.fanout_name is None:
        return None  # unbounded join buffer (memory, not deadlock) / no reconvergence
    known = [b for b in j.branches if b.known]
    return known if len(known) >= 2 else None


def _drop_facts(j: Join, known: list[Branch]) -> Iterator[Fact]:
    """One fact per dropping branch that has a partner branch blocking all the way."""
    p, fan = j.process, j.fanout_name
    assert p.join is not None and fan is not None
    for b in known:
        if b.drop is None:
            continue
        partner = next((o for o in known if o is not b and o.nonblocking is None), None)
        if partner is None:
            continue
        held = "unbounded" if partner.buffer >= UNBOUNDED else f"{partner.buffer}"
        yield Fact(
            f"diamond {fan} -> {p.name}: branch {b.input.label} drops units ({b.drop.text}) "
            f"while branch {partner.input.label} blocks all the way; {p.name} keeps "
            f"{partner.input.label}'s units waiting for partners that never come, and once "
            f"max_pending ({p.join.max_pending}) and the {held} messages that branch's queues "
            f"hold are full, {fan} blocks and nothing moves (bounded-buffer filtering deadlock)",
            path=p.join.path,
            subject=(fan, p.name, f"{p.name}.{b.input.label}"),
            related=(b.drop.path, partner.input.path),
            fix="add timeout: T with on_timeout: drop to the join, or forward a placeholder "
            "for every filtered unit",
        )


def _worst_lag(
    known: list[Branch], r: float, mp: int
) -> tuple[int, int, float, Branch, Branch] | None:
    """The pair of branches whose lag most exceeds what the short one and the join hold.

    Returns
    -------
    tuple or None
        ``(need, have, lead, long, short)``: the units arriving at rate ``r`` on ``short``
        during the ``lead`` seconds ``long`` lags it, and the units ``short``'s queues and
        the join's ``mp`` (max_pending) hold; None when every pair fits.
    """
    worst = None
    for long in known:
        for short in known:
            if long is short or short.buffer >= UNBOUNDED:
                continue
            lead = long.lat_max - short.lat_min
            need = math.ceil(r * lead - 1e-9)
            have = short.buffer + mp
            if need > have and (worst is None or need - have > worst[0] - worst[1]):
                worst = (need, have, lead, long, short)
    return worst


def _lag_fact(j: Join, known: list[Branch]) -> Fact | None:
    """A branch lags another by more units than the short branch and the join hold."""
    p, fan, r = j.process, j.fanout_name, j.rate
    jn = p.join
    assert jn is not None and jn.max_pending is not None and fan is not None
    mp = jn.max_pending
    if not math.isfinite(r):
        return None
    worst = _worst_lag(known, r, mp)
    if worst is None:
        return None
    need, have, lead, long, short = worst
    return Fact(
        f"diamond {fan} -> {p.name}: branch {long.input.label} ({fmt_time(long.lat_max)}) "
        f"lags branch {short.input.label} ({fmt_time(short.lat_min)}) by {fmt_time(lead)}, "
        f"{need} units at {fmt_rate(r)}, but {short.input.label}'s queues hold "
        f"{short.buffer} and the join {mp} (max_pending): {fan} blocks on "
        f"{short.input.label} while {p.name} waits for {long.input.label} — a deadlock if "
        f"the join stops reading when full, at best {fmt_rate(have / lead)} instead of "
        f"{fmt_rate(r)}",
        path=jn.path,
        subject=(fan, p.name, f"{p.name}.{short.input.label}"),
        related=(short.input.path, long.input.path),
        fix=f"raise the high-water marks on {short.input.label} or max_pending so that "
        f"together they hold at least {need} units, or add a timeout",
    )
