"""A lossy socket feeds a stream that must not lose messages and can fall behind.

## What it finds
A PUB or XPUB without `nodrop: true`, or a ROUTER, sending data to a receiver when the
stream is not declared loss-tolerant (`loss_tolerant: true` on either socket or on the
message type) and the receiver cannot be shown to absorb what arrives — on average *and*
in bursts. One finding per sending socket; each receiver at risk is named with the reason:

- the sender's rate is unknown (an unlimited source upstream), or the receiver declares no
  `service_time`: nothing shows that it keeps up;
- on average: the declared arrivals exceed what the receiver's replicas serve;
- in bursts: the pipe of one connection cannot hold the burst that reaches it while the
  receiver is busy (the model below).

A finite source whose `count` fits in the pipe (SNDHWM + RCVHWM) cannot overflow it. On
FairMQ input, where a channel cannot declare loss tolerance, nothing is claimed.

**The burst model.** ZeroMQ drops per pipe: each connection has its own pipe of room
Q = SNDHWM + RCVHWM messages (kernel buffers may hold more, but nothing guarantees it; a
HWM of 0 never drops). Let ρ be the receiving instance's declared utilisation (declared
arrivals × `service_time` / `replicas`). A burst overflows the pipe when it leaves more
than Q messages waiting:

- *Unpaced streams* — some source upstream declares a `rate` without a `period`: a rate is
  an average, not a pace, so arrivals are random. The receiver is modelled as the standard
  M/M/1/K queue with K = Q: a message finds the pipe full with probability
  P = (1−ρ)ρ^Q / (1−ρ^(Q+1)). Reported when the expected loss over an hour at the declared
  rate, rate × 3600 s × P, is one message or more. For a receiver serving 1000/s at 90%
  utilisation, pipes of about 120 messages or less lose messages every hour; the default
  1000 + 1000 holds (ρ^2000 is negligible) up to about 99.5% utilisation.
- *Paced streams* — every source upstream is periodic: one message per period per
  instance, the bursts come from sources firing in phase. N instances with the same period
  and phase send at once; the sender forwards them one service apart, so one pipe receives
  N messages together (N = 1 when the sender is itself the periodic source). Reported when
  N > Q.
- *A finite source without a rate* sends its whole `count` at once: reported when the
  count exceeds Q.

## Why it matters
When a subscriber's pipe is full, PUB and XPUB silently skip that subscriber, and ROUTER
silently drops messages to a peer whose pipe is full: no error, no counter (the talk's
"non-blocking queue"). A consumer that is slower than its producer, even briefly, loses
data without anyone noticing; later the joins and end-of-data logic downstream see holes.
An average below 100% is no protection: a receiver with 10% headroom drains a backlog ten
times slower than it builds, and an unpaced source's random bursts fill a small pipe.

## Example
```yaml
messages:
  event: {max_size: 1kB}
processes:
  detector:
    sockets:
      out: {type: pub, bind: "tcp://*:7000", sends: event}
  recorder:
    sockets:
      in: {type: sub, connect: detector.out, subscribe: [""], receives: event}
```

## Fix
If every message matters, use PUSH/PULL (blocking) or set `nodrop: true` on the PUB/XPUB
(XPUB_NODROP: the publisher blocks instead of dropping); otherwise declare the stream
`loss_tolerant: true`. Declaring the source `rate` and the receiver `service_time` lets
topolint check that the receiver keeps up; raising the HWMs (room for bursts), adding
replicas (headroom) or pacing the source with a `period` lets it absorb bursts.
"""

import math
from collections import Counter
from collections.abc import Iterator

import networkx as nx

from topolint.analysis.performance import Stage, fmt_rate
from topolint.lint.context import Context
from topolint.lint.findings import Fact
from topolint.lint.graph import Connection
from topolint.lint.model import Process, Socket, Topology

NAME = "silent-drop"
CODE = "TL307"
SEVERITY = "warning"


def _lossy(s: Socket) -> bool:
    if s.type in ("pub", "xpub"):
        return not s.nodrop
    return s.type == "router"


def _tolerant(topo: Topology, c: Connection) -> bool:
    ss, rs = c.sender_socket, c.receiver_socket
    ms = topo.message(ss.sends) if ss else None
    mr = topo.message(rs.receives) if rs else None
    flags = (
        rs.loss_tolerant if rs else None,
        ss.loss_tolerant if ss else None,
        ms.loss_tolerant if ms else None,
        mr.loss_tolerant if mr else None,
    )
    for flag in flags:
        if flag is not None:
            return bool(flag)
    # FairMQ files cannot say whether a stream may lose messages: unknown, not claimed
    return topo.source_format == "fairmq"


#: Horizon of the unpaced-burst test: expected losses per hour of the declared rate.
HORIZON_S = 3600.0


def loss_probability(rho: float, room: int) -> float:
    """M/M/1/K blocking probability: the share of arrivals that find ``room`` messages
    waiting (K = room), at utilisation ``rho``."""
    if room <= 0:
        return 1.0
    if rho <= 0.0:
        return 0.0
    if abs(rho - 1.0) < 1e-12:
        return 1.0 / (room + 1)
    log_tail = room * math.log(rho)  # rho**room without underflow
    if log_tail < -700:
        return 0.0
    tail = math.exp(log_tail)
    return (1.0 - rho) * tail / (1.0 - tail * rho)


def _upstream_sources(ctx: Context, name: str) -> list[Process]:
    flow = ctx.wiring.flow
    procs = ctx.topology.processes
    up = nx.ancestors(flow, name) | {name} if name in flow else {name}
    return [procs[n] for n in sorted(up) if flow.in_degree(n) == 0 or n not in flow]


