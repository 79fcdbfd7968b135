#!/usr/bin/env python3
"""Queue capacity: how many messages a PUSH can send to a PULL that never reads.

Re-measures the table of the talk ("Problem 2 - limiting memory usage") with plain pyzmq
on loopback and compares every row with ``topolint.analysis.queue_model``: the safe bound must be
at or above every measurement, the expected value should be close to it.

    python benchmarks/queue_capacity.py [--repeats 3] [--idle 1.0] [--extended]

Method (as in notes/zeromq-queue-model.md): send with NOBLOCK; on EAGAIN wait about a
millisecond (a 1 ms POLLOUT poll, which returns early when the socket becomes writable) and
retry; stop after ``--idle`` seconds without progress.  The PULL lives in
its own context (its own I/O thread, like the talk's separate process) and is never read.
Every socket closes with linger 0.  Exit status 1 if any bound is below a measurement.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from topolint.analysis.queue_model import (
    Bound,
    Kernel,
    SocketOpts,
    combine_bounds,
    connection_bound,
)

MAX_SENDS = 2_000_000  # per measurement, whatever happens
FIRST_SEND_DEADLINE = 5.0  # seconds to wait for the connection to come up


@dataclass(frozen=True)
class Row:
    transport: str
    sndhwm: int
    sndbuf: int | None
    rcvbuf: int | None
    rcvhwm: int
    senders: int = 1
    size: int = 10_000
    talk: str = ""

    @property
    def label(self) -> str:
        kind = {"tcp": "TCP", "ipc": "IPC", "inproc": "inproc"}[self.transport]
        if self.senders > 1:
            kind += f", {self.senders} PUSH → 1 PULL"
        return kind

    def buf(self, value: int | None) -> str:
        if self.transport == "inproc":
            return "—"
        return "default" if value is None else str(value)


TALK_ROWS = [
    Row("tcp", 100, None, None, 100, talk="350–950"),
    Row("tcp", 1, None, None, 1, talk="182–282"),
    Row("tcp", 1, 100_000, 100_000, 1, talk="31–32"),
    Row("tcp", 1, 4096, 4096, 1, talk="4–5"),
    Row("tcp", 100, 4096, 4096, 1, talk="100"),
    Row("tcp", 1, 4096, 4096, 100, talk="104"),
    Row("ipc", 1, 65_536, None, 1, talk="8–9"),
    Row("tcp", 1, 100_000, 100_000, 1, senders=4, talk="125–128"),
    Row("inproc", 1, None, None, 1),
    Row("inproc", 100, None, None, 100),
]

# Beyond the talk: other message sizes and HWMs, to check the bound where the engine
# batches (small messages) or zero-copy writes (large messages) dominate.
EXTENDED_ROWS = [
    Row(t, s, sb, rb, r, size=size)
    for size in (100, 1000, 100_000, 1_000_000)
    for (t, s, sb, rb, r) in (
        ("tcp", 1, None, None, 1),
        ("tcp", 1, 100_000, 100_000, 1),
        ("tcp", 10, 4096, 4096, 10),
        ("ipc", 1, None, None, 1),
    )
] + [
    Row("tcp", 1000, 100_000, 100_000, 1000, size=100),
    Row("tcp", 7, 50_000, 300_000, 3),
]


def _sender_opts(row: Row) -> SocketOpts:
    return SocketOpts("push", sndhwm=row.sndhwm, sndbuf=row.sndbuf)


def _receiver_opts(row: Row) -> SocketOpts:
    return SocketOpts("pull", rcvhwm=row.rcvhwm, rcvbuf=row.rcvbuf)


def predict(row: Row, kernel: Kernel) -> Bound:
    one = connection_bound(row.transport, _sender_opts(row), _receiver_opts(row), row.size, kernel)
    return combine_bounds([one] * row.senders) if row.senders > 1 else one


def _configure(sock: zmq.Socket, hwm_opt: int, hwm: int, buf_opt: int, buf: int | None) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(hwm_opt, hwm)
    if buf is not None:
        sock.setsockopt(buf_opt, buf)


def measure(row: Row, idle: float) -> int:
    """Messages the sender(s) got rid of before ``idle`` seconds passed without progress."""
    payload = b"a" * row.size
    contexts: list[zmq.Context] = []
    sockets: list[zmq.Socket] = []
    with tempfile.TemporaryDirectory(prefix="topolint-qc-") as tmp:
        try:
            if row.transport == "inproc":
                ctx = zmq.Context()
                contexts.append(ctx)
                pull = ctx.socket(zmq.PULL)
                push_ctxs = [ctx]
            else:
                rctx = zmq.Context()
                contexts.append(rctx)
                pull = rctx.socket(zmq.PULL)
                push_ctxs = [zmq.Context() for _ in range(row.senders)]
                contexts.extend(push_ctxs)
            sockets.append(pull)
            _configure(pull, zmq.RCVHWM, row.rcvhwm, zmq.RCVBUF, row.rcvbuf)
            pushes = []
            for pctx in push_ctxs:
                push = pctx.socket(zmq.PUSH)
                sockets.append(push)
                _configure(push, zmq.SNDHWM, row.sndhwm, zmq.SNDBUF, row.sndbuf)
                pushes.append(push)
            endpoint = {
                "tcp": "tcp://127.0.0.1:*",
                "ipc": f"ipc://{tmp}/qc",
                "inproc": "inproc://qc",
            }[row.transport]
            if row.senders == 1:  # as in the talk: the PUSH binds, the PULL connects
                pushes[0].bind(endpoint)
                pull.connect(pushes[0].getsockopt_string(zmq.LAST_ENDPOINT))
            else:  # the talk's 4x slide: the PULL binds, every PUSH connects
                pull.bind(endpoint)
                for push in pushes:
                    push.connect(pull.getsockopt_string(zmq.LAST_ENDPOINT))
            return _fill(pushes, payload, idle)
        finally:
            for sock in sockets:
                sock.close(linger=0)
            for ctx in contexts:
                ctx.term()


def _fill(pushes: list[zmq.Socket], payload: bytes, idle: float) -> int:
    poller = zmq.Poller()
    for push in pushes:
        poller.register(push, zmq.POLLOUT)
    sent = 0
    start = time.monotonic()
    last_progress: float | None = None
    while sent < MAX_SENDS:
        progress = False
        for push in pushes:
            try:
                push.send(payload, zmq.NOBLOCK)
            except zmq.Again:
                continue
            sent += 1
            progress = True
        now = time.monotonic()
        if progress:
            last_progress = now
            continue
        if last_progress is None:
            if now - start > FIRST_SEND_DEADLINE:
                break
        elif now - last_progress > idle:
            break
        # Wait about a millisecond, less if a socket becomes writable (libzmq processes its
        # pending activate_write commands while polling), then retry every socket anyway.
        poller.poll(1)
    return sent


def _proc(path: str) -> str:
    try:
        return " ".join(Path(path).read_text().split())
    except OSError:
        return "unreadable"


def environment() -> list[str]:
    lines = [
        f"- kernel: `{platform.release()}` ({platform.machine()})",
        f"- pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()},"
        f" Python {platform.python_version()}",
    ]
    for name in (
        "ipv4/tcp_wmem",
        "ipv4/tcp_rmem",
        "core/wmem_max",
        "core/rmem_max",
        "core/wmem_default",
        "core/rmem_default",
    ):
        lines.append(f"- /proc/sys/net/{name} = {_proc('/proc/sys/net/' + name)}")
    return lines


def _size(n: int) -> str:
    for unit, scale in (("MB", 10**6), ("kB", 10**3)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="measurements per row")
    parser.add_argument("--idle", type=float, default=1.0, help="seconds without progress")
    parser.add_argument("--extended", action="store_true", help="also other message sizes and HWMs")
    parser.add_argument("--only-extended", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    kernel = Kernel.from_host()
    rows = [] if args.only_extended else list(TALK_ROWS)
    if args.extended or args.only_extended:
        rows += EXTENDED_ROWS

    print("## Queue capacity: measured vs topolint.analysis.queue_model")
    print()
    print(*environment(), sep="\n")
    print(f"- model kernel: {kernel}")
    print(f"- {args.repeats} repeats per row, stop after {args.idle:g} s without progress")
    print()
    print(
        "| transport | msg | SNDHWM | SNDBUF | RCVBUF | RCVHWM | talk | measured "
        "| bound | expected | expected vs measured | bound ≥ measured |"
    )
    print("| --- | --- | ---: | --- | --- | ---: | --- | --- | ---: | ---: | ---: | :---: |")
    failures = 0
    for row in rows:
        counts = [measure(row, args.idle) for _ in range(args.repeats)]
        lo, hi = min(counts), max(counts)
        bound = predict(row, kernel)
        ok = bound.messages is None or bound.messages >= hi
        failures += not ok
        measured = f"{lo}" if lo == hi else f"{lo}–{hi}"
        if bound.expected is None:
            deviation = "—"
        else:
            mid = (lo + hi) / 2
            deviation = f"{(bound.expected - mid) / mid * 100:+.0f}%"
        bound_text = "∞" if bound.messages is None else str(bound.messages)
        print(
            f"| {row.label} | {_size(row.size)} | {row.sndhwm} | {row.buf(row.sndbuf)} "
            f"| {row.buf(row.rcvbuf) if row.transport != 'ipc' else '—'} | {row.rcvhwm} "
            f"| {row.talk or '—'} | {measured} | {bound_text} | {bound.expected} "
            f"| {deviation} | {'✓' if ok else '✗'} |",
            flush=True,
        )
    print()
    if failures:
        print(f"MODEL VIOLATED: {failures} row(s) measured above the bound", file=sys.stderr)
        return 1
    print("Every bound is at or above every measurement.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
