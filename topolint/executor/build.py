"""Turn a topology and its wiring into a :class:`~topolint.executor.plan.RunPlan`.

Every declared process instance becomes an :class:`InstancePlan` with its sockets, types and
options as declared.  Endpoints become abstract ids: one per (instance, bind endpoint); a
connect points at the id of the bind it meets in the graph, whatever host or port the file
names; a connect that meets nothing points at a *void* endpoint that the supervisor makes a
closed loopback port (or an IPC path nobody listens on).  So a file naming ``prod01`` or a
public address is run entirely on this machine and contacts nothing else.

Transport classes are kept: tcp (and ws, tipc, ... which become loopback TCP), ipc, and
inproc.  inproc stays inproc inside one process instance; across instances it never meets
anything, as in libzmq.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from topolint.executor.plan import (
    BehaviourPlan,
    ConnectionPlan,
    EndOfDataPlan,
    EndpointPlan,
    InstancePlan,
    JoinPlan,
    Limits,
    RunPlan,
    ScenarioPlan,
    Settings,
    SocketPlan,
)
from topolint.executor.scenarios import Scenario, ScenarioError
from topolint.lint.graph import Connection, TopologyGraph
from topolint.lint.model import Process, Socket, Topology

#: Size used for a message type without ``max_size`` (and below the wire header).
DEFAULT_SIZE = 64
EOD = "end-of-data"
OUT_TYPES = {"push", "pub", "xpub", "req"}
IN_TYPES = {"pull", "sub", "xsub", "rep"}
COPYING = {"pub", "xpub"}
LOAD_BALANCING = {"push", "dealer", "req", "router"}


def _transport(t: str) -> str:
    return t if t in ("ipc", "inproc") else "tcp"


def _options(s: Socket) -> dict[str, Any]:
    opts: dict[str, Any] = {"sndhwm": s.sndhwm, "rcvhwm": s.rcvhwm}
    if s.sndbuf:
        opts["sndbuf"] = s.sndbuf
    if s.rcvbuf:
        opts["rcvbuf"] = s.rcvbuf
    if "linger" in s.declared or s.linger is not None:
        opts["linger"] = -1 if s.linger is None else round(s.linger * 1000)
    for flag in ("immediate", "conflate", "nodrop"):
        if getattr(s, flag):
            opts[flag] = True
    if s.maxmsgsize:
        opts["maxmsgsize"] = s.maxmsgsize
    if s.type in ("sub", "xsub"):
        opts["subscribe"] = list(s.subscribe) if s.subscribe is not None else None
    return opts


def _bound(topo: Topology, c: Connection, size: int, kernel: Any) -> int | None:
    """The static bound for this connection, computed for *this* machine's kernel."""
    from topolint.analysis.performance import socket_opts
    from topolint.analysis.queue_model import connection_bound

    ss, rs = c.sender_socket, c.receiver_socket
    if ss is None or rs is None or c.mismatch:
        return None
    connector = "sender" if any(e is c.endpoint for e in ss.connects) else "receiver"
    try:
        b = connection_bound(
            _transport(c.transport),
            socket_opts(ss),
            socket_opts(rs),
            size,
            kernel,
            connector=connector,
        )
    except ValueError:
        return None
    return None if b.unbounded else b.messages


def _parked(topo: Topology, c: Connection, size: int) -> int | None:
    """What a connect to an endpoint nobody binds parks (IMMEDIATE=0), as ``analyze``."""
    from topolint.analysis.performance import socket_opts
    from topolint.analysis.queue_model import parked_bound

    ss = c.sender_socket
    if ss is None or not any(e is c.endpoint for e in ss.connects):
        return None
    try:
        b = parked_bound(socket_opts(ss), size)
    except (ValueError, TypeError):
        return None
    return None if b.unbounded else b.messages


