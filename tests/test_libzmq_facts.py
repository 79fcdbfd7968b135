"""The libzmq facts the queue model rests on, checked against real pyzmq sockets.

Inproc facts are deterministic: the sender counts until EAGAIN and retries until nothing
moves for a short window (libzmq may defer the command that returns credit to the
sender).  The few TCP/IPC checks use loopback, a short idle window, and assert counts
only, never durations.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from topolint.analysis.queue_model import Kernel, SocketOpts, connection_bound, parked_bound

SMALL = b"x"
TEN_KB = b"a" * 10_000


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def make(ctx: zmq.Context, kind: int, **opts: int) -> zmq.Socket:
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    for name, value in opts.items():
        sock.setsockopt(getattr(zmq, name.upper()), value)
    return sock


def fill(sock: zmq.Socket, payload: bytes = SMALL, idle: float = 0.05, limit: int = 50_000) -> int:
    """Send with NOBLOCK until nothing moves for ``idle`` seconds (or ``limit`` sends)."""
    sent = 0
    last = time.monotonic()
    polls = 0  # since the last progress: a slow machine still gets several retries
    while sent < limit:
        try:
            sock.send(payload, zmq.NOBLOCK)
        except zmq.Again:
            if polls >= 3 and time.monotonic() - last > idle:
                break
            sock.poll(1, zmq.POLLOUT)  # also processes libzmq's pending commands
            polls += 1
            continue
        sent += 1
        polls = 0
        last = time.monotonic()
    return sent


def drain(sock: zmq.Socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(sock.recv(zmq.NOBLOCK))
        except zmq.Again:
            return out


def inproc_pair(
    ctx: zmq.Context, sndhwm: int, rcvhwm: int, push_binds: bool = False, **extra: dict[str, int]
) -> tuple[zmq.Socket, zmq.Socket]:
    sender = make(ctx, zmq.PUSH, sndhwm=sndhwm, **extra.get("push", {}))
    receiver = make(ctx, zmq.PULL, rcvhwm=rcvhwm, **extra.get("pull", {}))
    if push_binds:
        sender.bind("inproc://facts")
        receiver.connect("inproc://facts")
    else:
        receiver.bind("inproc://facts")
        sender.connect("inproc://facts")
    return sender, receiver


def opts(kind: str, **kw: object) -> SocketOpts:
    return SocketOpts(kind, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("push_binds", [False, True])
@pytest.mark.parametrize(("s", "r"), [(1, 1), (100, 100), (5, 7)])
def test_inproc_holds_exactly_sndhwm_plus_rcvhwm(
    ctx: zmq.Context, s: int, r: int, push_binds: bool
) -> None:
    sender, receiver = inproc_pair(ctx, s, r, push_binds)
    held = fill(sender)
    bound = connection_bound("inproc", opts("push", sndhwm=s), opts("pull", rcvhwm=r), 1)
    assert held == s + r == bound.messages
    assert len(drain(receiver)) == held


@pytest.mark.parametrize(("s", "r"), [(0, 1000), (1000, 0), (0, 0)])
def test_inproc_hwm_zero_is_unlimited(ctx: zmq.Context, s: int, r: int) -> None:
    sender, receiver = inproc_pair(ctx, s, r)
    for _ in range(20_000):
        sender.send(SMALL, zmq.NOBLOCK)  # raises zmq.Again if a limit existed
    assert len(drain(receiver)) == 20_000
    assert connection_bound("inproc", opts("push", sndhwm=s), opts("pull", rcvhwm=r), 1).unbounded


@pytest.mark.parametrize(
    ("push_conflates", "pull_conflates", "push_binds", "connector"),
    [
        (True, False, False, "sender"),  # the connecting PUSH conflates
        (False, True, True, "receiver"),  # the connecting PULL conflates
        (True, True, False, "sender"),
        (True, False, True, "receiver"),  # only the binder conflates: ignored
        (False, True, False, "sender"),
    ],
)
def test_inproc_conflate_holds_at_most_two_and_is_the_connectors(
    ctx: zmq.Context,
    push_conflates: bool,
    pull_conflates: bool,
    push_binds: bool,
    connector: str,
) -> None:
    sender, receiver = inproc_pair(
        ctx,
        10,
        10,
        push_binds,
        push={"conflate": int(push_conflates)},
        pull={"conflate": int(pull_conflates)},
    )
    payloads = [str(i).encode() for i in range(500)]
    sent = 0
    for p in payloads:
        try:
            sender.send(p, zmq.NOBLOCK)
        except zmq.Again:
            break
        sent += 1
    held = drain(receiver)
    bound = connection_bound(
        "inproc",
        opts("push", sndhwm=10, conflate=push_conflates),
        opts("pull", rcvhwm=10, conflate=pull_conflates),
        8,
        connector=connector,
    )
    assert bound.messages is not None and len(held) <= bound.messages
    conflating = push_conflates if connector == "sender" else pull_conflates
    if conflating:
        assert sent == len(payloads)  # a conflating pipe never blocks
        assert 1 <= len(held) <= 2 and held[-1] == payloads[-1]  # the newest survives
    else:
        assert len(held) == sent == 20


@pytest.mark.parametrize(
    ("s", "r", "read"),
    [(100, 100, 1), (100, 100, 99), (100, 100, 100), (100, 100, 150), (10, 20, 7), (10, 20, 16)],
)
def test_low_water_mark_quantization(ctx: zmq.Context, s: int, r: int, read: int) -> None:
    """The writer regains credit only every L = (hwm + 1) // 2 messages read (pipe.cpp)."""
    sender, receiver = inproc_pair(ctx, s, r)
    first = fill(sender)
    assert first == s + r
    for _ in range(read):
        receiver.recv()
    more = fill(sender)
    lwm = (s + r + 1) // 2  # the single inproc pipe's HWM is s + r
    assert more == lwm * (read // lwm)
    assert first + more == s + r + lwm * (read // lwm)


def test_parked_connect_holds_sndhwm(ctx: zmq.Context, tmp_path: Path) -> None:
    sender = make(ctx, zmq.PUSH, sndhwm=5)
    sender.connect(f"ipc://{tmp_path}/nobody-binds")
    assert fill(sender, TEN_KB) == 5 == parked_bound(opts("push", sndhwm=5), 10_000).messages


def test_immediate_connect_parks_nothing(ctx: zmq.Context, tmp_path: Path) -> None:
    sender = make(ctx, zmq.PUSH, sndhwm=5, immediate=1)
    sender.connect(f"ipc://{tmp_path}/nobody-binds")
    with pytest.raises(zmq.Again):
        sender.send(TEN_KB, zmq.NOBLOCK)
    assert parked_bound(opts("push", sndhwm=5, immediate=True), 10_000).messages == 0


def stream_capacity(
    endpoint: str, s: int, sb: int | None, rb: int | None, r: int, size: int = 10_000
) -> int:
    """The talk's experiment: PUSH binds, PULL connects and never reads (own context)."""
    sctx, rctx = zmq.Context(), zmq.Context()
    try:
        push_opts = {"sndhwm": s} | ({"sndbuf": sb} if sb is not None else {})
        pull_opts = {"rcvhwm": r} | ({"rcvbuf": rb} if rb is not None else {})
        sender = make(sctx, zmq.PUSH, **push_opts)
        receiver = make(rctx, zmq.PULL, **pull_opts)
        sender.bind(endpoint)
        receiver.connect(sender.getsockopt_string(zmq.LAST_ENDPOINT))
        assert sender.poll(5000, zmq.POLLOUT)  # connected
        return fill(sender, b"a" * size, idle=0.3)
    finally:
        sctx.destroy(linger=0)
        rctx.destroy(linger=0)


def test_tcp_sender_count_is_quantized_by_the_low_water_mark() -> None:
    # SNDHWM 100 over TCP with tiny pinned buffers: what sits downstream of the sender pipe
    # (about 5 messages) stays invisible until 50 have been taken: the talk's "100".
    held = stream_capacity("tcp://127.0.0.1:*", 100, 4096, 4096, 1)
    bound = connection_bound(
        "tcp", opts("push", sndhwm=100, sndbuf=4096), opts("pull", rcvhwm=1, rcvbuf=4096), 10_000
    )
    assert (held - 100) % 50 == 0
    assert bound.messages is not None and 100 <= held <= bound.messages


def test_ipc_ignores_zmq_sndbuf(tmp_path: Path) -> None:
    # With 1 kB messages the Unix socket's default send buffer (wmem_default) holds ~90
    # messages; had libzmq applied SNDBUF=4096 (8 KiB in the kernel), at most the bound
    # computed for an 8 KiB buffer could be held.
    held = stream_capacity(f"ipc://{tmp_path}/a", 1, 4096, None, 1, size=1000)
    push, pull = opts("push", sndhwm=1, sndbuf=4096), opts("pull", rcvhwm=1)
    if_applied = connection_bound("ipc", push, pull, 1000, Kernel(wmem_default=8192))
    bound = connection_bound("ipc", push, pull, 1000, Kernel.from_host())
    assert if_applied.messages is not None and bound.messages is not None
    assert if_applied.messages < held <= bound.messages
