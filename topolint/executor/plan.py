"""Run plans: plain, JSON-serialisable descriptions of what each child process does.

A :class:`RunPlan` is independent of how topologies are parsed: ``build.py`` makes one from
a topology and its graph, tests build them by hand.  Endpoints in a plan are *abstract*: a
socket binds or connects endpoint ids (``"e3"``) listed in :attr:`RunPlan.endpoints` with
their transport; the supervisor alone turns them into concrete loopback TCP ports or IPC
paths inside its private temporary folder.  A plan therefore cannot name a real host.

A :class:`ChildSpec` is what one child process receives (``ChildSpec.to_json`` /
``from_json``): its instance with concrete endpoints (:class:`ChildSocketPlan`), settings,
limits and files.  This module imports the standard library only: ``child.py``, started as
a script, imports it as its sibling module ``plan`` without loading the analyzer.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

#: Socket options a plan may carry (values already in libzmq units: bytes, messages, ms).
SOCKET_OPTIONS = (
    "sndhwm",
    "rcvhwm",
    "sndbuf",
    "rcvbuf",
    "linger",  # milliseconds, -1 = infinite
    "immediate",
    "conflate",
    "nodrop",
    "maxmsgsize",
    "subscribe",  # list of prefixes (SUB/XSUB); None or [] = no subscription
)
#: Roles: ``out`` sends data, ``in`` receives data, ``both`` does both (DEALER/ROUTER/PAIR
#: used in both directions), ``control-out``/``control-in`` carry only end-of-data.
ROLES = ("out", "in", "both", "control-out", "control-in", "none")
SYNC_MODES = ("none", "sleep", "handshake", "subscription-events", "welcome")
EOD_ACTIONS = ("emit", "forward", "consume", "none")
JOIN_MATCHES = ("key", "order", "any", "latest")
TRANSPORTS = ("tcp", "ipc", "inproc")


@dataclass
class EndpointPlan:
    """An abstract endpoint.  ``bound`` is False for an endpoint nobody binds (an
    unresolved peer): the supervisor makes it a loopback port it holds closed, or an IPC
    path nobody listens on, so connecting to it reaches nothing at all."""

    id: str
    transport: str  # tcp | ipc | inproc
    bound: bool = True
    declared: str = ""  # the endpoint as written in the file, for the report only


@dataclass
class SocketPlan:
    """One socket of one instance."""

    name: str
    type: str
    role: str = "out"
    binds: list[str] = field(default_factory=list)  # endpoint ids
    connects: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    size: int = 64  # bytes per data message sent on this socket
    sync: str = "none"  # publishers: how to wait for subscribers
    expected_subscribers: int = 0  # publishers: subscriber connections in the graph
    carries_eod: bool = True  # False: this socket never carries end-of-data
    control: bool = False  # a dedicated end-of-data socket (carries: [end-of-data])
    peers: int = 0  # connections in the graph on this socket (either direction)
    wait_peers: int = 0  # non-PUB senders: tcp/ipc peers to wait for before sending
    flood: bool = False  # stall scenario: flood this socket to measure queue capacity
    flood_peers: int = 0  # how many stalled peers to wait for before flooding
    conflicting: list[str] = field(default_factory=list)  # binds another socket binds too

    @property
    def sends(self) -> bool:
        """This socket sends (data or end-of-data)."""
        return self.role in ("out", "both", "control-out")

    @property
    def receives(self) -> bool:
        """This socket receives (data or end-of-data)."""
        return self.role in ("in", "both", "control-in")


@dataclass
class EndOfDataPlan:
    """What an instance does with end-of-data: emit it, forward it, consume it, or nothing."""

    action: str = "none"  # emit | forward | consume | none
    wait_for: int = 1  # how many upstream end-of-data signals to wait for (resolved)
    timeout: float | None = None  # seconds without any input before giving up waiting


@dataclass
class JoinPlan:
    """How an instance combines its ``inputs`` (socket names) into one output message."""

    inputs: list[str]
    match: str = "key"
    max_pending: int | None = None
    timeout: float | None = None
    on_timeout: str = "drop"  # drop | emit-partial


@dataclass
class BehaviourPlan:
    """The reference behaviour of one instance: a source, a worker, a sink or idle."""

    kind: str = "worker"  # source | worker | sink | idle
    count: int | None = None  # sources: messages to emit (after caps)
    rate: float | None = None  # sources: messages per second; None = as fast as possible
    phase: float = 0.0  # sources: delay before the first message (seconds)
    service_time: float = 0.0  # seconds each message is held
    filters: bool = False  # drops every ``filter_every``-th key
    end_of_data: EndOfDataPlan = field(default_factory=EndOfDataPlan)
    join: JoinPlan | None = None


@dataclass
class ScenarioPlan:
    """What ``--scenario`` breaks in one instance."""

    stall: bool = False
    start_delay: float = 0.0
    drop_eod: bool = False
    kill_at: float | None = None  # fraction of the run's source messages


@dataclass
class InstancePlan:
    """One process instance: its sockets, its behaviour and the scenario applied to it."""

    name: str  # "camera" or "worker[1]"
    process: str = ""
    sockets: list[SocketPlan] = field(default_factory=list)
    behaviour: BehaviourPlan = field(default_factory=BehaviourPlan)
    scenario: ScenarioPlan = field(default_factory=ScenarioPlan)

    def socket(self, name: str) -> SocketPlan:
        """The socket called ``name``; raises :class:`KeyError` if there is none."""
        for s in self.sockets:
            if s.name == name:
                return s
        raise KeyError(f"{self.name} has no socket {name!r}")


@dataclass
class ConnectionPlan:
    """One data direction between two socket instances, as the report lists it."""

    sender: str  # "camera.out"
    receiver: str  # "worker[0].in"
    transport: str = "tcp"
    endpoint: str = ""  # the endpoint as declared
    predicted_bound_messages: int | None = None
    #: the bound were its unset TCP buffers pinned at the kernel defaults
    pinned_bound_messages: int | None = None
    lossy: bool = False  # the sending socket may drop (PUB, ROUTER)
    load_balanced: bool = False  # the sending socket round-robins over several peers
    control: bool = False
    note: str = ""


@dataclass
class Limits:
    """Caps that keep a hostile file from exhausting the machine."""

    max_messages: int = 100_000  # per source (and per flood)
    max_message_bytes: int = 1 << 20
    max_instances: int = 1024
    max_source_bytes: int = 256 << 20  # count x size per source
    max_child_memory: int = 2 << 30  # RLIMIT_AS per child
    max_timeout: float = 3600.0
    #: Private memory of the whole process tree (bytes); None = the default budget
    #: (4 GiB, or half the memory available at start if less).  Checked against the static
    #: bound before the run and sampled during it.
    max_memory: int | None = None

    #: The largest values a caller may configure.
    HARD: dict[str, float] = field(
        default_factory=lambda: {
            "max_messages": 1_000_000,
            "max_message_bytes": 16 << 20,
            "max_instances": 4096,
            "max_source_bytes": 2 << 30,
            "max_child_memory": 8 << 30,
            "max_timeout": 24 * 3600.0,
        },
        repr=False,
    )

    def clamp(self) -> list[str]:
        """Lower every value above its hard maximum; returns what was changed."""
        notes = []
        for key, hard in self.HARD.items():
            value = getattr(self, key)
            if value > hard or value <= 0:
                new = type(value)(hard)
                notes.append(f"limit {key}={value} outside (0, {hard}]: using {new}")
                setattr(self, key, new)
        return notes


@dataclass
class Settings:
    """Timing knobs of the reference behaviour."""

    stall_quiet: float = 1.0  # flood: stop after this long without progress (notes: ~1 s)
    drain_idle: float = 0.3  # stalled receiver: drain until idle this long
    quiet: float = 2.0  # stop the run after this long without progress anywhere
    snapshot_interval: float = 0.05
    heartbeat: float = 0.25
    sync_sleep: float = 0.2  # sync: sleep
    connect_wait: float = 5.0  # longest wait for wait_peers before sending anyway
    filter_every: int = 4  # filters: true drops keys k with k % filter_every == filter_every-1
    grace: float = 1.0  # SIGTERM -> SIGKILL
    #: OS processes that host the instances (one thread each); 0 = automatic: one process
    #: per instance up to ``isolate_up_to`` instances, else two per CPU.  An instance a
    #: ``kill=`` scenario targets always gets a process of its own.
    hosts: int = 0
    isolate_up_to: int = 8


@dataclass
class RunPlan:
    """Everything a reference run needs: instances, abstract endpoints, connections,
    timeout, caps and timing knobs, and the notes and counts decided while planning."""

    name: str
    instances: list[InstancePlan]
    endpoints: list[EndpointPlan] = field(default_factory=list)
    connections: list[ConnectionPlan] = field(default_factory=list)
    timeout: float = 30.0
    limits: Limits = field(default_factory=Limits)
    settings: Settings = field(default_factory=Settings)
    notes: list[str] = field(default_factory=list)  # caps applied, substitutions made
    scenarios: list[str] = field(default_factory=list)
    #: per source instance: the message count run, the one declared, and why
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def instance(self, name: str) -> InstancePlan:
        """The instance called ``name``; raises :class:`KeyError` if there is none."""
        for i in self.instances:
            if i.name == name:
                return i
        raise KeyError(name)

    def senders(self) -> list[str]:
        """Sender ids ``instance.socket`` of every sending socket; index = wire id."""
        return [f"{i.name}.{s.name}" for i in self.instances for s in i.sockets if s.sends]

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain JSON-serialisable data (:meth:`from_dict` reads it back)."""
        d = asdict(self)
        d["limits"].pop("HARD", None)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunPlan:
        """The plan :meth:`to_dict` wrote (missing keys take their defaults)."""
        return cls(
            name=d["name"],
            instances=[_instance_from_dict(x, SocketPlan) for x in d["instances"]],
            endpoints=[EndpointPlan(**e) for e in d.get("endpoints", [])],
            connections=[ConnectionPlan(**c) for c in d.get("connections", [])],
            timeout=d.get("timeout", 30.0),
            limits=Limits(**d.get("limits", {})),
            settings=Settings(**d.get("settings", {})),
            notes=list(d.get("notes", [])),
            scenarios=list(d.get("scenarios", [])),
            counts=dict(d.get("counts", {})),
        )


