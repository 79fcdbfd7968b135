"""Shared analysis of the join rules: which processes join, and how their branches differ.

**Inputs of a process.** Its receiving data sockets (not ``carries: [end-of-data]``) with at
least one incoming forward connection (resolved or not; replies and type mismatches left
out), or the sockets a declared ``join.inputs`` names. Without ``join.inputs``, request
servers (REP, ROUTER: each request is answered on its own) and CONFLATE sockets (they keep
only the latest message: state read on demand) are side inputs, not join inputs. With two or more such sockets each
socket is one input. With a single socket, its connections are grouped by stream (the
declared message type: the sender's ``sends``, else the receiver's ``receives``); two or
more different types make each type one input. Untyped connections and several producers
of one type (replicas of a stage, or several cameras of one kind) are a fan-in, not a join.

**Branches.** The data-flow graph (``wiring.flow``) is condensed into strongly connected
components and a virtual root is put in front of every source. The fan-out of a join is the
nearest common dominator of the processes feeding its inputs (the virtual root when the
inputs come from independent sources). Because the fan-out dominates every process between
it and the join, any maximum or minimum over the paths from the fan-out to an upstream
process ``u`` equals the same quantity over the paths from the root to ``u`` minus its value
at the fan-out. So one pass in topological order computes, for every component: the longest
and shortest sum of ``service_time`` (latency), the most dropping elements on a path
(``filters: true``, PUB/XPUB without ``nodrop``, ROUTER, CONFLATE), the most non-blocking
connections, the most reordering elements (replicas fed by PUSH/DEALER, sockets receiving
from several producers), the smallest sum of high-water marks (buffering), the sustainable
rate, and the declared source rate. Each join then costs the depth of its dominator-tree
walk, plus its own connections. Witnesses (which element drops, reorders, …) are found by
walking the arg-max predecessors back to the fan-out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import networkx as nx

from topolint.lint.context import Context
from topolint.lint.findings import Path
from topolint.lint.graph import Connection, TopologyGraph
from topolint.lint.model import BLOCKING, LOSSY, Process, Socket, Topology
from topolint.lint.units import format_duration

ROOT = -1
#: Capacity of a connection with a high-water mark of 0 (no limit): absorbs any skew.
UNBOUNDED = 10**15
#: Join policies that hold units until their partners arrive.
MATCHING = frozenset({"key", "order"})
#: Request servers: each request is answered on its own, not paired with another input.
SERVERS = frozenset({"rep", "router"})


# --------------------------------------------------------------------------- inputs


@dataclass
class JoinInput:
    """One input of a join: a socket, or one stream of a socket fed by several streams."""

    label: str  # socket name, or "socket[message]" for a stream of a shared socket
    socket: Socket
    stream: str | None  # the message type when the input is one stream of a socket
    conns: list[Connection]

    @property
    def path(self) -> Path:
        """The receiving socket's element (where findings about the input point)."""
        return self.socket.path

    @property
    def upstream(self) -> list[str]:
        """Processes feeding this input (resolved connections), sorted."""
        return sorted({c.sender_socket.process for c in self.conns if c.sender_socket})

    @property
    def unresolved(self) -> bool:
        """Does a connection of this input come from an endpoint nothing binds?"""
        return any(c.unresolved for c in self.conns)

    @property
    def messages(self) -> list[str | None]:
        """Declared message types arriving here (``None``: an undeclared one)."""
        found = {c.message for c in self.conns} if self.conns else {self.socket.receives}
        return sorted(found, key=lambda m: (m is None, m or ""))

    def merge(self) -> tuple[str, list[str]] | None:
        """A receiving instance fed by several producer instances: (receiver, senders)."""
        by_receiver: dict[str, set[str]] = defaultdict(set)
        for c in self.conns:
            by_receiver[c.receiver].add(c.sender)
        for receiver, senders in sorted(by_receiver.items()):
            if len(senders) > 1:
                return receiver, sorted(senders)
        return None


def _incoming(wiring: TopologyGraph, s: Socket) -> list[Connection]:
    return [c for c in wiring.incoming(s) if not (c.reply or c.mismatch or c.control)]


