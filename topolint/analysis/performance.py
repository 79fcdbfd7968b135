"""``topolint analyze``: throughput, latency and memory bounds of a wired topology.

:func:`analyze` computes, in time linear in the number of connections:

* **Throughput** — the steady-state rate, in source messages per second, that the topology
  sustains.  Source rates (``rate`` per instance, or one message per ``period``) flow
  downstream along data connections: a load-balancing socket (PUSH, DEALER, REQ, ROUTER)
  splits a sender instance's stream between its peers, a PUB/XPUB (and a PAIR) gives each
  peer a copy; every output socket of a process carries its whole output; a ``join`` with
  ``match: key``/``order`` emits one message per matched set (the slowest input), ``latest``
  follows the fastest input.  A stage serves ``replicas / service_time`` messages per
  second.  A source without ``rate`` is unlimited: every instance of such sources emits at
  one common rate ``x`` (downstream sockets fair-queue their peers), the largest the stages
  can serve; then, if declared rates alone overload a stage, everything is scaled down by
  that stage's utilisation (back-pressure).  A source's own ``service_time`` caps it too.
  Rates of a replicated source are per instance.  The bottleneck is the stage that sets the pace (or the sources, when every stage keeps up).
* **Latency** — the sum of ``service_time`` along the slowest source-to-sink path
  (longest path in topological order; no queueing).  Data cycles are cut at their feedback
  edges (the flow around a cycle is not counted twice) and reported in ``cycles``.
* **Memory** — for every connection the worst-case queue of
  :func:`topolint.analysis.queue_model.connection_bound` (messages and bytes, with the message
  type's ``max_size``; without one the bytes are unknown and said so).  Each component is
  charged to the process instance that holds it: SNDHWM pipe, sender engine batch and the
  kernel send buffer to the sender; RCVHWM pipe, receiver engine batch and the kernel receive
  buffer to the receiver (over ``ipc://`` the whole kernel share is the sender's Unix send
  buffer; over ``inproc://`` the one pipe is split SNDHWM / RCVHWM).  Process memory counts
  *memory*, not queued payload: pipes and batches as messages × framed size, kernel buffers
  at their (doubled) size plus one segment of overshoot at each end — the kernel admits a
  segment past a full buffer — so the two sides of a connection add up to a little more
  than its ``bound_bytes``.  A connect to an endpoint nobody binds (or a socket-type
  mismatch, whose handshake fails) parks SNDHWM messages with IMMEDIATE=0.  Sums per socket
  instance, per process (the worst replica: each replica has its own ``memory_limit``) and
  per host (every instance on it); compared with ``memory_limit``.  A PUB shares one payload
  between subscriber pipes in user space, but subscribers stalled at different points hold
  different messages, so the worst case sums the pipes.  End-of-data control connections
  without a message type are counted with :data:`CONTROL_MESSAGE_SIZE`-byte messages.
"""

from __future__ import annotations

import gc
import math
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from topolint.analysis.queue_model import (
    OUT_BATCH_SIZE,
    Bound,
    Kernel,
    SocketOpts,
    connection_bound,
    effective_conflate,
    framed_size,
    parked_bound,
)
from topolint.lint.graph import Connection, TopologyGraph
from topolint.lint.model import Process, Socket, Topology
from topolint.textsafe import clean, clean_lines

#: Size assumed for end-of-data messages on a control socket without a message type.
CONTROL_MESSAGE_SIZE = 64
#: Socket types that give every peer its own copy of each message.
COPYING = frozenset({"pub", "xpub", "pair"})
#: Components of a memory share, in bytes.
PARTS = ("hwm", "batch", "kernel", "parked")
_REL_TOL = 1e-9


# --------------------------------------------------------------------------------------
# Memory


