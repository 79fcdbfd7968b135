"""The supervisor: runs a :class:`~topolint.executor.plan.RunPlan` as real OS processes.

It owns a private temporary folder (``$TMPDIR/topolint-<uid>/run-*``, see
:mod:`~topolint.executor.workdir`), turns the plan's abstract
endpoints into loopback TCP ports or IPC paths inside that folder, starts one child per
instance in its own session, watches their stats files, applies the scenarios, decides when
the run is over (every child finished, the timeout, nothing moved for ``settings.quiet``
seconds with no timer pending, or a stall measurement completed) and always cleans up:
every child's process group is killed, held ports are released and the folder is removed,
also on Ctrl-C (SIGINT), SIGTERM/SIGHUP, or a crash of a child.

It also stops the run when its folder disappears or when the private memory of the process
tree exceeds the plan's budget (``limits.max_memory``), and turns running out of open
files or disk space into one :class:`ResourceError` line.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import copy
import errno
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any

from topolint.executor import resources, workdir
from topolint.executor.plan import (
    NO_SENDER,
    ChildSocketPlan,
    ChildSpec,
    InstancePlan,
    RunPlan,
    SocketPlan,
    host_groups,
)
from topolint.executor.resources import ResourceError

CHILD = Path(__file__).with_name("child.py")
#: How often the process tree's memory is sampled (seconds).
MEMORY_SAMPLE = 0.02


class PlanError(ValueError):
    """The plan cannot be run (too many instances, bad scenario target, ...)."""


@dataclass
class InstanceResult:
    """What one child reported."""

    name: str
    pid: int | None = None
    exit_code: int | None = None
    killed: bool = False  # by a kill= scenario
    stopped: bool = False  # by the supervisor at the end of the run
    latest: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # t, sent, recv (compact)
    seqs: dict[str, dict[int, list[int]]] = field(default_factory=dict)  # sock -> sid -> seqs
    stderr: str = ""

    @property
    def cause(self) -> str | None:
        """Why this child died abnormally (signal, exception, exit code), or None."""
        code = self.exit_code
        if self.killed or code is None:
            return None
        error = self.latest.get("error")
        if not error:
            lines = [x for x in self.stderr.strip().splitlines() if x.strip()]
            error = lines[-1].strip() if lines else None
        if code < 0:
            if self.stopped and code in (-signal.SIGKILL, -signal.SIGTERM):
                return None  # the supervisor's own stop
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = " (the kernel's out-of-memory killer?)" if code == -signal.SIGKILL else ""
            return f"killed by {name}{why}"
        if code == 0 and self.latest.get("phase") != "crashed":
            return None
        if self.stopped and code == 0:
            return None
        if code == 4:
            return "exited: its supervisor went away"
        return f"exit code {code}: {error}" if error else f"exit code {code}"

    @property
    def crashed(self) -> bool:
        """The instance died abnormally (``cause`` says how)."""
        return self.cause is not None


@dataclass
class RunResult:
    """What :func:`execute` observed: per-instance results, how and why the run ended,
    the endpoints used, notes, and the run-level failures and memory figures."""

    plan: RunPlan
    instances: dict[str, InstanceResult]
    terminated: bool
    stop_reason: str
    duration: float
    interrupted: bool = False
    endpoints: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    killed_at: dict[str, int] = field(default_factory=dict)  # instance -> source messages
    failures: list[str] = field(default_factory=list)  # why the run as a whole is incomplete
    memory: dict[str, Any] = field(default_factory=dict)  # budget, static bound, peak


class _Interrupted(BaseException):
    pass


class _StatsReader:
    """Reads the new lines of one instance's stats file; keeps it open once it exists."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.buf = b""
        self.f: Any = None

    def read(self) -> list[dict[str, Any]]:
        if self.f is None:
            try:
                self.f = open(self.path, "rb")  # noqa: SIM115 - closed in close()
            except FileNotFoundError:
                return []
        data = self.f.read()
        if not data:
            return []
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        out = []
        for line in lines:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def close(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None


class Supervisor:
    """Runs one plan; use :func:`execute`."""

    def __init__(
        self, plan: RunPlan, progress: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.plan = plan
        self.progress = progress
        self._next_progress = 0.0
        self.workdir = ""
        self.procs: dict[str, subprocess.Popen[bytes]] = {}  # instance -> its OS process
        self.hosts: list[subprocess.Popen[bytes]] = []  # every OS process, once
        self.errfile: dict[str, str] = {}
        self.held: list[socket.socket] = []
        self.endpoints: dict[str, str] = {}
        self.results: dict[str, InstanceResult] = {}
        self.readers: dict[str, _StatsReader] = {}
        self.specs: dict[str, ChildSpec] = {}
        self.results = {i.name: InstanceResult(i.name) for i in plan.instances}
        self.notes: list[str] = []
        self.failures: list[str] = []
        self.memory: dict[str, Any] = {}
        self.stage = "starting"
        self._wd_id: tuple[int, int] | None = None
        self._cleaned = False
        self._old_handlers: dict[int, Any] = {}
        self._errfiles: list[Any] = []

    # ------------------------------------------------------------------ setup
    def _mkworkdir(self) -> None:
        self.stage = "creating the run's folder"
        longest = max(len(self.plan.endpoints), sum(len(i.sockets) for i in self.plan.instances))
        tmp, note = workdir.tempdir(reserve=len(f"void{longest}"))
        if note:
            self.notes.append(note)
        base = workdir.user_base(tmp)
        me = workdir.current_owner()
        if me is None:
            self.notes.append(
                "/proc cannot tell this process's start time: if this run is SIGKILLed, "
                "its folder stays (later runs only remove folders of provably dead owners)"
            )
        workdir.sweep(base, me)
        self.workdir = workdir.make_run_dir(base, me)
        st = os.stat(self.workdir)
        self._wd_id = (st.st_dev, st.st_ino)

    def _folder_gone(self) -> bool:
        try:
            st = os.stat(self.workdir)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self._wd_id

    def _free_port(self, hold: bool) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
        if hold:  # bound, never listening: a connect gets refused and nobody else can bind
            self.held.append(s)
        else:
            self._probe.append(s)
        return port

    def _materialise(self) -> None:
        self._probe: list[socket.socket] = []
        for n, e in enumerate(self.plan.endpoints):
            if e.transport == "tcp":
                port = self._free_port(hold=not e.bound)
                self.endpoints[e.id] = f"tcp://127.0.0.1:{port}"
            elif e.transport == "ipc":
                name = f"e{n}" if e.bound else f"void{n}"
                self.endpoints[e.id] = f"ipc://{self.workdir}/{name}"
            elif e.transport == "inproc":
                self.endpoints[e.id] = f"inproc://e{n}" if e.bound else f"inproc://void{n}"
            else:
                raise PlanError(f"endpoint {e.id}: unsupported transport {e.transport!r}")
        for s in self._probe:
            s.close()

    def _sync_wiring(self) -> tuple[dict[str, int], dict[str, str], dict[str, dict[str, str]]]:
        """Wire ids of the sending sockets, the sync REP endpoint of each publisher that
        handshakes, and for each receiving socket the sync endpoints of its publishers
        (by wire id)."""
        senders = self.plan.senders()
        if len(senders) >= NO_SENDER:
            raise PlanError("too many sending sockets")
        sid = {name: i for i, name in enumerate(senders)}
        sync_ep: dict[str, str] = {}
        for inst in self.plan.instances:
            for s in inst.sockets:
                if s.sends and s.sync in ("handshake", "welcome"):
                    sync_ep[f"{inst.name}.{s.name}"] = f"ipc://{self.workdir}/sync{len(sync_ep)}"
        peers: dict[str, dict[str, str]] = {}
        for c in self.plan.connections:
            if c.sender in sync_ep:
                peers.setdefault(c.receiver, {})[str(sid[c.sender])] = sync_ep[c.sender]
        return sid, sync_ep, peers

    def _concrete(self, full: str, ids: list[str]) -> list[str]:
        """The concrete endpoints of the abstract endpoint ``ids`` of socket ``full``."""
        try:
            return [self.endpoints[e] for e in ids]
        except KeyError as e:
            raise PlanError(f"{full}: unknown endpoint id {e}") from None

    def _specs(self) -> None:
        """One :class:`ChildSpec` per instance, with concrete endpoints and its files."""
        sid, sync_ep, peers = self._sync_wiring()
        for idx, inst in enumerate(self.plan.instances):
            sockets: list[SocketPlan] = []
            for s in inst.sockets:
                full = f"{inst.name}.{s.name}"
                fields = asdict(s)
                fields.update(
                    conflicting_eps=self._concrete(full, s.conflicting),
                    binds=self._concrete(full, s.binds),
                    connects=self._concrete(full, s.connects),
                    sender_id=sid.get(full, NO_SENDER),
                    sync_endpoint=sync_ep.get(full),
                    sync_peers=peers.get(full, {}),
                )
                sockets.append(ChildSocketPlan(**fields))
            seqdir = os.path.join(self.workdir, f"seq{idx}")
            os.mkdir(seqdir)
            self.specs[inst.name] = ChildSpec(
                instance=replace(copy.deepcopy(inst), sockets=sockets),
                settings=replace(self.plan.settings),
                limits=replace(self.plan.limits),
                workdir=self.workdir,
                stats=os.path.join(self.workdir, f"stats{idx}.jsonl"),
                seqdir=seqdir,
                release=os.path.join(self.workdir, "release"),
                drain=os.path.join(self.workdir, "drain"),
                parent=os.getpid(),
            )

    def _spawn(self, group: list[int]) -> None:
        """Start one OS process hosting the instances ``group`` (indices)."""
        insts = [self.plan.instances[i] for i in group]
        paths = []
        scale = len(group) if len(group) > 1 else 0
        for idx, inst in zip(group, insts, strict=True):
            spec = self.specs[inst.name]
            if scale:  # many threads in one process: report less often
                st = spec.settings
                st.snapshot_interval = max(st.snapshot_interval, 0.002 * scale)
                st.heartbeat = max(st.heartbeat, 0.01 * scale)
            path = os.path.join(self.workdir, f"spec{idx}.json")
            Path(path).write_text(spec.to_json())
            paths.append(path)
        err = open(os.path.join(self.workdir, f"stderr{group[0]}.txt"), "wb")  # noqa: SIM115
        self._errfiles.append(err)
        env = dict(os.environ)
        env.pop("PYTHONSTARTUP", None)
        if scale:
            env["MALLOC_ARENA_MAX"] = "2"  # one arena per thread would reserve 64 MiB each
        p = subprocess.Popen(
            [sys.executable, str(CHILD), *paths],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            close_fds=True,
            cwd=self.workdir,
            env=env,
        )
        self.hosts.append(p)
        for inst in insts:
            self.procs[inst.name] = p
            self.readers[inst.name] = _StatsReader(self.specs[inst.name].stats)
            self.results[inst.name].pid = p.pid
            self.errfile[inst.name] = f"stderr{group[0]}.txt"

    # ------------------------------------------------------------------ signals
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        raise _Interrupted()

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)

    def _block_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in self._old_handlers:
                signal.signal(sig, signal.SIG_IGN)

    def _restore(self) -> None:
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)
        self._old_handlers.clear()

    # ------------------------------------------------------------------ monitoring
    def _poll_stats(self) -> None:
        for name, reader in self.readers.items():
            r = self.results[name]
            for snap in reader.read():
                r.latest = snap
                r.history.append({"t": snap["t"], "sent": snap["sent"], "recv": snap["recv"]})

    def _kill_group(self, p: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, sig)

    def _ended(self, name: str) -> bool:
        """Has this instance ended (its process exited, or it reported its exit)?"""
        latest = self.results[name].latest
        return self.procs[name].poll() is not None or (
            bool(latest.get("final")) and latest.get("exit") is not None
        )

    def _report_progress(self, start: float, stage: str, force: bool = False) -> None:
        """Hand the progress callback what the run is doing (at most 4 times a second)."""
        now = time.monotonic()
        if self.progress is None or (now < self._next_progress and not force):
            return
        self._next_progress = now + 0.25
        up = sent = received = ended = 0
        for n, r in self.results.items():
            latest = r.latest
            if not latest:
                continue
            if self._ended(n):
                ended += 1
            elif latest.get("phase") not in ("starting",):
                up += 1
            sent += sum(latest.get("sent", {}).values())
            received += sum(sum(v.values()) for v in latest.get("recv", {}).values())
        with contextlib.suppress(Exception):
            self.progress(
                {
                    "stage": stage,
                    "elapsed": now - start,
                    "timeout": self.plan.timeout,
                    "instances": len(self.plan.instances),
                    "up": up,
                    "ended": ended,
                    "processes": len(self.hosts),
                    "sent": sent,
                    "received": received,
                }
            )

    def _drain(self, start: float) -> None:
        """Tell every instance to stop sending and read what is still queued towards it;
        wait until each reports ``drained-end`` (or ended), at most until the timeout."""
        Path(self.workdir, "drain").touch()
        end = start + self.plan.timeout
        poll_every = max(0.02, len(self.plan.instances) / 3000)
        while time.monotonic() < end:
            time.sleep(poll_every)
            if self._folder_gone():
                return
            self._poll_stats()
            self._report_progress(start, "draining")
            if all(
                self._ended(n)
                or self.results[n].latest.get("phase") in ("drained-end", "closing")
                or not self.results[n].latest
                for n in self.procs
            ):
                return

    def _source_done(self, name: str) -> bool:
        """Has source instance ``name`` emitted everything (and its end-of-data)?"""
        latest = self.results[name].latest
        inst = self.plan.instance(name)
        count = inst.behaviour.count
        return latest.get("phase") in ("closing", "done") or (
            count is not None and latest.get("emitted", 0) >= count and latest.get("phase") == ""
        )

    def _stop_all(self) -> None:
        for n, p in self.procs.items():
            if p.poll() is None and not self._ended(n):
                self.results[n].stopped = True
        live = [p for p in self.hosts if p.poll() is None]
        for p in live:
            self._kill_group(p, signal.SIGTERM)
        # a host stops its instances one after another: give it time for each
        most = max((sum(1 for q in self.procs.values() if q is p) for p in live), default=1)
        end = time.monotonic() + self.plan.settings.grace + 0.005 * most
        for p in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(max(0.0, end - time.monotonic()))
        for p in live:
            if p.poll() is None:
                self._kill_group(p, signal.SIGKILL)
                p.wait()

    def cleanup(self) -> None:
        """Kill every child's process group, release ports, remove the folder.  Idempotent."""
        if self._cleaned:
            return
        self._cleaned = True
        for p in self.hosts:
            if p.poll() is None:
                self._kill_group(p, signal.SIGKILL)
        for p in self.hosts:
            with contextlib.suppress(Exception):
                p.wait(5)
            # the group may hold nothing else, but make sure
            self._kill_group(p, signal.SIGKILL)
        for s in self.held:
            s.close()
        self.held.clear()
        for f in self._errfiles:
            f.close()
        for reader in self.readers.values():
            reader.close()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        with contextlib.suppress(Exception):
            atexit.unregister(self.cleanup)

    def _collect(self) -> None:
        self._poll_stats()
        stderr: dict[str, str] = {}
        for name, p in self.procs.items():
            r = self.results[name]
            code = p.poll()
            reported = r.latest.get("exit") if r.latest.get("final") else None
            # a hosted instance reports its own exit; its process's death is its death
            r.exit_code = reported if reported is not None and (code or 0) >= 0 else code
            fname = self.errfile[name]
            if fname not in stderr:
                with contextlib.suppress(OSError):
                    stderr[fname] = Path(self.workdir, fname).read_text(errors="replace")
            err = stderr.get(fname, "")
            if len(self.procs) > 1 and sum(1 for q in self.procs.values() if q is p) > 1:
                mine = [x for x in err.splitlines(keepends=True) if x.startswith(f"[{name}] ")]
                err = "".join(mine) if mine else ("" if code == 0 else err)
            r.stderr = err[-2000:]
            files = r.latest.get("seqfiles", {})
            seqdir = self.specs[name].seqdir
            for sock, per in files.items():
                for sid, fname in per.items():
                    with contextlib.suppress(OSError):
                        data = Path(seqdir, fname).read_bytes()
                        a = array.array("q")
                        a.frombytes(data[: len(data) - len(data) % 8])
                        r.seqs.setdefault(sock, {})[int(sid)] = a.tolist()

    def run(self) -> RunResult:
        """Start, watch, drain, collect, clean up (ResourceError: the machine cannot)."""
        plan = self.plan
        self._install()
        atexit.register(self.cleanup)
        start = time.monotonic()
        interrupted = False
        reason = ""
        killed_at: dict[str, int] = {}
        error: OSError | None = None
        try:
            self._mkworkdir()
            self.stage = "reserving loopback ports"
            self._materialise()
            self.stage = "writing the children's specifications"
            self._specs()
            self.stage = "starting the children"
            for group in host_groups(plan):
                self._spawn(group)
            start = time.monotonic()
            self.stage = "watching the children"
            reason = self._watch(start, killed_at)
            if reason == "timeout" or reason.startswith("no progress"):
                self._drain(start)
        except _Interrupted:
            interrupted = True
            reason = "interrupted"
        except KeyboardInterrupt:
            interrupted = True
            reason = "interrupted"
        except OSError as e:
            error = e
        try:
            self._block_signals()
            if error is not None:
                raise ResourceError(self._describe(error)) from None
            if self.procs:
                self._stop_all()
                self._collect()
            duration = time.monotonic() - start
            finished = all(
                r.exit_code == 0 and not r.stopped for r in self.results.values() if not r.killed
            )
            terminated = bool(self.procs) and finished and not interrupted
            return RunResult(
                plan=plan,
                instances=self.results,
                terminated=terminated,
                stop_reason=reason,
                duration=duration,
                interrupted=interrupted,
                endpoints=dict(self.endpoints),
                notes=list(plan.notes) + self.notes,
                killed_at=killed_at,
                failures=list(self.failures),
                memory=dict(self.memory),
            )
        finally:
            self.cleanup()
            self._restore()

    def _describe(self, e: OSError) -> str:
        """One line for an OS error that stopped the run before or while it ran."""
        if isinstance(e, workdir.WorkdirError):
            return str(e.strerror)
        where = e.filename or self.workdir or "the temporary folder"
        if e.errno in (errno.EMFILE, errno.ENFILE):
            soft, _ = resource_limits()
            return (
                f"too many open files ({errno.errorcode[e.errno]}) while {self.stage}: the "
                f"open-file limit (RLIMIT_NOFILE) is {soft}; raise it (ulimit -n) or run "
                "fewer sockets"
            )
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return (
                f"no space left for the run's files ({errno.errorcode[e.errno]}) while "
                f"{self.stage}, in {where}; free some space or point TMPDIR elsewhere"
            )
        if e.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
            return f"no free loopback port ({errno.errorcode[e.errno]}) while {self.stage}"
        name = errno.errorcode.get(e.errno or 0, "error")
        return f"cannot run: {e.strerror or e} ({name}) while {self.stage}, on {where}"

    def _sample_memory(self) -> bool:
        """Sample the tree's private memory; True if it is above the budget."""
        budget = self.plan.limits.max_memory
        pids = [p.pid for p in self.hosts if p.returncode is None]
        used = resources.tree_rss(pids)
        self.memory["peak_tree_rss"] = max(self.memory.get("peak_tree_rss", 0), used)
        if budget and used > budget:
            self.failures.append(
                f"memory budget exceeded: the process tree held {resources.fmt_bytes(used)} of "
                f"private memory, above the budget of {resources.fmt_bytes(budget)} "
                "(--max-memory); the run was stopped"
            )
            return True
        return False

    def _watch(self, start: float, killed_at: dict[str, int]) -> str:
        """Watch the children until the run should stop; returns why it stopped."""
        plan = self.plan
        deadline = start + plan.timeout - drain_reserve(plan)
        w = _Watch(plan)
        next_sample = 0.0
        next_poll = 0.0
        # reading every stats file costs; with many instances read them less often
        poll_every = max(0.02, len(plan.instances) / 3000)
        while True:
            time.sleep(0.02)
            now = time.monotonic()
            if self._folder_gone():
                self.failures.append(
                    f"the run's folder {self.workdir} was removed while the run was going "
                    "on (by another process): its children lost their files and sockets"
                )
                return "run folder removed"
            if now >= next_sample:
                next_sample = now + MEMORY_SAMPLE
                if self._sample_memory():
                    return "memory budget exceeded"
            if now < next_poll:
                continue
            next_poll = now + poll_every
            self._poll_stats()
            self._report_progress(start, "running")
            exited = {n for n in self.procs if self._ended(n)}
            if len(exited) == len(self.procs):
                return "all processes finished"
            if now >= deadline:
                return "timeout"
            self._kill_scenarios(w, exited, killed_at)
            reason = self._stall_progress(w, exited, now) or self._quiet(w, exited, now)
            if reason:
                return reason

    def _kill_scenarios(self, w: _Watch, exited: set[str], killed_at: dict[str, int]) -> None:
        """kill=PROCESS@FRACTION: SIGKILL each target once the sources emitted that share."""
        emitted = sum(self.results[n].latest.get("emitted", 0) for n in w.sources)
        for inst in self.plan.instances:
            frac = inst.scenario.kill_at
            r = self.results[inst.name]
            if frac is None or r.killed or inst.name in exited or not r.latest:
                continue
            if emitted >= frac * w.total:
                self._kill_group(self.procs[inst.name], signal.SIGKILL)
                r.killed = True
                killed_at[inst.name] = emitted

    def _phase(self, name: str) -> Any:
        return self.results[name].latest.get("phase")

    def _stall_progress(self, w: _Watch, exited: set[str], now: float) -> str:
        """stall=PROCESS: release the stalled receivers once every flood is done; returns
        a reason to stop once they drained, else ``""``."""
        if not w.stalled:
            return ""
        if not w.released:
            floods_done = all(
                n in exited
                or self._phase(n) == "flood-done"
                or (n in w.stalled and self._phase(n) == "stalled")
                for n in w.flooders
            )
            ready = all(n in exited or self._phase(n) == "stalled" for n in w.stalled)
            quiet = now - w.last_change > self.plan.settings.quiet
            if floods_done and ready and (w.flooders or quiet):
                Path(self.workdir, "release").touch()
                w.released = True
        if w.released and all(n in exited or self._phase(n) == "drained" for n in w.stalled):
            return "stall measurement complete"
        return ""

    def _quiet(self, w: _Watch, exited: set[str], now: float) -> str:
        """Quiescence: nothing moved anywhere for ``settings.quiet`` and no timer that acts
        is pending; returns the reason to stop, else ``""``."""
        state = {
            n: (r.latest.get("progress"), r.latest.get("phase"), n in exited)
            for n, r in self.results.items()
        }
        if state != w.progress:
            w.progress = state
            w.last_change = now
        live = [n for n in self.procs if n not in exited]
        started = all(self.results[n].latest for n in live)
        # Once every source has finished, a timeout that only waits (for end-of-data or
        # a join partner) is no reason to go on: nothing more will come, and what is
        # still waiting is the evidence.
        fed = all(n in exited or self._source_done(n) for n in w.sources)
        waiting = [n for n in live if (self.results[n].latest.get("deadline") or 0) > now - 0.05]
        timers = [n for n in waiting if not (fed and self.results[n].latest.get("wait_only"))]
        quiet = self.plan.settings.quiet
        if not started or timers or now - w.last_change < quiet:
            return ""
        if w.stalled and not w.released:
            return ""
        if fed and w.sources:
            why = "sources finished"
            if waiting:
                why += f"; {len(waiting)} still waiting out a timeout"
            return f"no progress for {quiet:g} s ({why})"
        return f"no progress for {quiet:g} s (stuck)"


