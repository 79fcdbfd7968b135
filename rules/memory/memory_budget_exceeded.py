"""A process's worst-case queued bytes exceed its `memory_limit`.

## What it finds
A process whose queues can hold more than its declared `memory_limit`: the sum, over all
its sockets and connections, of what ZeroMQ and the kernel may hold on its side — SNDHWM
pipes, engine batches and kernel send buffers of what it sends; RCVHWM pipes, engine
batches and kernel receive buffers of what it receives; messages parked for unreachable
peers. With replicas, the worst replica counts (each has its own limit). The message gives
the breakdown (HWM, batches, kernel) and the largest sockets. Kernel buffers count at their
(doubled) size plus one segment of overshoot, as memory the process's cgroup is charged
for. When a message size is unknown, the known part alone is compared ("at least").
Format 1 declares no per-host limit: `topolint analyze` sums each host and compares it
with the sum of its processes' limits, which a host can only exceed if a process does.

## Why it matters
The talk's problem 2: a PUSH sending 10 kB messages to a PULL that does not read queued
350-950 messages with HWM 100 and 182-282 with HWM 1, because the kernel's autotuned TCP
buffers hold megabytes beyond the high-water marks, and four senders into one receiver
held four times as much (125-128 messages with pinned 100 kB buffers). A process that can
be made to hold more than its limit is killed by the OOM killer (or its cgroup) the first
time a consumer stalls.

## Example
```yaml
messages:
  blob: {max_size: 10kB}
processes:
  pusher:
    memory_limit: 2MB
    sockets:
      out: {type: push, bind: "tcp://*:7891", sends: blob, sndhwm: 100}
  puller:
    sockets:
      in: {type: pull, connect: pusher.out, receives: blob, rcvhwm: 100}
```

## Fix
Pin the kernel buffers (`sndbuf`/`rcvbuf`: setting them turns TCP autotuning off), lower
the high-water marks, reduce the number of peers a process queues for, or raise the limit
to what `topolint analyze` shows. Message sizes (`max_size`) drive every byte count.
"""

from collections.abc import Iterator

from topolint.analysis.performance import Memory, fmt_bytes
from topolint.lint.context import Context
from topolint.lint.findings import Fact

NAME = "memory-budget-exceeded"
CODE = "TL302"
SEVERITY = "error"

_PART_NAMES = {
    "hwm": "high-water-mark pipes",
    "batch": "engine batches",
    "kernel": "kernel buffers",
    "parked": "parked for unreachable peers",
}


def _breakdown(m: Memory) -> str:
    parts = [
        f"{_PART_NAMES[k]} {fmt_bytes(v)}"
        for k, v in sorted(m.parts.items(), key=lambda kv: -kv[1])
        if v
    ]
    return ", ".join(parts)


def _fix(m: Memory) -> str:
    top = max(m.parts, key=lambda k: m.parts[k])
    if top == "kernel" and not m.autotuned:
        return (
            "lower sndbuf/rcvbuf (the kernel doubles them) or the number of connections, or "
            "raise memory_limit"
        )
    if top == "kernel":
        return (
            "pin the TCP buffers (sndbuf/rcvbuf turn autotuning off and cap each connection's "
            "kernel share), or raise memory_limit"
        )
    if top == "parked":
        return "fix the unreachable endpoints or set immediate: true, or lower sndhwm"
    return "lower sndhwm/rcvhwm, reduce the number of peers, or raise memory_limit"


def check(ctx: Context) -> Iterator[Fact]:
    a = ctx.analysis
    for name, p in ctx.topology.processes.items():
        m = a.processes[name]
        if p.memory_limit is None or not m.exceeds:
            continue
        who = name if p.replicas == 1 else f"{name} (worst of {p.replicas} replicas: {m.name})"
        amount = fmt_bytes(m.known_bytes)
        if m.unknown or m.unbounded:
            amount = "at least " + amount
        contributors = []
        for sock, sm in a.socket_contributors(m.name)[:3]:
            n = sm.count
            contributors.append(
                f"{m.name}.{sock} {fmt_bytes(sm.known_bytes)} over {n} connection{'s' if n != 1 else ''}"
            )
        extra = ""
        if m.unknown:
            n = m.unknown
            extra += f"; {n} connection{'s' if n != 1 else ''} of unknown message size not counted"
        if m.unbounded:
            n = m.unbounded
            extra += f"; {n} connection{'s' if n != 1 else ''} with no high-water mark at all"
        yield Fact(
            f"process {who} can hold {amount} of queued messages, over its memory_limit of "
            f"{fmt_bytes(p.memory_limit)} ({m.known_bytes / max(p.memory_limit, 1):.1f}x): "
            f"{_breakdown(m)}; largest: {'; '.join(contributors)}{extra}",
            path=(*p.path, "memory_limit"),
            subject=(m.name,),
            fix=_fix(m),
            data={
                "memory_bound_bytes": m.bytes,
                "memory_known_bytes": m.known_bytes,
                "memory_limit_bytes": p.memory_limit,
                **{f"{k}_bytes": v for k, v in m.parts.items()},
            },
        )