def _in_phase(sources: list[Process]) -> int:
    """The largest number of periodic source instances that fire at the same instant."""
    groups: Counter[tuple[float, float]] = Counter()
    for q in sources:
        assert q.period
        phase = (q.phase or 0.0) % q.period
        if abs(phase - q.period) < 1e-12:
            phase = 0.0
        groups[(round(q.period, 12), round(phase, 12))] += q.replicas
    return max(groups.values(), default=1)


def _burst(
    ctx: Context, p: Process, sender: Stage, s: Socket, rs: Socket, recv: Stage
) -> str | None:
    """Why the pipe from ``s`` to one instance of ``rs`` overflows in a burst, or None."""
    if not s.sndhwm or not rs.rcvhwm:
        return None  # an unlimited pipe never drops (unbounded-queue is about its memory)
    room = s.sndhwm + rs.rcvhwm
    q = rs.process
    rho = recv.declared_utilisation
    sources = _upstream_sources(ctx, p.name)
    if sender.source and p.count is not None and p.rate is None and not p.period:
        if p.count > room:
            return (
                f"{p.name} sends its {p.count} messages at once, more than the "
                f"{room} the pipe holds (SNDHWM {s.sndhwm} + RCVHWM {rs.rcvhwm})"
            )
        return None
    if rho is None or not sources:
        return None
    if all(src.period for src in sources):
        n = 1 if sender.source else _in_phase(sources)
        if n > room:
            return (
                f"{n} periodic source instances fire in phase and reach {q} through one pipe "
                f"of {room} messages (SNDHWM {s.sndhwm} + RCVHWM {rs.rcvhwm})"
            )
        return None
    arrivals = rho / recv.service_time if recv.service_time else 0.0  # per receiving instance
    lost = arrivals * HORIZON_S * loss_probability(rho, room)
    if lost < 1.0:
        return None
    return (
        f"{q} is {_pct(rho)} busy with an unpaced stream (a rate, not a period): random "
        f"bursts overflow its pipe of {room} messages (SNDHWM {s.sndhwm} + RCVHWM "
        f"{rs.rcvhwm}), about {_count(lost)} lost per hour"
    )


def _pct(x: float) -> str:
    pct = x * 100
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 0.05 else f"{pct:.1f}%"


def _count(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}".rstrip("0").rstrip(".")


def check(ctx: Context) -> Iterator[Fact]:
    """PUB/XPUB sockets without ``nodrop`` and ROUTER sockets that may drop, silently, for
    a receiver that falls behind, on a stream not declared loss-tolerant."""
    topo, a = ctx.topology, ctx.analysis
    for p in topo.processes.values():
        sender = a.stages[p.name]
        for s in p.sockets.values():
            if not _lossy(s):
                continue
            if sender.source and p.count is not None and s.sndhwm and p.count <= s.sndhwm:
                continue
            risky = _receivers_behind(ctx, p, sender, s)
            if risky:
                yield _silent_drop(s, risky)


def _receivers_behind(ctx: Context, p: Process, sender: Stage, s: Socket) -> dict[str, str]:
    """Receiving socket id -> why it may fall behind, for the data peers of ``s`` whose
    stream is not loss-tolerant."""
    topo = ctx.topology
    risky: dict[str, str] = {}
    for c in ctx.wiring.outgoing(s):
        if not c.data or c.receiver_socket is None or _tolerant(topo, c):
            continue
        rs = c.receiver_socket
        if rs.id in risky:
            continue
        why = _why_behind(ctx, p, sender, s, rs)
        if why is not None:
            risky[rs.id] = why
    return risky


def _why_behind(ctx: Context, p: Process, sender: Stage, s: Socket, rs: Socket) -> str | None:
    """Why receiving socket ``rs`` may fall behind what ``s`` of ``p`` sends, or None."""
    q = ctx.topology.processes[rs.process]
    recv = ctx.analysis.stages[q.name]
    u = recv.declared_utilisation
    at_once = sender.source and p.count is not None and p.rate is None
    if at_once and not p.period:  # the whole count at once: does the pipe hold it?
        return _burst(ctx, p, sender, s, rs, recv)
    if sender.unlimited_weight > 0 or (sender.source and sender.unlimited_source):
        return f"{p.name} has no declared rate"
    if not q.service_time:
        return f"{q.name} declares no service_time"
    if u is not None and u > 1.0 + 1e-9:
        return (
            f"{q.name} receives {fmt_rate(recv.declared_load)} but serves {fmt_rate(recv.capacity)}"
        )
    return _burst(ctx, p, sender, s, rs, recv)


def _silent_drop(s: Socket, risky: dict[str, str]) -> Fact:
    """The fact for lossy socket ``s`` and its receivers that may fall behind."""
    ids = list(risky)
    shown = "; ".join(f"{r} ({risky[r]})" for r in ids[:4])
    more = f" and {len(ids) - 4} more" if len(ids) > 4 else ""
    what = (
        "drops messages for a subscriber whose queue is full"
        if s.type != "router"
        else "drops messages to a peer whose queue is full"
    )
    stream = f"stream {s.sends!r}" if s.sends else "its stream"
    return Fact(
        f"{s.type.upper()} {s.id} silently {what}, and {stream} is not declared "
        f"loss-tolerant; receivers that may fall behind: {shown}{more}",
        path=s.path,
        subject=(s.id, *ids),
        fix=(
            "use PUSH/PULL or set nodrop: true if every message matters; declare "
            "loss_tolerant: true if losing some is fine"
            if s.type != "router"
            else "use a blocking pattern (DEALER/ROUTER with credit, PUSH/PULL) or declare "
            "loss_tolerant: true"
        ),
    )
