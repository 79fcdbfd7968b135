"""Observations: turn what the children reported into the ``run`` report (SPEC §4).

``observed_max_queued`` is a *guaranteed lower bound* on the largest number of messages
that were ever in a connection at once (in ZeroMQ pipes, engine batches and kernel
buffers together), so a model violation is never a measurement artefact.  For a sender
snapshot at time t1 that had sent S messages on the socket, and the receiver's first
snapshot at t2 >= t1 that had received r of them on this connection, every message with
a sequence number below S that the receiver got eventually, but not among its first r,
was sent before t1 and received after t2: it was queued at t1.  So
``queued(t1) >= #{received seq < S} - r``.  This holds for load-balanced and lossy
sockets alike, because only messages that actually arrived are counted.  In a stall
run the stalled receiver drains its queues once the flood is over, which makes the
bound exact: it equals the talk's "queue capacity".
"""

from __future__ import annotations

import bisect
import itertools
import os
import platform
from pathlib import Path
from typing import Any

from topolint.executor.plan import ConnectionPlan, RunPlan
from topolint.executor.supervisor import InstanceResult, RunResult

NET_FILES = (
    "ipv4/tcp_wmem",
    "ipv4/tcp_rmem",
    "core/wmem_max",
    "core/rmem_max",
    "core/wmem_default",
    "core/rmem_default",
)


def environment() -> dict[str, Any]:
    """Kernel version and the /proc/sys/net buffer values the measurements depend on."""
    import zmq

    net: dict[str, Any] = {}
    for rel in NET_FILES:
        try:
            text = Path("/proc/sys/net", rel).read_text().split()
            vals = [int(x) for x in text]
            net[rel.split("/")[1]] = vals if len(vals) > 1 else vals[0]
        except (OSError, ValueError):
            net[rel.split("/")[1]] = None
    return {
        "kernel": platform.release(),
        "system": platform.system(),
        "net": net,
        "python": platform.python_version(),
        "pyzmq": zmq.__version__,
        "libzmq": zmq.zmq_version(),
        "cpus": os.cpu_count(),
    }


def _split(sock_id: str) -> tuple[str, str]:
    inst, _, sock = sock_id.rpartition(".")
    return inst, sock


def observed_max_queued(
    sender: InstanceResult, sock: str, receiver: InstanceResult, rsock: str, sid: int
) -> int | None:
    """A lower bound on the largest queue of one connection (see the module docstring)."""
    seqs = receiver.seqs.get(rsock, {}).get(sid)
    if not sender.history:
        return None
    if seqs is None:
        seqs = []
    if any(a > b for a, b in itertools.pairwise(seqs)):
        seqs = sorted(seqs)
    rhist = [(h["t"], h["recv"].get(rsock, {}).get(str(sid), 0)) for h in receiver.history]
    rtimes = [t for t, _ in rhist]
    best = 0
    for h in sender.history:
        sent = h["sent"].get(sock)
        if not sent:
            continue
        i = bisect.bisect_left(rtimes, h["t"])
        if i >= len(rhist):
            break  # the receiver reported nothing later: no bound from here on
        got = rhist[i][1]
        best = max(best, bisect.bisect_left(seqs, sent) - got)
    return best


def _row_of(c: ConnectionPlan) -> dict[str, Any]:
    """The row of connection ``c`` before anything was observed."""
    row: dict[str, Any] = {
        "sender": c.sender,
        "receiver": c.receiver,
        "transport": c.transport,
        "endpoint": c.endpoint,
        "sent": None,
        "received": None,
        "lost": None,
        "observed_max_queued": None,
        "predicted_bound_messages": c.predicted_bound_messages,
    }
    if c.pinned_bound_messages is not None:
        row["pinned_bound_messages"] = c.pinned_bound_messages
    if c.control:
        row["control"] = True
    if c.note:
        row["note"] = c.note
    return row


def _sent_on(
    result: RunResult, c: ConnectionPlan, siblings: list[ConnectionPlan], i: int, received: int
) -> tuple[int, bool]:
    """Messages sent on connection ``c`` (sender wire id ``i``), and whether that is an
    estimate: a round-robin socket's messages are attributed after the fact."""
    sinst, ssock = _split(c.sender)
    sock_sent = int(result.instances[sinst].latest.get("sent", {}).get(ssock, 0))
    if c.lossy and not c.load_balanced:
        return sock_sent, False  # one copy per subscriber
    if not siblings:
        return sock_sent, False
    others = 0
    for x in siblings:
        xi, xs = _split(x.receiver)
        xr = result.instances.get(xi)
        if xr is not None:
            others += int(xr.latest.get("recv", {}).get(xs, {}).get(str(i), 0))
    return max(received, sock_sent - others), True


