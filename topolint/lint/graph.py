"""Wiring: where sockets meet.  The one place that knows how endpoints resolve.

:func:`build_graph` turns a :class:`~topolint.lint.model.Topology` into a
:class:`TopologyGraph` whose ``g`` is a :class:`networkx.MultiDiGraph`:

* nodes are process instances (``camera``, or ``worker[0]``, ``worker[1]`` … for
  replicas; attribute ``kind="process"``) and unresolved peers (``kind="unresolved"``,
  id ``?<endpoint>``);
* each edge is one direction of one connection, from the sending instance to the
  receiving instance, with attribute ``conn`` (a :class:`Connection`).  Bidirectional
  pairs (REQ/REP, DEALER/ROUTER, PAIR) have two edges; the reply direction has
  ``conn.reply = True``.

Resolution follows SPEC §1 "Wiring": logical references ``process.socket``; ``tcp://HOST:PORT``
meets a bind on the same port by a process on HOST (or a bind naming HOST); ``*`` and
``0.0.0.0`` bind every interface of the binder's host; ``localhost``/``127.0.0.1`` resolve
on the connector's own host; ``ipc://PATH`` meets the same path on the same host;
``inproc://NAME`` only inside one process.  Replicas multiply connections.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx

from topolint.lint.findings import Path
from topolint.lint.model import COMPATIBLE, Endpoint, Process, Socket, Topology
from topolint.lint.sockets import ONE_WAY_CAPABLE

#: Replicas multiply: two processes of 100,000 replicas wired all-to-all are 10^10
#: connections.  Past these sizes (several times a 30,000-process job) the wiring is refused
#: as an input error pointing at the cause, instead of exhausting memory.
MAX_INSTANCES = 200_000
MAX_CONNECTIONS = 500_000

LOOPBACK = {"localhost", "127.0.0.1", "::1", "ip6-localhost"}
WILDCARD = {"*", "0.0.0.0", "::", ""}
#: (sender type, receiver type) pairs along which data flows; both orders for symmetric pairs.
FLOWS = {
    ("push", "pull"),
    ("pub", "sub"),
    ("pub", "xsub"),
    ("xpub", "sub"),
    ("xpub", "xsub"),
    ("req", "rep"),
    ("req", "router"),
    ("dealer", "rep"),
    ("dealer", "router"),
    ("dealer", "dealer"),
    ("router", "router"),
    ("pair", "pair"),
}
#: Pairs that also carry data back (replies).
BIDIRECTIONAL = {
    frozenset({"req", "rep"}),
    frozenset({"req", "router"}),
    frozenset({"dealer", "rep"}),
    frozenset({"dealer", "router"}),
    frozenset({"dealer"}),
    frozenset({"router"}),
    frozenset({"pair"}),
}


@dataclass(eq=False)
class Connection:
    """One direction of one connection between two socket instances."""

    id: int
    sender: str  # instance id, e.g. "camera" or "worker[1]"
    receiver: str
    sender_socket: Socket | None  # None for an unresolved peer
    receiver_socket: Socket | None
    transport: str
    endpoint: Endpoint  # the connecting endpoint (where a finding about the wire points)
    bind_endpoint: Endpoint | None = None
    reply: bool = False
    mismatch: bool = False
    unresolved: bool = False

    @property
    def sender_id(self) -> str:
        """The sending socket instance, ``instance.socket`` (``worker[1].out``); the peer's node
        id (``?tcp://…``) when unresolved.
        """
        return f"{self.sender}.{self.sender_socket.name}" if self.sender_socket else self.sender

    @property
    def receiver_id(self) -> str:
        """The receiving socket instance, ``instance.socket``; the peer's node id when unresolved."""
        return (
            f"{self.receiver}.{self.receiver_socket.name}"
            if self.receiver_socket
            else self.receiver
        )

    @property
    def path(self) -> Path:
        """The element a finding about this connection points at: the connecting endpoint."""
        return self.endpoint.path

    @property
    def message(self) -> str | None:
        """The message type on the wire: what the sender declares it sends, else what the
        receiver declares it receives (``None``: neither says).
        """
        s = self.sender_socket.sends if self.sender_socket else None
        r = self.receiver_socket.receives if self.receiver_socket else None
        return s or r

    @property
    def control(self) -> bool:
        """Carries only end-of-data (a dedicated control socket on either side)."""
        s, r = self.sender_socket, self.receiver_socket  # hot: no generator here
        return (s is not None and "data" not in s.carries) or (
            r is not None and "data" not in r.carries
        )

    @property
    def data(self) -> bool:
        """A resolved, well-typed, forward data connection."""
        return not (self.reply or self.mismatch or self.unresolved) and not self.control

    @property
    def carries_nothing(self) -> bool:
        """A direction of a PAIR or DEALER/ROUTER channel that declares only the other one.

        When neither end declares this direction (the sender no ``sends:``, the receiver no
        ``receives:``) but one of them declares the opposite one, the channel is one-way and
        this direction carries nothing: no contract and no size are needed for it."""
        ss, rs = self.sender_socket, self.receiver_socket
        if ss is None or rs is None:
            return False
        if ss.type not in ONE_WAY_CAPABLE or rs.type not in ONE_WAY_CAPABLE:
            return False
        return not (ss.sends or rs.receives) and bool(ss.receives or rs.sends)


@dataclass
class Bind:
    """One bound endpoint of a socket of a process (the index that connects resolve against)."""

    process: Process
    socket: Socket
    endpoint: Endpoint


@dataclass
class TopologyGraph:
    """The wired topology."""

    topology: Topology
    g: nx.MultiDiGraph
    connections: list[Connection] = field(default_factory=list)
    #: bind endpoints sharing one address: (process.socket, endpoint) lists, for endpoint-conflict
    conflicts: list[list[Bind]] = field(default_factory=list)

    def instances(self, process: str) -> list[str]:
        """The instance ids of ``process``: its name, or ``name[0]``, ``name[1]``… for replicas."""
        return self.topology.processes[process].instances()

    @cached_property
    def _by_socket(self) -> dict[tuple[str, str, bool], list[Connection]]:
        idx: dict[tuple[str, str, bool], list[Connection]] = defaultdict(list)
        for c in self.connections:
            if c.sender_socket is not None:
                idx[(c.sender_socket.process, c.sender_socket.name, True)].append(c)
            if c.receiver_socket is not None:
                idx[(c.receiver_socket.process, c.receiver_socket.name, False)].append(c)
        return idx

    def outgoing(self, socket: Socket) -> list[Connection]:
        """Connections on which ``socket`` (any replica) sends."""
        return self._by_socket.get((socket.process, socket.name, True), [])

    def incoming(self, socket: Socket) -> list[Connection]:
        """Connections on which ``socket`` (any replica) receives."""
        return self._by_socket.get((socket.process, socket.name, False), [])

    @cached_property
    def flow(self) -> nx.DiGraph:
        """Process-level data flow: an edge per pair of processes joined by a data connection.

        Edge attribute ``conns`` lists the connections.  Unresolved peers, replies, type
        mismatches, control-only connections and pipes inside one instance (inproc between
        two of its own sockets) are left out.
        """
        f = nx.DiGraph()
        f.add_nodes_from(self.topology.processes)
        for c in self.connections:
            if not c.data or c.sender == c.receiver:
                continue
            assert c.sender_socket and c.receiver_socket
            u, v = c.sender_socket.process, c.receiver_socket.process
            if f.has_edge(u, v):
                f[u][v]["conns"].append(c)
            else:
                f.add_edge(u, v, conns=[c])
        return f

    def sources(self) -> list[str]:
        """Processes that receive no data."""
        return [n for n in self.flow if self.flow.in_degree(n) == 0 and self.flow.out_degree(n) > 0]

    def sinks(self) -> list[str]:
        """Processes that send no data on."""
        return [n for n in self.flow if self.flow.out_degree(n) == 0 and self.flow.in_degree(n) > 0]

    def iter_instances(self) -> Iterator[tuple[str, Process]]:
        """Every process instance with its process, in declaration order."""
        for p in self.topology.processes.values():
            for inst in p.instances():
                yield inst, p


def _root(parent: dict[str, str], x: str) -> str:
    """Union-find: the representative of ``x``."""
    while parent.get(x, x) != x:
        x = parent[x]
    return x


def flows(sender: str, receiver: str) -> bool:
    """Does data flow from a ``sender``-type socket to a ``receiver``-type socket?

    Examples
    --------
    >>> flows("push", "pull"), flows("pull", "push")
    (True, False)
    """
    return (sender, receiver) in FLOWS


def _target_host(endpoint: Endpoint, connector: Process) -> str:
    host = endpoint.host or ""
    return connector.host if host in LOOPBACK else host


class _Wiring:
    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.g = nx.MultiDiGraph()
        self.tg = TopologyGraph(topo, self.g)
        # (transport, port) -> binds ; (host, path) -> binds ; (process, name) -> binds
        self.tcp: dict[tuple[str, str], list[Bind]] = defaultdict(list)
        self.ipc: dict[tuple[str, str], list[Bind]] = defaultdict(list)
        self.inproc: dict[tuple[str, str], list[Bind]] = defaultdict(list)
        self.inproc_any: dict[str, list[Bind]] = defaultdict(list)

    def run(self) -> TopologyGraph:
        topo = self.topo
        total = sum(p.replicas for p in topo.processes.values())
        if total > MAX_INSTANCES:
            biggest = max(topo.processes.values(), key=lambda p: p.replicas)
            raise topo.document.error(
                f"the processes have {total:,} instances in all (replicas included), more than "
                f"the {MAX_INSTANCES:,} topolint analyses in one topology; {biggest.name} alone "
                f"has {biggest.replicas:,}",
                (*biggest.path, "replicas"),
            )
        for p in topo.processes.values():
            for i, inst in enumerate(p.instances()):
                self.g.add_node(
                    inst,
                    kind="process",
                    process=p.name,
                    replica=i if p.replicas > 1 else None,
                    host=p.host,
                )
        for p in topo.processes.values():
            for s in p.sockets.values():
                for e in s.binds:
                    self.index_bind(p, s, e)
        self.find_conflicts()
        for p in topo.processes.values():
            for s in p.sockets.values():
                for e in s.connects:
                    self.resolve_connect(p, s, e)
        if topo.catalogue:
            self.tg.conflicts = self.running_together(self.tg.conflicts)
        return self.tg

    def running_together(self, conflicts: list[list[Bind]]) -> list[list[Bind]]:
        """A FairMQ catalogue does not say which devices run together: two binds of one
        endpoint conflict only when their devices are connected through other endpoints
        (one setup).  Test catalogues reuse ports across setups that never run at once."""
        out: list[list[Bind]] = []
        for group in conflicts:
            shared = {b.endpoint.text for b in group}
            parent: dict[str, str] = {}

            binders = {id(b.socket) for b in group}
            reached: dict[int, set[str]] = defaultdict(set)  # connector socket -> binders
            for c in self.tg.connections:
                if c.unresolved or c.sender_socket is None or c.receiver_socket is None:
                    continue
                via = c.bind_endpoint or c.endpoint
                if via.text in shared or any(
                    via.kind == b.endpoint.kind and via.port == b.endpoint.port for b in group
                ):
                    # through the contested endpoint: evidence of one setup only when one
                    # connector fits several of its binders (nothing tells them apart)
                    for mine, other in (
                        (c.sender_socket, c.receiver_socket),
                        (c.receiver_socket, c.sender_socket),
                    ):
                        if id(other) in binders and id(mine) not in binders:
                            reached[id(mine)].add(other.process)
                    continue
                a, b_ = (
                    _root(parent, c.sender_socket.process),
                    _root(parent, c.receiver_socket.process),
                )
                if a != b_:
                    parent[a] = b_
            for procs in reached.values():
                first, *rest = sorted(procs)
                for proc in rest:
                    a, b_ = _root(parent, first), _root(parent, proc)
                    if a != b_:
                        parent[a] = b_
            parts: dict[str, list[Bind]] = defaultdict(list)
            for b in group:
                parts[_root(parent, b.process.name)].append(b)
            out.extend(
                part
                for part in parts.values()
                if len(part) > 1 or any(b.process.replicas > 1 for b in part)
            )
        return out

    def index_bind(self, p: Process, s: Socket, e: Endpoint) -> None:
        b = Bind(p, s, e)
        if e.kind == "inproc":
            self.inproc[(p.name, e.address or "")].append(b)
            self.inproc_any[e.address or ""].append(b)
        elif e.kind == "ipc":
            self.ipc[(p.host, e.address or "")].append(b)
        elif e.kind != "ref":
            self.tcp[(e.kind, e.port or "")].append(b)

    def find_conflicts(self) -> None:
        for (_, address), binds in self.ipc.items():
            if address == "*":  # ipc://*: libzmq makes up a fresh name for each bind
                continue
            if len(binds) > 1 or any(b.process.replicas > 1 for b in binds):
                self.tg.conflicts.append(binds)
        for binds in self.inproc.values():
            if len(binds) > 1:
                self.tg.conflicts.append(binds)
        for (_, port), binds in self.tcp.items():
            if port in ("*", "!", "0"):  # any free port (the model writes 0 as "0")
                continue
            by_host: dict[str, list[Bind]] = defaultdict(list)
            fairmq = self.topo.source_format == "fairmq"
            for b in binds:
                bhost = b.endpoint.host or ""
                # FairMQ: no host field; a bind on an explicit address is on that address
                key = bhost if fairmq and bhost not in WILDCARD | LOOPBACK else b.process.host
                by_host[key].append(b)
            for group in by_host.values():
                if len(group) > 1 or any(b.process.replicas > 1 for b in group):
                    self.tg.conflicts.append(group)

    def matches(self, p: Process, s: Socket, e: Endpoint) -> list[Bind]:
        if e.kind == "inproc":
            return self.inproc.get((p.name, e.address or ""), [])
        if e.kind == "ipc":
            return self.ipc.get((p.host, e.address or ""), [])
        if self.topo.source_format == "fairmq":
            return self.fairmq_matches(p, s, e)
        host = _target_host(e, p)
        out = []
        for b in self.tcp.get((e.kind, e.port or ""), []):
            bhost = b.endpoint.host or ""
            if bhost in WILDCARD:
                ok = b.process.host == host
            elif bhost in LOOPBACK:
                ok = b.process.host == host and b.process.host == p.host
            else:
                ok = bhost == (e.host or "") or (b.process.host == host and bhost == host)
            if ok:
                out.append(b)
        return out

    def fairmq_matches(self, p: Process, s: Socket, e: Endpoint) -> list[Bind]:
        """FairMQ has no host field: ``tcp://HOST:PORT`` meets a bind on PORT by whichever
        device binds it (a bind on another explicit address excepted).  In a catalogue,
        where setups reuse ports, a connect meets the binds it can work with (compatible
        type, same transport) when there are any."""
        binds = [
            b
            for b in self.tcp.get((e.kind, e.port or ""), [])
            if b.process is not p
            and (
                (b.endpoint.host or "") in WILDCARD | LOOPBACK
                or (e.host or "") in LOOPBACK
                or b.endpoint.host == e.host
            )
        ]
        if self.topo.catalogue and len(binds) > 1:
            fitting = [
                b
                for b in binds
                if b.socket.type in COMPATIBLE.get(s.type, frozenset())
                and b.socket.transport == s.transport
            ]
            return fitting or binds
        return binds

    def resolve_connect(self, p: Process, s: Socket, e: Endpoint) -> None:
        if e.kind == "ref":
            assert e.ref is not None
            target = self.topo.socket(*e.ref)
            if target is None or (target.process == p.name and target.name == s.name):
                self.unresolved(p, s, e)
                return
            tp = self.topo.processes[target.process]
            bind_e = target.binds[0] if target.binds else None
            self.connect(p, s, tp, target, e, bind_e)
            return
        found = self.matches(p, s, e)
        if not found:
            self.unresolved(p, s, e)
            return
        for b in found:
            self.connect(p, s, b.process, b.socket, e, b.endpoint)

    def budget(self, added: int, e: Endpoint, what: str) -> None:
        """Refuse wiring that would exceed :data:`MAX_CONNECTIONS` (an input error at ``e``)."""
        total = len(self.tg.connections) + added
        if total > MAX_CONNECTIONS:
            raise self.topo.document.error(
                f"{what} adds {added:,} connections ({total:,} so far), more than the "
                f"{MAX_CONNECTIONS:,} topolint analyses in one topology: replicas multiply "
                "connections; declare fewer replicas or split the topology",
                e.path,
            )

    def unresolved(self, p: Process, s: Socket, e: Endpoint) -> None:
        self.budget(p.replicas, e, f"{s.id} -> {e.text}")
        node = f"?{e.text}"
        if node not in self.g:
            self.g.add_node(node, kind="unresolved", process=None, replica=None, host=e.host)
        for inst in p.instances():
            if s.can_send or not s.can_receive:
                self.add(inst, node, s, None, e, None, unresolved=True)
            else:
                self.add(node, inst, None, s, e, None, unresolved=True)

    def connect(
        self, p: Process, s: Socket, tp: Process, t: Socket, e: Endpoint, bind_e: Endpoint | None
    ) -> None:
        if flows(s.type, t.type):
            fwd = (p, s, tp, t)
        elif flows(t.type, s.type):
            fwd = (tp, t, p, s)
        else:
            fwd = (p, s, tp, t)
        mismatch = t.type not in COMPATIBLE.get(s.type, frozenset())
        bidi = frozenset({s.type, t.type}) in BIDIRECTIONAL and not mismatch
        sp, ss, rp, rs = fwd
        senders, receivers = sp.instances(), rp.instances()
        added = len(senders) * len(receivers) * (2 if bidi else 1)
        self.budget(added, e, f"wiring {ss.id} to {rs.id} ({len(senders):,} x {len(receivers):,})")
        for si in senders:
            for ri in receivers:
                if si == ri and ss is rs:
                    continue
                self.add(si, ri, ss, rs, e, bind_e, mismatch=mismatch)
                if bidi:
                    self.add(ri, si, rs, ss, e, bind_e, reply=True)

    def add(
        self,
        u: str,
        v: str,
        ss: Socket | None,
        rs: Socket | None,
        e: Endpoint,
        bind_e: Endpoint | None,
        **flags: bool,
    ) -> None:
        transport = bind_e.transport if e.kind == "ref" and bind_e is not None else e.transport
        c = Connection(len(self.tg.connections), u, v, ss, rs, transport, e, bind_e, **flags)
        self.tg.connections.append(c)
        self.g.add_edge(u, v, key=c.id, conn=c)


def build_graph(topology: Topology) -> TopologyGraph:
    """Wire ``topology``: every connection, with unresolved peers kept as nodes.

    Parameters
    ----------
    topology
        The model, from :func:`topolint.lint.engine.load` / :func:`~topolint.lint.engine.loads`.

    Returns
    -------
    TopologyGraph
        ``.g`` has one node per process instance (``worker[1]``) and per unresolved peer
        (``?tcp://…``) and one edge per direction of a connection; ``.connections`` lists
        them; ``.conflicts`` the binds that share an address.

    Examples
    --------
    >>> from topolint.lint.engine import loads
    >>> topo = loads(
    ...     "topolint: 1\\nname: demo\\nprocesses:\\n"
    ...     "  a: {sockets: {out: {type: push, bind: 'tcp://*:7000'}}}\\n"
    ...     "  b: {sockets: {in: {type: pull, connect: a.out}}}\\n"
    ... )
    >>> [(c.sender_id, c.receiver_id, c.transport) for c in build_graph(topo).connections]
    [('a.out', 'b.in', 'tcp')]
    """
    return _Wiring(topology).run()