def _side_input(s: Socket) -> bool:
    """A receiving socket that is not a stream to pair: a request server, or latest-only."""
    return s.type in SERVERS or s.conflate


def join_inputs(wiring: TopologyGraph, p: Process) -> list[JoinInput]:
    """The inputs of ``p`` (see the module docstring); two or more make ``p`` a join."""
    if p.join is not None and p.join.inputs:
        socks = [p.sockets[n] for n in p.join.inputs if n in p.sockets]
        fed = [(s, _incoming(wiring, s)) for s in socks]
    else:
        fed = [(s, _incoming(wiring, s)) for s in p.inputs if not _side_input(s)]
        fed = [(s, cs) for s, cs in fed if cs]
    if len(fed) != 1:
        return [JoinInput(s.name, s, None, cs) for s, cs in fed]
    s, conns = fed[0]
    streams: dict[str | None, list[Connection]] = defaultdict(list)
    for c in conns:
        streams[c.message].append(c)
    typed = sorted(m for m in streams if m is not None)
    if len(typed) < 2:
        return [JoinInput(s.name, s, None, conns)]
    inputs = [JoinInput(f"{s.name}[{m}]", s, m, streams[m]) for m in typed]
    if None in streams:
        inputs.append(JoinInput(f"{s.name}[untyped]", s, None, streams[None]))
    return inputs


# --------------------------------------------------------------------------- connections


def conn_drops(c: Connection) -> bool:
    """May this connection silently lose messages (PUB/XPUB without nodrop, ROUTER, CONFLATE)?"""
    s, r = c.sender_socket, c.receiver_socket
    if s is None or r is None:
        return False
    if s.conflate or r.conflate:
        return True
    return s.type in LOSSY and not (s.type in ("pub", "xpub") and s.nodrop)


def conn_blocks(c: Connection) -> bool:
    """Does the sender wait when this connection is full?"""
    s, r = c.sender_socket, c.receiver_socket
    if s is None or r is None or s.conflate or r.conflate:
        return False
    return s.type in BLOCKING or (s.type in ("pub", "xpub") and s.nodrop)


def conn_capacity(c: Connection) -> int:
    """Messages the connection's pipes hold (SNDHWM + RCVHWM; HWM 0 = unbounded)."""
    s, r = c.sender_socket, c.receiver_socket
    if s is None or r is None or s.sndhwm == 0 or r.rcvhwm == 0:
        return UNBOUNDED
    return s.sndhwm + r.rcvhwm


def describe_drop(c: Connection) -> str:
    """How ``c`` loses messages (see :func:`conn_drops`), for a finding's message."""
    s, r = c.sender_socket, c.receiver_socket
    assert s is not None and r is not None
    if s.conflate or r.conflate:
        side = s.id if s.conflate else r.id
        return f"CONFLATE on {side} keeps only the latest of {c.sender_id} -> {c.receiver_id}"
    if s.type == "router":
        return f"ROUTER socket {s.id} drops messages for a peer whose queue is full"
    return (
        f"{s.type.upper()} socket {s.id}, without nodrop, drops messages for {c.receiver_id} "
        "when its queue is full"
    )


def describe_nonblocking(c: Connection) -> str:
    """Why the sender of ``c`` does not wait when ``c`` is full (see :func:`conn_blocks`)."""
    s = c.sender_socket
    assert s is not None
    if s.conflate or (c.receiver_socket is not None and c.receiver_socket.conflate):
        return f"CONFLATE on {c.sender_id} -> {c.receiver_id}"
    return f"{s.type.upper()} socket {s.id} (drops instead of waiting)"


def fmt_rate(r: float) -> str:
    """``1000/s`` (four significant digits)."""
    return f"{r:.4g}/s"


def fmt_time(t: float) -> str:
    """``20 ms``: seconds as the topology format writes durations."""
    return format_duration(t)


# --------------------------------------------------------------------------- the flow


@dataclass
class Witness:
    """An element that explains a branch property: what, and where in the document."""

    text: str
    path: Path