class _Watch:
    """What :meth:`Supervisor._watch` keeps between two looks at the children."""

    def __init__(self, plan: RunPlan) -> None:
        self.flooders = [i.name for i in plan.instances if any(s.flood for s in i.sockets)]
        self.stalled = [i.name for i in plan.instances if i.scenario.stall]
        self.sources = [i.name for i in plan.instances if i.behaviour.kind == "source"]
        self.total = sum(
            (i.behaviour.count or plan.limits.max_messages)
            for i in plan.instances
            if i.behaviour.kind == "source"
        )
        self.released = False
        self.progress: dict[str, Any] = {}
        self.last_change = time.monotonic()


#: Sources should be done within this share of --timeout, so that what follows them
#: (draining, end-of-data, closing) is observed too.
FIT_SHARE = 0.4
#: What one source without a rate is assumed to reach under this executor (msg/s), split
#: between the unpaced sources.
UNPACED_RATE = 4000.0


def _stages(plan: RunPlan) -> tuple[dict[str, str], dict[str, set[str]], dict[str, list[str]]]:
    """Each instance's process, the processes each process sends data to, and the
    instances of each process."""
    proc = {i.name: i.process or i.name for i in plan.instances}
    down: dict[str, set[str]] = {}
    for c in plan.connections:
        src, dst = c.sender.rpartition(".")[0], c.receiver.rpartition(".")[0]
        if src in proc and dst in proc and not c.control:
            down.setdefault(proc[src], set()).add(proc[dst])
    members: dict[str, list[str]] = {}
    for i in plan.instances:
        members.setdefault(proc[i.name], []).append(i.name)
    return proc, down, members