@dataclass
class Share:
    """Bytes of one connection held on one side (one socket instance)."""

    hwm: int | None = 0  # None: the message size is unknown
    batch: int | None = 0
    kernel: int = 0
    parked: int | None = 0
    unbounded: bool = False
    kernel_autotuned: bool = False

    @property
    def bytes(self) -> int | None:
        """Bytes held on this side, or None when unbounded or of unknown message size."""
        if self.unbounded or None in (self.hwm, self.batch, self.parked):
            return None
        return (self.hwm or 0) + (self.batch or 0) + self.kernel + (self.parked or 0)

    @property
    def known_bytes(self) -> int:
        """Bytes counted, the components of unknown size as 0."""
        return (self.hwm or 0) + (self.batch or 0) + self.kernel + (self.parked or 0)

    @property
    def unknown(self) -> bool:
        """Is a component's size unknown (the message type declares no ``max_size``)?"""
        return None in (self.hwm, self.batch, self.parked)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the total and each component in bytes, and the flags."""
        return {
            "memory_bytes": self.bytes,
            "hwm_bytes": self.hwm,
            "batch_bytes": self.batch,
            "kernel_bytes": self.kernel,
            "parked_bytes": self.parked,
            "unbounded": self.unbounded,
            "kernel_autotuned": self.kernel_autotuned,
        }


class Memory:
    """A sum of shares: one socket instance, one process instance or one host."""

    __slots__ = (
        "autotuned",
        "batch",
        "count",
        "hwm",
        "instances",
        "kernel",
        "limit",
        "name",
        "parked",
        "shm",
        "unbounded",
        "unknown",
    )

    def __init__(self, name: str, limit: int | None = None) -> None:
        self.name = name
        self.limit = limit
        self.hwm = self.batch = self.kernel = self.parked = 0
        self.shm = 0  # FairMQ shared-memory segments (hosts only)
        self.unknown = 0  # shares whose message size is unknown
        self.unbounded = 0  # shares without a high-water mark
        self.autotuned = 0  # shares whose kernel buffer is left to TCP autotuning
        self.count = 0  # shares added
        self.instances = 0  # process instances summed (1 for an instance, n for a host)

    @property
    def parts(self) -> dict[str, int]:
        """Bytes by component: ``hwm``, ``batch``, ``kernel``, ``parked`` (and ``shm``, the
        shared-memory segments of FairMQ shmem transports, on hosts that have them)."""
        parts = {"hwm": self.hwm, "batch": self.batch, "kernel": self.kernel, "parked": self.parked}
        if self.shm:
            parts["shm"] = self.shm
        return parts

    def add(self, share: Share) -> None:
        """Add one connection's share held by this socket instance."""
        self.count += 1
        unknown = False
        if share.hwm is None:
            unknown = True
        else:
            self.hwm += share.hwm
        if share.batch is None:
            unknown = True
        else:
            self.batch += share.batch
        if share.parked is None:
            unknown = True
        else:
            self.parked += share.parked
        self.kernel += share.kernel
        if unknown:
            self.unknown += 1
        if share.unbounded:
            self.unbounded += 1
        if share.kernel_autotuned:
            self.autotuned += 1

    def merge(self, other: Memory) -> None:
        """Add another sum: a socket instance into its process instance, an instance into
        its host."""
        self.count += other.count
        self.instances += other.instances
        self.hwm += other.hwm
        self.batch += other.batch
        self.kernel += other.kernel
        self.parked += other.parked
        self.unknown += other.unknown
        self.unbounded += other.unbounded
        self.autotuned += other.autotuned

    @property
    def known_bytes(self) -> int:
        """Bytes counted so far (a lower bound of the bound when some are unknown)."""
        return self.hwm + self.batch + self.kernel + self.parked + self.shm

    @property
    def bytes(self) -> int | None:
        """The bound, or None when a share is unbounded or of unknown size."""
        return None if self.unknown or self.unbounded else self.known_bytes

    @property
    def exceeds(self) -> bool:
        """Does the known part of the bound alone exceed the limit?"""
        return self.limit is not None and self.known_bytes > self.limit

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: bound, limit, known bytes, each component and the counts."""
        return {
            "memory_bound_bytes": self.bytes,
            "memory_limit_bytes": self.limit,
            "memory_known_bytes": self.known_bytes,
            "hwm_bytes": self.hwm,
            "batch_bytes": self.batch,
            "kernel_bytes": self.kernel,
            "parked_bytes": self.parked,
            **({"shm_segment_bytes": self.shm} if self.shm else {}),
            "unknown_size_connections": self.unknown,
            "unbounded_connections": self.unbounded,
            "autotuned_kernel_buffers": self.autotuned,
        }


@dataclass
class ConnectionMemory:
    """One connection's bound and how it splits between sender and receiver."""

    connection: Connection
    bound: Bound
    sender: Share
    receiver: Share
    message_size: int | None
    size_source: str  # "message", "maxmsgsize", "control", "shmem-descriptor", "unknown"
    kind: str  # "queue" (both ends), "parked" (no peer), "none" (nothing queues)

    @property
    def kernel_fraction(self) -> float | None:
        """Share of the bound's messages that sit in kernel buffers (TCP/IPC)."""
        b = self.bound
        if b.messages is None or not b.messages:
            return None
        return b.breakdown.get("kernel", 0) / b.messages

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ends, bound and its breakdown, message size, both sides."""
        c, b = self.connection, self.bound
        d: dict[str, Any] = {
            "sender": c.sender_id,
            "receiver": c.receiver_id,
            "bound_messages": b.messages,
            "bound_bytes": b.bytes,
        }
        for key in ("sender_hwm", "receiver_hwm", "sender_batch", "receiver_batch", "kernel"):
            d[key] = b.breakdown.get(key)
        d.update(
            {
                "kind": self.kind,
                "transport": c.transport,
                "message": c.message,
                "message_size": self.message_size,
                "message_size_from": self.size_source,
                "kernel_bytes": b.kernel_bytes,
                "kernel_autotuned": b.kernel_autotuned,
                "unbounded": b.unbounded,
                "expected_messages": b.expected,
                "reply": c.reply,
                "unresolved": c.unresolved,
                "explain": b.explain(),
                "sender_memory": self.sender.to_dict(),
                "receiver_memory": self.receiver.to_dict(),
            }
        )
        return d


def socket_opts(s: Socket) -> SocketOpts:
    """The queue model's view of a declared socket."""
    return SocketOpts(
        type=s.type,
        sndhwm=s.sndhwm,
        rcvhwm=s.rcvhwm,
        sndbuf=s.sndbuf,
        rcvbuf=s.rcvbuf,
        conflate=s.conflate,
        immediate=s.immediate,
    )


def _pipe(hwm: int, opts: SocketOpts) -> int | None:
    if effective_conflate(opts):
        return 2
    return None if hwm == 0 else hwm


#: What a FairMQ shmem queue holds per message: a descriptor (MetaHeader: size, hint,
#: segment handle, region and segment ids, flags; 40 bytes on 64-bit Linux, rounded up).
#: The payloads live in the session's shared-memory segment (``--shm-segment-size``,
#: FairMQ's default 2,000,000,000 bytes), which bounds them together.
SHM_DESCRIPTOR_BYTES = 64
SHM_SEGMENT_DEFAULT = 2_000_000_000