def _pinned(topo: Topology, c: Connection, size: int, kernel: Any) -> int | None:
    """The bound of this TCP connection if its unset SNDBUF/RCVBUF were pinned at the
    kernel's defaults (``wmem_default``/``rmem_default``): what kernel-buffer-unpinned's
    fix would cap it at.  None when both are pinned already or not TCP."""
    import dataclasses

    from topolint.analysis.performance import socket_opts
    from topolint.analysis.queue_model import connection_bound

    ss, rs = c.sender_socket, c.receiver_socket
    if ss is None or rs is None or c.mismatch or _transport(c.transport) != "tcp":
        return None
    so, ro = socket_opts(ss), socket_opts(rs)
    if so.sndbuf and ro.rcvbuf:
        return None
    try:
        so = dataclasses.replace(so, sndbuf=so.sndbuf or kernel.wmem_default)
        ro = dataclasses.replace(ro, rcvbuf=ro.rcvbuf or kernel.rmem_default)
        connector = "sender" if any(e is c.endpoint for e in ss.connects) else "receiver"
        b = connection_bound("tcp", so, ro, size, kernel, connector=connector)
    except (ValueError, TypeError):
        return None
    return None if b.unbounded else b.messages


def _connector(c: Connection) -> tuple[tuple[str, Socket], tuple[str, Socket | None]] | None:
    """(connecting instance and socket, target instance and socket) of one connection."""
    if c.sender_socket is not None and any(e is c.endpoint for e in c.sender_socket.connects):
        return (c.sender, c.sender_socket), (c.receiver, c.receiver_socket)
    if c.receiver_socket is not None and any(e is c.endpoint for e in c.receiver_socket.connects):
        return (c.receiver, c.receiver_socket), (c.sender, c.sender_socket)
    return None


def _data_connections(tg: TopologyGraph) -> list[Connection]:
    """The graph's connections in their declared data direction.

    For PAIR, DEALER/ROUTER and REQ/REP the graph keeps one direction as the connection and
    the other as its ``reply``, by socket roles.  When the declaration says the data goes
    the other way (the sending side binds: a PAIR or a ROUTER that ``sends`` and binds, its
    peer only ``receives``), the run sends in the declared direction."""
    primary = [c for c in tg.connections if not c.reply]
    reverse = {
        (c.sender, id(c.sender_socket), c.receiver, id(c.receiver_socket), id(c.endpoint)): c
        for c in tg.connections
        if c.reply and c.sender_socket is not None and c.receiver_socket is not None
    }
    out = []
    for c in primary:
        ss, rs = c.sender_socket, c.receiver_socket
        rev = reverse.get((c.receiver, id(rs), c.sender, id(ss), id(c.endpoint)))
        if (
            rev is not None
            and ss is not None
            and rs is not None
            and not ss.sends
            and rs.sends
            and not c.mismatch
        ):
            out.append(rev)
        else:
            out.append(c)
    return out


def _match(scenarios: list[Scenario], kind: str, inst: str, proc: str) -> Scenario | None:
    found = None
    for sc in scenarios:
        if sc.kind == kind and sc.matches(inst, proc):
            found = sc
    return found


def _check_request(
    topo: Topology, scenarios: list[Scenario], limits: Limits
) -> dict[str, list[str]]:
    """The instances of each process; raises :class:`ScenarioError` for a scenario that
    names no process or instance, and ``PlanError`` for more instances than the cap."""
    instances_of = {name: p.instances() for name, p in topo.processes.items()}
    all_instances = {i for insts in instances_of.values() for i in insts}
    for sc in scenarios:
        if sc.target not in topo.processes and sc.target not in all_instances:
            known = ", ".join(sorted(topo.processes)) or "none"
            raise ScenarioError(
                f"--scenario {sc}: no process or instance {sc.target!r} (processes: {known})"
            )
    total = len(all_instances)
    if total > limits.max_instances:
        # Refuse before building thousands of plans; the supervisor repeats the check.
        from topolint.executor.supervisor import PlanError

        raise PlanError(
            f"{total} process instances exceed the cap of {limits.max_instances} "
            f"(raise it with a limit, up to {int(limits.HARD['max_instances'])})"
        )
    return instances_of