class _Edge:
    """Connections from one component (or process) to another, and what they imply."""

    __slots__ = ("capacity", "conns", "drop", "nonblocking")

    def __init__(self, conns: list[Connection]) -> None:
        self.conns = conns
        self.drop = next((c for c in conns if conn_drops(c)), None)
        self.nonblocking = next((c for c in conns if not conn_blocks(c)), None)
        self.capacity = min(UNBOUNDED, sum(conn_capacity(c) for c in conns))


class Flow:
    """Dominators and per-component path aggregates of the data-flow graph (see module doc)."""

    def __init__(self, topo: Topology, wiring: TopologyGraph) -> None:
        self.topo = topo
        self.wiring = wiring
        flow = wiring.flow
        self.members: list[list[str]] = []
        self.comp: dict[str, int] = {}
        for i, scc in enumerate(nx.strongly_connected_components(flow)):
            self.members.append(sorted(scc))
            for n in scc:
                self.comp[n] = i
        n = len(self.members)
        self.looped = [len(m) > 1 or flow.has_edge(m[0], m[0]) for m in self.members]
        raw: list[dict[int, list[Connection]]] = [{} for _ in range(n)]
        succs: list[set[int]] = [set() for _ in range(n)]
        for u, v, data in flow.edges(data=True):
            a, b = self.comp[u], self.comp[v]
            if a != b:
                raw[b].setdefault(a, []).extend(data["conns"])
                succs[a].add(b)
        self.preds: list[dict[int, _Edge]] = [{a: _Edge(cs) for a, cs in r.items()} for r in raw]
        self._memo: dict[str, dict[int, Witness | None]] = defaultdict(dict)
        # Kahn's topological order of the condensation
        indeg = [len(self.preds[i]) for i in range(n)]
        order = [i for i in range(n) if indeg[i] == 0]
        for a in order:
            for b in succs[a]:
                indeg[b] -= 1
                if indeg[b] == 0:
                    order.append(b)
        self.order = order
        self._dominators()
        self._aggregates()

    # -- node properties
    def _procs(self, a: int) -> list[Process]:
        return [self.topo.processes[m] for m in self.members[a]]

    def name(self, a: int) -> str:
        """Component ``a``'s name: its process, or ``{a, b}`` for a cycle."""
        m = self.members[a]
        return m[0] if len(m) == 1 else "{" + ", ".join(m) + "}"

    def _dominators(self) -> None:
        """Immediate dominators of the condensation, in one pass in topological order.

        In a DAG the immediate dominator of a component is the nearest common dominator of
        its predecessors, all of which come earlier in the order. Binary lifting keeps each
        nearest-common-dominator query at O(log n), so ladders of reconvergent paths do not
        turn the pass quadratic.
        """
        levels = max(1, len(self.members).bit_length())
        self.idom: dict[int, int] = {ROOT: ROOT}
        self.depth: dict[int, int] = {ROOT: 0}
        self._up: list[dict[int, int]] = [{ROOT: ROOT} for _ in range(levels)]
        for a in self.order:
            preds = iter(self.preds[a])
            d = next(preds, ROOT)
            for p in preds:
                d = self.lca(d, p)
            self.idom[a] = d
            self.depth[a] = self.depth[d] + 1
            up = self._up
            up[0][a] = d
            for k in range(1, levels):
                up[k][a] = up[k - 1][up[k - 1][a]]

    def lca(self, a: int, b: int) -> int:
        """Nearest common dominator of components ``a`` and ``b`` (``ROOT`` if none)."""
        depth, up = self.depth, self._up
        if depth[a] < depth[b]:
            a, b = b, a
        diff = depth[a] - depth[b]
        k = 0
        while diff:
            if diff & 1:
                a = up[k][a]
            diff >>= 1
            k += 1
        if a == b:
            return a
        for k in range(len(up) - 1, -1, -1):
            if up[k][a] != up[k][b]:
                a, b = up[k][a], up[k][b]
        return up[0][a]

    def _aggregates(self) -> None:
        n = len(self.members)
        self.service = [sum(p.service_time or 0.0 for p in self._procs(a)) for a in range(n)]
        self.capacity = [
            min(
                (p.replicas / p.service_time for p in self._procs(a) if p.service_time),
                default=math.inf,
            )
            for a in range(n)
        ]
        self.filter: list[Process | None] = [
            next((p for p in self._procs(a) if p.filters), None) for a in range(n)
        ]
        self.reorder: list[Witness | None] = [self._reorder_at(a) for a in range(n)]
        self.lmax = [0.0] * n
        self.lmin = [0.0] * n
        self.drops = [0] * n
        self.drops_via: list[int | None] = [None] * n
        self.nonblocking = [0] * n
        self.nonblocking_via: list[int | None] = [None] * n
        self.reorders = [0] * n
        self.reorders_via: list[int | None] = [None] * n
        self.buffer = [0] * n
        self.rate = [math.inf] * n
        self.src_rate: list[float | None] = [None] * n
        for a in self.order:
            preds = self.preds[a]
            if not preds:
                self.lmax[a] = self.lmin[a] = self.service[a]
                self.drops[a] = int(self.filter[a] is not None)
                self.reorders[a] = int(self.reorder[a] is not None)
                declared = [_source_rate(p) for p in self._procs(a)]
                known = [r for r in declared if r is not None]
                self.src_rate[a] = sum(known) if known and len(known) == len(declared) else None
                self.rate[a] = min(self.capacity[a], sum(known) if self.src_rate[a] else math.inf)
                continue
            self.lmax[a] = self.service[a] + max(self.lmax[p] for p in preds)
            self.lmin[a] = self.service[a] + min(self.lmin[p] for p in preds)
            self.drops_via[a], best = _argmax(
                preds, lambda p, e: self.drops[p] + (e.drop is not None)
            )
            self.drops[a] = best + (self.filter[a] is not None)
            self.nonblocking_via[a], best = _argmax(
                preds, lambda p, e: self.nonblocking[p] + (e.nonblocking is not None)
            )
            self.nonblocking[a] = best
            self.reorders_via[a], best = _argmax(preds, lambda p, e: self.reorders[p])
            self.reorders[a] = best + (self.reorder[a] is not None)
            self.buffer[a] = min(self.buffer[p] + e.capacity for p, e in preds.items())
            self.rate[a] = min(self.capacity[a], sum(self.rate[p] for p in preds))
            d = self.idom[a]
            if d != ROOT:
                self.src_rate[a] = self.src_rate[d]
            else:
                rates = [self.src_rate[p] for p in preds]
                self.src_rate[a] = (
                    None
                    if any(r is None for r in rates)
                    else sum(r for r in rates if r is not None)
                )

    def _reorder_at(self, a: int) -> Witness | None:
        """Replicas load-balanced by PUSH/DEALER, or a socket fed by several producers."""
        w = self.wiring
        for p in self._procs(a):
            for s in p.inputs:
                conns = _incoming(w, s)
                found = _replicas_witness(p, conns)
                if found:
                    return found
                merged = JoinInput(s.name, s, None, conns).merge()
                if merged:
                    receiver, senders = merged
                    producers = {
                        c.sender_socket.process
                        for c in conns
                        if c.receiver == receiver and c.sender_socket is not None
                    }
                    if len(producers) == 1:  # replicas of one stage: name the stage
                        q = self.topo.processes[producers.pop()]
                        found = _replicas_witness(q, _inputs_of(w, q))
                        if found:
                            return found
                    return Witness(
                        f"{receiver}.{s.name} merges {len(senders)} producers "
                        f"({_few(senders)}) in arrival order",
                        s.path,
                    )
        return None

    # -- witnesses: the first element on the arg-max chain back from a component.  When the
    # count at ``a`` exceeds the count at the fan-out, that element lies between the two
    # (the chain is a maximum path and passes through the dominating fan-out).  Memoised per
    # component, so all witnesses together cost linear time.
    def _first(
        self,
        kind: str,
        a: int,
        via: list[int | None],
        node: Callable[[int], Witness | None],
        edge: Callable[[_Edge], Witness | None],
    ) -> Witness | None:
        memo = self._memo[kind]
        chain = []
        x = a
        found: Witness | None = None
        while True:
            if x in memo:
                found = memo[x]
                break
            chain.append(x)
            found = node(x)
            if found:
                break
            p = via[x]
            if p is None:
                break
            found = edge(self.preds[x][p])
            if found:
                break
            x = p
        for y in chain:
            memo[y] = found
        return found

    def drop_witness(self, a: int) -> Witness | None:
        """The first dropping element (a ``filters: true`` process or a lossy connection) on
        the path of most drops back from component ``a``, or None."""

        def node(x: int) -> Witness | None:
            p = self.filter[x]
            return Witness(f"{p.name} declares filters: true", (*p.path, "filters")) if p else None

        def edge(e: _Edge) -> Witness | None:
            return Witness(describe_drop(e.drop), e.drop.path) if e.drop else None

        return self._first("drop", a, self.drops_via, node, edge)

    def nonblocking_witness(self, a: int) -> Witness | None:
        """The first connection that drops instead of blocking on the path of most such
        connections back from component ``a``, or None."""

        def edge(e: _Edge) -> Witness | None:
            c = e.nonblocking
            return Witness(describe_nonblocking(c), c.path) if c else None

        return self._first("nonblocking", a, self.nonblocking_via, lambda x: None, edge)

    def reorder_witness(self, a: int) -> Witness | None:
        """The first reordering element (replicas fed round-robin, a socket merging several
        producers) on the path of most reorderings back from component ``a``, or None."""
        return self._first(
            "reorder", a, self.reorders_via, lambda x: self.reorder[x], lambda e: None
        )


