"""Verdicts: does the run confirm each static finding it can exercise?

A judge per rule looks at the run's observations for the finding's subject (the graph
elements the rule named) and returns ``confirmed`` or ``not-reproduced`` with evidence in
words ("3 of 3 subscribers missed the first 12 messages").  Rules the run cannot exercise
(ownership, security, schema rules ...) get no verdict; they are listed as not exercised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from topolint.executor.plan import RunPlan
from topolint.lint.findings import Finding

CONFIRMED = "confirmed"
NOT_REPRODUCED = "not-reproduced"
_INDEX = re.compile(r"\[\d+\]")


def process_of(element: str) -> str:
    """``worker[1].out`` -> ``worker.out``; ``worker[1]`` -> ``worker``."""
    return _INDEX.sub("", element)


@dataclass
class Run:
    """What a judge may look at."""

    report: dict[str, Any]
    plan: RunPlan

    def conns_from(self, socket_id: str) -> list[dict[str, Any]]:
        """Data connections sent by any instance of process-level socket ``p.s``."""
        return [
            c
            for c in self.report["connections"]
            if process_of(c["sender"]) == socket_id and not c.get("control") and "note" not in c
        ]

    def conns_into(self, process: str) -> list[dict[str, Any]]:
        """Connections received by any instance of ``process`` (noted rows excluded)."""
        return [
            c
            for c in self.report["connections"]
            if process_of(c["receiver"]).split(".")[0] == process and "note" not in c
        ]

    def procs(self, name: str) -> list[dict[str, Any]]:
        """Process rows of a process name, an instance id, or ``process.socket``."""
        base = process_of(name).split(".")[0]
        inst = name.split(".")[0]
        rows = [p for p in self.report["processes"] if p["name"] == inst]
        return rows or [p for p in self.report["processes"] if p["process"] == base]

    def subscribes(self, receiver: str) -> bool:
        """Does this receiving socket subscribe to anything (always true but for SUB/XSUB)?"""
        inst, _, sock = receiver.rpartition(".")
        try:
            sp = self.plan.instance(inst).socket(sock)
        except KeyError:
            return False
        return sp.type not in ("sub", "xsub") or bool(sp.options.get("subscribe"))

    def sender_ids(self) -> list[str]:
        """The plan's sending sockets, in sender-id order (an id is an index here)."""
        return self.plan.senders()

    @property
    def measurement(self) -> bool:
        """A stall run is stopped on purpose once its queues are measured."""
        return any(sc.startswith("stall=") for sc in self.report.get("scenarios", []))

    @property
    def stuck(self) -> bool:
        """The run did not end by itself (stopped at the timeout or for lack of progress)."""
        return not self.report["terminated"]

    def settled(self, row: dict[str, Any]) -> bool:
        """Can nothing more arrive for this instance?  The run ended by itself or got stuck,
        or the instance had no input for ``quiet`` seconds when the run was stopped."""
        if self.report["terminated"] or self.report["stop_reason"].startswith("no progress"):
            return True
        idle = row.get("idle_s")
        return idle is not None and idle >= self.report.get("quiet_s", 2.0)

    def how_ended(self) -> str:
        """Why the run stopped, in words."""
        return self.report["stop_reason"]


Verdict = tuple[str, str]
Judge = Callable[[Finding, Run], Verdict | None]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _eod_reached(row: dict[str, Any]) -> bool:
    eod = row.get("end_of_data") or {}
    return bool(eod.get("received", 0) >= max(1, eod.get("needed", 1)))


