"""One process instance of a reference run: real pyzmq sockets, reference behaviour.

Started by the supervisor as ``python child.py SPEC.json`` in its own session.  The file
imports only the standard library and pyzmq (not the analyzer), so dozens of children
start quickly.  It reports to the supervisor through an append-only JSON-lines stats file
(one snapshot per line: robust to a crash or a SIGKILL of the child) and, for every
(receiving socket, sender) pair, a binary file of the received sequence numbers.

Wire format: every message is one frame (plus the identity envelope on ROUTER) that starts
with a fixed header ``kind, sender id, seq, key, origin time`` and is padded to the
declared message size, so HWM and kernel-buffer behaviour match the declaration.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import json
import math
import os
import resource
import signal
import struct
import sys
import threading
import time
import traceback
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import zmq

if TYPE_CHECKING or __package__:
    from topolint.executor.plan import NO_SENDER, ChildSocketPlan, ChildSpec, JoinPlan
else:  # started as ``python child.py``: the sibling module (stdlib only), not the analyzer
    from plan import NO_SENDER, ChildSocketPlan, ChildSpec, JoinPlan

HEADER = struct.Struct("<cHqqd")  # kind, sender id, seq, key, origin (CLOCK_MONOTONIC)
DATA, EOD, HELLO, ANNOUNCE, ACK = b"D", b"E", b"H", b"W", b"A"
#: After end-of-data arrives on a control socket, data inputs must be quiet this long (s).
EOD_SETTLE = 0.2

ZTYPES = {
    "push": zmq.PUSH,
    "pull": zmq.PULL,
    "pub": zmq.PUB,
    "sub": zmq.SUB,
    "xpub": zmq.XPUB,
    "xsub": zmq.XSUB,
    "req": zmq.REQ,
    "rep": zmq.REP,
    "dealer": zmq.DEALER,
    "router": zmq.ROUTER,
    "pair": zmq.PAIR,
}
INT_OPTIONS = {
    "sndhwm": zmq.SNDHWM,
    "rcvhwm": zmq.RCVHWM,
    "sndbuf": zmq.SNDBUF,
    "rcvbuf": zmq.RCVBUF,
    "linger": zmq.LINGER,
    "maxmsgsize": zmq.MAXMSGSIZE,
}
BOOL_OPTIONS = {"immediate": zmq.IMMEDIATE, "conflate": zmq.CONFLATE}
LOSSY = {"pub", "xpub", "router"}


class Stop(Exception):
    """Raised by the SIGTERM/SIGINT handler: write the final report and leave."""


class Drain(Exception):
    """The supervisor is ending the run: stop sending, read what is still queued."""


_stopping = False
#: A host process (several instances, one thread each) waits this long for its threads to
#: report after a stop before it writes their final reports itself and leaves.
HOST_STOP_WAIT = 0.5
#: Address space allowed per hosted instance beyond the first (stacks of its Python thread
#: and its context's two libzmq threads, allocator arenas).
HOSTED_INSTANCE_AS = 64 << 20


def _on_signal(signum: int, frame: Any) -> None:
    global _stopping
    if _stopping:
        return
    _stopping = True
    raise Stop()


class Sock:
    """Runtime state of one socket."""

    def __init__(self, plan: ChildSocketPlan, z: zmq.Socket[bytes], ztype: str) -> None:
        self.plan = plan
        self.name = plan.name
        self.type = plan.type
        self.ztype = ztype  # the type actually created (pub may become xpub)
        self.role = plan.role
        self.z = z
        self.sid = plan.sender_id
        self.size = max(int(plan.size), HEADER.size)
        self.pad = b"\0" * (self.size - HEADER.size)
        self.sent = 0
        self.eod_sent = 0
        self.dropped = 0
        self.lossy = ztype in LOSSY and not (ztype == "xpub" and plan.options.get("nodrop"))
        self.sends = self.role in ("out", "both", "control-out")
        self.receives = self.role in ("in", "both", "control-in")
        self.data_out = self.role in ("out", "both")
        self.data_in = self.role in ("in", "both")
        self.identities: list[bytes] = []  # ROUTER: peers heard from
        self.last_request: bytes | None = None  # ROUTER: identity of a REQ awaiting a reply
        self.rr = 0
        self.monitor: zmq.Socket[bytes] | None = None
        self.handshakes = 0
        self.subscriptions = 0


@dataclass
class Reporting:
    """When the instance last reported, so that it reports only as often as it should."""

    last_snap: float = 0.0  # last time a snapshot was considered
    last_write: float = 0.0  # last time a line was written
    progress_written: int = -1
    phase_written: str = ""
    drain_checked: float = 0.0  # last look for the supervisor's drain file
    lock: threading.Lock = field(default_factory=threading.Lock)
    sealed: bool = False  # a host wrote this instance's final report: write no more


@dataclass
class Received:
    """What arrived, per receiving socket and sender id: counts, the first sequence number,
    and the sequence numbers not yet flushed to their binary files."""

    counts: dict[str, dict[int, int]] = field(default_factory=dict)
    first: dict[str, dict[int, int]] = field(default_factory=dict)
    seqbuf: dict[tuple[str, int], array.array[int]] = field(default_factory=dict)
    seqfiles: dict[str, dict[int, str]] = field(default_factory=dict)
    last_input: float = field(default_factory=time.monotonic)  # data or end-of-data
    last_data: float = 0.0


@dataclass
class Emission:
    """What the instance produced: messages emitted (a source), filtered and forwarded."""

    emitted: int = 0
    first: float | None = None
    last: float | None = None
    blocked_s: float = 0.0  # time spent waiting for a full queue (back-pressure)
    filtered: int = 0
    forwarded: int = 0


@dataclass
class EndOfData:
    """End-of-data: the declared handling and what arrived so far."""

    action: str  # emit | forward | consume | none
    wait_for: int  # signals needed to complete
    timeout: float | None  # seconds without input before giving up waiting
    received: int = 0
    senders: list[int] = field(default_factory=list)
    swallowed: int = 0  # dropped by a ``drop-eod`` scenario
    complete: bool = False
    settling: bool = False  # complete on a control socket, draining data first
    timed_out: bool = False

    def report(self) -> dict[str, Any]:
        """The ``eod`` entry of a snapshot."""
        return {
            "action": self.action,
            "received": self.received,
            "needed": self.wait_for,
            "complete": self.complete,
            "timed_out": self.timed_out,
            "swallowed": self.swallowed,
            "from": self.senders,
        }


@dataclass
class Sink:
    """What reached the instance when it sends no data: counts, times and latencies."""

    data: int = 0
    first: float | None = None
    last: float | None = None
    latencies: array.array[float] = field(default_factory=lambda: array.array("d"))

    def add(self, now: float, origin: float) -> None:
        """Count one data message that arrived at ``now`` and was emitted at ``origin``."""
        self.data += 1
        self.first = self.first or now
        self.last = now
        if len(self.latencies) < 200_000:
            self.latencies.append(now - origin)

    def latency_summary(self) -> dict[str, float] | None:
        """Count, mean, median, 99th percentile and maximum latency (None when empty)."""
        if not self.latencies:
            return None
        xs = sorted(self.latencies)
        n = len(xs)
        return {
            "count": n,
            "mean": sum(xs) / n,
            "p50": xs[n // 2],
            "p99": xs[min(n - 1, int(n * 0.99))],
            "max": xs[-1],
        }


def _join_stats() -> dict[str, int]:
    return {
        "matches": 0,
        "mismatches": 0,
        "timeouts": 0,
        "partial": 0,
        "max_pending_seen": 0,
        "pending": 0,
        "stalls": 0,
    }


@dataclass
class JoinState:
    """A join in progress: its plan, counters and the messages waiting for a partner."""

    plan: JoinPlan | None
    stats: dict[str, int] = field(default_factory=_join_stats)
    pending: OrderedDict[int, dict[str, float]] = field(default_factory=OrderedDict)
    pending_t: dict[int, float] = field(default_factory=dict)  # key -> when it opened
    queues: dict[str, deque[tuple[int, float, float]]] = field(default_factory=dict)  # order
    latest: dict[str, tuple[int, float]] = field(default_factory=dict)  # latest
    stash: dict[str, tuple[int, float]] = field(default_factory=dict)  # key: held, not read

    def queued(self) -> int:
        """Messages held by the join: open key units and queued order messages."""
        return len(self.pending) + sum(len(q) for q in self.queues.values())

    def report(self) -> dict[str, int]:
        """The ``join`` entry of a snapshot."""
        self.stats["pending"] = self.queued()
        self.stats["held"] = len(self.stash)
        return dict(self.stats)


@dataclass
class Arrivals:
    """Arrivals per millisecond on the data inputs: the peak against the mean."""

    bucket: int = 0  # the current millisecond
    in_bucket: int = 0
    peak_per_ms: int = 0
    count: int = 0
    first: float | None = None
    last: float | None = None

    def add(self, now: float) -> None:
        """Count one data message arriving at ``now``."""
        ms = int(now * 1000)
        if ms != self.bucket:
            self.bucket, self.in_bucket = ms, 0
        self.in_bucket += 1
        self.peak_per_ms = max(self.peak_per_ms, self.in_bucket)
        self.count += 1
        self.first = self.first or now
        self.last = now

    def report(self) -> dict[str, Any]:
        """The ``arrivals`` entry of a snapshot."""
        return {
            "peak_per_ms": self.peak_per_ms,
            "count": self.count,
            "first": self.first,
            "last": self.last,
        }


@dataclass
class ShadowPairing:
    """Several data inputs and no join: what pairing "the next message of each input" would
    have combined (the reference behaviour still handles each message alone)."""

    inputs: list[str]  # the data inputs with peers
    queues: dict[str, deque[int]] = field(default_factory=dict)
    pairs: int = 0
    mismatched: int = 0
    max_ahead: int = 0

    def add(self, sock: str, key: int) -> None:
        """One data message with ``key`` arrived on ``sock``: pair what can be paired."""
        q = self.queues.setdefault(sock, deque())
        q.append(key)
        self.max_ahead = max(self.max_ahead, len(q))
        while all(self.queues.get(n) for n in self.inputs):
            keys = {self.queues[n].popleft() for n in self.inputs}
            self.pairs += 1
            if len(keys) > 1:
                self.mismatched += 1

    def report(self) -> dict[str, int]:
        """The ``unsync`` entry of a snapshot."""
        return {"pairs": self.pairs, "mismatched": self.mismatched, "max_ahead": self.max_ahead}


@dataclass
class Sync:
    """Publisher synchronisation: per publisher what it waited for, the sync REP of each
    subscriber's sender id, and the REQs that told a publisher this instance is ready."""

    info: dict[str, Any] = field(default_factory=dict)
    peers: dict[str, dict[int, str]] = field(default_factory=dict)
    ready_reqs: dict[int, zmq.Socket[bytes]] = field(default_factory=dict)