def message_size(topo: Topology, c: Connection) -> tuple[int | None, str]:
    """Largest payload on ``c`` and where the number comes from (FairMQ shmem: the
    descriptor its queues hold, the payload being in the shared-memory segment)."""
    s, r = c.sender_socket, c.receiver_socket
    if s is not None and r is not None and s.transport == r.transport == "shmem":
        return SHM_DESCRIPTOR_BYTES, "shmem-descriptor"
    for s, name in ((c.sender_socket, "sends"), (c.receiver_socket, "receives")):
        if s is not None:
            m = topo.message(getattr(s, name))
            if m is not None and m.max_size is not None:
                return m.max_size, "message"
    r = c.receiver_socket
    if r is not None and r.maxmsgsize:
        return r.maxmsgsize, "maxmsgsize"
    if c.control:
        return CONTROL_MESSAGE_SIZE, "control"
    return None, "unknown"


class _MemoryModel:
    """Bounds and sides for every connection, cached per socket pair and per option set."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.kernel: Kernel = topo.kernel
        self.opts: dict[tuple[Any, ...], SocketOpts] = {}
        self.by_pair: dict[tuple[Any, ...], tuple[Bound, Share, Share, str, int | None, str]] = {}
        self.by_opts: dict[tuple[Any, ...], tuple[Bound, Share, Share, str]] = {}

    def opts_of(self, s: Socket | None) -> SocketOpts | None:
        if s is None:
            return None
        key = (s.type, s.sndhwm, s.rcvhwm, s.sndbuf, s.rcvbuf, s.conflate, s.immediate)
        o = self.opts.get(key)
        if o is None:
            o = self.opts[key] = socket_opts(s)
        return o

    def connection(self, c: Connection) -> ConnectionMemory:
        ss, rs = c.sender_socket, c.receiver_socket
        if c.unresolved or c.mismatch:
            kind = "parked" if ss is not None and ss.can_send else "none"
        else:
            kind = "queue"
        connector = _connector(c) if c.transport == "inproc" else None
        key = (kind, id(ss), id(rs), c.transport, connector)  # control-ness follows the sockets
        hit = self.by_pair.get(key)
        if hit is None:
            size, source = message_size(self.topo, c)
            okey = (kind, self.opts_of(ss), self.opts_of(rs), c.transport, size, connector)
            res = self.by_opts.get(okey)
            if res is None:
                res = self.by_opts[okey] = self._compute(kind, c, ss, rs, size, connector)
            hit = self.by_pair[key] = (*res, size, source)
        bound, s_share, r_share, kind, size, source = hit
        return ConnectionMemory(c, bound, s_share, r_share, size, source, kind)

    def _compute(
        self,
        kind: str,
        c: Connection,
        ss: Socket | None,
        rs: Socket | None,
        size: int | None,
        connector: str | None,
    ) -> tuple[Bound, Share, Share, str]:
        if kind == "none" or ss is None:
            return _empty_bound(size), Share(), Share(), "none"
        so = self.opts_of(ss)
        assert so is not None
        if kind == "parked":
            b = parked_bound(so, size)
            held = b.breakdown.get("sender_hwm", 0)
            unit = framed_size(size) if size is not None else None
            parked = None if unit is None else held * unit
            return b, Share(parked=parked, unbounded=b.unbounded), Share(), kind
        ro = self.opts_of(rs)
        assert ro is not None
        transport = c.transport if c.transport in ("tcp", "ipc", "inproc") else "tcp"
        b = connection_bound(transport, so, ro, size, self.kernel, connector=connector)
        return (b, *self._sides(transport, b, so, ro, size), kind)

    def _sides(
        self, transport: str, b: Bound, so: SocketOpts, ro: SocketOpts, size: int | None
    ) -> tuple[Share, Share]:
        s_pipe, r_pipe = _pipe(so.sndhwm, so), _pipe(ro.rcvhwm, ro)
        if transport == "inproc":
            sender, receiver = Share(), Share()
            if b.unbounded:
                sender.unbounded = so.sndhwm == 0 or s_pipe is None
                receiver.unbounded = not sender.unbounded
                return sender, receiver
            held = b.messages or 0
            unit = (b.bytes // held) if (b.bytes is not None and held) else None
            sh, rh = b.breakdown.get("sender_hwm", 0), b.breakdown.get("receiver_hwm", 0)
            sender.hwm = None if unit is None else sh * unit
            receiver.hwm = None if unit is None else rh * unit
            return sender, receiver
        if transport == "ipc":
            snd_k, rcv_k, slack = b.kernel_bytes, 0, 0
            snd_auto = rcv_auto = False
        else:
            snd, snd_auto = self.kernel.tcp_sndbuf(so.sndbuf)
            rcv, rcv_auto = self.kernel.tcp_rcvbuf(ro.rcvbuf)
            slack = max(0, b.kernel_bytes - snd - rcv)
            snd_k, rcv_k = snd + slack, rcv + slack
        unit = framed_size(size) if size is not None else None
        # Engine batches: from the bound, or (an unbounded bound has no breakdown) the same
        # formula: one partial message plus an 8 KiB batch.
        default_batch = None if unit is None else 1 + math.ceil(OUT_BATCH_SIZE / unit)
        batch = b.breakdown.get("sender_batch", default_batch)
        sender = Share(
            hwm=None if unit is None or s_pipe is None else s_pipe * unit,
            batch=None if unit is None or batch is None else batch * unit,
            kernel=snd_k,
            unbounded=s_pipe is None,
            kernel_autotuned=snd_auto,
        )
        batch = b.breakdown.get("receiver_batch", default_batch)
        receiver = Share(
            hwm=None if unit is None or r_pipe is None else r_pipe * unit,
            batch=None if unit is None or batch is None else batch * unit,
            kernel=rcv_k,
            unbounded=r_pipe is None,
            kernel_autotuned=rcv_auto,
        )
        return sender, receiver


def _connector(c: Connection) -> str | None:
    """Which side connected (libzmq applies the connecting socket's inproc CONFLATE)."""
    for side, s in (("sender", c.sender_socket), ("receiver", c.receiver_socket)):
        if s is not None and any(e is c.endpoint for e in s.connects):
            return side
    return None


def _empty_bound(size: int | None) -> Bound:
    return Bound(
        messages=0,
        bytes=0,
        breakdown={},
        kernel_bytes=0,
        kernel_autotuned=False,
        unbounded=False,
        expected=0,
        transport="none",
        message_size=size,
        details=("nothing queues: no sending socket on this side",),
    )


# --------------------------------------------------------------------------------------
# Flow: throughput and latency


@dataclass
class Stage:
    """Flow figures of one process (all its replicas together)."""

    name: str
    replicas: int
    service_time: float | None
    capacity: float  # messages per second the replicas serve (inf without service_time)
    source: bool
    unlimited_source: bool
    declared_load: float = 0.0  # per second, from declared source rates only
    unlimited_weight: float = 0.0  # load per message/s of each unlimited source
    load: float = 0.0  # per second, at the sustained throughput
    declared_out: float = 0.0  # emitted per second from declared source rates only
    depth: float = 0.0  # longest service-time sum from a source, this stage included

    @property
    def utilisation(self) -> float | None:
        """Load over capacity at the sustained throughput; None without service_time."""
        if math.isinf(self.capacity):
            return None
        return self.load / self.capacity

    @property
    def declared_utilisation(self) -> float | None:
        """Load from the declared source rates alone over capacity (above 1: overloaded
        before any back-pressure); None without service_time."""
        if math.isinf(self.capacity):
            return None
        return self.declared_load / self.capacity

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, merged into the process's entry."""
        return {
            "service_time_seconds": self.service_time,
            "capacity_per_second": None if math.isinf(self.capacity) else self.capacity,
            "arrival_per_second": _finite_or_none(self.load),
            "utilisation": _finite_or_none(self.utilisation),
            "declared_arrival_per_second": self.declared_load,
            "declared_utilisation": self.declared_utilisation,
            "source": self.source,
        }


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or math.isinf(x) or math.isnan(x) else x


@dataclass
class Throughput:
    """The steady-state rate of source messages and what sets it.

    ``kind`` ``"stage"``: the most loaded stage (``bottleneck``; every stage as loaded in
    ``bottlenecks``); ``"source"``: the declared source rates, every stage keeping up
    (``bottleneck`` the source with the largest rate).
    """

    messages_per_second: float | None  # None: unlimited (no stage sets a pace)
    bottleneck: str | None
    kind: str | None  # "stage" | "source" | None
    bottlenecks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "messages_per_second": self.messages_per_second,
            "bottleneck": self.bottleneck,
            "bottleneck_kind": self.kind,
            "bottlenecks": list(self.bottlenecks),
            "unlimited": self.messages_per_second is None,
        }