def _role(s: Socket, outs: list[Connection], ins: list[Connection]) -> str:
    """The role of socket ``s`` of one instance, from the data edges it has (or, with none,
    from its type and declared direction)."""
    if outs and ins:
        role = "both"
    elif outs:
        role = "out"
    elif ins:
        role = "in"
    elif s.type in OUT_TYPES or (s.sends and not s.receives):
        role = "out"
    elif s.type in IN_TYPES or s.receives:
        role = "in"
    else:
        role = "none"
    if s.is_control and role != "none":
        role = "control-out" if role in ("out", "both") else "control-in"
    return role


def _live(cs: list[Connection]) -> list[Connection]:
    """The connections that carry data: resolved, with matching socket types."""
    return [c for c in cs if not c.unresolved and not c.mismatch]


def _kind(ip: InstancePlan) -> str:
    """source, worker, sink or idle, from the data roles of the instance's sockets."""
    data_in = any(sp.role in ("in", "both") for sp in ip.sockets)
    data_out = any(sp.role in ("out", "both") for sp in ip.sockets)
    return {
        (False, True): "source",
        (True, True): "worker",
        (True, False): "sink",
        (False, False): "idle",
    }[(data_in, data_out)]


def _join_plan(p: Process) -> JoinPlan | None:
    """The join of process ``p``, if it declares one."""
    if p.join is None:
        return None
    return JoinPlan(
        inputs=list(p.join.inputs),
        match=p.join.match,
        max_pending=p.join.max_pending,
        timeout=p.join.timeout,
        on_timeout=p.join.on_timeout or "drop",
    )


def _scenario_plan(scenarios: list[Scenario], inst: str, proc: str) -> ScenarioPlan:
    """What the scenarios break in instance ``inst`` of process ``proc``."""
    late = _match(scenarios, "late-start", inst, proc)
    kill = _match(scenarios, "kill", inst, proc)
    return ScenarioPlan(
        stall=_match(scenarios, "stall", inst, proc) is not None,
        start_delay=late.delay if late else 0.0,
        drop_eod=_match(scenarios, "drop-end-of-data", inst, proc) is not None,
        kill_at=kill.fraction if kill else None,
    )


#: One socket pair joined by inproc inside one process: process, sender, receiver, and
#: whether the connecting socket is the sender.
Internal = tuple[str, Socket, Socket, bool]