def connection_rows(result: RunResult) -> list[dict[str, Any]]:
    """One row per planned connection: sent, received, lost, the queue observed against
    its static bound, and the first sequence number received."""
    plan = result.plan
    sid = {name: i for i, name in enumerate(plan.senders())}
    by_sender: dict[str, list[ConnectionPlan]] = {}
    for c in plan.connections:
        by_sender.setdefault(c.sender, []).append(c)
    rows = []
    for c in plan.connections:
        sinst, ssock = _split(c.sender)
        rinst, rsock = _split(c.receiver)
        s = result.instances.get(sinst)
        r = result.instances.get(rinst)
        row = _row_of(c)
        if s is None or r is None or c.sender not in sid:
            if s is not None and r is None and len(by_sender[c.sender]) == 1:
                row["sent"] = int(s.latest.get("sent", {}).get(ssock, 0))  # into the void
            elif s is None or r is not None:
                row["note"] = (row.get("note", "") + " (peer not run)").strip()
            rows.append(row)
            continue
        i = sid[c.sender]
        received = int(r.latest.get("recv", {}).get(rsock, {}).get(str(i), 0))
        siblings = [x for x in by_sender[c.sender] if x is not c]
        sent, estimated = _sent_on(result, c, siblings, i, received)
        if estimated:
            row["sent_estimated"] = True
        first = r.latest.get("first", {}).get(rsock, {}).get(str(i))
        row.update(
            sent=sent,
            received=received,
            lost=max(0, sent - received),
            observed_max_queued=observed_max_queued(s, ssock, r, rsock, i),
            first_received_seq=first,
        )
        rows.append(row)
    return rows


def _sink_rows(result: RunResult) -> list[dict[str, Any]]:
    rows = []
    for inst in result.plan.instances:
        if inst.behaviour.kind != "sink":
            continue
        r = result.instances.get(inst.name)
        latest = r.latest if r else {}
        eod = latest.get("eod", {})
        sink = latest.get("sink", {})
        n = int(sink.get("data") or 0)
        first, last = sink.get("first_t"), sink.get("last_t")
        thr = n / (last - first) if n > 1 and first is not None and last and last > first else None
        rows.append(
            {
                "name": inst.name,
                "end_of_data_received": bool(
                    eod.get("received", 0) >= max(1, eod.get("needed", 1))
                    and not eod.get("swallowed")
                ),
                "end_of_data_signals": eod.get("received", 0),
                "end_of_data_expected": eod.get("needed"),
                "end_of_data_timed_out": bool(eod.get("timed_out")),
                "messages": n,
                "throughput_per_s": thr,
                "latency_s": latest.get("latency"),
            }
        )
    return rows


def _join_rows(result: RunResult) -> list[dict[str, Any]]:
    rows = []
    for inst in result.plan.instances:
        j = inst.behaviour.join
        if j is None:
            continue
        r = result.instances.get(inst.name)
        js = (r.latest if r else {}).get("join", {})
        rows.append(
            {
                "name": inst.name,
                "match": j.match,
                "max_pending": j.max_pending,
                "timeout_s": j.timeout,
                "matches": js.get("matches", 0),
                "timeouts": js.get("timeouts", 0),
                "mismatches": js.get("mismatches", 0),
                "partial": js.get("partial", 0),
                "max_pending_observed": js.get("max_pending_seen", 0),
                "pending_at_end": js.get("pending", 0),
                "held": js.get("held", 0),
                "stalls": js.get("stalls", 0),
            }
        )
    return rows


def _process_state(r: InstanceResult) -> Any:
    """How an instance's run ended: finished, killed, crashed, stopped, or its phase."""
    latest = r.latest
    state = (
        "finished" if r.exit_code == 0 and not r.stopped else latest.get("phase", "never started")
    )
    if r.killed:
        state = "killed (scenario)"
    elif r.crashed:
        state = "crashed"
    elif r.stopped and latest.get("phase") in ("closing", "stopped") and latest.get("final"):
        state = "stopped"
    elif r.stopped and latest.get("phase") in ("draining-end", "drained-end"):
        state = "stopped"  # stopped after the final drain, before its last report
    return state


def _process_extras(row: dict[str, Any], r: InstanceResult) -> None:
    """Add to ``row`` what only some instances have: sync, bind failures, arrival peaks,
    unsynchronized inputs, floods, drops, and the cause of an abnormal end."""
    latest = r.latest
    if latest.get("sync"):
        row["sync"] = latest["sync"]
    if latest.get("bind_failures"):
        row["bind_failures"] = latest["bind_failures"]
    arr = latest.get("arrivals") or {}
    if arr.get("count"):
        span_ms = max(1.0, ((arr.get("last") or 0) - (arr.get("first") or 0)) * 1000)
        row["arrivals"] = {
            "messages": arr["count"],
            "peak_per_ms": arr["peak_per_ms"],
            "mean_per_ms": round(arr["count"] / span_ms, 4),
        }
    if (latest.get("unsync") or {}).get("pairs"):
        row["unsynchronized"] = latest["unsync"]
    if latest.get("flood"):
        row["flood"] = latest["flood"]
    if latest.get("dropped"):
        row["dropped"] = latest["dropped"]
    cause = r.cause
    if cause:
        row["cause"] = cause
    if cause or latest.get("error"):
        row["error"] = latest.get("error") or cause