def _inputs_of(w: TopologyGraph, p: Process) -> list[Connection]:
    return [c for s in p.inputs for c in _incoming(w, s)]


def _replicas_witness(p: Process, conns: list[Connection]) -> Witness | None:
    if p.replicas < 2:
        return None
    lb = sorted(
        {
            c.sender_id
            for c in conns
            if c.sender_socket is not None and c.sender_socket.type in ("push", "dealer")
        }
    )
    if not lb:
        return None
    return Witness(
        f"{p.name} runs {p.replicas} replicas load-balanced by {', '.join(lb)}, "
        "which finish in any order",
        p.path,
    )


def _argmax(preds: dict[int, _Edge], value: Callable[[int, _Edge], int]) -> tuple[int, int]:
    best_p, best = -2, -1
    for p, e in preds.items():
        v = value(p, e)
        if v > best:
            best_p, best = p, v
    return best_p, best


def _source_rate(p: Process) -> float | None:
    if p.rate:
        return p.rate
    if p.period:
        return 1.0 / p.period
    return None


def _few(items: list[str], limit: int = 3) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


# --------------------------------------------------------------------------- per join


@dataclass
class Branch:
    """What one input of a join sees on its way from the fan-out."""

    input: JoinInput
    known: bool  # False: an unresolved or unconnected input, numbers unknown
    lat_max: float = 0.0
    lat_min: float = 0.0
    drop: Witness | None = None
    nonblocking: Witness | None = None
    reorder: Witness | None = None
    buffer: int = 0
    rate: float = math.inf
    src_rate: float | None = None