class _Builder:
    """The state shared while one plan is built: the data edges per socket, the abstract
    endpoints handed out so far, and the instance and socket plans."""

    def __init__(self, topo: Topology, tg: TopologyGraph, kernel: Any) -> None:
        self.topo, self.tg, self.kernel = topo, tg, kernel
        self.conns = _data_connections(tg)
        self.out_edges: dict[tuple[str, str], list[Connection]] = defaultdict(list)
        self.in_edges: dict[tuple[str, str], list[Connection]] = defaultdict(list)
        for c in self.conns:
            if c.mismatch:  # no data flows, and the graph's direction is arbitrary
                continue
            if c.sender_socket is not None:
                self.out_edges[(c.sender, c.sender_socket.name)].append(c)
            if c.receiver_socket is not None:
                self.in_edges[(c.receiver, c.receiver_socket.name)].append(c)
        self.endpoints: list[EndpointPlan] = []
        self.bind_ids: dict[tuple[str, int], str] = {}
        self.shared: dict[int, str] = {}
        self.plans: dict[str, InstancePlan] = {}
        self.socks: dict[tuple[str, str], SocketPlan] = {}

    def new_endpoint(self, transport: str, bound: bool, declared: str) -> str:
        """A new abstract endpoint; returns its id."""
        eid = f"e{len(self.endpoints)}"
        self.endpoints.append(EndpointPlan(eid, transport, bound, declared))
        return eid

    def size_of(self, s: Socket) -> int:
        """Bytes per message sent on ``s``: its message's ``max_size``, or the default."""
        mt = self.topo.message_of(s)
        if mt is None or mt.max_size is None:
            return DEFAULT_SIZE
        return int(mt.max_size)

    def share_conflicts(self) -> None:
        """Endpoint conflicts: every bind of one conflict group binds one endpoint, so the
        second bind fails as it would in production (the child records it and goes on)."""
        for group in self.tg.conflicts:
            first = group[0].endpoint
            eid = self.new_endpoint(_transport(first.transport), True, first.text)
            for bd in group:
                self.shared[id(bd.endpoint)] = eid

    def socket_plan(self, inst: str, s: Socket, explicit_eod: list[Socket]) -> SocketPlan:
        """The plan of socket ``s`` of instance ``inst``, with an endpoint per bind."""
        outs, ins = self.out_edges[(inst, s.name)], self.in_edges[(inst, s.name)]
        role = _role(s, outs, ins)
        if explicit_eod:
            carries = s in explicit_eod
        else:
            carries = not s.is_control and "carries" not in s.declared
        streams = [c for c in _live(outs + ins) if _transport(c.transport) != "inproc"]
        sp = SocketPlan(
            name=s.name,
            type=s.type,
            role=role,
            options=_options(s),
            message=s.message,
            size=max(1, self.size_of(s)),
            sync=s.sync or "none",
            expected_subscribers=len(_live(outs)) if s.type in COPYING else 0,
            carries_eod=carries,
            control=s.is_control,
            peers=len(outs) + len(ins),
            wait_peers=len(streams) if s.type not in COPYING and role != "in" else 0,
        )
        for e in s.binds:
            if id(e) in self.shared:
                eid = self.shared[id(e)]
                sp.conflicting.append(eid)
            else:
                eid = self.new_endpoint(_transport(e.transport), True, e.text)
            self.bind_ids[(inst, id(e))] = eid
            sp.binds.append(eid)
        return sp

    def instance_plans(self) -> None:
        """An :class:`InstancePlan` with its sockets for every declared instance."""
        for p in self.topo.processes.values():
            explicit_eod = [s for s in p.sockets.values() if s.can_send and EOD in s.carries]
            for inst in p.instances():
                ip = InstancePlan(inst, process=p.name)
                for s in p.sockets.values():
                    sp = self.socket_plan(inst, s, explicit_eod)
                    ip.sockets.append(sp)
                    self.socks[(inst, s.name)] = sp
                self.plans[inst] = ip

    def connect(self, inst: str, s: Socket, eid: str) -> None:
        """Socket ``s`` of ``inst`` connects to endpoint ``eid`` (once)."""
        sp = self.socks[(inst, s.name)]
        if eid not in sp.connects:
            sp.connects.append(eid)

    def wire(self) -> None:
        """Each connect goes to the bind it meets in the graph, or to a void endpoint."""
        void_ids: dict[tuple[str, str, str], str] = {}
        implicit: dict[tuple[str, str], str] = {}
        for c in self.conns:
            if c.unresolved:
                vs = c.sender_socket or c.receiver_socket
                inst = c.sender if c.sender_socket is not None else c.receiver
                assert vs is not None
                key = (inst, vs.name, c.endpoint.text)
                if key not in void_ids:
                    void_ids[key] = self.new_endpoint(
                        _transport(c.transport), False, c.endpoint.text
                    )
                self.connect(inst, vs, void_ids[key])
                continue
            ends = _connector(c)
            if ends is None:
                continue
            (cinst, csock), (tinst, tsock) = ends
            if tsock is None:
                continue
            if c.bind_endpoint is not None and (tinst, id(c.bind_endpoint)) in self.bind_ids:
                eid = self.bind_ids[(tinst, id(c.bind_endpoint))]
            else:  # a logical reference to a socket that binds nothing: bind it for the run
                key2 = (tinst, tsock.name)
                if key2 not in implicit:
                    implicit[key2] = self.new_endpoint(
                        _transport(c.transport), True, c.endpoint.text
                    )
                    self.socks[key2].binds.append(implicit[key2])
                eid = implicit[key2]
            self.connect(cinst, csock, eid)

    def wire_inproc(self) -> list[Internal]:
        """inproc inside one process instance (the graph keeps no edge for a process to
        itself): connect each instance's sockets; returns the pairs, sender first."""
        internal: list[Internal] = []
        for p in self.topo.processes.values():
            for s in p.sockets.values():
                for e in s.connects:
                    if e.kind != "inproc":
                        continue
                    for t in p.sockets.values():
                        for b in t.binds:
                            if b.kind == "inproc" and b.address == e.address and t is not s:
                                for inst in p.instances():
                                    self.connect(inst, s, self.bind_ids[(inst, id(b))])
                                if s.sends or (s.type in OUT_TYPES and not t.sends):
                                    internal.append((p.name, s, t, True))  # the connector sends
                                elif t.sends or t.type in OUT_TYPES:
                                    internal.append((p.name, t, s, False))
        return internal

    def eod_plan(self, p: Process, ip: InstancePlan) -> EndOfDataPlan:
        """End-of-data of instance ``ip``: its action, and how many upstream signals it
        waits for (``all`` resolved to the connections into its end-of-data inputs)."""
        eod = p.end_of_data
        action = eod.action if eod is not None else "none"
        control_in = [sp for sp in ip.sockets if sp.role == "control-in"]
        eod_ins = control_in or [sp for sp in ip.sockets if sp.role in ("in", "both")]
        upstream = sum(len(_live(self.in_edges[(ip.name, sp.name)])) for sp in eod_ins)
        if eod is None or eod.wait_for == "all":
            wait = max(1, upstream)
        elif eod.wait_for == "any":
            wait = 1
        else:
            wait = max(1, int(eod.wait_for))
        return EndOfDataPlan(action, wait, eod.timeout if eod is not None else None)

    def behave(self, scenarios: list[Scenario]) -> None:
        """Behaviour and scenario of every instance."""
        for p in self.topo.processes.values():
            rate = p.rate
            if rate is None and p.period:
                rate = 1.0 / p.period
            for inst in p.instances():
                ip = self.plans[inst]
                ip.behaviour = BehaviourPlan(
                    kind=_kind(ip),
                    count=p.count,
                    rate=rate,
                    phase=p.phase or 0.0,
                    service_time=p.service_time or 0.0,
                    filters=p.filters,
                    end_of_data=self.eod_plan(p, ip),
                    join=_join_plan(p),
                )
                ip.scenario = _scenario_plan(scenarios, inst, p.name)

    def mark_floods(self, internal: list[Internal]) -> None:
        """Stall: whoever sends data to a stalled instance floods that socket; inside a
        stalled instance, the sender of an inproc pair floods its own pipe."""
        for c in self.conns:
            if c.unresolved or c.mismatch or c.sender_socket is None:
                continue
            if self.plans[c.receiver].scenario.stall and not self.plans[c.sender].scenario.stall:
                key = (c.sender, c.sender_socket.name)
                sp = self.socks[key]
                sp.flood = True
                sp.flood_peers = len(
                    [
                        x
                        for x in _live(self.out_edges[key] + self.in_edges[key])
                        if _transport(x.transport) != "inproc"
                    ]
                )
        for pname, snd, _rcv, _ in internal:
            for inst in self.topo.processes[pname].instances():
                if self.plans[inst].scenario.stall:  # a stall stalls the receiving socket only
                    self.socks[(inst, snd.name)].flood = True
                    self.socks[(inst, snd.name)].flood_peers = 0

    def connection_plan(self, c: Connection, ss: Socket) -> ConnectionPlan:
        """The report's row for connection ``c`` sent by ``ss``, with its static bound."""
        topo, kernel = self.topo, self.kernel
        sp = self.socks[(c.sender, ss.name)]
        n_out = len([x for x in self.out_edges[(c.sender, ss.name)] if not x.unresolved])
        note = ""
        if c.unresolved:
            note = "unresolved peer: run against a closed loopback port, nothing is contacted"
        elif c.mismatch:
            note = "socket types do not match: libzmq refuses the connection"
        actual = max(sp.size, 27)
        return ConnectionPlan(
            sender=c.sender_id,
            receiver=c.receiver_id,
            transport=_transport(c.transport),
            endpoint=c.endpoint.text,
            predicted_bound_messages=_parked(topo, c, actual)
            if c.unresolved
            else _bound(topo, c, actual, kernel),
            pinned_bound_messages=None if c.unresolved else _pinned(topo, c, actual, kernel),
            lossy=ss.type in ("pub", "router") or (ss.type == "xpub" and not ss.nodrop),
            load_balanced=ss.type in LOAD_BALANCING and n_out > 1,
            control=c.control,
            note=note,
        )

    def connection_plans(self, notes: list[str]) -> list[ConnectionPlan]:
        """The connections the report lists, with the static bound for this machine."""
        connections: list[ConnectionPlan] = []
        for c in self.conns:
            if c.sender_socket is None:
                continue
            connections.append(self.connection_plan(c, c.sender_socket))
            if c.transport not in ("tcp", "ipc", "inproc"):
                notes.append(f"{c.sender_id} -> {c.receiver_id}: {c.transport} run as loopback TCP")
        return connections

    def size_notes(self) -> list[str]:
        """A note for every sending socket whose message size is unknown."""
        notes = []
        for p in self.topo.processes.values():
            for s in p.sockets.values():
                mt = self.topo.message_of(s)
                if s.can_send and (mt is None or mt.max_size is None):
                    notes.append(f"{s.id}: message size unknown, the run sends {DEFAULT_SIZE} B")
        return notes