@dataclass
class _Deadlines:
    """What the main loop waits for: the times, and whether any is work of its own."""

    times: list[float] = field(default_factory=list)
    busy: bool = False  # a deadline of its own work (emission, draining), not a wait

    def add(self, t: float, busy: bool) -> None:
        self.times.append(t)
        self.busy = self.busy or busy


class _Inputs:
    """The sockets the main loop polls, registered unless a bounded join holds them back."""

    def __init__(self, socks: list[Sock]) -> None:
        self.polled = [
            s
            for s in socks
            if s.receives or s.ztype in ("xpub", "router") or (s.ztype == "dealer" and s.sends)
        ]
        self.by_z = {s.z: s for s in self.polled}
        self.poller = zmq.Poller()
        self.registered: set[str] = set()
        self.gate: set[str] | None = None

    def apply(self, gate: set[str] | None) -> None:
        """Register every polled socket but those the join ``gate`` holds back."""
        if gate == self.gate and (self.registered or not self.polled):
            return
        want = {s.name for s in self.polled if not (gate and s.name in gate)}
        for s in self.polled:
            if s.name in want and s.name not in self.registered:
                self.poller.register(s.z, zmq.POLLIN)
            elif s.name not in want and s.name in self.registered:
                self.poller.unregister(s.z)
        self.registered = want
        self.gate = gate