def _downstream(down: dict[str, set[str]], p: str) -> set[str]:
    """The processes ``p`` reaches through data connections (itself excluded)."""
    seen, todo = set(), [p]
    while todo:
        for q in down.get(todo.pop(), ()):
            if q not in seen:
                seen.add(q)
                todo.append(q)
    return seen - {p}


def _source_paces(plan: RunPlan) -> dict[str, tuple[float, str]]:
    """Each source's pace (messages per second) and what sets it: its rate, its service
    time, the slowest stage downstream (shared among the sources feeding it), or the
    assumed ``UNPACED_RATE`` shared among the unpaced sources."""
    insts = {i.name: i for i in plan.instances}
    proc, down, members = _stages(plan)
    sources = [i for i in plan.instances if i.behaviour.kind == "source"]
    reached = {proc[i.name]: _downstream(down, proc[i.name]) for i in sources}
    feeding: dict[str, int] = {}
    for i in sources:
        for q in reached[proc[i.name]]:
            feeding[q] = feeding.get(q, 0) + 1
    unpaced = [i for i in sources if not i.behaviour.rate and not i.behaviour.service_time]
    paces = {}
    for i in sources:
        b = i.behaviour
        pace, why = math.inf, ""
        if b.rate:
            pace, why = b.rate, f"rate {b.rate:.3g}/s"
        if b.service_time and 1 / b.service_time < pace:
            pace, why = 1 / b.service_time, f"its service time {b.service_time * 1000:g} ms"
        for q in sorted(reached[proc[i.name]]):  # sorted: a tie names the same stage each run
            st = max((insts[m].behaviour.service_time for m in members[q]), default=0.0)
            if st > 0:
                cap = len(members[q]) / st / feeding[q]
                if cap < pace:
                    pace, why = cap, f"stage {q} ({len(members[q])} x {st * 1000:g} ms, shared)"
        if math.isinf(pace):
            pace = max(50.0, UNPACED_RATE / max(1, len(unpaced)))
            why = f"no rate: assumed {pace:.3g}/s for an unpaced source here"
        paces[i.name] = (pace, why)
    return paces


