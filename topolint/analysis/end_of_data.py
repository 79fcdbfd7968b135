"""The end-of-data model shared by the TL6 rules, computed once per wiring.

* :func:`eod_sockets` — the sockets a process sends end-of-data on.
* :class:`EodModel` — the connections that carry end-of-data, the producers of each process
  (process level and per instance) and one propagation of end-of-data from the processes
  that emit it, in topological order (Kahn's algorithm; strongly connected components only
  when there is a cycle).  Where propagation stops, the stopping process gets a bit; the
  bits are OR-ed downstream, so each sink knows every stop that keeps it from ending.  Cost:
  one pass over the connections plus, per edge, an OR of masks (stops / 64 machine words).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

from topolint.lint.context import Context
from topolint.lint.findings import Path
from topolint.lint.graph import Connection, TopologyGraph
from topolint.lint.model import Process, Socket, Topology

EOD = "end-of-data"
#: Actions that send end-of-data on.
PASSES = frozenset({"emit", "forward"})
#: Actions that wait for end-of-data from upstream.
WAITS = frozenset({"forward", "consume"})
#: Socket types that hand each message to one peer only (round-robin).
LOAD_BALANCING = frozenset({"push", "dealer", "req"})
#: Publisher start-up synchronisation that proves the subscribers are there.
PROPER_SYNC = frozenset({"handshake", "subscription-events", "welcome"})

# Stop kinds (why end-of-data does not get past a process).
SOURCE = "source"  # a process with no producers that does not emit
BLOCKS = "blocks"  # consume / none / undeclared with processes downstream
ROUTE = "route"  # passes end-of-data on, but not on the sockets that reach a consumer
OVERCOUNT = "overcount"  # waits for more signals than its producers can send
CYCLE = "cycle"  # a cycle no end-of-data enters


def action(p: Process) -> str:
    """The end-of-data action; undeclared is ``none``."""
    return p.end_of_data.action if p.end_of_data is not None else "none"


def declaration(p: Process) -> str:
    """What ``p`` declares, as a message says it."""
    if p.end_of_data is None:
        return "declares no end_of_data"
    return f"declares end_of_data: {p.end_of_data.action}"


def eod_path(p: Process) -> Path:
    """Where a finding about ``p``'s end-of-data declaration points."""
    return p.end_of_data.path if p.end_of_data is not None else p.path


def wait_path(topology: Topology, p: Process) -> Path:
    """The ``wait_for`` key when written, else the ``end_of_data`` declaration."""
    eod = p.end_of_data
    if eod is None:
        return p.path
    key = (*eod.path, "wait_for")
    return key if key in topology.document.key_pos else eod.path


def finite(topo: Topology) -> bool:
    """End-of-data rules apply (``runs: finite``, the default)."""
    return topo.runs != "continuous"


def eod_sockets(p: Process) -> list[Socket]:
    """The sockets on which ``p`` sends end-of-data.

    Those declaring ``carries: [end-of-data]`` (or ``[data, end-of-data]``) if there are any;
    otherwise every data output that does not declare ``carries: [data]``.
    """
    sending = [s for s in p.sockets.values() if s.can_send]
    explicit = [s for s in sending if EOD in s.carries]
    if explicit:
        return explicit
    return [s for s in sending if not s.is_control and "carries" not in s.declared]