def _process_rows(result: RunResult) -> list[dict[str, Any]]:
    """One row per instance: how it ended, what it did, and its end-of-data."""
    rows = []
    for inst in result.plan.instances:
        r = result.instances[inst.name]
        latest = r.latest
        row: dict[str, Any] = {
            "name": inst.name,
            "process": inst.process,
            "kind": inst.behaviour.kind,
            "state": _process_state(r),
            # what it was doing when the run ended (not the stop or the final drain)
            "last_phase": latest.get("end_phase") or latest.get("phase"),
            "exit_code": r.exit_code,
            "max_rss_bytes": latest.get("maxrss"),
            "emitted": latest.get("emitted"),
            "emit_span": latest.get("emit_span"),
            "blocked_s": latest.get("blocked_s"),
            "idle_s": (
                round(latest["t"] - latest["last_input"], 3)
                if latest.get("last_input") is not None
                else None
            ),
            "filtered": latest.get("filtered"),
            "end_of_data": {**latest.get("eod", {}), "sent": latest.get("eod_sent", {})},
        }
        _process_extras(row, r)
        rows.append(row)
    return rows


def _violations(connections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The connections whose observed queue exceeded the static bound."""
    violations = []
    for row in connections:
        obs, pred = row["observed_max_queued"], row["predicted_bound_messages"]
        if obs is not None and pred is not None and obs > pred:
            violations.append(
                {
                    "sender": row["sender"],
                    "receiver": row["receiver"],
                    "observed_max_queued": obs,
                    "predicted_bound_messages": pred,
                    "message": (
                        f"MODEL VIOLATION: {row['sender']} -> {row['receiver']} held at least "
                        f"{obs} messages, above the static bound of {pred}"
                    ),
                }
            )
    return violations


def _throughput(result: RunResult, sinks: list[dict[str, Any]]) -> dict[str, Any]:
    """Messages the sinks received, and per second between the first and the last."""
    total = sum(s["messages"] for s in sinks)
    ends = [result.instances[s["name"]].latest.get("sink", {}) for s in sinks if s["messages"]]
    firsts = [e.get("first_t") for e in ends]
    lasts = [e.get("last_t") for e in ends]
    span = (max(lasts) - min(firsts)) if firsts and lasts else 0.0
    return {"messages_per_second": (total / span) if span > 0 else None, "sink_messages": total}


def _latency(sinks: list[dict[str, Any]]) -> dict[str, Any]:
    """End-to-end latency over every sink: mean, the worst p99, the maximum."""
    lat = [s["latency_s"] for s in sinks if s["latency_s"]]
    return {
        "mean_s": (sum(x["mean"] * x["count"] for x in lat) / sum(x["count"] for x in lat))
        if lat
        else None,
        "p99_s": max(x["p99"] for x in lat) if lat else None,
        "max_s": max(x["max"] for x in lat) if lat else None,
    }


def _unfinished(result: RunResult) -> list[dict[str, Any]]:
    """Sources (not killed by a scenario) that had not emitted their count."""
    unfinished = []
    for inst in result.plan.instances:
        b = inst.behaviour
        if b.kind != "source" or inst.scenario.kill_at is not None:
            continue
        latest = result.instances[inst.name].latest
        if latest.get("emitted", 0) < (b.count or 0) and latest.get("phase") not in (
            "closing",
            "done",
        ):
            unfinished.append(
                {"name": inst.name, "emitted": latest.get("emitted", 0), "count": b.count}
            )
    return unfinished


def build_report(result: RunResult) -> dict[str, Any]:
    """The observation part of the ``run`` report (verdicts are added by the caller)."""
    plan: RunPlan = result.plan
    connections = connection_rows(result)
    sinks = _sink_rows(result)
    violations = _violations(connections)
    processes = _process_rows(result)
    failures = [f"{p['name']} died: {p['cause']}" for p in processes if p.get("cause")]
    failures += result.failures
    unfinished = _unfinished(result)
    timed_out = result.stop_reason == "timeout"
    return {
        "sources_unfinished": unfinished if timed_out else [],
        "message_counts": dict(plan.counts),
        "hosting": {
            "instances": len(plan.instances),
            "os_processes": len({r.pid for r in result.instances.values() if r.pid}),
        },
        "topology": plan.name,
        "scenarios": list(plan.scenarios),
        "terminated": result.terminated,
        "stop_reason": result.stop_reason,
        "interrupted": result.interrupted,
        "duration_s": round(result.duration, 3),
        "timeout_s": plan.timeout,
        "quiet_s": plan.settings.quiet,
        "connections": connections,
        "sinks": sinks,
        "joins": _join_rows(result),
        "processes": processes,
        "incomplete": bool(failures),
        "failures": failures,
        "memory": dict(result.memory),
        "throughput": _throughput(result, sinks),
        "latency": _latency(sinks),
        "model_violations": violations,
        "endpoints": [
            {"declared": e.declared, "transport": e.transport, "run": result.endpoints.get(e.id)}
            for e in plan.endpoints
        ],
        "environment": environment(),
        "limits": {k: v for k, v in plan.to_dict()["limits"].items()},
        "notes": list(result.notes),
    }