def _lower_count(plan: RunPlan, i: InstancePlan, pace: float, why: str, fit: int) -> str:
    """Record in ``plan.counts`` that source ``i`` emits ``fit`` messages; returns the note
    (which replaces the cap's note, naming a count that does not run either)."""
    b = i.behaviour
    count = b.count if b.count is not None else fit
    declared = plan.counts.get(i.name, {}).get("declared", b.count)
    capped = plan.counts.get(i.name, {}).get("run")
    plan.notes[:] = [n for n in plan.notes if not n.startswith(f"{i.name}: ")]
    what = "no count declared" if declared is None else f"count {declared}"
    if capped is not None:
        what += f" (capped to {capped})"
    plan.counts[i.name] = {
        "declared": declared,
        "run": fit,
        "why": f"{why}: finish within {FIT_SHARE:.0%} of the timeout",
    }
    return (
        f"{i.name}: {what} at {pace:.3g}/s ({why}) would take "
        f"{count / pace:.0f} s: emitting {fit}, so that the sources finish within "
        f"{FIT_SHARE:.0%} of the {plan.timeout:g} s timeout (raise --timeout to run more)"
    )


def fit_counts(plan: RunPlan) -> list[str]:
    """Lower each source's count so that it finishes within ``FIT_SHARE`` of the timeout.

    A source's pace is the slowest of its ``rate``, its own ``service_time`` and, for every
    stage downstream of it, that stage's capacity (instances / service time) shared among
    the source instances feeding it; an unpaced source is assumed to reach
    ``UNPACED_RATE`` shared among the unpaced sources.  Records ``plan.counts``; returns
    the notes of the counts lowered."""
    paces = _source_paces(plan)
    startup = 1.0 + 0.01 * len(plan.instances)
    notes = []
    for i in plan.instances:
        if i.behaviour.kind != "source":
            continue
        b = i.behaviour
        pace, why = paces[i.name]
        budget = max(1.0, FIT_SHARE * plan.timeout - startup - b.phase - i.scenario.start_delay)
        fit = max(1, int(pace * budget))
        count = b.count if b.count is not None else fit
        if count > fit:
            notes.append(_lower_count(plan, i, pace, why, fit))
            count = fit
        b.count = count
        plan.counts.setdefault(i.name, {"declared": b.count, "run": b.count, "why": "declared"})
        plan.counts[i.name]["expected_s"] = round(count / pace, 1)
    return notes


