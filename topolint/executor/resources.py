"""What a run needs from the machine, checked before anything starts, and watched during it.

- :func:`realise_options`: libzmq's integer socket options are C ``int`` (``ZMQ_MAXMSGSIZE``
  an ``int64``).  A value the file may declare but libzmq cannot take is clamped to one that
  behaves the same in any run the caps allow (HWMs and buffers to ``INT_MAX``, a linger
  or ``maxmsgsize`` beyond the range to "infinite"), with a note; a value of the wrong kind
  is refused.
- :func:`check_files`: the open files and sockets each child (and the supervisor) will hold,
  against ``RLIMIT_NOFILE``: the soft limit is raised up to the hard one if needed, beyond
  it the run is refused.
- :func:`static_memory`: an upper bound on what the whole process tree can hold: per
  connection the smaller of the static queue bound (``queue_model``) and the messages that
  can flow through it (the sources' capped counts, carried downstream), times the message
  size plus libzmq's per-message overhead, counted at both ends (allocators keep freed
  memory); plus bookkeeping per message and a baseline per process.  :func:`default_budget` and :func:`tree_rss` (private resident memory of the
  supervisor and its children, from ``/proc``) complete the memory budget.
"""

from __future__ import annotations

import math
import os
import resource
from dataclasses import dataclass, field

