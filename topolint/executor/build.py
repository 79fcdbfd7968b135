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
from topolint.graph import Connection, TopologyGraph
from topolint.model import Socket, Topology

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
    from topolint.analysis import socket_opts
    from topolint.queue_model import connection_bound

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
    from topolint.analysis import socket_opts
    from topolint.queue_model import parked_bound

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

    from topolint.analysis import socket_opts
    from topolint.queue_model import connection_bound

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
    """The run plan of ``topo``.  Raises :class:`ScenarioError` for an unknown target."""
    from topolint.queue_model import Kernel

    scenarios = list(scenarios or [])
    limits = limits or Limits()
    kernel = kernel or Kernel.from_host()
    notes: list[str] = []
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

    conns = _data_connections(tg)
    out_edges: dict[tuple[str, str], list[Connection]] = defaultdict(list)
    in_edges: dict[tuple[str, str], list[Connection]] = defaultdict(list)
    for c in conns:
        if c.mismatch:  # no data flows, and the graph's direction is arbitrary
            continue
        if c.sender_socket is not None:
            out_edges[(c.sender, c.sender_socket.name)].append(c)
        if c.receiver_socket is not None:
            in_edges[(c.receiver, c.receiver_socket.name)].append(c)

    endpoints: list[EndpointPlan] = []
    bind_ids: dict[tuple[str, int], str] = {}
    implicit: dict[tuple[str, str], str] = {}
    void_ids: dict[tuple[str, str, str], str] = {}

    def new_endpoint(transport: str, bound: bool, declared: str) -> str:
        eid = f"e{len(endpoints)}"
        endpoints.append(EndpointPlan(eid, transport, bound, declared))
        return eid

    def size_of(s: Socket) -> int:
        mt = topo.message_of(s)
        if mt is None or mt.max_size is None:
            return DEFAULT_SIZE
        return int(mt.max_size)

    # endpoint conflicts: every bind of one conflict group binds one endpoint, so the
    # second bind fails as it would in production (the child records it and goes on)
    shared: dict[int, str] = {}
    for group in tg.conflicts:
        eid = new_endpoint(_transport(group[0].endpoint.transport), True, group[0].endpoint.text)
        for bd in group:
            shared[id(bd.endpoint)] = eid

    plans: dict[str, InstancePlan] = {}
    socks: dict[tuple[str, str], SocketPlan] = {}
    for p in topo.processes.values():
        explicit_eod = [s for s in p.sockets.values() if s.can_send and EOD in s.carries]
        for inst in p.instances():
            ip = InstancePlan(inst, process=p.name)
            for s in p.sockets.values():
                outs, ins = out_edges[(inst, s.name)], in_edges[(inst, s.name)]
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
                if explicit_eod:
                    carries = s in explicit_eod
                else:
                    carries = not s.is_control and "carries" not in s.declared
                resolved = [c for c in outs + ins if not c.unresolved and not c.mismatch]
                streams = [c for c in resolved if _transport(c.transport) != "inproc"]
                sp = SocketPlan(
                    name=s.name,
                    type=s.type,
                    role=role,
                    options=_options(s),
                    message=s.message,
                    size=max(1, size_of(s)),
                    sync=s.sync or "none",
                    expected_subscribers=len(
                        [c for c in outs if not c.unresolved and not c.mismatch]
                    )
                    if s.type in COPYING
                    else 0,
                    carries_eod=carries,
                    control=s.is_control,
                    peers=len(outs) + len(ins),
                    wait_peers=len(streams) if s.type not in COPYING and role != "in" else 0,
                )
                for e in s.binds:
                    if id(e) in shared:
                        eid = shared[id(e)]
                        sp.conflicting.append(eid)
                    else:
                        eid = new_endpoint(_transport(e.transport), True, e.text)
                    bind_ids[(inst, id(e))] = eid
                    sp.binds.append(eid)
                ip.sockets.append(sp)
                socks[(inst, s.name)] = sp
            plans[inst] = ip

    def connect(inst: str, s: Socket, eid: str) -> None:
        sp = socks[(inst, s.name)]
        if eid not in sp.connects:
            sp.connects.append(eid)

    for c in conns:
        if c.unresolved:
            vs = c.sender_socket or c.receiver_socket
            inst = c.sender if c.sender_socket is not None else c.receiver
            assert vs is not None
            key = (inst, vs.name, c.endpoint.text)
            if key not in void_ids:
                void_ids[key] = new_endpoint(_transport(c.transport), False, c.endpoint.text)
            connect(inst, vs, void_ids[key])
            continue
        ends = _connector(c)
        if ends is None:
            continue
        (cinst, csock), (tinst, tsock) = ends
        if tsock is None:
            continue
        if c.bind_endpoint is not None and (tinst, id(c.bind_endpoint)) in bind_ids:
            eid = bind_ids[(tinst, id(c.bind_endpoint))]
        else:  # a logical reference to a socket that binds nothing: bind it for the run
            key2 = (tinst, tsock.name)
            if key2 not in implicit:
                implicit[key2] = new_endpoint(_transport(c.transport), True, c.endpoint.text)
                socks[key2].binds.append(implicit[key2])
            eid = implicit[key2]
        connect(cinst, csock, eid)

    # inproc inside one process instance (the graph keeps no edge for a process to itself)
    internal: list[tuple[str, Socket, Socket, bool]] = []  # process, sender, receiver, ...
    for p in topo.processes.values():
        for s in p.sockets.values():
            for e in s.connects:
                if e.kind != "inproc":
                    continue
                for t in p.sockets.values():
                    for b in t.binds:
                        if b.kind == "inproc" and b.address == e.address and t is not s:
                            for inst in p.instances():
                                connect(inst, s, bind_ids[(inst, id(b))])
                            if s.sends or (s.type in OUT_TYPES and not t.sends):
                                internal.append((p.name, s, t, True))  # the connector sends
                            elif t.sends or t.type in OUT_TYPES:
                                internal.append((p.name, t, s, False))

    # behaviour and scenarios
    for p in topo.processes.values():
        for inst in p.instances():
            ip = plans[inst]
            data_in = any(sp.role in ("in", "both") for sp in ip.sockets)
            data_out = any(sp.role in ("out", "both") for sp in ip.sockets)
            kind = {
                (False, True): "source",
                (True, True): "worker",
                (True, False): "sink",
                (False, False): "idle",
            }[(data_in, data_out)]
            eod = p.end_of_data
            action = eod.action if eod is not None else "none"
            control_in = [sp for sp in ip.sockets if sp.role == "control-in"]
            eod_ins = control_in or [sp for sp in ip.sockets if sp.role in ("in", "both")]
            upstream = sum(
                len([c for c in in_edges[(inst, sp.name)] if not c.unresolved and not c.mismatch])
                for sp in eod_ins
            )
            if eod is None or eod.wait_for == "all":
                wait = max(1, upstream)
            elif eod.wait_for == "any":
                wait = 1
            else:
                wait = max(1, int(eod.wait_for))
            rate = p.rate
            if rate is None and p.period:
                rate = 1.0 / p.period
            join = None
            if p.join is not None:
                join = JoinPlan(
                    inputs=list(p.join.inputs),
                    match=p.join.match,
                    max_pending=p.join.max_pending,
                    timeout=p.join.timeout,
                    on_timeout=p.join.on_timeout or "drop",
                )
            ip.behaviour = BehaviourPlan(
                kind=kind,
                count=p.count,
                rate=rate,
                phase=p.phase or 0.0,
                service_time=p.service_time or 0.0,
                filters=p.filters,
                end_of_data=EndOfDataPlan(action, wait, eod.timeout if eod is not None else None),
                join=join,
            )
            late = _match(scenarios, "late-start", inst, p.name)
            kill = _match(scenarios, "kill", inst, p.name)
            ip.scenario = ScenarioPlan(
                stall=_match(scenarios, "stall", inst, p.name) is not None,
                start_delay=late.delay if late else 0.0,
                drop_eod=_match(scenarios, "drop-end-of-data", inst, p.name) is not None,
                kill_at=kill.fraction if kill else None,
            )

    # stall: whoever sends data to a stalled instance floods that socket
    for c in conns:
        if c.unresolved or c.mismatch or c.sender_socket is None:
            continue
        if plans[c.receiver].scenario.stall and not plans[c.sender].scenario.stall:
            sp = socks[(c.sender, c.sender_socket.name)]
            sp.flood = True
            sp.flood_peers = len(
                [
                    x
                    for x in out_edges[(c.sender, c.sender_socket.name)]
                    + in_edges[(c.sender, c.sender_socket.name)]
                    if not x.unresolved and not x.mismatch and _transport(x.transport) != "inproc"
                ]
            )

    # the connections the report lists, with the static bound for this machine
    connections: list[ConnectionPlan] = []
    for pname, snd, _rcv, _ in internal:
        for inst in topo.processes[pname].instances():
            if plans[inst].scenario.stall:  # a stall stalls the receiving socket only
                socks[(inst, snd.name)].flood = True
                socks[(inst, snd.name)].flood_peers = 0
    for c in conns:
        ss = c.sender_socket
        if ss is None:
            continue
        sp = socks[(c.sender, ss.name)]
        n_out = len([x for x in out_edges[(c.sender, ss.name)] if not x.unresolved])
        note = ""
        if c.unresolved:
            note = "unresolved peer: run against a closed loopback port, nothing is contacted"
        elif c.mismatch:
            note = "socket types do not match: libzmq refuses the connection"
        actual = max(sp.size, 27)
        connections.append(
            ConnectionPlan(
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
        )
        if c.transport not in ("tcp", "ipc", "inproc"):
            notes.append(f"{c.sender_id} -> {c.receiver_id}: {c.transport} run as loopback TCP")

    for p in topo.processes.values():
        for s in p.sockets.values():
            mt = topo.message_of(s)
            if s.can_send and (mt is None or mt.max_size is None):
                notes.append(f"{s.id}: message size unknown, the run sends {DEFAULT_SIZE} B")
    if tg.conflicts:
        notes.append(
            "endpoint conflicts are reproduced: the binds of one conflicting endpoint bind one "
            "loopback endpoint; whichever comes second fails (recorded, the instance goes on)"
        )
    return RunPlan(
        name=topo.name,
        instances=[plans[i] for p in topo.processes.values() for i in p.instances()],
        endpoints=endpoints,
        connections=connections,
        timeout=timeout,
        limits=limits,
        settings=settings or Settings(),
        notes=sorted(set(notes)),
        scenarios=[str(sc) for sc in scenarios],
    )