def fit_memory(plan: RunPlan, bound: resources.MemoryBound, budget: int) -> resources.MemoryBound:
    """Lower the sources' counts, all by one factor, until the run's static memory bound
    fits the budget (when what the queues may hold is limited by the messages that flow,
    not by the HWMs).  Records why in ``plan.counts`` and a note; returns the new bound."""
    sources = [i for i in plan.instances if i.behaviour.kind == "source" and i.behaviour.count]
    before = {i.name: int(i.behaviour.count or 0) for i in sources}
    for _ in range(12):
        if bound.total <= budget or not sources:
            break
        room = budget - bound.baseline
        factor = max(0.05, min(0.9, 0.95 * room / max(1.0, bound.queues + bound.deliveries)))
        changed = False
        for i in sources:
            new = max(1, int((i.behaviour.count or 1) * factor))
            changed |= new != i.behaviour.count
            i.behaviour.count = new
        if not changed:
            break
        bound = resources.static_memory(plan)
    after = {i.name: int(i.behaviour.count or 0) for i in sources}
    if after != before:
        for i in sources:
            c = plan.counts.setdefault(i.name, {"declared": before[i.name], "why": "declared"})
            c["run"] = after[i.name]
            c["why"] += f"; lowered to fit the memory budget of {resources.fmt_bytes(budget)}"
            if c.get("expected_s") and before[i.name]:
                c["expected_s"] = round(c["expected_s"] * after[i.name] / before[i.name], 1)
        first = sources[0].name
        plan.notes.append(
            f"message counts lowered by the same factor (e.g. {first}: {before[first]} -> "
            f"{after[first]}) so that the run's static memory bound, "
            f"{resources.fmt_bytes(bound.total)}, fits the memory budget of "
            f"{resources.fmt_bytes(budget)} (--max-memory)"
        )
    return bound