@dataclass
class Latency:
    """The sum of ``service_time`` along the slowest source-to-sink path (no queueing)."""

    seconds: float
    critical_path: list[str]  # process names, source first

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"seconds": self.seconds, "critical_path": list(self.critical_path)}


def _emission(p: Process) -> float | None:
    """Declared emission rate of a source process (all replicas), None if unlimited."""
    if p.rate is not None:
        return p.rate * p.replicas
    if p.period:
        return p.replicas / p.period
    return None


def _order(
    nodes: Iterable[str], succ: dict[str, dict[str, None]]
) -> tuple[list[str], list[list[str]]]:
    """Topological order; cycles are condensed (members sorted) and returned too."""
    nodes = list(nodes)
    indeg = dict.fromkeys(nodes, 0)
    for u in nodes:
        for v in succ.get(u, ()):
            indeg[v] += 1
    ready = deque(n for n in nodes if indeg[n] == 0)  # FIFO: declaration order on ties
    order: list[str] = []
    while ready:
        u = ready.popleft()
        order.append(u)
        for v in succ.get(u, ()):
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    if len(order) == len(nodes):
        return order, []
    # Some cycles: condense them (networkx, linear) and order the condensation.
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from((u, v) for u in nodes for v in succ.get(u, ()))
    cond = nx.condensation(g)
    order = []
    cycles = []
    for cid in nx.topological_sort(cond):
        members = sorted(cond.nodes[cid]["members"])
        if len(members) > 1 or any(m in succ.get(m, ()) for m in members):
            cycles.append(members)
        order.extend(members)
    return order, cycles


def _data_connections(conns: Iterable[Connection]) -> list[Connection]:
    """``[c for c in conns if c.data]``, with each socket's control-ness looked up once."""
    control: dict[int, bool] = {}
    out = []
    for c in conns:
        if c.reply or c.mismatch or c.unresolved:
            continue
        ss, rs = c.sender_socket, c.receiver_socket
        if ss is None or rs is None:
            continue
        a = control.get(id(ss))
        if a is None:
            a = control[id(ss)] = ss.is_control
        b = control.get(id(rs))
        if b is None:
            b = control[id(rs)] = rs.is_control
        if not (a or b):
            out.append(c)
    return out


def _flow(
    topo: Topology, wiring: TopologyGraph
) -> tuple[dict[str, Stage], Throughput, Latency, list[list[str]]]:
    """Stages, throughput, latency and data cycles of ``topo`` wired as ``wiring``.

    Returns
    -------
    stages : dict
        One :class:`Stage` per process, in topological order.
    throughput : Throughput
        The sustained rate of source messages and what sets it.
    latency : Latency
        The slowest source-to-sink service-time path.
    cycles : list of lists
        The data cycles (members sorted), cut at their feedback edges.
    """
    procs = topo.processes
    coef, succ = _arrival_coefficients(procs, _data_connections(wiring.connections))
    order, cycles = _order(procs, succ)
    pos = {n: i for i, n in enumerate(order)}
    has_in = {q for q, d in coef.items() if any(p != q for p, _ in d)}
    connected = set(has_in) | set(succ)
    sources = [n for n in order if n not in has_in and (n in succ or not connected)]
    stages = _declared_stages(procs, order, pos, coef, set(sources))
    n_unlimited, x, scale = _sustained_loads(stages, sources)
    throughput = _throughput(stages, order, pos, sources, n_unlimited, x, scale)
    latency = _latency(stages, order, pos, succ, connected)
    return stages, throughput, latency, cycles