def _instance_from_dict(x: dict[str, Any], socket_cls: type[SocketPlan]) -> InstancePlan:
    """An :class:`InstancePlan` from its :func:`~dataclasses.asdict` form."""
    b = dict(x.get("behaviour", {}))
    b["end_of_data"] = EndOfDataPlan(**b.get("end_of_data", {}))
    b["join"] = JoinPlan(**b["join"]) if b.get("join") else None
    return InstancePlan(
        name=x["name"],
        process=x.get("process", ""),
        sockets=[socket_cls(**s) for s in x.get("sockets", [])],
        behaviour=BehaviourPlan(**b),
        scenario=ScenarioPlan(**x.get("scenario", {})),
    )


#: The sender id of a socket that sends nothing.
NO_SENDER = 0xFFFF


@dataclass
class ChildSocketPlan(SocketPlan):
    """A socket as its child process sees it: ``binds``, ``connects`` and
    ``conflicting_eps`` hold the concrete endpoints the supervisor chose (loopback ports,
    paths in the run's folder), not the plan's abstract ids."""

    sender_id: int = NO_SENDER  # the wire id of this sending socket
    sync_endpoint: str | None = None  # publishers with sync handshake/welcome: the REP
    sync_peers: dict[str, str] = field(default_factory=dict)  # sender id -> its sync REP
    conflicting_eps: list[str] = field(default_factory=list)  # binds allowed to fail