from topolint.executor.plan import InstancePlan, RunPlan, host_groups

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: Private memory of one idle child process (Python, pyzmq, a context's threads, its stats).
CHILD_BASELINE = 16 << 20
#: Private memory of each further instance hosted in one process (its thread, its context
#: and that context's two threads, its state and stats buffers).
HOSTED_BASELINE = 2 << 20
#: Private memory of the supervisor (the analyzer, the plan, the report).
SUPERVISOR_BASELINE = 96 << 20
#: libzmq's memory per queued message beyond its payload (msg_t, pipe slot, allocator).
MESSAGE_OVERHEAD = 128
#: Each queued message counts at both ends of its connection: memory a sender freed once the
#: message moved on may stay resident in its allocator while the receiver holds the message
#: (measured: 4 pairs of 1 MiB messages, HWM 0, slow sinks peaked at 1.46 GB of private
#: memory against 1.07 GiB of messages plus baselines).
RESIDENT_COPIES = 2
#: Bookkeeping per message delivered: the sequence numbers the supervisor reads back
#: (a Python int each), a sink's latency sample, a join's pending unit.
PER_DELIVERY = 128
#: End-of-data signals and hellos allowed for per connection, and their size on the wire.
CONTROL_MESSAGES = 16
HEADER_BYTES = 27
#: Default memory budget, and at most this share of the memory available at start.
DEFAULT_BUDGET = 4 << 30
AVAILABLE_SHARE = 0.5
#: Open files a child holds besides its sockets (stdio, stats, a seq file, the context's
#: reaper and I/O thread mailboxes and pollers), and the supervisor besides one per child.
CHILD_FILES = 24
SUPERVISOR_FILES = 48


class ResourceError(ValueError):
    """The run cannot be realised on this machine (the message says what and how to fix)."""


def _as_int(value: object, where: str, key: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return int(value)
    raise ResourceError(f"{where}: {key} {value!r} is not an integer libzmq can take")


def realise_options(plan: RunPlan) -> list[str]:
    """Clamp socket options libzmq cannot take to equivalent ones; returns notes.  Raises
    :class:`ResourceError` for a value no clamping makes sense of."""
    notes: dict[str, str] = {}
    for inst in plan.instances:
        for s in inst.sockets:
            where = f"{inst.process or inst.name}.{s.name}"
            opts = s.options
            for key in ("sndhwm", "rcvhwm", "sndbuf", "rcvbuf", "linger", "maxmsgsize"):
                if opts.get(key) is None:
                    continue
                v = _as_int(opts[key], where, key)
                top = INT64_MAX if key == "maxmsgsize" else INT32_MAX
                low = -1 if key in ("linger", "maxmsgsize", "sndbuf", "rcvbuf") else 0
                if v < low:
                    raise ResourceError(f"{where}: {key} {v} is below {low}: libzmq refuses it")
                if v <= top:
                    opts[key] = v
                    continue
                if key in ("sndhwm", "rcvhwm"):
                    opts[key] = INT32_MAX
                    why = "libzmq's largest HWM; no run under the caps gets near it"
                elif key in ("sndbuf", "rcvbuf"):
                    opts[key] = INT32_MAX
                    why = "libzmq's largest; the kernel caps it at its maximum anyway"
                elif key == "linger":
                    opts[key] = -1
                    why = "infinite: longer than libzmq's 24.8 days and than any run"
                else:
                    opts[key] = -1
                    why = "no limit"
                notes[f"{where}.{key}"] = (
                    f"{where}: {key} {v} is beyond libzmq's C int range: run as {opts[key]} ({why})"
                )
    return sorted(notes.values())


# ---------------------------------------------------------------------------- open files
def child_files(inst: InstancePlan, sync_peers: int = 0) -> int:
    """Open files and sockets one child holds at most."""
    n = CHILD_FILES
    for s in inst.sockets:
        n += 1 + len(s.binds) + len(s.connects) + s.peers  # mailbox, listeners, connections
        if s.flood or s.wait_peers:
            n += 2  # the monitor's PAIR sockets
        if s.sends and s.sync in ("handshake", "welcome"):
            n += 2 + s.expected_subscribers  # the private REP socket
    return n + 3 * sync_peers  # a REQ per synchronised publisher it answers


def zmq_sockets(inst: InstancePlan, sync_peers: int = 0) -> int:
    """ZeroMQ sockets one child opens at most (libzmq's per-context default is 1023)."""
    return 3 * len(inst.sockets) + sync_peers + 8


def _sync_peers(plan: RunPlan) -> dict[str, int]:
    sync = {
        f"{i.name}.{s.name}"
        for i in plan.instances
        for s in i.sockets
        if s.sends and s.sync in ("handshake", "welcome")
    }
    out: dict[str, int] = {}
    for c in plan.connections:
        if c.sender in sync:
            inst = c.receiver.rpartition(".")[0]
            out[inst] = out.get(inst, 0) + 1
    return out


def check_files(plan: RunPlan) -> list[str]:
    """Make sure every process can open what it needs; returns notes.  Raises
    :class:`ResourceError` when the hard ``RLIMIT_NOFILE`` is too low."""
    peers = _sync_peers(plan)
    tcp = sum(1 for e in plan.endpoints if e.transport == "tcp")
    per = {i.name: child_files(i, peers.get(i.name, 0)) for i in plan.instances}
    need: dict[str, int] = {}
    for group in host_groups(plan):  # instances hosted together share the process's files
        names = [plan.instances[i].name for i in group]
        worst_of = max(names, key=lambda k: per[k])
        need[worst_of] = sum(per[n] for n in names)
    supervisor = SUPERVISOR_FILES + 2 * len(plan.instances) + tcp
    worst = max(need, key=lambda k: need[k]) if need else ""
    most = max([supervisor, *need.values()])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or most <= soft:
        return []
    if hard != resource.RLIM_INFINITY and most > hard:
        who = (
            f"the supervisor holds about {supervisor} (one port per TCP endpoint, a file "
            f"per instance)"
            if supervisor >= need.get(worst, 0)
            else f"{worst} opens about {need[worst]} ({len(plan.instance(worst).sockets)} "
            "sockets and their connections)"
        )
        raise ResourceError(
            f"not enough open files for this run: {who}, above the open-file limit "
            f"(RLIMIT_NOFILE) of {hard}; raise it (ulimit -n) or run fewer sockets"
        )
    new = most if hard == resource.RLIM_INFINITY else min(hard, max(most, 2 * soft))
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return [f"open-file limit raised from {soft} to {new} (the run holds up to {most})"]


# ---------------------------------------------------------------------------- memory
@dataclass
class MemoryBound:
    """The static upper bound of a run's memory, with its largest terms."""

    total: float  # bytes; math.inf when no bound holds
    queues: float
    baseline: int
    deliveries: float
    largest: list[tuple[str, float]] = field(default_factory=list)  # connection, bytes
    unbounded: str = ""  # why the bound is infinite


def _flood_limit(plan: RunPlan, size: int) -> int:
    return max(1, min(plan.limits.max_messages, plan.limits.max_source_bytes // max(1, size)))


class _Flows:
    """Messages that can flow through each sending socket of a plan: a source's count,
    carried downstream; a cycle forwards without bound (infinite)."""

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        self.inst_of = {i.name: i for i in plan.instances}
        self.into: dict[str, list[str]] = {}
        for c in plan.connections:
            src, dst = c.sender.rpartition(".")[0], c.receiver.rpartition(".")[0]
            if not c.control and src != dst:  # inproc inside one instance starts no flow
                self.into.setdefault(dst, []).append(c.sender)
        self.memo: dict[str, float] = {}
        self.visiting: set[str] = set()

    def out_flow(self, name: str) -> float:
        """Messages instance ``name`` can send on one data socket."""
        if name in self.memo:
            return self.memo[name]
        inst = self.inst_of.get(name)
        if inst is None:
            return 0.0
        if name in self.visiting:
            return math.inf  # a cycle: forwarding alone does not bound it
        self.visiting.add(name)
        b = inst.behaviour
        if b.kind == "source":
            flow = float(b.count if b.count is not None else self.plan.limits.max_messages)
        else:
            flow = sum(self.conn_flow(sender) for sender in self.into.get(name, []))
        self.visiting.discard(name)
        self.memo[name] = flow
        return flow

    def conn_flow(self, sender: str) -> float:
        """Data messages the socket ``sender`` (``instance.socket``) can send."""
        iname, _, sname = sender.rpartition(".")
        inst = self.inst_of.get(iname)
        if inst is None:
            return 0.0
        try:
            s = inst.socket(sname)
        except KeyError:
            return 0.0
        if s.role not in ("out", "both"):
            return 0.0  # end-of-data only: counted as control below
        flow = self.out_flow(iname)
        if s.flood:
            flow += _flood_limit(self.plan, s.size)
        return flow

    def sender_size(self, sender: str) -> int | None:
        """Bytes per message of the socket ``sender``, or None if the plan has no such."""
        iname, _, sname = sender.rpartition(".")
        inst = self.inst_of.get(iname)
        if inst is None:
            return None
        try:
            return max(inst.socket(sname).size, 27)
        except KeyError:
            return None


def _baseline(plan: RunPlan) -> int:
    """Memory of the supervisor and the OS processes, whatever flows."""
    groups = host_groups(plan)
    return (
        SUPERVISOR_BASELINE
        + CHILD_BASELINE * len(groups)
        + HOSTED_BASELINE * (len(plan.instances) - len(groups))
    )


def static_memory(plan: RunPlan) -> MemoryBound:
    """See the module docstring.  Run it after the caps were applied to the plan."""
    flows = _Flows(plan)
    queues = 0.0
    deliveries = 0.0
    terms: list[tuple[str, float]] = []
    unbounded = ""
    for c in plan.connections:
        size = flows.sender_size(c.sender)
        if size is None:
            continue
        flow = flows.conn_flow(c.sender)
        bound = c.predicted_bound_messages
        limit = math.inf if bound is None else float(bound)
        held = min(flow, limit)
        if math.isinf(held) and not unbounded:
            unbounded = (
                f"{c.sender} -> {c.receiver} has no static queue bound (HWM 0) and sits in a "
                "cycle, so the messages flowing through it are not bounded either"
            )
        # end-of-data signals and hellos are header-sized, whatever the data's size
        control = min(CONTROL_MESSAGES, max(0.0, limit - held))
        nbytes = (
            held * (size + MESSAGE_OVERHEAD) + control * (HEADER_BYTES + MESSAGE_OVERHEAD)
        ) * RESIDENT_COPIES
        queues += nbytes
        deliveries += (flow + CONTROL_MESSAGES) * PER_DELIVERY
        terms.append((f"{c.sender} -> {c.receiver}", nbytes))
    terms.sort(key=lambda t: -t[1])
    baseline = _baseline(plan)
    total = queues + deliveries + baseline
    return MemoryBound(total, queues, baseline, deliveries, terms[:3], unbounded)


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f.read(8192).split(b"\n"):
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_budget() -> int:
    """4 GiB, or half the memory available now if that is less."""
    avail = available_memory()
    if avail is None:
        return DEFAULT_BUDGET
    return max(64 << 20, min(DEFAULT_BUDGET, int(avail * AVAILABLE_SHARE)))


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def private_rss(pid: int) -> int:
    """Resident memory of ``pid`` not backed by files (RssAnon), in bytes; 0 if gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            fields = f.read(256).split()
        return max(0, int(fields[1]) - int(fields[2])) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def tree_rss(pids: list[int]) -> int:
    """Private resident memory of this process and ``pids``."""
    return private_rss(os.getpid()) + sum(private_rss(p) for p in pids)


def fmt_bytes(n: float) -> str:
    """``n`` bytes for people: ``1.5 GiB``, ``12 B``, ``unbounded`` for infinity."""
    if math.isinf(n):
        return "unbounded"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"