_Coefficients = dict[str, dict[tuple[str, str], float]]


def _arrival_coefficients(
    procs: dict[str, Process], data: list[Connection]
) -> tuple[_Coefficients, dict[str, dict[str, None]]]:
    """Messages each process receives per message an upstream process emits.

    A load-balancing socket splits a sender instance's stream between its peers, a copying
    one (:data:`COPYING`) gives each peer the whole stream; replicas share their process's
    output.

    Returns
    -------
    coef : dict
        ``coef[q][(p, socket)]``: messages arriving at ``q``'s receiving ``socket`` per
        message process ``p`` emits.
    succ : dict
        The process-level successors (ordered sets: deterministic), self-loops left out.
    """
    fanout: dict[tuple[str, str], int] = defaultdict(int)  # (sender instance, socket) -> n
    for c in data:
        assert c.sender_socket is not None
        fanout[(c.sender, c.sender_socket.name)] += 1
    coef: _Coefficients = defaultdict(lambda: defaultdict(float))
    succ: dict[str, dict[str, None]] = defaultdict(dict)
    for c in data:
        ss, rs = c.sender_socket, c.receiver_socket
        assert ss is not None and rs is not None
        p = procs[ss.process]
        share = 1.0 / p.replicas
        if ss.type not in COPYING:
            share /= fanout[(c.sender, ss.name)]
        coef[rs.process][(ss.process, rs.name)] += share
        if rs.process != ss.process:
            succ[ss.process][rs.process] = None
    return coef, succ


def _declared_stages(
    procs: dict[str, Process],
    order: list[str],
    pos: dict[str, int],
    coef: _Coefficients,
    source_set: set[str],
) -> dict[str, Stage]:
    """One :class:`Stage` per process with its load from the declared source rates.

    Each stage's load is kept in two parts: the rate that follows from declared source
    rates (``declared_load``) and the weight of the common rate ``x`` of the unlimited
    sources (``unlimited_weight``: every instance of an unlimited source emits ``x``,
    downstream sockets fair-queue their peers).  Feedback edges of cycles are not followed.
    """
    stages: dict[str, Stage] = {}
    out: dict[str, tuple[float, float]] = {}  # (declared rate, weight of unlimited rate)
    for name in order:
        p = procs[name]
        st = p.service_time
        cap = p.replicas / st if st else math.inf
        is_source = name in source_set
        emission = _emission(p) if is_source else None
        stage = Stage(name, p.replicas, st, cap, is_source, is_source and emission is None)
        stages[name] = stage
        if is_source:
            fin, w = (emission, 0.0) if emission is not None else (0.0, float(p.replicas))
            stage.declared_load, stage.unlimited_weight = fin, w
            out[name] = (fin, w)
            continue
        per_socket = _arrivals_per_socket(name, pos, coef, out)
        fin = sum(a[0] for a in per_socket.values())
        w = sum(a[1] for a in per_socket.values())
        stage.declared_load, stage.unlimited_weight = fin, w
        out[name] = _join_output(p, per_socket, (fin, w))
    for name, (fin, _) in out.items():
        stages[name].declared_out = fin
    return stages


def _arrivals_per_socket(
    name: str,
    pos: dict[str, int],
    coef: _Coefficients,
    out: dict[str, tuple[float, float]],
) -> dict[str, list[float]]:
    """Arrivals at each receiving socket of process ``name`` as ``[declared, weight]``,
    from the emissions ``out`` of the processes before it (feedback edges skipped)."""
    per_socket: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (src, sock), k in coef.get(name, {}).items():
        if src == name or pos[src] >= pos[name]:
            continue  # a feedback edge of a cycle
        f, w = out.get(src, (0.0, 0.0))
        acc = per_socket[sock]
        acc[0] += k * f
        acc[1] += k * w
    return per_socket


def _sustained_loads(stages: dict[str, Stage], sources: list[str]) -> tuple[int, float, float]:
    """Set every stage's ``load`` at the sustained throughput.

    The common rate ``x`` of the unlimited sources is the largest every stage can serve;
    then, if the loads overload a stage, everything is scaled down by the utilisation of
    the most loaded one (back-pressure).

    Returns
    -------
    n_unlimited : int
        Instances of unlimited sources.
    x : float
        Their common rate (``inf`` when no stage limits it).
    scale : float
        The back-pressure factor applied to every load (1.0 when nothing is overloaded).
    """
    n_unlimited = sum(stages[s].replicas for s in sources if stages[s].unlimited_source)
    x = math.inf
    for s in stages.values():
        if s.unlimited_weight > 0 and not math.isinf(s.capacity):
            x = min(x, max(0.0, (s.capacity - s.declared_load) / s.unlimited_weight))
    for s in stages.values():
        if s.unlimited_weight > 0:
            s.load = math.inf if math.isinf(x) else s.declared_load + s.unlimited_weight * x
        else:
            s.load = s.declared_load
    u_max = max(
        (
            s.load / s.capacity
            for s in stages.values()
            if not math.isinf(s.capacity) and not math.isinf(s.load)
        ),
        default=0.0,
    )
    scale = 1.0 / u_max if u_max > 1.0 else 1.0
    if scale != 1.0:
        for s in stages.values():
            s.load *= scale
    return n_unlimited, x, scale