def names(items: list[str], limit: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, d, e and 7 more``."""
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def chain(nodes: list[str], limit: int = 8) -> str:
    """``a → b → c``, eliding the middle of long paths."""
    if len(nodes) > limit:
        nodes = [*nodes[: limit // 2], "…", *nodes[-(limit // 2) :]]
    return " → ".join(nodes)


@dataclass(eq=False)
class EodModel:
    """How end-of-data travels through one wired topology."""

    topology: Topology
    wiring: TopologyGraph
    #: process -> the sockets it sends end-of-data on
    out_sockets: dict[str, list[Socket]] = field(default_factory=dict)
    #: forward connections whose sending socket carries end-of-data
    conns: list[Connection] = field(default_factory=list)
    #: process -> consumer process -> its end-of-data connections
    succ: dict[str, dict[str, list[Connection]]] = field(default_factory=dict)
    #: process -> processes it gets data or end-of-data from (no self loops)
    producers: dict[str, list[str]] = field(default_factory=dict)
    #: process -> processes it sends data or end-of-data to (no self loops)
    consumers: dict[str, list[str]] = field(default_factory=dict)
    #: receiving instance -> sending instances of end-of-data connections into it
    senders_of: dict[str, set[str]] = field(default_factory=dict)
    #: processes end-of-data reaches from every producer it waits for
    reached: set[str] = field(default_factory=set)
    #: process -> a producer that delivered end-of-data to it (None for origins and where
    #: none did); set for processes reached only in part too
    parent: dict[str, str | None] = field(default_factory=dict)
    #: process -> bitmask of the stops upstream that keep end-of-data from it
    mask: dict[str, int] = field(default_factory=dict)
    #: bit index -> stopping process; and the reverse
    stops: list[str] = field(default_factory=list)
    bit: dict[str, int] = field(default_factory=dict)
    #: stopping process -> kind (SOURCE, BLOCKS, ROUTE, OVERCOUNT, CYCLE)
    kind: dict[str, str] = field(default_factory=dict)
    overcount: set[str] = field(default_factory=set)
    #: CYCLE stop -> the members of its cycle
    cycles: dict[str, list[str]] = field(default_factory=dict)

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def of(cls, topology: Topology, wiring: TopologyGraph) -> EodModel:
        """The model of ``topology`` wired as ``wiring``: its end-of-data connections, then
        one propagation from the processes that emit."""
        m = cls(topology, wiring)
        m._wire()
        m._propagate()
        return m

    def _wire(self) -> None:
        procs = self.topology.processes
        out_ids: set[tuple[str, str]] = set()
        for name, p in procs.items():
            socks = eod_sockets(p)
            self.out_sockets[name] = socks
            out_ids.update((s.process, s.name) for s in socks)
        prod: dict[str, dict[str, None]] = {n: {} for n in procs}
        cons: dict[str, dict[str, None]] = {n: {} for n in procs}
        succ: dict[str, dict[str, list[Connection]]] = defaultdict(dict)
        senders: dict[str, set[str]] = defaultdict(set)
        for c in self.wiring.connections:
            if c.reply or c.mismatch or c.unresolved:
                continue
            ss, rs = c.sender_socket, c.receiver_socket
            if ss is None or rs is None or (ss.process, ss.name) not in out_ids:
                continue
            self.conns.append(c)
            senders[c.receiver].add(c.sender)
            if ss.process != rs.process:
                succ[ss.process].setdefault(rs.process, []).append(c)
                prod[rs.process][ss.process] = None
                cons[ss.process][rs.process] = None
        for u, v in self.wiring.flow.edges:
            if u != v:
                prod[v][u] = None
                cons[u][v] = None
        self.succ = dict(succ)
        self.senders_of = dict(senders)
        self.producers = {n: list(d) for n, d in prod.items()}
        self.consumers = {n: list(d) for n, d in cons.items()}

    # -- queries --------------------------------------------------------------------------

    def process_of(self, instance: str) -> str:
        """The process of an instance (a node of ``wiring.g``: ``worker[0]`` -> ``worker``)."""
        return str(self.wiring.g.nodes[instance]["process"])

    def instance_producers(self, p: Process) -> dict[str, set[str]]:
        """Instance of ``p`` -> the instances that send it end-of-data (replicas, fan-in)."""
        return {i: self.senders_of.get(i, set()) for i in p.instances()}

    def delivers(self, u: str, v: str) -> bool:
        """Does ``u`` send end-of-data to ``v`` once it has it all?"""
        return (
            u in self.reached
            and action(self.topology.processes[u]) in PASSES
            and v in self.succ.get(u, {})
        )

    def stops_for(self, u: str, v: str) -> bool:
        """Does end-of-data stop at ``u`` on its way to consumer ``v``, whatever reaches ``u``?"""
        if u in self.overcount or u in self.cycles:
            return True
        act = action(self.topology.processes[u])
        if act not in PASSES:
            return True
        if act != "emit" and not self.producers[u]:
            return True  # a source that forwards: nothing to forward
        return v not in self.succ.get(u, {})

    def contribution(self, u: str, v: str) -> int:
        """The stops (bitmask) on ``u``'s side that keep end-of-data from ``v``."""
        if self.delivers(u, v):
            return 0
        own = self._bit(u) if self.stops_for(u, v) else 0
        return own | self.mask.get(u, 0)

    def _bit(self, u: str) -> int:
        b = self.bit.get(u)
        if b is None:
            b = self.bit[u] = len(self.stops)
            self.stops.append(u)
            self.kind[u] = self._kind(u)
        return 1 << b

    def _kind(self, u: str) -> str:
        if u in self.cycles:
            return CYCLE
        if u in self.overcount:
            return OVERCOUNT
        act = action(self.topology.processes[u])
        if not self.producers[u] and act != "emit":
            return SOURCE
        if act not in PASSES:
            return BLOCKS
        return ROUTE

    # -- propagation ----------------------------------------------------------------------

    def _propagate(self) -> None:
        order = self._topological_order()
        if order is not None:  # no cycle: the common case, no graph to build
            for v in order:
                self._visit(v)
            return
        h = nx.DiGraph()
        h.add_nodes_from(self.producers)
        h.add_edges_from((u, v) for v, us in self.producers.items() for u in us)
        cond = nx.condensation(h)
        for cid in nx.topological_sort(cond):
            members = cond.nodes[cid]["members"]
            if len(members) == 1:
                self._visit(next(iter(members)))
            else:
                self._visit_cycle(members)

    def _topological_order(self) -> list[str] | None:
        """Kahn's algorithm over producers -> consumers; None if there is a cycle."""
        indegree = {v: len(us) for v, us in self.producers.items()}
        order = [v for v, d in indegree.items() if d == 0]
        for v in order:  # grows while iterating
            for w in self.consumers[v]:
                indegree[w] -= 1
                if indegree[w] == 0:
                    order.append(w)
        return order if len(order) == len(indegree) else None

    def _visit(self, v: str) -> None:
        p = self.topology.processes[v]
        act = action(p)
        prods = self.producers[v]
        if act == "emit":
            self.reached.add(v)
            self.parent[v] = None
            return
        if not prods:
            return  # a source that does not emit: a stop for its consumers
        eod = p.end_of_data
        wait = eod.wait_for if eod is not None and act in WAITS else "all"
        if isinstance(wait, int):
            per_instance = self.instance_producers(p)
            if any(len(s) < wait for s in per_instance.values()):
                self.overcount.add(v)
                self.mask[v] = self._bit(v) | self._or(prods, v)
                return
            ok = all(
                sum(1 for s in senders if self.delivers(self.process_of(s), v)) >= wait
                for senders in per_instance.values()
            )
        elif wait == "any":
            ok = any(self.delivers(u, v) for u in prods)
        else:
            ok = all(self.delivers(u, v) for u in prods)
        # a producer that delivered (for the path in messages), even if not all did
        self.parent[v] = next((u for u in prods if self.delivers(u, v)), None)
        if ok:
            self.reached.add(v)
        else:
            self.mask[v] = self._or(prods, v)

    def _or(self, prods: list[str], v: str) -> int:
        m = 0
        for u in prods:
            m |= self.contribution(u, v)
        return m

    def _visit_cycle(self, members: set[str]) -> None:
        """A strongly connected group: end-of-data enters from outside (all external
        producers must deliver) or from a member that emits, then spreads inside."""
        procs = self.topology.processes
        ext: dict[str, list[str]] = {
            v: [u for u in self.producers[v] if u not in members] for v in members
        }
        outside = 0
        for v in members:
            for u in ext[v]:
                outside |= self.contribution(u, v)
        fed = outside == 0 and any(ext.values())
        frontier = []
        for v in sorted(members):
            if action(procs[v]) == "emit":
                self.parent[v] = None
            elif fed and ext[v]:
                self.parent[v] = ext[v][0]
            else:
                continue
            self.reached.add(v)
            frontier.append(v)
        while frontier:
            w = frontier.pop()
            if action(procs[w]) not in PASSES:
                continue
            for x in self.succ.get(w, {}):
                if x in members and x not in self.reached:
                    self.reached.add(x)
                    self.parent[x] = w
                    frontier.append(x)
        unreached = [v for v in members if v not in self.reached]
        if not unreached:
            return
        m = outside
        for x in unreached:
            for u in self.producers[x]:
                if u in members and u in self.reached and self.stops_for(u, x):
                    m |= self._bit(u)
        if m == 0:  # nothing enters the cycle
            first = min(members)
            self.cycles[first] = sorted(members)
            m = self._bit(first)
        for x in unreached:
            self.mask[x] = m

    # -- reporting helpers ----------------------------------------------------------------

    def origin_path(self, u: str) -> list[str]:
        """A path from a process that emits end-of-data to ``u`` (``[u]`` if none reaches it)."""
        path = [u]
        seen = {u}
        cur = self.parent.get(u)
        while cur is not None and cur not in seen:
            path.append(cur)
            seen.add(cur)
            cur = self.parent.get(cur)
        return path[::-1]

    def path_to(self, u: str, sink: str) -> list[str]:
        """A path from stop ``u`` to ``sink`` along which ``u``'s bit travelled."""
        b = 1 << self.bit[u]
        path = [sink]
        seen = {sink}
        cur = sink
        while cur != u:
            nxt = None
            for w in self.producers[cur]:
                if w in seen or not self.contribution(w, cur) & b:
                    continue
                if w == u:
                    nxt = w
                    break
                if nxt is None:
                    nxt = w
            if nxt is None:
                return [u, "…", sink] if u != sink else [sink]
            path.append(nxt)
            seen.add(nxt)
            cur = nxt
        return path[::-1]

    def ending_sinks(self) -> list[str]:
        """Sinks the run waits for: a ``lifecycle: persistent`` service (a monitor, a
        conditions server reused across runs) is not expected to end."""
        procs = self.topology.processes
        return [s for s in self.wiring.sinks() if procs[s].lifecycle != "persistent"]

    def blocked_sinks(self) -> dict[str, list[str]]:
        """Stopping process -> the sinks it keeps from ending (sinks in document order)."""
        out: dict[str, list[str]] = defaultdict(list)
        for s in self.ending_sinks():
            m = self.mask.get(s, 0)
            if s in self.reached or not m:
                continue
            bits = bin(m)[:1:-1]
            for i, ch in enumerate(bits):
                if ch == "1":
                    out[self.stops[i]].append(s)
        return dict(out)


def model(ctx: Context) -> EodModel:
    """The end-of-data model of this run (built once, shared by the end-of-data rules)."""
    return ctx.memo("eod", lambda: EodModel.of(ctx.topology, ctx.wiring))