@dataclass
class ChildSpec:
    """What one instance needs to run in a child process, written as ``specN.json``.

    ``instance.sockets`` are :class:`ChildSocketPlan`.  The paths are inside the run's
    folder: ``stats`` (JSON-lines reports), ``seqdir`` (received sequence numbers),
    ``release`` (a stalled receiver may read) and ``drain`` (the run is ending)."""

    instance: InstancePlan
    settings: Settings = field(default_factory=Settings)
    limits: Limits = field(default_factory=Limits)
    workdir: str = ""
    stats: str = ""
    seqdir: str = ""
    release: str = ""
    drain: str = ""
    parent: int = 0  # the supervisor's pid: the child dies with it

    def to_json(self) -> str:
        """The spec as a JSON text (:meth:`from_json` reads it back)."""
        d = asdict(self)
        d["limits"].pop("HARD", None)
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> ChildSpec:
        """The spec :meth:`to_json` wrote (missing keys take their defaults)."""
        d = json.loads(text)
        return cls(
            instance=_instance_from_dict(d["instance"], ChildSocketPlan),
            settings=Settings(**d.get("settings", {})),
            limits=Limits(**d.get("limits", {})),
            workdir=d.get("workdir", ""),
            stats=d.get("stats", ""),
            seqdir=d.get("seqdir", ""),
            release=d.get("release", ""),
            drain=d.get("drain", ""),
            parent=int(d.get("parent", 0)),
        )

    @property
    def sockets(self) -> list[ChildSocketPlan]:
        """The instance's sockets, with their concrete endpoints."""
        return [s for s in self.instance.sockets if isinstance(s, ChildSocketPlan)]


def host_groups(plan: RunPlan) -> list[list[int]]:
    """Which instances (indices into ``plan.instances``) share an OS process.

    Up to ``settings.isolate_up_to`` instances each get their own; beyond that, two
    processes per CPU (or ``settings.hosts``), instances dealt round-robin so that the
    replicas of one stage spread over them.  A ``kill=`` target is always alone."""
    n = len(plan.instances)
    st = plan.settings
    alone = [i for i, inst in enumerate(plan.instances) if inst.scenario.kill_at is not None]
    rest = [i for i in range(n) if i not in set(alone)]
    hosts = st.hosts or (n if n <= st.isolate_up_to else 2 * (os.cpu_count() or 1))
    hosts = max(1, min(hosts, len(rest))) if rest else 0
    groups: list[list[int]] = [[] for _ in range(hosts)]
    for k, i in enumerate(rest):
        groups[k % hosts].append(i)
    return [[i] for i in alone] + [g for g in groups if g]