def _throughput(
    stages: dict[str, Stage],
    order: list[str],
    pos: dict[str, int],
    sources: list[str],
    n_unlimited: int,
    x: float,
    scale: float,
) -> Throughput:
    """The sustained rate of source messages and what sets it: the most loaded stages
    (ties in topological order) or, when every stage keeps up, the largest declared source.
    Unlimited when an unlimited source meets no stage that limits it."""
    if n_unlimited > 0 and math.isinf(x):
        return Throughput(None, None, None)
    declared_total = sum(stages[s].declared_load for s in sources)
    utils = {
        n: stages[n].load / stages[n].capacity
        for n in order
        if not math.isinf(stages[n].capacity) and not math.isinf(stages[n].load)
    }
    top = max(utils.values(), default=0.0)
    rate = (declared_total + (n_unlimited * x if n_unlimited else 0.0)) * scale
    if utils and (n_unlimited or top >= 1.0 - _REL_TOL):
        tied = [n for n, u in utils.items() if _close(u, top)]
        return Throughput(rate, tied[0], "stage", tied)
    by_rate = sorted(sources, key=lambda n: (-stages[n].declared_load, pos[n]))
    return Throughput(rate, by_rate[0] if by_rate else None, "source", by_rate[:1])


def _latency(
    stages: dict[str, Stage],
    order: list[str],
    pos: dict[str, int],
    succ: dict[str, dict[str, None]],
    connected: set[str],
) -> Latency:
    """The longest service-time path in topological order, feedback edges cut; sets each
    stage's ``depth`` on the way."""
    preds: dict[str, list[str]] = defaultdict(list)
    for u, vs in succ.items():
        for v in vs:
            if pos[u] < pos[v]:
                preds[v].append(u)
    best: dict[str, str | None] = {}
    for name in order:
        s = stages[name]
        prev = max(preds.get(name, ()), key=lambda u: (stages[u].depth, -pos[u]), default=None)
        s.depth = (s.service_time or 0.0) + (stages[prev].depth if prev else 0.0)
        best[name] = prev
    ends = [n for n in order if not any(pos[v] > pos[n] for v in succ.get(n, ()))]
    ends = [n for n in ends if n in connected] or ends or order
    if not ends:
        return Latency(0.0, [])
    end = max(ends, key=lambda n: (stages[n].depth, -pos[n]))
    path = [end]
    while (b := best[path[-1]]) is not None:
        path.append(b)
    return Latency(stages[end].depth, path[::-1])


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_REL_TOL, abs_tol=_REL_TOL)


def _join_output(
    p: Process, per_socket: dict[str, list[float]], total: tuple[float, float]
) -> tuple[float, float]:
    """What a process emits per second: its arrivals, or one per matched set for a join."""
    if p.join is None or p.join.match == "any":
        return total
    inputs = [tuple(per_socket[s]) for s in p.join.inputs if s in per_socket]
    if not inputs:
        return total
    if p.join.match == "latest":
        return max(inputs, key=lambda fw: (fw[1], fw[0]))  # type: ignore[return-value]
    return min(inputs, key=lambda fw: (fw[1], fw[0]))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------
# The analysis