def resource_limits() -> tuple[int, int]:
    """The soft and hard ``RLIMIT_NOFILE``."""
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)


def drain_reserve(plan: RunPlan) -> float:
    """Time kept at the end of ``--timeout`` for the final drain (seconds)."""
    stall = any(i.scenario.stall for i in plan.instances)
    return 0.0 if stall else min(2.0, 0.1 * plan.timeout)


def _check_plan(plan: RunPlan) -> None:
    """Clamp the limits and the timeout (noted); raise :class:`PlanError` for a plan that
    cannot run (too many instances, none, duplicate names)."""
    plan.notes.extend(plan.limits.clamp())
    if len(plan.instances) > plan.limits.max_instances:
        raise PlanError(
            f"{len(plan.instances)} process instances exceed the cap of "
            f"{plan.limits.max_instances} (raise it with a limit, up to "
            f"{int(plan.limits.HARD['max_instances'])})"
        )
    if not plan.instances:
        raise PlanError("nothing to run: the plan has no process instances")
    if plan.timeout <= 0 or plan.timeout > plan.limits.max_timeout:
        new = min(max(plan.timeout, 1.0), plan.limits.max_timeout)
        plan.notes.append(
            f"timeout {plan.timeout:g} s outside (0, {plan.limits.max_timeout:g}]: {new:g} s"
        )
        plan.timeout = new
    names = [i.name for i in plan.instances]
    if len(set(names)) != len(names):
        raise PlanError("duplicate instance names")