@dataclass
class Join:
    """A join process, its inputs, the fan-out where they separate, and its branches."""

    process: Process
    inputs: list[JoinInput]
    flow: Flow
    fanout: int = ROOT  # component id of the common fan-out; ROOT: independent sources
    cyclic: bool = False
    branches: list[Branch] = field(default_factory=list)

    @property
    def policy(self) -> str | None:
        """The join's ``match`` (``key``, ``order``, ``latest``, ``any``); None without a
        ``join:`` declaration."""
        return self.process.join.match if self.process.join else None

    @property
    def fanout_name(self) -> str | None:
        """The process (or cycle) where the inputs separate; None for independent sources."""
        return None if self.fanout == ROOT else self.flow.name(self.fanout)

    @property
    def rate(self) -> float:
        """Units per second the join sees (the slowest input, capped by its own capacity)."""
        known = [b.rate for b in self.branches if b.known]
        c = self.flow.comp[self.process.name]
        return min([self.flow.capacity[c], *known]) if known else math.inf

    def skew(self) -> tuple[float, Branch, Branch] | None:
        """Largest latency lead of one branch over another: (seconds, long, short)."""
        known = [b for b in self.branches if b.known]
        best: tuple[float, Branch, Branch] | None = None
        for long in known:
            for short in known:
                if long is short:
                    continue
                d = long.lat_max - short.lat_min
                if best is None or d > best[0]:
                    best = (d, long, short)
        return best

    def from_where(self) -> str:
        """``from the fan-out at X`` or ``from their independent sources``, for messages."""
        f = self.fanout_name
        return f"from the fan-out at {f}" if f else "from their independent sources"