@dataclass
class Analysis:
    """Everything ``topolint analyze`` reports; rules read it as ``ctx.analysis``."""

    topology: Topology
    wiring: TopologyGraph
    throughput: Throughput
    latency: Latency
    stages: dict[str, Stage]
    cycles: list[list[str]]
    connections: list[ConnectionMemory]
    sockets: dict[str, Memory]  # socket instance id ("p[0].s") -> memory
    instances: dict[str, Memory]  # process instance id -> memory
    processes: dict[str, Memory]  # process name -> its worst instance (name = that instance)
    hosts: dict[str, Memory]
    by_instance: dict[str, list[tuple[str, Memory]]] = field(default_factory=dict)

    def bound_of(self, connection: Connection) -> Bound:
        """The worst-case queue bound of one connection of :attr:`wiring`."""
        return self.connections[connection.id].bound

    def memory_of(self, connection: Connection) -> ConnectionMemory:
        """The bound of one connection of :attr:`wiring` and how it splits between its
        sender and its receiver."""
        return self.connections[connection.id]

    def socket_contributors(self, instance: str) -> list[tuple[str, Memory]]:
        """The socket instances of a process instance, largest known bytes first."""
        prefix = instance + "."
        found = list(self.by_instance.get(instance, ()))
        found.sort(key=lambda km: (-km[1].known_bytes, km[0]))
        return [(k[len(prefix) :] if k.startswith(prefix) else k, m) for k, m in found]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (SPEC §4 keys first)."""
        with _no_gc():
            return self._to_dict()

    def _to_dict(self) -> dict[str, Any]:
        topo = self.topology
        processes = []
        for name, p in topo.processes.items():
            mem = self.processes[name]
            d: dict[str, Any] = {"name": name, **mem.to_dict()}
            d.update(
                {
                    "host": p.host,
                    "replicas": p.replicas,
                    "worst_instance": mem.name,
                    "largest_sockets": [
                        {
                            "socket": f"{mem.name}.{s}",
                            "memory_bytes": m.bytes,
                            "known_bytes": m.known_bytes,
                        }
                        for s, m in self.socket_contributors(mem.name)[:3]
                    ],
                    **self.stages[name].to_dict(),
                }
            )
            processes.append(d)
        k = topo.kernel
        return {
            "topology": topo.name,
            "file": topo.file,
            "throughput": self.throughput.to_dict(),
            "latency": self.latency.to_dict(),
            "processes": processes,
            "connections": [cm.to_dict() for cm in self.connections],
            "sockets": [{"socket": sid, **m.to_dict()} for sid, m in self.sockets.items()],
            "hosts": [
                {"name": h, "instances": m.instances, **m.to_dict()} for h, m in self.hosts.items()
            ],
            "cycles": self.cycles,
            "kernel": {
                "tcp_wmem": list(k.tcp_wmem),
                "tcp_rmem": list(k.tcp_rmem),
                "wmem_max": k.wmem_max,
                "rmem_max": k.rmem_max,
                "wmem_default": k.wmem_default,
                "rmem_default": k.rmem_default,
            },
        }


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    The analysis allocates many small objects (no reference cycles) next to a large live
    graph; each automatic collection would rescan that graph, making the pass quadratic.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyze(topology: Topology, wiring: TopologyGraph) -> Analysis:
    """Throughput, latency and memory bounds of ``topology`` wired as ``wiring``.

    Parameters
    ----------
    topology : Topology
        The model of one file (:func:`topolint.lint.engine.load`).
    wiring : TopologyGraph
        Its wiring (:func:`topolint.lint.graph.build_graph`).

    Returns
    -------
    Analysis
        Per-process stages, throughput and latency, one :class:`ConnectionMemory` per
        connection of ``wiring`` (in its order) and the memory sums per socket instance,
        process instance, process (the worst instance) and host.
    """
    with _no_gc():
        return _analyze(topology, wiring)


def _analyze(topology: Topology, wiring: TopologyGraph) -> Analysis:
    """:func:`analyze` with the garbage collector already paused."""
    stages, throughput, latency, cycles = _flow(topology, wiring)
    model = _MemoryModel(topology)
    conns = [model.connection(c) for c in wiring.connections]
    instances: dict[str, Memory] = {}
    for inst, p in wiring.iter_instances():
        instances[inst] = Memory(inst, limit=p.memory_limit)
        instances[inst].instances = 1
    sockets, by_instance = _socket_memory(conns, instances)
    processes, hosts = _process_and_host_memory(topology, wiring, instances)
    _add_shm_segments(topology, hosts)
    return Analysis(
        topology,
        wiring,
        throughput,
        latency,
        stages,
        cycles,
        conns,
        sockets,
        instances,
        processes,
        hosts,
        by_instance,
    )


def _socket_memory(
    conns: list[ConnectionMemory], instances: dict[str, Memory]
) -> tuple[dict[str, Memory], dict[str, list[tuple[str, Memory]]]]:
    """Sum the connection shares per socket instance and add each sum to its process
    instance in ``instances`` (peers outside the topology are left out).

    Returns
    -------
    sockets : dict
        Socket instance id (``p[0].s``) -> its memory.
    by_instance : dict
        Process instance -> its ``(socket instance id, memory)`` pairs.
    """
    by_socket: dict[tuple[str, str], Memory] = {}
    for cm in conns:
        c = cm.connection
        for sock, inst, share in (
            (c.sender_socket, c.sender, cm.sender),
            (c.receiver_socket, c.receiver, cm.receiver),
        ):
            if sock is None:
                continue
            key = (inst, sock.name)
            m = by_socket.get(key)
            if m is None:
                m = by_socket[key] = Memory("")
            m.add(share)
    sockets: dict[str, Memory] = {}
    by_instance: dict[str, list[tuple[str, Memory]]] = defaultdict(list)
    for (inst, name), m in by_socket.items():
        owner = instances.get(inst)
        if owner is None:
            continue
        m.name = f"{inst}.{name}"
        sockets[m.name] = m
        by_instance[inst].append((m.name, m))
        owner.merge(m)
    return sockets, by_instance


def _process_and_host_memory(
    topology: Topology, wiring: TopologyGraph, instances: dict[str, Memory]
) -> tuple[dict[str, Memory], dict[str, Memory]]:
    """The worst instance of each process, and the sum of the instances on each host
    (its limit the sum of theirs, None as soon as one instance declares none)."""
    processes: dict[str, Memory] = {}
    hosts: dict[str, Memory] = {}
    for inst, p in wiring.iter_instances():
        m = instances[inst]
        worst = processes.get(p.name)
        if worst is None or _worse(m, worst):
            processes[p.name] = m
        h = hosts.get(p.host)
        if h is None:
            h = hosts[p.host] = Memory(p.host, limit=0)
        h.merge(m)
        if h.limit is not None:
            h.limit = None if p.memory_limit is None else h.limit + p.memory_limit
    procs = topology.processes
    for name in procs:
        processes.setdefault(name, Memory(name, limit=procs[name].memory_limit))
    return processes, hosts


def _add_shm_segments(topology: Topology, hosts: dict[str, Memory]) -> None:
    """A host running FairMQ shmem sockets holds its session's shared-memory segment, where
    every shmem payload lives (the queues hold descriptors): FairMQ's default size, or
    ``--var shm-segment-size=SIZE``.  One segment per host (one session assumed)."""
    from topolint.lint.units import parse_size

    raw = topology.variables.get("shm-segment-size")
    size = parse_size(raw) if raw is not None else SHM_SEGMENT_DEFAULT
    for p in topology.processes.values():
        h = hosts.get(p.host)
        if h is not None and any(s.transport == "shmem" for s in p.sockets.values()):
            h.shm = size


def _worse(a: Memory, b: Memory) -> bool:
    return (a.unbounded, a.known_bytes) > (b.unbounded, b.known_bytes)


# --------------------------------------------------------------------------------------
# Text


def fmt_bytes(n: int | None) -> str:
    """``1.2 MB``, ``10.0 kB``, ``512 B`` (powers of 1000, like the file's units)."""
    if n is None:
        return "unknown"
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def fmt_rate(r: float | None) -> str:
    """``333.333/s`` (six significant digits, four from a million on); ``unlimited`` for
    None or infinity."""
    if r is None or math.isinf(r):
        return "unlimited"
    return f"{r:.6g}/s" if r < 1e6 else f"{r:.4g}/s"


def fmt_seconds(s: float | None) -> str:
    """``5 ms``, ``20 us``, ``1.5 s``, ``0 s``; ``-`` for None."""
    if s is None:
        return "-"
    if s == 0:
        return "0 s"
    if s < 1e-3:
        return f"{s * 1e6:.4g} us"
    if s < 1:
        return f"{s * 1e3:.4g} ms"
    return f"{s:.4g} s"


def memory_summary(m: Memory) -> str:
    """``1.18 MB (HWM 40.0 kB, batches 80.1 kB, kernel 1.06 MB)``."""
    notes = []
    if m.unbounded:
        head = "unbounded"
        notes.append(f"no HWM at {_ends(m.unbounded)}")
    elif m.unknown:
        head = f"at least {fmt_bytes(m.known_bytes)}"
        notes.append(f"message size unknown at {_ends(m.unknown)}")
    else:
        head = fmt_bytes(m.known_bytes)
    names = {
        "hwm": "HWM",
        "batch": "batches",
        "kernel": "kernel",
        "parked": "parked",
        "shm": "shared-memory segment",
    }
    parts = [f"{names[k]} {fmt_bytes(v)}" for k, v in m.parts.items() if v] + notes
    return f"{head} ({', '.join(parts)})" if parts else head


def _ends(n: int) -> str:
    return f"{n} connection end{'s' if n != 1 else ''}"


def render_text(a: Analysis, max_connections: int = 50) -> str:
    """The human report of ``topolint analyze``.

    Parameters
    ----------
    a : Analysis
        What :func:`analyze` computed.
    max_connections : int
        Rows of the connection table (largest bound first); the rest are counted.
    """
    with _no_gc():
        return _render_text(a, max_connections)


def _render_text(a: Analysis, max_connections: int) -> str:
    """:func:`render_text` with the garbage collector already paused."""
    topo = a.topology
    lines = [f"{topo.name} ({topo.file})", ""]
    lines.append(_throughput_line(a))
    path = " -> ".join(a.latency.critical_path)
    lines.append(f"Latency:    {fmt_seconds(a.latency.seconds)} along {path or '-'} (no queueing)")
    if a.cycles:
        lines.append(
            f"Cycles:     {'; '.join(' <-> '.join(c) for c in a.cycles)} (feedback not counted)"
        )
    lines += ["", "Processes:"]
    lines += _table(_process_rows(a))
    lines += ["", "Connections (worst-case queue):"]
    lines += _connection_lines(a, max_connections)
    lines += ["", "Hosts:"]
    rows: list[tuple[str, ...]] = [("host", "instances", "memory bound", "declared limits")]
    for h, m in a.hosts.items():
        limit = fmt_bytes(m.limit) if m.limit is not None else "-"
        rows.append((h, str(m.instances), memory_summary(m), limit))
    lines += _table(rows)
    return clean_lines(lines)  # names from the file: control characters shown, never written


def _throughput_line(a: Analysis) -> str:
    """``Throughput: 1000/s source messages (one per 1 ms), bottleneck a (...)``."""
    t = a.throughput
    if t.messages_per_second is None:
        return "Throughput: unlimited (no stage on the data path declares service_time)"
    why = ""
    if t.bottleneck and t.kind == "stage":
        s = a.stages[t.bottleneck]
        why = f", bottleneck {t.bottleneck}"
        if s.service_time:
            why += f" ({s.replicas} x 1/{fmt_seconds(s.service_time)} = {fmt_rate(s.capacity)})"
        if len(t.bottlenecks) > 1:
            why += f"; equally loaded: {', '.join(t.bottlenecks[1:])}"
    elif t.bottleneck:
        why = f", limited by the declared source rates ({t.bottleneck} the largest)"
    rate = t.messages_per_second
    every = f" (one per {fmt_seconds(1 / rate)})" if rate else ""
    return f"Throughput: {fmt_rate(rate)} source messages{every}{why}"


def _process_rows(a: Analysis) -> list[tuple[str, ...]]:
    """The process table: header, then one row per process in declaration order."""
    rows: list[tuple[str, ...]] = [
        ("process", "replicas", "service", "capacity", "arrivals", "util", "memory bound", "limit")
    ]
    for name in a.topology.processes:
        s, m = a.stages[name], a.processes[name]
        u = s.utilisation
        rows.append(
            (
                name,
                str(s.replicas),
                fmt_seconds(s.service_time),
                fmt_rate(s.capacity) if not math.isinf(s.capacity) else "-",
                fmt_rate(s.load),
                "-" if u is None else f"{u:.0%}",
                memory_summary(m),
                fmt_bytes(m.limit) if m.limit is not None else "-",
            )
        )
    return rows


def _connection_lines(a: Analysis, max_connections: int) -> list[str]:
    """The connection table, largest bound first, cut after ``max_connections`` rows."""
    ordered = sorted(a.connections, key=lambda cm: (-(cm.bound.bytes or 0), cm.connection.id))
    rows: list[tuple[str, ...]] = [("sender", "receiver", "transport", "messages", "bytes", "how")]
    for cm in ordered[:max_connections]:
        c, b = cm.connection, cm.bound
        msgs = "unbounded" if b.unbounded else ("-" if b.messages is None else str(b.messages))
        rows.append(
            (c.sender_id, c.receiver_id, c.transport, msgs, fmt_bytes(b.bytes), b.explain())
        )
    lines = _table(rows)
    if len(ordered) > max_connections:
        lines.append(f"  ... {len(ordered) - max_connections} more (--format json lists all)")
    return lines


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    rows = [tuple(clean(cell) for cell in r) for r in rows]  # widths of what is printed
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        out.append(
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        )
    return out