def _apply_caps(plan: RunPlan) -> None:
    """Cap message sizes and each source's count (noted, recorded in ``plan.counts``)."""
    for inst in plan.instances:
        b = inst.behaviour
        for s in inst.sockets:
            if s.size > plan.limits.max_message_bytes:
                plan.notes.append(
                    f"{inst.name}.{s.name}: message size {s.size} B capped to "
                    f"{plan.limits.max_message_bytes} B"
                )
                s.size = plan.limits.max_message_bytes
        if b.kind == "source":
            size = max([s.size for s in inst.sockets if s.sends] or [64])
            cap = min(plan.limits.max_messages, max(1, plan.limits.max_source_bytes // size))
            if b.count is None or b.count > cap:
                plan.notes.append(
                    f"{inst.name}: "
                    + ("no count declared" if b.count is None else f"count {b.count}")
                    + f": emitting {cap} messages (cap)"
                )
                plan.counts[inst.name] = {
                    "declared": b.count,
                    "run": cap,
                    "why": f"the cap of {cap} messages per source",
                }
                b.count = cap


def _fit_budget(plan: RunPlan, budget: int) -> resources.MemoryBound:
    """The run's static memory bound, lowering the counts to fit ``budget`` when flows
    bound the queues; raises :class:`ResourceError` when it still does not fit."""
    bound = resources.static_memory(plan)
    fmt = resources.fmt_bytes
    if bound.total > budget and not bound.unbounded and bound.baseline < budget:
        bound = fit_memory(plan, bound, budget)
    if bound.total <= budget:
        return bound
    if bound.unbounded:
        why = bound.unbounded
    else:
        largest = ", ".join(f"{name} {fmt(b)}" for name, b in bound.largest[:2])
        why = (
            f"{fmt(bound.queues)} in queues (largest: {largest}), {fmt(bound.deliveries)} "
            f"of bookkeeping, {fmt(bound.baseline)} for {len(plan.instances)} instances "
            "and the supervisor"
        )
    raise ResourceError(
        f"the static memory bound of this run is {fmt(bound.total)} ({why}), above the "
        f"memory budget of {fmt(budget)}: raise the budget with --max-memory SIZE, or "
        "lower HWMs, message sizes or counts"
    )


def execute(plan: RunPlan, progress: Callable[[dict[str, Any]], None] | None = None) -> RunResult:
    """Run ``plan``; always cleans up.

    Parameters
    ----------
    plan
        The plan; its caps, fitted counts and realised options are applied to it (noted).
    progress
        Called about 4 times a second with what the run is doing (``--progress``).

    Raises :class:`PlanError` for an unrunnable plan and
    :class:`~topolint.executor.resources.ResourceError` for one this machine cannot hold
    (open files, memory budget, an unsafe temporary folder, a full disk)."""
    _check_plan(plan)
    _apply_caps(plan)
    plan.notes.extend(fit_counts(plan))
    plan.notes.extend(resources.realise_options(plan))
    plan.notes.extend(resources.check_files(plan))
    budget = plan.limits.max_memory or resources.default_budget()
    plan.limits.max_memory = budget
    bound = _fit_budget(plan, budget)
    sup = Supervisor(plan, progress)
    sup.memory.update(budget=budget, static_bound=int(bound.total))
    return sup.run()