class Child:
    """One process instance: its sockets and the reference behaviour driving them.

    Parameters
    ----------
    spec
        What the supervisor wrote for this instance: its sockets with concrete endpoints,
        behaviour, scenario, settings, limits and the paths of its report files.
    """

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.inst = spec.instance
        self.name = self.inst.name
        self.beh = self.inst.behaviour
        self.scen = self.inst.scenario
        self.settings = spec.settings
        self.limits = spec.limits
        self.workdir = spec.workdir
        self.stats = open(spec.stats, "a", encoding="utf-8")  # noqa: SIM115
        self.seqdir = spec.seqdir
        self.ctx: zmq.Context[zmq.Socket[bytes]] | None = None
        self.socks: list[Sock] = []
        # where the instance is: reported with every snapshot
        self.phase = "starting"
        self.t_start = time.monotonic()
        self.progress = 0
        self.deadline: float | None = None
        self.wait_only = False  # the pending deadline only waits for end-of-data
        self.done = False
        self.draining = False
        self.end_phase: str | None = None  # the phase it was in when the run ended
        self.error: str | None = None
        self.exit_code: int | None = None  # reported with the final snapshot
        self.reporting = Reporting()
        # what happened, grouped by what it belongs to
        self.received = Received()
        self.emission = Emission()
        eod = self.beh.end_of_data
        self.eod = EndOfData(eod.action, max(1, int(eod.wait_for)), eod.timeout)
        self.sink = Sink()
        self.joins = JoinState(self.beh.join)
        self.arrivals = Arrivals()
        self.shadow = ShadowPairing(
            [p.name for p in spec.sockets if p.role in ("in", "both") and p.peers]
        )
        self.sync = Sync()
        self.flood: dict[str, dict[str, Any]] = {}
        self.bind_failures: list[dict[str, str]] = []

    # ------------------------------------------------------------------ reporting
    def snapshot(self, force: bool = False, final: bool = False) -> None:
        """Report to the supervisor: one JSON line in the stats file when due.

        Parameters
        ----------
        force
            Write now, whatever the time since the last line.
        final
            The last report: adds memory, latency, pid and exit code, and never stops the
            instance (a hosted instance is told to stop, or the run to drain, only by the
            reports before).

        Raises
        ------
        Stop
            In a hosted instance's thread, when the host was told to stop.
        Drain
            When the supervisor started ending the run.
        """
        if _stopping and not final and threading.current_thread() is not threading.main_thread():
            raise Stop()  # a hosted instance: the host was told to stop
        now = time.monotonic()
        if not final:
            self._check_drain(now)
        if not force and not self._report_due(now):
            return
        r = self.reporting
        r.last_snap = now
        r.last_write = now
        r.progress_written = self.progress
        r.phase_written = self.phase
        self.flush_seqs()
        line = json.dumps(self._snapshot_record(now, final), separators=(",", ":")) + "\n"
        with r.lock:
            if r.sealed:
                return
            self.stats.write(line)
            self.stats.flush()

    def _check_drain(self, now: float) -> None:
        """Raise :class:`Drain` once the supervisor's drain file appears (looked for every
        50 ms)."""
        if self.draining or now - self.reporting.drain_checked < 0.05:
            return
        self.reporting.drain_checked = now
        drain = self.spec.drain
        if drain and os.path.exists(drain):
            self.draining = True
            self.end_phase = self.phase
            raise Drain()

    def _report_due(self, now: float) -> bool:
        """A snapshot every ``snapshot_interval`` when something changed, a heartbeat every
        ``heartbeat`` otherwise; both slower in long runs (at most ~500 lines per child per
        doubling of the run time, so an hour-long run cannot fill the disk)."""
        r = self.reporting
        stretch = (now - self.t_start) / 500
        if now - r.last_snap < max(self.settings.snapshot_interval, stretch):
            return False
        r.last_snap = now
        changed = self.progress != r.progress_written or self.phase != r.phase_written
        return changed or now - r.last_write >= max(self.settings.heartbeat, stretch)

    def _snapshot_record(self, now: float, final: bool) -> dict[str, Any]:
        """The snapshot as the supervisor reads it."""
        em, rc = self.emission, self.received
        snap: dict[str, Any] = {
            "t": now,
            "phase": self.phase,
            "progress": self.progress,
            "deadline": self.deadline,
            "wait_only": self.wait_only,
            "bind_failures": self.bind_failures,
            "arrivals": self.arrivals.report(),
            "unsync": self.shadow.report(),
            "end_phase": self.end_phase,
            "emitted": em.emitted,
            "emit_span": [em.first, em.last],
            "last_input": rc.last_input,
            "blocked_s": round(em.blocked_s, 4),
            **self._socket_counts(),
            "eod": self.eod.report(),
            "filtered": em.filtered,
            "forwarded": em.forwarded,
            "sink": {"data": self.sink.data, "first_t": self.sink.first, "last_t": self.sink.last},
            "sync": self.sync.info,
            "flood": self.flood,
            "final": final,
            "error": self.error,
        }
        if self.joins.plan:
            snap["join"] = self.joins.report()
        if final:
            snap["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            snap["latency"] = self.sink.latency_summary()
            snap["pid"] = os.getpid()
            snap["exit"] = self.exit_code
        return snap

    def _socket_counts(self) -> dict[str, Any]:
        """Per socket, what was sent and dropped; per socket and sender, what arrived."""
        rc = self.received
        return {
            "sent": {s.name: s.sent for s in self.socks if s.sends},
            "eod_sent": {s.name: s.eod_sent for s in self.socks if s.sends},
            "dropped": {s.name: s.dropped for s in self.socks if s.dropped},
            "recv": {k: {str(i): n for i, n in v.items()} for k, v in rc.counts.items()},
            "first": {k: {str(i): n for i, n in v.items()} for k, v in rc.first.items()},
            "seqfiles": {k: {str(i): f for i, f in v.items()} for k, v in rc.seqfiles.items()},
        }

    def flush_seqs(self) -> None:
        """Append the buffered received sequence numbers to their binary files."""
        for (sock, sid), buf in self.received.seqbuf.items():
            if buf:
                with open(os.path.join(self.seqdir, self.received.seqfiles[sock][sid]), "ab") as f:
                    buf.tofile(f)
                del buf[:]

    def set_phase(self, phase: str) -> None:
        """Enter ``phase``, reporting it at once when it changes."""
        if phase != self.phase:
            self.phase = phase
            self.snapshot(force=True)

    def sleep(self, seconds: float) -> None:
        """Sleep, keeping the supervisor informed."""
        end = time.monotonic() + seconds
        self.deadline = end
        self.wait_only = False
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, self.settings.heartbeat))
            self.snapshot()
        self.deadline = None

    # ------------------------------------------------------------------ setup
    def check_endpoint(self, ep: str) -> None:
        """Refuse ``ep`` (RuntimeError) unless it is loopback TCP, inproc, or IPC inside the
        run's folder: checked before any socket call."""
        ok = (
            ep.startswith("tcp://127.0.0.1:")
            or ep.startswith("inproc://")
            or (
                ep.startswith("ipc://")
                and os.path.realpath(ep[6:]).startswith(os.path.realpath(self.workdir) + os.sep)
            )
        )
        if not ok:
            raise RuntimeError(f"refusing endpoint {ep!r}: not loopback or the run's folder")

    def make_socket(self, plan: ChildSocketPlan) -> Sock:
        """Create, configure, bind and connect the socket ``plan`` declares.

        A PUB that waits for subscription events or must not drop becomes an XPUB; a bind
        the plan lists as conflicting may fail (recorded in ``bind_failures``).
        """
        assert self.ctx is not None
        opts: dict[str, Any] = plan.options or {}
        ztype = plan.type
        if ztype == "pub" and (plan.sync == "subscription-events" or opts.get("nodrop")):
            ztype = "xpub"  # subscription events and XPUB_NODROP need XPUB; it sends like PUB
        z = self.ctx.socket(ZTYPES[ztype])
        for key, opt in INT_OPTIONS.items():
            if opts.get(key) is not None:
                z.setsockopt(opt, int(opts[key]))
        for key, opt in BOOL_OPTIONS.items():
            if opts.get(key):
                z.setsockopt(opt, 1)
        if ztype == "xpub":
            if opts.get("nodrop"):
                z.setsockopt(zmq.XPUB_NODROP, 1)
            z.setsockopt(zmq.XPUB_VERBOSE, 1)
        s = Sock(plan, z, ztype)
        if plan.flood or plan.wait_peers:
            s.monitor = z.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        if ztype == "sub" and opts.get("subscribe"):
            # The publisher's topics are not declared: a socket that subscribes to
            # anything subscribes to everything the reference publisher sends.
            z.setsockopt(zmq.SUBSCRIBE, b"")
        conflicting = set(plan.conflicting_eps or ())
        for ep in plan.binds:
            self.check_endpoint(ep)
            try:
                z.bind(ep)
            except zmq.ZMQError as e:
                if ep not in conflicting:
                    raise
                # a declared endpoint conflict: the second bind fails, as in production
                self.bind_failures.append({"socket": s.name, "error": str(e)})
        for ep in plan.connects:
            self.check_endpoint(ep)
            z.connect(ep)
        if ztype == "xsub" and opts.get("subscribe"):
            z.send(b"\x01")
        if ztype == "dealer" and s.receives:
            z.send(HEADER.pack(ANNOUNCE, s.sid, 0, 0, 0.0), zmq.NOBLOCK)
        self.sync.peers[s.name] = {int(k): v for k, v in (plan.sync_peers or {}).items()}
        return s

    # ------------------------------------------------------------------ sending
    def payload(self, s: Sock, kind: bytes, seq: int, key: int, origin: float) -> bytes:
        """One wire message of ``kind`` from ``s``: the header, padded to the declared size
        when it carries data."""
        head = HEADER.pack(kind, s.sid if s.sid is not None else NO_SENDER, seq, key, origin)
        return head + s.pad if kind == DATA else head

    def send(self, s: Sock, msg: bytes, block: bool = True) -> bool:
        """Send like a blocking send would, without ever blocking the event loop."""
        if s.ztype == "router":
            self.poll_announcements(s)
            if not s.identities:
                s.dropped += 1  # ROUTER silently drops what it cannot route
                return False
            ident = s.identities[s.rr % len(s.identities)]
            s.rr += 1
            try:
                s.z.send_multipart([ident, msg], zmq.NOBLOCK)
            except zmq.Again:
                s.dropped += 1
                return False
            return True
        before = self.phase
        t_block = 0.0
        while True:
            try:
                s.z.send(msg, zmq.NOBLOCK)
                break
            except zmq.Again:
                if not block:
                    return False
                if self.phase != "blocked":
                    t_block = time.monotonic()
                    self.set_phase("blocked")
                s.z.poll(50, zmq.POLLOUT)
                self.snapshot()
        if self.phase == "blocked":
            self.emission.blocked_s += time.monotonic() - t_block
            self.set_phase(before)
        if s.ztype == "req":  # one request in flight: wait for the reply
            while not s.z.poll(50, zmq.POLLIN):
                self.snapshot()
            reply = s.z.recv()
            if len(reply) >= HEADER.size and reply[:1] == DATA:
                _, sid, seq, _, _ = HEADER.unpack_from(reply)
                self.record(s, sid, seq)  # an answer: counted, not processed as input
                self.progress += 1
        return True

    def send_data(self, s: Sock, key: int, origin: float) -> None:
        """Send one data message with ``key`` and ``origin`` on ``s``, counting it if sent."""
        if self.send(s, self.payload(s, DATA, s.sent, key, origin)):
            s.sent += 1
            self.progress += 1

    def send_eod(self) -> None:
        """Send end-of-data on every sending socket that carries it."""
        outs = [s for s in self.socks if s.sends and s.plan.carries_eod]
        for s in outs:
            if self.send(s, self.payload(s, EOD, s.eod_sent, 0, time.monotonic())):
                s.eod_sent += 1
                self.progress += 1

    def forward(self, key: int, origin: float, skip: Sock | None = None) -> None:
        """Send one data message on every data output but ``skip`` (which already answered)."""
        for s in self.socks:
            if s.data_out and s is not skip:
                self.send_data(s, key, origin)
        self.emission.forwarded += 1

    def poll_announcements(self, s: Sock) -> None:
        """ROUTER ``s``: learn the identities of peers that wrote, handling what they sent."""
        while s.z.poll(0, zmq.POLLIN):
            frames = s.z.recv_multipart()
            if frames[0] not in s.identities:
                s.identities.append(frames[0])
            s.last_request = frames[0] if len(frames) >= 3 and frames[-2] == b"" else None
            if len(frames) > 1 and frames[-1][:1] in (DATA, EOD) and s.receives:
                self.handle(s, frames[-1])

    # ------------------------------------------------------------------ receiving
    def record(self, s: Sock, sid: int, seq: int) -> None:
        """Count message ``seq`` from sender ``sid`` on ``s`` and buffer its sequence number."""
        per = self.received.counts.setdefault(s.name, {})
        if sid not in per:
            per[sid] = 0
            self.received.first.setdefault(s.name, {})[sid] = seq
            fname = f"{len(self.received.seqbuf)}.seq"
            self.received.seqfiles.setdefault(s.name, {})[sid] = fname
            self.received.seqbuf[(s.name, sid)] = array.array("q")
        per[sid] += 1
        self.received.seqbuf[(s.name, sid)].append(seq)

    def recv_one(self, s: Sock) -> bytes | None:
        """The next message waiting on ``s`` (its last frame), or None.  A ROUTER learns the
        sender's identity; an XPUB only counts subscriptions."""
        try:
            if s.ztype == "router":
                frames = s.z.recv_multipart(zmq.NOBLOCK)
                if frames[0] not in s.identities:
                    s.identities.append(frames[0])
                # a REQ peer's envelope has an empty delimiter: it waits for a reply
                s.last_request = frames[0] if len(frames) >= 3 and frames[-2] == b"" else None
                return frames[-1]
            if s.ztype == "xpub":
                msg = s.z.recv(zmq.NOBLOCK)
                if msg[:1] == b"\x01":
                    s.subscriptions += 1
                return None
            return s.z.recv(zmq.NOBLOCK)
        except zmq.Again:
            return None

    def handle(self, s: Sock, msg: bytes, drain: bool = False) -> None:
        """Handle one message received on ``s``.

        Parameters
        ----------
        s
            The receiving socket.
        msg
            The message (its last frame); shorter than a header: ignored.
        drain
            The run is ending: count the message, process nothing.
        """
        if len(msg) < HEADER.size:
            return
        kind, sid, seq, key, origin = HEADER.unpack_from(msg)
        now = time.monotonic()
        replied = self.reply(s, kind, key, origin)
        if kind == DATA:
            self.record(s, sid, seq)
            self.received.last_input = now
            self.received.last_data = now
            self.progress += 1
            if s.data_in and not drain:
                self.arrivals.add(now)
                if not self.joins.plan and len(self.shadow.inputs) >= 2:
                    self.shadow.add(s.name, key)
            if not drain:
                self.on_data(s, key, origin, skip=s if replied else None)
        elif kind == EOD:
            self.received.last_input = now
            self.progress += 1
            if self.scen.drop_eod:
                self.eod.swallowed += 1
            elif not drain:
                self.eod.received += 1
                self.eod.senders.append(sid)
                if self.eod.received >= self.eod.wait_for:
                    if s.data_in or not any(x.data_in for x in self.socks):
                        self.on_eod_complete()
                    else:
                        # End-of-data came on a control socket: it can overtake data still in
                        # flight on the data sockets. A careful process drains them first.
                        self.eod.settling = True
        elif kind == HELLO:
            self.answer_hello(s, sid)

    def reply(self, s: Sock, kind: bytes, key: int, origin: float) -> bool:
        """A REP, or a ROUTER that a REQ asked, answers at once: with a data message when
        the socket declares sending (the answer, counted on that connection), else with a
        bare acknowledgement.  True when the answer was data."""
        ident = s.last_request if s.ztype == "router" else None
        if s.ztype != "rep" and ident is None:
            return False
        s.last_request = None
        answer = kind == DATA and s.data_out
        msg = self.payload(s, DATA, s.sent, key, origin) if answer else ACK
        try:
            if ident is not None:
                s.z.send_multipart([ident, b"", msg], zmq.NOBLOCK)
            else:
                s.z.send(msg)
        except zmq.Again:
            s.dropped += 1
            return answer
        if answer:
            s.sent += 1
            self.progress += 1
        return answer

    def answer_hello(self, s: Sock, sid: int) -> None:
        """A publisher's hello on ``s``: tell its sync REP (once) that this subscriber is ready."""
        ep = self.sync.peers.get(s.name, {}).get(sid)
        if ep is None or sid in self.sync.ready_reqs:
            return
        assert self.ctx is not None
        req = self.ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        self.check_endpoint(ep)
        req.connect(ep)
        req.send(self.name.encode(), zmq.NOBLOCK)
        self.sync.ready_reqs[sid] = req
        self.sync.info.setdefault("answered", []).append(sid)

    def on_data(self, s: Sock, key: int, origin: float, skip: Sock | None = None) -> None:
        """Process one data message: hold it for the service time, filter, count it at a sink,
        join it or forward it (not on ``skip``, which already answered)."""
        self.hold()
        if self.filtered_out(key):
            return
        if not any(x.data_out for x in self.socks):
            self.sink.add(time.monotonic(), origin)
        if self.joins.plan and s.name in self.joins.plan.inputs:
            self.join_add(s.name, key, origin)
            return
        self.forward(key, origin, skip)

    def on_eod_complete(self) -> None:
        """End-of-data is complete (or timed out): forward or emit it, and be done unless the
        declared action is none."""
        if self.eod.complete:
            return
        self.eod.complete = True
        if self.eod.action in ("forward", "emit"):
            self.send_eod()
            self.done = True
        elif self.eod.action == "consume":
            self.done = True

    # ------------------------------------------------------------------ joins
    def join_add(self, inp: str, key: int, origin: float) -> None:
        """Add a message from join input ``inp``, forwarding what the join's match completes."""
        js = self.joins
        j = js.plan
        assert j is not None
        inputs = j.inputs
        match = j.match
        now = time.monotonic()
        if match == "any":
            js.stats["matches"] += 1
            self.forward(key, origin)
        elif match == "latest":
            js.latest[inp] = (key, origin)
            if all(i in js.latest for i in inputs):
                js.stats["matches"] += 1
                self.forward(key, min(o for _, o in js.latest.values()))
        elif match == "order":
            for i in inputs:
                js.queues.setdefault(i, deque())
            js.queues[inp].append((key, origin, now))
            limit = j.max_pending
            if limit is not None and len(js.queues[inp]) == int(limit):
                js.stats["stalls"] += 1  # this input is not read until the others catch up
            while all(js.queues[i] for i in inputs):
                heads = [js.queues[i].popleft() for i in inputs]
                js.stats["matches"] += 1
                if len({h[0] for h in heads}) > 1:
                    js.stats["mismatches"] += 1
                self.forward(heads[0][0], min(h[1] for h in heads))
        else:  # key
            self.key_admit(inp, key, origin, now)
        js.stats["max_pending_seen"] = max(js.stats["max_pending_seen"], js.queued())

    def key_admit(self, inp: str, key: int, origin: float, now: float) -> None:
        """Admit a message into the key join, or hold it (and stop reading its input) when it
        would open a new unit while ``max_pending`` units are already open."""
        js = self.joins
        j = js.plan
        assert j is not None
        limit = j.max_pending
        if key not in js.pending and limit is not None and len(js.pending) >= int(limit):
            js.stash[inp] = (key, origin)
            js.stats["stalls"] += 1
            return
        unit = js.pending.setdefault(key, {})
        js.pending_t.setdefault(key, now)
        unit[inp] = origin
        if all(i in unit for i in j.inputs):
            del js.pending[key]
            del js.pending_t[key]
            js.stats["matches"] += 1
            self.forward(key, min(unit.values()))
            self.unstash(now)

    def unstash(self, now: float) -> None:
        """A unit closed: held messages may be admitted now (each at most once per call)."""
        for inp in list(self.joins.stash):
            if inp in self.joins.stash:
                key, origin = self.joins.stash.pop(inp)
                self.key_admit(inp, key, origin, now)

    def join_gate(self) -> set[str] | None:
        """The join inputs not to read now: a bounded join stops reading an input whose
        next message it cannot admit (key), or whose queue is full (order)."""
        js = self.joins
        j = js.plan
        if not j or j.max_pending is None:
            return None
        limit = int(j.max_pending)
        if j.match == "key":
            return set(js.stash) or None
        if j.match == "order":
            return {i for i, q in js.queues.items() if len(q) >= limit}
        return None

    def join_expire(self, now: float) -> float | None:
        """Expire join units older than the timeout; return the next expiry time."""
        js = self.joins
        j = js.plan
        if not j or j.timeout is None:
            return None
        timeout = float(j.timeout)
        partial = j.on_timeout == "emit-partial"
        if j.match == "key":
            while js.pending:
                key, t = next(iter(js.pending_t.items()))
                if now - t < timeout:
                    return t + timeout
                unit = js.pending.pop(key)
                del js.pending_t[key]
                js.stats["timeouts"] += 1
                self.progress += 1
                if partial:
                    js.stats["partial"] += 1
                    self.forward(key, min(unit.values()))
                self.unstash(now)
            return None
        if j.match == "order":
            heads = [q[0][2] for q in js.queues.values() if q]
            if not heads:
                return None
            t = min(heads)
            if now - t < timeout:
                return t + timeout
            for q in js.queues.values():
                if q and q[0][2] == t:
                    key, origin, _ = q.popleft()
                    js.stats["timeouts"] += 1
                    self.progress += 1
                    if partial:
                        js.stats["partial"] += 1
                        self.forward(key, origin)
            return now
        return None

    # ------------------------------------------------------------------ phases
    def sync_publishers(self) -> None:
        """Publishers wait as declared for their subscribers: a fixed sleep, a handshake or
        welcome through a REP, or subscription events on an XPUB."""
        assert self.ctx is not None
        waiting: dict[str, tuple[Sock, zmq.Socket[bytes] | None, int]] = {}
        for s in self.socks:
            mode = s.plan.sync
            if not s.sends or s.ztype not in ("pub", "xpub") or mode in (None, "none"):
                continue
            expected = int(s.plan.expected_subscribers)
            self.sync.info[s.name] = {"mode": mode, "expected": expected, "ready": 0}
            if mode == "sleep":
                self.set_phase("syncing")
                self.sleep(float(self.settings.sync_sleep))
                continue
            rep = None
            if mode in ("handshake", "welcome"):
                rep = self.ctx.socket(zmq.REP)
                rep.setsockopt(zmq.LINGER, 0)
                ep = s.plan.sync_endpoint or ""
                self.check_endpoint(ep)
                rep.bind(ep)
            waiting[s.name] = (s, rep, expected)
        if not waiting:
            return
        self.set_phase("syncing")
        t0 = time.monotonic()
        last_hello = 0.0
        while True:
            pending = False
            now = time.monotonic()
            for name, (s, rep, expected) in waiting.items():
                info = self.sync.info[name]
                if rep is not None:
                    while rep.poll(0, zmq.POLLIN):
                        rep.recv()
                        rep.send(b"ok")
                        info["ready"] += 1
                        self.progress += 1
                    if info["ready"] < expected and now - last_hello >= 0.02:
                        s.z.send(HEADER.pack(HELLO, s.sid, 0, 0, now), zmq.NOBLOCK)
                else:  # subscription-events on XPUB
                    while s.z.poll(0, zmq.POLLIN):
                        if s.z.recv()[:1] == b"\x01":
                            info["ready"] += 1
                            self.progress += 1
                if info["ready"] < expected:
                    pending = True
            if now - last_hello >= 0.02:
                last_hello = now
            if not pending:
                break
            time.sleep(0.005)
            self.snapshot()
        for name, (_, rep, _) in waiting.items():
            self.sync.info[name]["waited_s"] = time.monotonic() - t0
            if rep is not None:
                rep.close(0)

    def count_handshakes(self, s: Sock, timeout_ms: int) -> None:
        """Count one completed handshake on ``s`` if its monitor reports one in time."""
        if s.monitor is not None and s.monitor.poll(timeout_ms, zmq.POLLIN):
            s.monitor.recv_multipart()
            s.handshakes += 1

    def wait_connected(self) -> None:
        """Blocking senders start once their declared peers are connected (bounded wait)."""
        socks = [s for s in self.socks if int(s.plan.wait_peers or 0) > 0]
        if not socks:
            return
        self.set_phase("connecting")
        end = time.monotonic() + float(self.settings.connect_wait)
        self.deadline = end
        for s in socks:
            while s.handshakes < int(s.plan.wait_peers) and time.monotonic() < end:
                self.count_handshakes(s, 20)
                self.snapshot()
            # a ROUTER can route only to peers it heard from: wait for their announcements
            while (
                s.ztype == "router"
                and len(s.identities) < int(s.plan.wait_peers)
                and time.monotonic() < end
            ):
                self.poll_announcements(s)
                s.z.poll(20, zmq.POLLIN)
                self.snapshot()
            if s.handshakes < int(s.plan.wait_peers):
                self.sync.info.setdefault("connect_wait_timed_out", []).append(s.name)
        self.deadline = None

    def run_flood(self, then_idle: bool = True) -> None:
        """Stall scenario, sending side: measure queue capacity (notes: NOBLOCK, ~1 s quiet)."""
        floods = [s for s in self.socks if s.plan.flood]
        self.set_phase("flood-wait")
        for s in floods:
            want = int(s.plan.flood_peers)
            while s.monitor is not None and s.handshakes < want:
                self.count_handshakes(s, 50)
                self.snapshot()
        self.set_phase("flooding")
        quiet = float(self.settings.stall_quiet)
        for s in floods:
            limit = max(
                1, min(int(self.limits.max_messages), self.limits.max_source_bytes // s.size)
            )
            info = self.flood[s.name] = {"sent": 0, "done": False, "limit": limit}
            last = time.monotonic()
            while time.monotonic() - last < quiet and info["sent"] < limit:
                try:
                    s.z.send(self.payload(s, DATA, s.sent, s.sent, time.monotonic()), zmq.NOBLOCK)
                    s.sent += 1
                    info["sent"] += 1
                    self.progress += 1
                    last = time.monotonic()
                except zmq.Again:
                    time.sleep(0.001)
                self.deadline = last + quiet
                self.snapshot()
            info["done"] = True
            info["capped"] = info["sent"] >= limit
        self.deadline = None
        self.set_phase("flood-done")
        if then_idle:
            self.idle()

    def run_stalled(self) -> None:
        """Stall scenario, stalled side: never read until released, then drain and count."""
        self.set_phase("stalled")
        release = self.spec.release
        while not os.path.exists(release):
            time.sleep(0.02)
            self.snapshot()
        self.set_phase("draining")
        self.drain_until_quiet([s for s in self.socks if s.receives])
        self.set_phase("drained")
        self.idle()

    def run_drain(self) -> None:
        """The run is ending: send nothing more, read everything still queued towards this
        instance (recorded, not processed) until nothing came for ``drain_idle``, report
        ``drained-end`` and wait to be stopped.  So a socket that cannot drop shows no
        loss: what was in flight when the run ended has arrived."""
        self.set_phase("draining-end")
        self.drain_until_quiet(
            [s for s in self.socks if s.receives or s.ztype in ("router", "xpub")]
        )
        self.set_phase("drained-end")
        self.idle()

    def drain_until_quiet(self, socks: list[Sock]) -> None:
        """Read everything queued on ``socks`` (recorded as drained, not processed) until
        nothing has come for ``drain_idle`` seconds, reporting as it goes."""
        idle = float(self.settings.drain_idle)
        poller = zmq.Poller()
        for s in socks:
            poller.register(s.z, zmq.POLLIN)
        by_z = {s.z: s for s in socks}
        last = time.monotonic()
        while time.monotonic() - last < idle:
            for z, _ in poller.poll(20):
                s = by_z[z]
                while (msg := self.recv_one(s)) is not None:
                    self.handle(s, msg, drain=True)
                    last = time.monotonic()
            self.snapshot()

    def idle(self) -> None:
        """Do nothing but report until stopped."""
        while True:
            time.sleep(self.settings.heartbeat)
            self.snapshot()

    def run_main(self) -> None:
        """The declared behaviour until it is done: a source emits its count at its pace, a
        worker or sink handles what arrives; each ends with its end-of-data handling (or
        when it gives up waiting for it)."""
        self.set_phase("running")
        count = self.beh.count
        if count is None:
            count = int(self.limits.max_messages)
        t0 = self._pace_start()
        source = self.beh.kind == "source"
        if source and count == 0:
            self.finish_source()
            return
        inputs = _Inputs(self.socks)
        while not self.done:
            now = time.monotonic()
            deadlines = _Deadlines()
            if source and self.emission.emitted < count:
                due = self._emit_if_due(t0, count, now)
                if due is None:
                    if self.emission.emitted >= count:
                        return
                    self.snapshot()  # look at inputs and timers every 32 messages
                    continue
                deadlines.add(due, busy=True)
            nxt = self.join_expire(now)
            if nxt is not None:  # expiring units is an action with a result: not a wait
                deadlines.add(nxt, busy=True)
            if self._end_of_data_ended(now, source, deadlines):
                return
            gate = self.join_gate()
            inputs.apply(gate)
            self._wait_and_handle(inputs, gate, deadlines, now)
            for req in self.sync.ready_reqs.values():
                if req.poll(0, zmq.POLLIN):
                    req.recv()
            self.snapshot()

    def _pace_start(self) -> float:
        """When a source's first message is due.  A paced source fires on its period's
        boundaries of the machine's monotonic clock (plus its phase), as timers aligned to
        a common clock do: two sources of one period and phase fire together, whatever
        their start-up order."""
        rate = self.beh.rate
        now0 = time.monotonic()
        return (math.ceil(now0 * rate) / rate if rate else now0) + float(self.beh.phase or 0.0)

    def _emit_if_due(self, t0: float, count: int, now: float) -> float | None:
        """Emit the source's next message if it is due.  Return when the next one is due,
        or None to come straight back (the source finished, or the message was not a 32nd
        one, after which the main loop looks at its inputs and timers)."""
        rate = self.beh.rate
        due = t0 + self.emission.emitted / rate if rate else t0
        if due > now:
            return due
        self.emit()
        if self.emission.emitted >= count:
            self.finish_source()
            return None
        if self.emission.emitted % 32:
            return None
        return t0 + self.emission.emitted / rate if rate else now

    def _end_of_data_ended(self, now: float, source: bool, deadlines: _Deadlines) -> bool:
        """Complete end-of-data when its timeout passed without input, or when the data
        inputs settled after it came on a control socket: True then (the main loop ends),
        else add those times to ``deadlines``."""
        eod = self.eod
        if (
            eod.timeout is not None
            and eod.action in ("forward", "consume", "emit")
            and not source
            and not eod.complete
        ):
            limit = self.received.last_input + float(eod.timeout)
            if now >= limit:
                eod.timed_out = True
                self.on_eod_complete()
                return True
            deadlines.add(limit, busy=False)
        if eod.settling and not eod.complete:
            settled = self.received.last_data + EOD_SETTLE
            if now >= settled:
                self.on_eod_complete()
                return True
            deadlines.add(settled, busy=True)
        return False

    def _wait_and_handle(
        self, inputs: _Inputs, gate: set[str] | None, deadlines: _Deadlines, now: float
    ) -> None:
        """Wait for input until the nearest deadline (at most a snapshot interval), then
        handle up to 16 messages per ready socket, fewer when the join's gate changes."""
        times = deadlines.times
        self.deadline = min(times) if times else None
        self.wait_only = bool(times) and not deadlines.busy
        wait = self.settings.snapshot_interval
        if times:
            wait = max(0.0, min(wait, min(times) - now))
        if inputs.registered:
            events = inputs.poller.poll(int(wait * 1000))
        else:
            time.sleep(wait)
            events = []
        for z, _ in events:
            s = inputs.by_z[z]
            for _ in range(16):
                msg = self.recv_one(s)
                if msg is None:
                    break
                self.handle(s, msg)
                if self.done or self.join_gate() != gate:
                    break
            if self.done:
                break

    def filtered_out(self, key: int) -> bool:
        """A filtering instance drops every ``filter_every``-th key: True (and counted) then."""
        every = int(self.settings.filter_every)
        if self.beh.filters and every > 0 and key % every == every - 1:
            self.emission.filtered += 1
            return True
        return False

    def hold(self) -> None:
        """Hold the current message for the declared service time."""
        st = float(self.beh.service_time or 0.0)
        if st > 0:
            if st >= self.settings.snapshot_interval:
                self.sleep(st)
            else:
                time.sleep(st)

    def emit(self) -> None:
        """A source emits its next message on every data output."""
        key = self.emission.emitted
        self.hold()  # a source, too, spends its service time on each message
        origin = time.monotonic()
        self.emission.first = self.emission.first or origin
        self.emission.last = origin
        if self.filtered_out(key):
            self.emission.emitted += 1
            self.progress += 1
            return
        for s in self.socks:
            if s.data_out:
                self.send_data(s, key, origin)
        self.emission.emitted += 1
        self.progress += 1

    def finish_source(self) -> None:
        """A source sent its count: emit end-of-data if declared, and be done."""
        if self.eod.action in ("emit", "forward"):
            self.send_eod()
        self.done = True

    # ------------------------------------------------------------------ lifecycle
    def run(self) -> int:
        """Run the instance from start to its natural end and return its exit code (0).

        Raises :class:`Stop` when stopped; the caller then calls :meth:`abort`.
        """
        delay = float(self.scen.start_delay or 0.0)
        self.deadline = time.monotonic() + delay if delay else None
        self.snapshot(force=True)
        try:
            if delay:
                self.sleep(delay)
            self.ctx = zmq.Context()
            # Sockets, their monitors' PAIRs and sync REQ/REPs (libzmq's default is 1023).
            plans = self.spec.sockets
            wanted = 3 * len(plans) + sum(len(p.sync_peers or {}) for p in plans) + 16
            if wanted > self.ctx.get(zmq.MAX_SOCKETS):
                self.ctx.set(zmq.MAX_SOCKETS, wanted)
            self.socks = [self.make_socket(p) for p in plans]
            self.set_phase("ready")
            if self.scen.stall:
                if any(s.plan.flood for s in self.socks):
                    self.run_flood(then_idle=False)  # into its own stalled inproc socket
                self.run_stalled()
            if any(s.plan.flood for s in self.socks):
                self.run_flood()
            self.wait_connected()
            self.sync_publishers()
            if self.beh.kind == "idle":
                self.set_phase("idle")
                self.idle()
            self.run_main()
        except Drain:
            self.run_drain()
        # natural end: close with the declared linger, as the process would
        self.set_phase("closing")
        self.snapshot(force=True, final=True)
        for req in self.sync.ready_reqs.values():
            req.close(0)
        for s in self.socks:
            if s.monitor is not None:
                s.monitor.close(0)
            s.z.close()
        if self.ctx is not None:
            self.ctx.term()
        self.phase = "done"
        self.exit_code = 0
        self.snapshot(force=True, final=True)
        return 0

    def abort(self, phase: str) -> None:
        """Stopped by the supervisor (or failed): report, drop queues, leave."""
        self.end_phase = self.end_phase or self.phase
        self.phase = phase
        if self.exit_code is None:
            self.exit_code = 3 if phase == "crashed" else 0
        try:
            self.snapshot(force=True, final=True)
        finally:
            if self.ctx is not None:
                self.ctx.destroy(linger=0)


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != parent:
        os._exit(4)


def _run_hosted(child: Child) -> None:
    """One hosted instance, in its own thread: like a child process, but reports its exit
    code in its final snapshot instead of exiting."""
    try:
        child.run()
    except Stop:
        with contextlib.suppress(BaseException):
            child.abort("stopped")
    except BaseException as e:  # report any failure to the supervisor
        child.error = f"{type(e).__name__}: {e}"
        tb = traceback.format_exc().splitlines(keepends=True)
        sys.stderr.write("".join(f"[{child.name}] {line}" for line in tb))
        child.exit_code = 3
        with contextlib.suppress(BaseException):
            child.abort("crashed")


def host(specs: list[ChildSpec]) -> int:
    """Several instances in one OS process, one thread each, every one with its own
    context (so inproc and linger behave as in a process of its own) and real sockets.
    On SIGTERM/SIGINT every thread stops at its next report; one that does not within
    ``HOST_STOP_WAIT`` (hung in a close with infinite linger) gets its final report written
    here, in its current phase, and the process leaves."""
    children = [Child(s) for s in specs]
    threads = [
        threading.Thread(target=_run_hosted, args=(c,), name=c.name, daemon=True) for c in children
    ]
    try:
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)
    except Stop:
        end = time.monotonic() + HOST_STOP_WAIT
        for t in threads:
            t.join(max(0.0, end - time.monotonic()))
        for c, t in zip(children, threads, strict=True):
            if t.is_alive():
                c.end_phase = c.end_phase or c.phase
                c.phase = c.phase if c.phase == "closing" else "stopped"
                c.exit_code = 0
                with contextlib.suppress(BaseException):
                    c.snapshot(force=True, final=True)
                with c.reporting.lock:
                    c.reporting.sealed = True
    return 0


def main(argv: list[str]) -> int:
    """Run the instance(s) of the spec files ``argv[1:]`` (one: this process is that
    instance; several: a host) and leave with the exit code, without running atexit
    handlers or waiting for libzmq."""
    specs = []
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            specs.append(ChildSpec.from_json(f.read()))
    spec = specs[0]
    _die_with_parent(int(spec.parent))
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    limit = int(spec.limits.max_child_memory) + HOSTED_INSTANCE_AS * (len(specs) - 1)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if len(specs) > 1:
        code = 0
        with contextlib.suppress(Stop):
            code = host(specs)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    child = Child(spec)
    code = 0
    try:
        code = child.run()
    except Stop:
        child.abort("stopped")
    except BaseException as e:  # report any failure to the supervisor
        child.error = f"{type(e).__name__}: {e}"
        traceback.print_exc()
        with contextlib.suppress(BaseException):
            child.abort("crashed")
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv)