def _branch(flow: Flow, j: Join, inp: JoinInput) -> Branch:
    by_up: dict[int, list[Connection]] = defaultdict(list)
    for c in inp.conns:
        if c.sender_socket is not None and not c.unresolved:
            by_up[flow.comp[c.sender_socket.process]].append(c)
    if j.cyclic or inp.unresolved or not by_up:
        return Branch(inp, known=False)
    f = j.fanout
    base = (
        (
            flow.lmax[f],
            flow.lmin[f],
            flow.drops[f],
            flow.nonblocking[f],
            flow.reorders[f],
            flow.buffer[f],
        )
        if f != ROOT
        else (0.0, 0.0, 0, 0, 0, 0)
    )
    b = Branch(inp, known=True)
    b.lat_max = max(flow.lmax[u] for u in by_up) - base[0]
    b.lat_min = min(flow.lmin[u] for u in by_up) - base[1]
    edges = {u: _Edge(cs) for u, cs in sorted(by_up.items())}
    b.buffer = min(flow.buffer[u] + e.capacity for u, e in edges.items()) - base[5]
    b.rate = sum(flow.rate[u] for u in by_up)
    rates = [flow.src_rate[u] for u in by_up]
    b.src_rate = None if any(r is None for r in rates) else sum(r for r in rates if r is not None)
    for u, e in edges.items():
        if b.drop is None:
            if e.drop is not None:
                b.drop = Witness(describe_drop(e.drop), e.drop.path)
            elif flow.drops[u] > base[2]:
                b.drop = flow.drop_witness(u)
        if b.nonblocking is None:
            if e.nonblocking is not None:
                b.nonblocking = Witness(describe_nonblocking(e.nonblocking), e.nonblocking.path)
            elif flow.nonblocking[u] > base[3]:
                b.nonblocking = flow.nonblocking_witness(u)
        if b.reorder is None and flow.reorders[u] > base[4]:
            b.reorder = flow.reorder_witness(u)
    if b.reorder is None:
        merged = inp.merge()
        if merged:
            receiver, senders = merged
            b.reorder = Witness(
                f"input {inp.label} of {receiver} merges {len(senders)} producers "
                f"({_few(senders)}) in arrival order",
                inp.path,
            )
    return b


def _build(ctx: Context) -> list[Join]:
    flow = Flow(ctx.topology, ctx.wiring)
    joins = []
    for p in ctx.topology.processes.values():
        inputs = join_inputs(ctx.wiring, p)
        if len(inputs) < 2:
            continue
        j = Join(p, inputs, flow)
        me = flow.comp[p.name]
        ups = {flow.comp[u] for i in inputs for u in i.upstream}
        j.cyclic = flow.looped[me] or me in ups
        if not j.cyclic and ups and not any(i.unresolved or not i.upstream for i in inputs):
            it = iter(ups)
            f = next(it)
            for u in it:
                f = flow.lca(f, u)
            j.fanout = f
        j.branches = [_branch(flow, j, i) for i in inputs]
        joins.append(j)
    return joins


def joins(ctx: Context) -> list[Join]:
    """Every join of the topology (computed once per run, shared by the join rules)."""
    return ctx.memo("joins", lambda: _build(ctx))


def labels(items: Iterable[JoinInput]) -> str:
    """``a, b[image]``: the labels of join inputs."""
    return ", ".join(i.label for i in items)


def sources_of(i: JoinInput) -> str:
    """Who feeds an input, for messages: ``worker (3 instances)``, ``?tcp://x:1``."""
    parts = []
    for name in i.upstream:
        n = len({c.sender for c in i.conns if c.sender_socket and c.sender_socket.process == name})
        parts.append(f"{name} ({n} instances)" if n > 1 else name)
    parts += sorted({c.sender for c in i.conns if c.unresolved})
    return _few(parts) if parts else "nothing connected"