def build_plan(
    topo: Topology,
    tg: TopologyGraph,
    scenarios: list[Scenario] | None = None,
    *,
    timeout: float = 30.0,
    settings: Settings | None = None,
    limits: Limits | None = None,
    kernel: Any = None,
) -> RunPlan:
    """The run plan of ``topo``.

    Parameters
    ----------
    topo, tg
        The topology and its wiring graph (:func:`topolint.lint.graph.build_graph`).
    scenarios
        Parsed ``--scenario`` values; one naming no process or instance raises
        :class:`ScenarioError`.
    timeout, settings, limits
        Carried into the plan (``limits`` defaults to :class:`Limits`); more instances
        than ``limits.max_instances`` raise ``PlanError``.
    kernel
        The kernel socket-buffer defaults for the static bounds (default: this host's).
    """
    from topolint.analysis.queue_model import Kernel

    scenarios = list(scenarios or [])
    limits = limits or Limits()
    _check_request(topo, scenarios, limits)
    b = _Builder(topo, tg, kernel or Kernel.from_host())
    b.share_conflicts()
    b.instance_plans()
    b.wire()
    internal = b.wire_inproc()
    b.behave(scenarios)
    b.mark_floods(internal)
    notes: list[str] = []
    connections = b.connection_plans(notes)
    notes.extend(b.size_notes())
    if tg.conflicts:
        notes.append(
            "endpoint conflicts are reproduced: the binds of one conflicting endpoint bind one "
            "loopback endpoint; whichever comes second fails (recorded, the instance goes on)"
        )
    return RunPlan(
        name=topo.name,
        instances=[b.plans[i] for p in topo.processes.values() for i in p.instances()],
        endpoints=b.endpoints,
        connections=connections,
        timeout=timeout,
        limits=limits,
        settings=settings or Settings(),
        notes=sorted(set(notes)),
        scenarios=[str(sc) for sc in scenarios],
    )