# ---------------------------------------------------------------------------- start-up
def slow_joiner(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when a subscriber of the publisher missed its first messages."""
    if not f.subject:
        return None
    rows = [c for c in run.conns_from(f.subject[0]) if c["sent"] and run.subscribes(c["receiver"])]
    if not rows:
        return None  # nothing sent, or no receiver subscribes at all (another rule's finding)
    missed = []
    for c in rows:
        first = c["first_received_seq"]
        n = c["sent"] if first is None else first
        if n:
            missed.append((c, n))
    if not missed:
        return (
            NOT_REPRODUCED,
            f"all {_plural(len(rows), 'subscriber')} received from the first message "
            "(start-up order was lucky; try --scenario late-start=SUBSCRIBER:1s)",
        )
    counts = sorted({n for _, n in missed})
    what = (
        f"the first {_plural(counts[0], 'message')}"
        if len(counts) == 1
        else f"the first {counts[0]}-{counts[-1]} messages"
    )
    if all(n == c["sent"] for c, n in missed) and len(counts) == 1:
        what = f"all {_plural(counts[0], 'message')}"
    return (
        CONFIRMED,
        f"{len(missed)} of {len(rows)} subscribers missed {what} "
        f"({', '.join(c['receiver'] for c, _ in missed[:5])})",
    )


# ---------------------------------------------------------------------------- end of data
def _sinks_without_eod(f: Finding, run: Run) -> list[str]:
    names = {process_of(s).split(".")[0] for s in f.subject}
    return [
        s["name"]
        for s in run.report["sinks"]
        if process_of(s["name"]) in names and not s["end_of_data_received"]
    ]


def missing_end_of_data(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when a settled sink (or process named) never received end-of-data."""
    names = {process_of(s).split(".")[0] for s in f.subject}
    sinks = [s for s in run.report["sinks"] if process_of(s["name"]) in names]
    if not sinks:
        rows = [p for n in names for p in run.procs(n)]
        missing = [p["name"] for p in rows if not _eod_reached(p)]
        if not rows:
            return None
        if missing:
            return CONFIRMED, f"end-of-data never reached {', '.join(missing[:5])}"
        return NOT_REPRODUCED, "end-of-data reached every process named"
    missing = [s["name"] for s in sinks if not s["end_of_data_received"]]
    settled = [n for n in missing if all(run.settled(p) for p in run.procs(n))]
    if settled:
        return (
            CONFIRMED,
            f"{len(settled)} of {len(sinks)} sinks never received end-of-data "
            f"({', '.join(settled[:5])}); the run ended by: {run.how_ended()}",
        )
    if missing:
        return None  # still busy when the run was stopped: inconclusive
    return NOT_REPRODUCED, f"all {_plural(len(sinks), 'sink')} received end-of-data"


def _eod_delivery(
    socket_id: str, run: Run
) -> dict[str, tuple[int, list[str], list[str], int]] | None:
    """Per sending instance of ``socket_id``: (end-of-data sent, peers that got it, settled
    peers that did not, number of peers)."""
    ids = run.sender_ids()
    rows = [
        c
        for c in run.report["connections"]
        if process_of(c["sender"]) == socket_id and "note" not in c
    ]
    if not rows:
        return None
    out: dict[str, tuple[int, list[str], list[str], int]] = {}
    for sender in sorted({c["sender"] for c in rows}):
        mine = [c for c in rows if c["sender"] == sender]
        inst, _, sock = sender.rpartition(".")
        sent = sum(
            (p.get("end_of_data") or {}).get("sent", {}).get(sock, 0) for p in run.procs(inst)
        )
        sid = ids.index(sender) if sender in ids else -1
        got: list[str] = []
        not_got: list[str] = []
        for c in mine:
            rows_r = run.procs(c["receiver"].rsplit(".", 1)[0])
            rp = rows_r[0] if rows_r else {}
            eod = rp.get("end_of_data") or {}
            if sid in eod.get("from", []) or eod.get("swallowed"):
                got.append(c["receiver"])
            elif rp and run.settled(rp):
                not_got.append(c["receiver"])
        out[sender] = (sent, got, not_got, len(mine))
    return out


def _delivery_verdict(socket_id: str, run: Run, what: str) -> Verdict | None:
    d = _eod_delivery(socket_id, run)
    if not d:
        return None
    sending = {k: v for k, v in d.items() if v[0]}
    if not sending:
        return None  # it never got as far as its end-of-data in this run
    bad = {k: v for k, v in sending.items() if v[2]}
    if bad:
        sender, (_, got, not_got, n) = next(iter(bad.items()))
        more = f" (so did {len(bad) - 1} more instances)" if len(bad) > 1 else ""
        return (
            CONFIRMED,
            f"end-of-data from {sender} {what} {len(got)} of {n} peers "
            f"({', '.join(got) or 'none'}); {', '.join(not_got[:5])} never got it{more}",
        )
    if all(len(v[1]) == v[3] for v in sending.values()):
        n = sum(v[3] for v in sending.values())
        return NOT_REPRODUCED, f"end-of-data on {socket_id} reached all {_plural(n, 'peer')}"
    return None  # some peers were still busy when the run was stopped


def end_of_data_load_balanced(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when end-of-data on the load-balancing socket reached only some of its
    peers and a settled one never got it."""
    if not f.subject:
        return None
    return _delivery_verdict(f.subject[0], run, "reached")


def lossy_end_of_data(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when end-of-data on one of the lossy sockets missed a settled peer."""
    for sock in f.subject:
        v = _delivery_verdict(sock, run, "reached")
        if v is not None:
            return v
    return None


def end_of_data_undercounted(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when the fan-in completed its end-of-data with messages to it still
    unread."""
    if not f.subject:
        return None
    rows = run.procs(f.subject[0])
    if not rows:
        return None
    for p in rows:
        eod = p.get("end_of_data") or {}
        if not eod.get("complete"):
            continue
        into = [
            c for c in run.conns_into(p["process"]) if c["receiver"].startswith(p["name"] + ".")
        ]
        lost = sum(c["lost"] or 0 for c in into)
        if lost:
            return (
                CONFIRMED,
                f"{p['name']} stopped after {eod.get('received')} end-of-data signals of "
                f"{len(into)} producers; {_plural(lost, 'message')} sent to it were never read",
            )
    return NOT_REPRODUCED, "no message was left unread when the fan-in stopped"


def no_end_timeout(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when an instance waited for end-of-data, with nothing left to arrive,
    until the run was stopped."""
    if not f.subject:
        return None
    rows = run.procs(f.subject[0])
    if not rows:
        return None
    waiting = [
        p["name"]
        for p in rows
        if (p.get("end_of_data") or {}).get("action") in ("forward", "consume")
        and not (p.get("end_of_data") or {}).get("complete")
        and p["state"] not in ("killed (scenario)", "crashed")
    ]
    settled = [n for n in waiting if all(run.settled(p) for p in run.procs(n))]
    if settled and run.stuck:
        return (
            CONFIRMED,
            f"{', '.join(settled[:5])} waited for end-of-data with nothing left to arrive, "
            f"until the run was stopped ({run.how_ended()})",
        )
    if waiting:
        return None  # still busy when the run was stopped: inconclusive
    return NOT_REPRODUCED, "every instance got its end-of-data (or a timeout) and ended"


def shutdown_hang(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when an instance hung closing its sockets (linger) until stopped."""
    names = {s.split(".")[0] for s in f.subject}
    rows = [p for n in names for p in run.procs(n)]
    if not rows:
        return None
    hung = [p["name"] for p in rows if p.get("last_phase") == "closing"]
    closed = [p["name"] for p in rows if p.get("last_phase") == "done"]
    if hung:
        return (
            CONFIRMED,
            f"{', '.join(hung[:5])} hung while closing its sockets (linger) until the run "
            "was stopped",
        )
    if closed:
        whose = "its" if len(closed) == 1 else "their"
        return NOT_REPRODUCED, f"{', '.join(closed[:5])} closed {whose} sockets and exited"
    return None  # nobody reached its close in this run


# ---------------------------------------------------------------------------- joins
def _joins(f: Finding, run: Run) -> list[dict[str, Any]]:
    names = {process_of(s).split(".")[0] for s in f.subject}
    return [j for j in run.report["joins"] if process_of(j["name"]) in names]


def order_join_after_reordering(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when a join matching by arrival order paired different keys."""
    joins = _joins(f, run)
    if not joins:
        return None
    bad = sum(j["mismatches"] for j in joins)
    total = sum(j["matches"] for j in joins)
    if bad:
        return (
            CONFIRMED,
            f"{bad} of {total} units matched by arrival order paired different keys",
        )
    return NOT_REPRODUCED, f"all {total} units matched by order had equal keys"


def lossy_join_input(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when a join unit never found its partner (held at the end, or expired)."""
    joins = _joins(f, run)
    if not joins:
        return None
    held = sum(j["pending_at_end"] for j in joins)
    expired = sum(j["timeouts"] for j in joins)
    if held or (run.stuck and any(j["pending_at_end"] for j in joins)):
        return (
            CONFIRMED,
            f"{_plural(held, 'unit')} never found a partner and "
            f"{'was' if held == 1 else 'were'} still held at the end",
        )
    if expired:
        return CONFIRMED, f"{_plural(expired, 'unit')} waited for a partner until the timeout"
    return NOT_REPRODUCED, "every unit found its partners"


def unbounded_join_buffer(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when a join without ``max_pending`` still held unmatched units at the end,
    or a bounded one filled its ``max_pending`` and stopped reading an input."""
    joins = _joins(f, run)
    if not joins:
        return None
    j = joins[0]
    peak, held = j["max_pending_observed"], j["pending_at_end"]
    if j["max_pending"] is None:
        if held:
            return (
                CONFIRMED,
                f"{j['name']} held up to {peak} unmatched units; {held} never matched and "
                "stay held for as long as it runs",
            )
        return NOT_REPRODUCED, f"{j['name']} held at most {peak} units and all were matched"
    if peak >= j["max_pending"] or j.get("stalls"):
        return (
            CONFIRMED,
            f"{j['name']} filled its max_pending of {j['max_pending']} and stopped reading an "
            f"input {_plural(j.get('stalls', 0), 'time')}",
        )
    return NOT_REPRODUCED, f"{j['name']} held at most {peak} of {j['max_pending']} units"


def diamond_deadlock(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when the run stopped moving with an instance blocked on a full queue."""
    names = {process_of(s).split(".")[0] for s in f.subject}
    rows = [p for n in names for p in run.procs(n)]
    if not rows:
        return None
    blocked = [p["name"] for p in run.report["processes"] if p["last_phase"] == "blocked"]
    held = [j["name"] for j in run.report["joins"] if j.get("held")]
    if run.stuck and (run.report["stop_reason"].startswith("no progress") or blocked):
        why = []
        if blocked:
            why.append(f"{', '.join(blocked[:5])} blocked on a full queue")
        if held:
            why.append(f"{', '.join(held)} full, waiting for units that never came")
        return CONFIRMED, "the run stopped moving" + (": " + "; ".join(why) if why else "")
    return NOT_REPRODUCED, f"the run did not deadlock ({run.how_ended()})"


# ---------------------------------------------------------------------------- memory, flow
def silent_drop(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when the socket dropped messages after start-up (not the slow-joiner
    loss at the start)."""
    if not f.subject:
        return None
    rows = [c for c in run.conns_from(f.subject[0]) if c["sent"]]
    if not rows:
        return None
    dropped = []
    for c in rows:
        start = c["first_received_seq"] or 0
        mid = (c["lost"] or 0) - (start if c["received"] else c["sent"])
        if mid > 0:
            dropped.append((c["receiver"], mid, c["sent"]))
    if dropped:
        r, n, s = dropped[0]
        more = f" (and {len(dropped) - 1} more peers)" if len(dropped) > 1 else ""
        return CONFIRMED, f"{f.subject[0]} silently dropped {n} of {s} messages to {r}{more}"
    return NOT_REPRODUCED, (
        f"no message was dropped after start-up on {_plural(len(rows), 'connection')} "
        "(the receivers kept up; try --scenario stall=RECEIVER)"
    )


def overloaded_stage(f: Finding, run: Run) -> Verdict | None:
    """Evidence of overload: a queue into the stage near its bound, sources held back by
    back-pressure (time blocked in send, not merely slow), or messages a lossy socket dropped
    on the way into the stage."""
    if not f.subject:
        return None
    stage = process_of(f.subject[0]).split(".")[0]
    into = run.conns_into(stage)
    evidence = []
    full = [
        c
        for c in into
        if c["predicted_bound_messages"]
        and c["observed_max_queued"] is not None
        and c["observed_max_queued"] >= 0.5 * c["predicted_bound_messages"]
    ]
    if full:
        c = max(full, key=lambda c: c["observed_max_queued"])
        evidence.append(
            f"the queue into {c['receiver']} reached {c['observed_max_queued']} of at most "
            f"{c['predicted_bound_messages']} messages"
        )
    dropped = sum(
        max(0, (c["lost"] or 0) - (c["first_received_seq"] or 0))
        for c in into
        if c["received"] and c["sender"] in _lossy_senders(run)
    )
    if dropped:
        evidence.append(f"{_plural(dropped, 'message')} were dropped on the way into it")
    for inst in run.plan.instances:
        b = inst.behaviour
        if b.kind != "source" or not b.rate:
            continue
        row = next(p for p in run.report["processes"] if p["name"] == inst.name)
        span = row.get("emit_span") or [None, None]
        blocked = row.get("blocked_s") or 0.0
        if not (row.get("emitted") and span[0] is not None and span[1] and span[1] > span[0]):
            continue
        achieved = (row["emitted"] - 1) / (span[1] - span[0])
        if inst.process == stage and b.service_time * b.rate > 1 and achieved < 0.9 * b.rate:
            evidence.append(
                f"{inst.name} emitted {achieved:.0f}/s instead of {b.rate:g}/s: its service "
                f"time of {b.service_time * 1000:g} ms allows {1 / b.service_time:.0f}/s"
            )
        elif achieved < 0.9 * b.rate and blocked > 0.1 * (span[1] - span[0]):
            evidence.append(
                f"{inst.name} was held back by full queues for {blocked:.1f} s and emitted "
                f"{achieved:.0f}/s instead of {b.rate:g}/s"
            )
    if evidence:
        return CONFIRMED, "; ".join(evidence[:3])
    return NOT_REPRODUCED, f"the queues into {stage} stayed short and the sources kept their rate"


def _lossy_senders(run: Run) -> set[str]:
    return {c.sender for c in run.plan.connections if c.lossy}


def memory_budget_exceeded(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when more bytes were seen queued around the process than its
    ``memory_limit``."""
    names = {process_of(s).split(".")[0] for s in f.subject}
    sizes = {f"{i.name}.{s.name}": s.size for i in run.plan.instances for s in i.sockets}
    best: tuple[int, str, int | None] | None = None
    for inst in run.plan.instances:
        if inst.process not in names:
            continue
        held = 0
        for c in run.report["connections"]:
            if c["observed_max_queued"] and inst.name in (
                c["sender"].rsplit(".", 1)[0],
                c["receiver"].rsplit(".", 1)[0],
            ):
                held += c["observed_max_queued"] * sizes.get(c["sender"], 0)
        limit = f.data.get("limit") if isinstance(f.data, dict) else None
        if best is None or held > best[0]:
            best = (held, inst.name, limit)
    if best is None:
        return None
    held, name, limit = best
    limit = limit or _memory_limit(run, name)
    if limit is None:
        return None
    if held > limit:
        return (
            CONFIRMED,
            f"up to {held:,} bytes were queued in the connections of {name}, "
            f"above its memory_limit of {limit:,} bytes",
        )
    return NOT_REPRODUCED, (
        f"at most {held:,} bytes were seen queued around {name} (limit {limit:,}); "
        "try --scenario stall=RECEIVER to fill the queues"
    )


def _memory_limit(run: Run, instance: str) -> int | None:
    value = run.report.get("memory_limits", {}).get(process_of(instance))
    return int(value) if value else None


# ---------------------------------------------------------------------------- five more
def unsynchronized_join(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when pairing the next message of each input would have combined
    different keys."""
    if not f.subject:
        return None
    rows = [p for p in run.procs(f.subject[0]) if p.get("unsynchronized")]
    if not rows:
        return None  # no instance got data on two inputs
    pairs = sum(p["unsynchronized"]["pairs"] for p in rows)
    bad = sum(p["unsynchronized"]["mismatched"] for p in rows)
    ahead = max(p["unsynchronized"]["max_ahead"] for p in rows)
    if bad:
        return (
            CONFIRMED,
            f"pairing the next message of each input, {bad} of {pairs} pairs combined "
            f"different keys; one input ran up to {_plural(ahead, 'message')} ahead",
        )
    return (
        NOT_REPRODUCED,
        f"all {_plural(pairs, 'pair')} of next messages had equal keys (inputs at most "
        f"{ahead} apart); a slower branch or a lost message would pair wrong ones",
    )


def _conns_of(run: Run, socket_ids: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    ids = set(socket_ids)
    return [
        c
        for c in run.report["connections"]
        if (process_of(c["sender"]) in ids or process_of(c["receiver"]) in ids)
        and "note" not in c
        and not c.get("control")
    ]


def unbounded_queue(f: Finding, run: Run) -> Verdict | None:
    """Under ``stall=``: confirmed when the flood into the subject stopped at its cap, not at
    a high-water mark."""
    if not run.measurement:
        return None  # only a stall shows a queue that never stops growing
    rows = {p["name"]: p for p in run.report["processes"]}
    capped: list[tuple[dict[str, Any], dict[str, Any]]] = []
    blocked: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for c in _conns_of(run, f.subject):
        inst, _, sock = c["sender"].rpartition(".")
        flood = (rows.get(inst, {}).get("flood") or {}).get(sock)
        if not flood:
            continue
        (capped if flood.get("capped") else blocked).append((c, flood))
    if capped:
        c, fl = capped[0]
        return (
            CONFIRMED,
            f"under the stall {c['sender']} -> {c['receiver']} took {fl['sent']} messages "
            f"and never pushed back: the flood stopped at its cap of {fl['limit']}, not at a "
            "high-water mark",
        )
    if blocked:
        c, fl = blocked[0]
        return (
            NOT_REPRODUCED,
            f"under the stall {c['sender']} -> {c['receiver']} pushed back after "
            f"{fl['sent']} messages",
        )
    return None


def kernel_buffer_unpinned(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when a connection held more messages than it could with SNDBUF/RCVBUF
    pinned at the kernel defaults."""
    rows = [
        c
        for c in _conns_of(run, f.subject)
        if c.get("pinned_bound_messages") is not None and c["observed_max_queued"] is not None
    ]
    if not rows:
        return None
    c = max(rows, key=lambda c: c["observed_max_queued"] - c["pinned_bound_messages"])
    obs, pinned = c["observed_max_queued"], c["pinned_bound_messages"]
    if obs > pinned:
        return (
            CONFIRMED,
            f"{c['sender']} -> {c['receiver']} held {obs} messages; with SNDBUF/RCVBUF pinned "
            f"at the kernel defaults it could hold at most {pinned}: the autotuned kernel "
            "buffers held the rest",
        )
    if not run.measurement:
        return None  # queues stayed short: nothing was pushed into the kernel buffers
    return (
        NOT_REPRODUCED,
        f"{c['sender']} -> {c['receiver']} held at most {obs} messages under the stall, within "
        f"the {pinned} that pinned buffers allow",
    )


def synchronized_burst(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when a receiver got at least 2 messages within one millisecond and at
    least twice its mean per millisecond."""
    names = {process_of(x).split(".")[0] for x in f.subject}
    senders = {process_of(x).split(".")[0] for x in f.subject if "." in x}
    rows = [
        p
        for n in sorted(names - senders)
        for p in run.procs(n)
        if (p.get("arrivals") or {}).get("messages")
    ]
    if not rows:
        return None
    p = max(
        rows, key=lambda r: r["arrivals"]["peak_per_ms"] / max(r["arrivals"]["mean_per_ms"], 1e-9)
    )
    a = p["arrivals"]
    if a["peak_per_ms"] >= 2 and a["peak_per_ms"] >= 2 * a["mean_per_ms"]:
        return (
            CONFIRMED,
            f"{p['name']} received up to {a['peak_per_ms']} messages within one millisecond, "
            f"against a mean of {a['mean_per_ms']:.3g} per millisecond",
        )
    return (
        NOT_REPRODUCED,
        f"{p['name']} received at most {a['peak_per_ms']} message(s) per millisecond (mean "
        f"{a['mean_per_ms']:.3g})",
    )


def endpoint_conflict(f: Finding, run: Run) -> Verdict | None:
    """Confirmed when the second bind of the endpoint failed."""
    socks = {process_of(x) for x in f.subject}
    rows = [p for x in socks for p in run.procs(x.split(".")[0])]
    if not rows:
        return None
    failed = [
        (p["name"], b)
        for p in rows
        for b in p.get("bind_failures") or []
        if f"{p['process']}.{b['socket']}" in socks
    ]
    if failed:
        name, b = failed[0]
        return CONFIRMED, f"{name}.{b['socket']} could not bind: {b['error']}"
    if all(p["state"] in ("never started", "starting") for p in rows):
        return None
    return (
        NOT_REPRODUCED,
        "every bind succeeded (on ipc the later bind silently takes the path over)",
    )


#: Rules about ending: a stall measurement, stopped on purpose, says nothing about them.
ENDING = {
    "missing-end-of-data",
    "end-of-data-load-balanced",
    "end-of-data-undercounted",
    "lossy-end-of-data",
    "no-end-timeout",
    "shutdown-hang",
    "lossy-join-input",
    "unbounded-join-buffer",
    "diamond-deadlock",
}

JUDGES: dict[str, Judge] = {
    "slow-joiner": slow_joiner,
    "sleep-synchronization": slow_joiner,
    "missing-end-of-data": missing_end_of_data,
    "end-of-data-load-balanced": end_of_data_load_balanced,
    "end-of-data-undercounted": end_of_data_undercounted,
    "lossy-end-of-data": lossy_end_of_data,
    "no-end-timeout": no_end_timeout,
    "shutdown-hang": shutdown_hang,
    "order-join-after-reordering": order_join_after_reordering,
    "lossy-join-input": lossy_join_input,
    "unbounded-join-buffer": unbounded_join_buffer,
    "diamond-deadlock": diamond_deadlock,
    "silent-drop": silent_drop,
    "overloaded-stage": overloaded_stage,
    "memory-budget-exceeded": memory_budget_exceeded,
    "unsynchronized-join": unsynchronized_join,
    "unbounded-queue": unbounded_queue,
    "kernel-buffer-unpinned": kernel_buffer_unpinned,
    "synchronized-burst": synchronized_burst,
    "endpoint-conflict": endpoint_conflict,
}
#: Rules whose verdict needs a stall (``--scenario stall=RECEIVER``).
NEEDS_STALL = {"unbounded-queue", "kernel-buffer-unpinned", "memory-budget-exceeded"}


def _why_not(f: Finding, run: Run) -> str:
    if f.rule not in JUDGES:
        return "running cannot show it (a property of the declaration, not of traffic)"
    if run.measurement and f.rule in ENDING:
        return "a stall run is a measurement, stopped on purpose: it says nothing about ending"
    if f.rule in NEEDS_STALL and not run.measurement:
        return "queues fill only when a receiver stops: run again with --scenario stall=RECEIVER"
    if run.report.get("sources_unfinished"):
        return (
            "the run was cut short by --timeout before its sources finished; raise --timeout "
            "or lower the sources' count"
        )
    if run.report["stop_reason"] == "timeout":
        return "data was still moving when --timeout stopped the run; raise --timeout"
    return "its subject carried no traffic this run could judge (try a --scenario)"


def judge(
    findings: list[Finding], report: dict[str, Any], plan: RunPlan
) -> tuple[list[dict[str, Any]], list[str]]:
    """Verdicts for the findings the run can exercise, and the rules it cannot."""
    run = Run(report, plan)
    verdicts: list[dict[str, Any]] = []
    skipped: set[str] = set()
    reasons: list[dict[str, Any]] = report.setdefault("not_exercised_findings", [])
    for f in findings:
        fn = JUDGES.get(f.rule)
        if run.measurement and f.rule in ENDING:
            fn = None
        v = fn(f, run) if fn else None
        if v is None:
            skipped.add(f.rule)
            reasons.append(
                {
                    "rule": f.rule,
                    "subject": ", ".join(f.subject) or f.element,
                    "exercisable": f.rule in JUDGES,
                    "reason": _why_not(f, run),
                    "file": f.file,
                    "line": f.line,
                }
            )
            continue
        status, evidence = v
        verdicts.append(
            {
                "rule": f.rule,
                "code": f.code,
                "subject": ", ".join(f.subject) or f.element,
                "status": status,
                "evidence": evidence,
                "file": f.file,
                "line": f.line,
                "column": f.column,
                "message": f.message,
            }
        )
    return verdicts, sorted(skipped)
