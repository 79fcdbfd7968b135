"""How many messages one ZeroMQ connection can hold: a safe upper bound and an estimate.

Pure functions over socket options and OS limits (no I/O except :meth:`Kernel.from_host`);
stdlib only so that it imports fast.  The facts behind every number are in
``docs/memory-model.md`` and ``notes/zeromq-queue-model.md``; the short version:

Over ``tcp://`` (and, conservatively, every other stream transport) one connection holds::

    sender pipe (SNDHWM) + receiver pipe (RCVHWM)
      + sender engine batch + receiver engine batch      (8192-byte I/O batches)
      + kernel bytes / framed message size               (send + receive socket buffers)

Over ``ipc://`` the kernel share is the Unix socket's send buffer (``wmem_default``: libzmq
applies ZMQ_SNDBUF/RCVBUF to TCP only).  Over ``inproc://`` there is one pipe of
SNDHWM + RCVHWM messages and nothing else.  A high-water mark of 0 means no limit.

:func:`connection_bound` is *safe*: real libzmq 4.3 never holds more.  ``Bound.expected``
is a realistic estimate (what a PUSH→PULL whose PULL never reads counts before blocking)
that reproduces the measurements in ``docs/memory-model.md`` within about 10% where the
kernel buffers are pinned; it is not a guarantee of anything.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from topolint.lint.sockets import SOCKET_TYPES as FORMAT_SOCKET_TYPES

__all__ = [
    "IN_BATCH_SIZE",
    "OUT_BATCH_SIZE",
    "Bound",
    "Kernel",
    "SocketOpts",
    "combine_bounds",
    "connection_bound",
    "effective_conflate",
    "framed_size",
    "parked_bound",
]

#: libzmq ``options.out_batch_size`` / ``in_batch_size`` (``options.cpp``): bytes a stream
#: engine encodes ahead of / reads ahead of the socket per I/O event.
OUT_BATCH_SIZE = 8192
IN_BATCH_SIZE = 8192

#: Smallest buffers Linux grants whatever SO_SNDBUF/SO_RCVBUF asks
#: (``SOCK_MIN_SNDBUF`` / ``SOCK_MIN_RCVBUF`` in include/net/sock.h, x86-64 values).
SOCK_MIN_SNDBUF = 4608
SOCK_MIN_RCVBUF = 2304

#: TCP_MSS_DEFAULT: below this the send-size goal is not halved (``tcp_bound_to_half_wnd``).
_TCP_MSS_DEFAULT = 536

#: Default HWM of libzmq (``options.cpp``).
DEFAULT_HWM = 1000

#: Every type libzmq knows: format 1's plus the draft / less common ones.
SOCKET_TYPES = frozenset(FORMAT_SOCKET_TYPES) | frozenset(
    {"stream", "radio", "dish", "client", "server", "gather", "scatter", "channel", "peer"}
)

#: Socket types that honour ZMQ_CONFLATE (``socket_base.cpp::get_effective_conflate_option``).
CONFLATE_TYPES = frozenset({"dealer", "pull", "push", "pub", "sub"})

#: Transports with their own model; every other stream transport is treated like TCP.
KNOWN_TRANSPORTS = frozenset(
    {"tcp", "ipc", "inproc", "ws", "wss", "tipc", "udp", "pgm", "epgm", "norm", "vmci"}
)

# Estimates used only for ``Bound.expected`` (measured on loopback, Linux 6.x; see docs).
_SEND_WRITABLE_FRACTION = 2 / 3  # tcp_poll: writable while sk_wmem_queued <= 2/3 sk_sndbuf
_RECV_FILL_FRACTION = 0.95  # payload in a full receive queue / sk_rcvbuf
_UNIX_WRITABLE_FRACTION = 1 / 4  # unix_writable: wmem_alloc * 4 <= sk_sndbuf
_UNIX_PAYLOAD_RATIO = 0.78  # payload / truesize of a unix stream skb from an 8 KiB write


def _triple(value: Any, key: str) -> tuple[int, int, int]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise ValueError(f"{key} must be three integers [min, default, max], got {value!r}")
    out = tuple(_nonneg_int(v, key) for v in value)
    return (out[0], out[1], out[2])


def _nonneg_int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{key} must be an integer number of bytes, got {value!r}")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a non-negative integer number of bytes, got {value!r}")
    return value


@dataclass(frozen=True)
class Kernel:
    """OS limits that decide how much a socket's kernel buffers hold.

    Defaults are Linux's defaults.  ``gso_max_size`` (largest segment the TCP stack builds,
    64 KiB unless BIG TCP is configured) sets how far one ``send()`` may overshoot SO_SNDBUF.
    """

    tcp_wmem: tuple[int, int, int] = (4096, 16384, 4194304)
    tcp_rmem: tuple[int, int, int] = (4096, 131072, 6291456)
    wmem_max: int = 212992
    rmem_max: int = 212992
    wmem_default: int = 212992
    rmem_default: int = 212992
    gso_max_size: int = 65536

    #: ``/proc/sys/net`` file (relative) of each field read by :meth:`from_host`.
    PROC_FILES: ClassVar[dict[str, str]] = {
        "tcp_wmem": "ipv4/tcp_wmem",
        "tcp_rmem": "ipv4/tcp_rmem",
        "wmem_max": "core/wmem_max",
        "rmem_max": "core/rmem_max",
        "wmem_default": "core/wmem_default",
        "rmem_default": "core/rmem_default",
    }

    @classmethod
    def from_host(cls, proc: str = "/proc/sys/net", sys_net: str = "/sys/class/net") -> Kernel:
        """This machine's values; each value that cannot be read falls back to its default.

        ``gso_max_size`` is the largest over the interfaces in ``sys_net`` that expose it.
        """
        default = cls()
        values: dict[str, Any] = {}
        for name, rel in cls.PROC_FILES.items():
            try:
                with open(os.path.join(proc, rel), encoding="ascii") as fh:
                    text = fh.read()
                values[name] = (
                    _triple(text, name) if name.startswith("tcp_") else _nonneg_int(text, name)
                )
            except (OSError, ValueError, UnicodeDecodeError):
                values[name] = getattr(default, name)
        gso = []
        for path in sorted(glob.glob(os.path.join(sys_net, "*", "gso_max_size")))[:256]:
            try:
                with open(path, encoding="ascii") as fh:
                    gso.append(_nonneg_int(fh.read(), "gso_max_size"))
            except (OSError, ValueError, UnicodeDecodeError):
                continue
        values["gso_max_size"] = max([default.gso_max_size, *gso])
        return cls(**values)

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> Kernel:
        """From a topology file's ``kernel:`` block; a missing key keeps Linux's default.

        Raises :class:`ValueError` for unknown keys (``x-`` keys are ignored) and bad values.
        """
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in m.items():
            if key.startswith("x-"):
                continue
            if key not in names:
                raise ValueError(f"unknown kernel key {key!r} (expected one of {sorted(names)})")
            if key.startswith("tcp_"):
                values[key] = _triple(value, key)
            else:
                values[key] = _nonneg_int(value, key)
        return cls(**values)

    # -- effective buffer sizes ------------------------------------------------------------

    def tcp_sndbuf(self, requested: int | None) -> tuple[int, bool]:
        """``(bytes, autotuned)``: the most a TCP socket's send buffer can grow to."""
        if _unset(requested):
            return max(self.tcp_wmem[1], self.tcp_wmem[2]), True
        assert requested is not None
        return max(2 * min(requested, self.wmem_max), SOCK_MIN_SNDBUF), False

    def tcp_rcvbuf(self, requested: int | None) -> tuple[int, bool]:
        """``(bytes, autotuned)``: the most a TCP socket's receive buffer can grow to."""
        if _unset(requested):
            return max(self.tcp_rmem[1], self.tcp_rmem[2]), True
        assert requested is not None
        return max(2 * min(requested, self.rmem_max), SOCK_MIN_RCVBUF), False


def _unset(buf: int | None) -> bool:
    # libzmq 4.3 leaves the OS default for -1; older libzmq did for 0 (4.3 would pin 0 to the
    # kernel minimum).  Treating 0 as "OS default" is the larger, hence safe, reading.
    return buf is None or buf <= 0


@dataclass(frozen=True)
class SocketOpts:
    """One side of a connection: its type and options as declared (``None`` = unset)."""

    type: str
    sndhwm: int = DEFAULT_HWM  # 0 = unlimited
    rcvhwm: int = DEFAULT_HWM
    sndbuf: int | None = None  # None, 0 or -1 = OS default (autotuned on TCP)
    rcvbuf: int | None = None
    conflate: bool = False
    immediate: bool = False

    def __post_init__(self) -> None:
        kind = str(self.type).lower()
        if kind not in SOCKET_TYPES:
            raise ValueError(f"unknown socket type {self.type!r}")
        object.__setattr__(self, "type", kind)
        for name in ("sndhwm", "rcvhwm"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def effective_conflate(opts: SocketOpts) -> bool:
    """ZMQ_CONFLATE as libzmq applies it: only DEALER, PULL, PUSH, PUB and SUB honour it."""
    return bool(opts.conflate) and opts.type in CONFLATE_TYPES


def framed_size(message_size: int) -> int:
    """Payload plus ZMTP 3 frame header: 2 bytes up to 255 bytes of payload, else 9."""
    if message_size < 0:
        raise ValueError(f"message size must be >= 0, got {message_size}")
    return message_size + (2 if message_size <= 255 else 9)


@dataclass(frozen=True)
class Bound:
    """Worst case held by one connection (or a sum of connections)."""

    messages: int | None
    bytes: int | None
    breakdown: dict[str, int]
    kernel_bytes: int
    kernel_autotuned: bool
    unbounded: bool
    expected: int | None
    transport: str = "tcp"
    message_size: int | None = None
    #: One human line per component, in the order of ``explain()``.
    details: tuple[str, ...] = field(default=())

    def explain(self) -> str:
        """E.g. ``1 (SNDHWM) + 1 (RCVHWM) + 4 (engine batches) + 47 (kernel ...) = 53 messages``."""
        if self.unbounded:
            why = "; ".join(self.details) or "a high-water mark of 0"
            return f"unbounded: {why}"
        parts = " + ".join(self.details)
        if self.messages is None:
            return f"{parts}: message size unknown, so the kernel share cannot be counted"
        total = f"{self.messages} message{'s' if self.messages != 1 else ''}"
        if self.bytes is not None:
            total += f" ({_fmt_bytes(self.bytes)})"
        return f"{parts} = {total}" if parts else total


def _fmt_bytes(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _pipe(hwm: int, conflate: bool) -> int | None:
    """Messages a socket↔session pipe holds: HWM, 2 when conflating, None if unlimited."""
    if conflate:
        return 2  # ypipe_conflate's double buffer: front + back
    return None if hwm == 0 else hwm


def _engine_batch(mprime: int) -> int:
    """Messages a stream engine holds beyond the pipes: its 8 KiB batch plus one partial."""
    return 1 + math.ceil(OUT_BATCH_SIZE / mprime)


def connection_bound(
    transport: str,
    sender: SocketOpts,
    receiver: SocketOpts,
    message_size: int | None,
    kernel: Kernel | None = None,
    *,
    connector: str | None = None,
) -> Bound:
    """Worst-case messages (and bytes) queued on one sender→receiver connection.

    Parameters
    ----------
    transport : str
        ``tcp``, ``ipc`` or ``inproc``; other stream transports (ws, wss, tipc, udp, pgm,
        ...) are treated like TCP.
    sender, receiver : SocketOpts
        The two ends as declared.
    message_size : int or None
        The largest payload in bytes, ``None`` if unknown (then only the pipes are counted
        in messages and ``messages``/``bytes`` are ``None``).
    kernel : Kernel, optional
        The OS limits; Linux's defaults when omitted.
    connector : {"sender", "receiver", None}
        Which end connected (``None``: unknown).  Only matters for inproc with CONFLATE,
        where libzmq applies the connecting socket's CONFLATE.

    Returns
    -------
    Bound
        ``messages``/``bytes`` never exceeded by libzmq 4.3, ``breakdown`` per component,
        ``expected`` a realistic estimate; ``unbounded`` when a high-water mark is 0.

    Raises
    ------
    ValueError
        For an unknown transport or connector, or a negative message size.
    """
    kernel = kernel or Kernel()
    transport = transport.lower()
    if transport not in KNOWN_TRANSPORTS:
        raise ValueError(f"unknown transport {transport!r}")
    if connector not in (None, "sender", "receiver"):
        raise ValueError(f"connector must be 'sender', 'receiver' or None, got {connector!r}")
    if message_size is not None and message_size < 0:
        raise ValueError(f"message size must be >= 0, got {message_size}")
    if transport == "inproc":
        return _inproc_bound(sender, receiver, message_size, connector)
    return _stream_bound(transport, sender, receiver, message_size, kernel)


def _inproc_bound(
    sender: SocketOpts, receiver: SocketOpts, message_size: int | None, connector: str | None
) -> Bound:
    # socket_base.cpp::connect_internal: one pipe whose HWM is SNDHWM + RCVHWM, or unlimited
    # when either is 0; CONFLATE is the connecting socket's (measured: a conflating binder
    # still queues SNDHWM + RCVHWM).
    sc, rc = effective_conflate(sender), effective_conflate(receiver)
    if connector == "sender":
        conflate = sc
    elif connector == "receiver":
        conflate = rc
    else:
        conflate = sc and rc
    if conflate:
        held: int | None = 2
        details: tuple[str, ...] = ("2 (CONFLATE: one inproc pipe, double buffer)",)
        breakdown = {"sender_hwm": 1, "receiver_hwm": 1}
    elif sender.sndhwm == 0 or receiver.rcvhwm == 0:
        held = None
        zero = "SNDHWM" if sender.sndhwm == 0 else "RCVHWM"
        details = (f"{zero} 0 makes the inproc pipe unbounded",)
        breakdown = {}
    else:
        held = sender.sndhwm + receiver.rcvhwm
        details = (f"{sender.sndhwm} (SNDHWM)", f"{receiver.rcvhwm} (RCVHWM, one inproc pipe)")
        breakdown = {"sender_hwm": sender.sndhwm, "receiver_hwm": receiver.rcvhwm}
    nbytes = None if held is None or message_size is None else held * message_size
    return Bound(
        messages=held,
        bytes=nbytes,
        breakdown=breakdown,
        kernel_bytes=0,
        kernel_autotuned=False,
        unbounded=held is None,
        expected=held,
        transport="inproc",
        message_size=message_size,
        details=details,
    )


@dataclass(frozen=True, slots=True)
class _KernelShare:
    """The kernel buffers of one stream connection, as the bound counts them."""

    snd_bytes: int  # the sender's send buffer
    snd_auto: bool  # left to TCP autotuning
    rcv_bytes: int  # the receiver's receive buffer (0 over ipc://)
    rcv_auto: bool
    slack: int  # how far one send() may overshoot the send buffer
    description: str  # the human summary in ``Bound.details``

    @property
    def total(self) -> int:
        """Bytes the kernel may hold: both buffers and the overshoot."""
        return self.snd_bytes + self.slack + self.rcv_bytes

    @property
    def autotuned(self) -> bool:
        """Is either buffer left to TCP autotuning?"""
        return self.snd_auto or self.rcv_auto


def _kernel_share(
    transport: str, sender: SocketOpts, receiver: SocketOpts, kernel: Kernel
) -> _KernelShare:
    """The kernel buffers between ``sender`` and ``receiver`` over ``transport``."""
    if transport == "ipc":
        # libzmq sets SO_SNDBUF/SO_RCVBUF on TCP sockets only; a Unix stream socket charges
        # queued data to the sender's send buffer (wmem_default) and may overshoot it by one
        # skb (at most half the buffer, at most 64 KiB) per send().
        snd_bytes = kernel.wmem_default
        slack = min(kernel.wmem_default // 2, 65536)
        kdesc = f"{_fmt_bytes(snd_bytes)} unix send buffer (wmem_default) + {_fmt_bytes(slack)}"
        kdesc += " overshoot"
        return _KernelShare(snd_bytes, False, 0, False, slack, kdesc)
    snd_bytes, snd_auto = kernel.tcp_sndbuf(sender.sndbuf)
    rcv_bytes, rcv_auto = kernel.tcp_rcvbuf(receiver.rcvbuf)
    # tcp_sendmsg appends to the tail skb up to the size goal without checking SO_SNDBUF:
    # the size goal is at most gso_max_size and half the peer's largest window.
    slack = min(kernel.gso_max_size, max(rcv_bytes // 2, _TCP_MSS_DEFAULT))
    kdesc = (
        f"{_fmt_bytes(snd_bytes)} send buffer{' (autotuned)' if snd_auto else ''}"
        f" + {_fmt_bytes(slack)} overshoot"
        f" + {_fmt_bytes(rcv_bytes)} receive buffer{' (autotuned)' if rcv_auto else ''}"
    )
    return _KernelShare(snd_bytes, snd_auto, rcv_bytes, rcv_auto, slack, kdesc)


def _stream_bound(
    transport: str,
    sender: SocketOpts,
    receiver: SocketOpts,
    message_size: int | None,
    kernel: Kernel,
) -> Bound:
    """:func:`connection_bound` over ``tcp://``, ``ipc://`` and the transports treated like
    TCP: both pipes, both engine batches and the kernel share in framed messages."""
    sconf, rconf = effective_conflate(sender), effective_conflate(receiver)
    s = _pipe(sender.sndhwm, sconf)
    r = _pipe(receiver.rcvhwm, rconf)
    ks = _kernel_share(transport, sender, receiver, kernel)
    partial = Bound(
        messages=None,
        bytes=None,
        breakdown={},
        kernel_bytes=ks.total,
        kernel_autotuned=ks.autotuned,
        unbounded=False,
        expected=None,
        transport=transport,
        message_size=message_size,
    )
    if s is None or r is None:
        side = "SNDHWM 0 on the sender" if s is None else "RCVHWM 0 on the receiver"
        return replace(partial, unbounded=True, details=(f"{side} makes its pipe unbounded",))
    breakdown = {"sender_hwm": s, "receiver_hwm": r}
    details = [
        f"{s} (SNDHWM{', CONFLATE' if sconf else ''})",
        f"{r} (RCVHWM{', CONFLATE' if rconf else ''})",
    ]
    if message_size is None:
        details.append(f"engine batches + kernel ({ks.description})")
        return replace(partial, breakdown=breakdown, details=tuple(details))
    mprime = framed_size(message_size)
    e_s = e_r = _engine_batch(mprime)
    k = math.ceil(ks.total / mprime)
    breakdown.update({"sender_batch": e_s, "receiver_batch": e_r, "kernel": k})
    details.append(f"{e_s + e_r} (engine batches)")
    details.append(f"{k} (kernel: {ks.description})")
    total = s + r + e_s + e_r + k
    return replace(
        partial,
        messages=total,
        bytes=total * mprime,
        breakdown=breakdown,
        expected=_expected_stream(transport, s, r, sconf, ks, mprime, kernel),
        details=tuple(details),
    )


def _expected_stream(
    transport: str,
    s: int,
    r: int,
    sconf: bool,
    ks: _KernelShare,
    mprime: int,
    kernel: Kernel,
) -> int:
    """What a sender counts before it blocks when the receiver never reads (an estimate).

    Parameters
    ----------
    transport : str
        ``ipc`` or a transport treated like TCP.
    s, r : int
        Messages the sender's and the receiver's pipes hold.
    sconf : bool
        Does the sender conflate?
    ks : _KernelShare
        The kernel buffers of the connection.
    mprime : int
        The framed message size.
    kernel : Kernel
        The OS limits.
    """
    # Size of one engine write(): its 8 KiB batch, or a whole large message (zero copy).
    write = OUT_BATCH_SIZE if mprime < 2 * OUT_BATCH_SIZE else mprime
    if transport == "ipc":
        # The engine writes again once the socket polls writable (a quarter of the buffer).
        kws = min(kernel.wmem_default, kernel.wmem_default * _UNIX_WRITABLE_FRACTION + write)
        kbytes = kws * _UNIX_PAYLOAD_RATIO
    else:
        # Loopback grows an autotuned send buffer to tcp_wmem[2] at once; a receive buffer
        # grows only while the reader reads (unpredictable here), so assume tcp_rmem[1].
        snd = ks.snd_bytes
        rcv = kernel.tcp_rmem[1] if ks.rcv_auto else ks.rcv_bytes
        # Small messages: speculative writes (restart_output) fill the whole buffer.
        # Larger ones: a write follows each POLLOUT, i.e. below 2/3 of the buffer.
        full = mprime < OUT_BATCH_SIZE
        kws = snd if full else min(snd, snd * _SEND_WRITABLE_FRACTION + write)
        kbytes = kws + rcv * _RECV_FILL_FRACTION
    e_s = OUT_BATCH_SIZE // mprime
    e_r = max(1, IN_BATCH_SIZE // mprime)
    downstream = r + e_r + e_s + math.ceil(kbytes / mprime)
    if sconf:
        return 1 + downstream
    # The sender hears of progress only every L = (SNDHWM + 1) / 2 messages (pipe.cpp).
    lwm = (s + 1) // 2
    return s + lwm * (downstream // lwm)


def parked_bound(sender: SocketOpts, message_size: int | None) -> Bound:
    """Messages parked by a connect() to an endpoint nobody binds.

    With IMMEDIATE=0 (the default) libzmq creates the pipe at connect time, so SNDHWM
    messages wait for a peer that may never come; with IMMEDIATE=1 there is no pipe.
    """
    if sender.immediate:
        held: int | None = 0
        details: tuple[str, ...] = ("0 (IMMEDIATE: no pipe until the peer connects)",)
    elif effective_conflate(sender):
        held = 2
        details = ("2 (CONFLATE)",)
    elif sender.sndhwm == 0:
        held = None
        details = ("SNDHWM 0 parks without limit",)
    else:
        held = sender.sndhwm
        details = (f"{held} (SNDHWM parked until a peer binds)",)
    nbytes = None
    if held is not None and message_size is not None:
        nbytes = held * framed_size(message_size)
    return Bound(
        messages=held,
        bytes=nbytes,
        breakdown={} if held is None else {"sender_hwm": held},
        kernel_bytes=0,
        kernel_autotuned=False,
        unbounded=held is None,
        expected=held,
        transport="parked",
        message_size=message_size,
        details=details,
    )


def combine_bounds(bounds: Iterable[Bound]) -> Bound:
    """The sum of several bounds (a fan-in receiver, a fan-out sender, a process, a host)."""
    items = list(bounds)
    breakdown: dict[str, int] = {}
    for b in items:
        for key, value in b.breakdown.items():
            breakdown[key] = breakdown.get(key, 0) + value
    unbounded = any(b.unbounded for b in items)
    messages = (
        None if any(b.messages is None for b in items) else sum(b.messages or 0 for b in items)
    )
    nbytes = None if any(b.bytes is None for b in items) else sum(b.bytes or 0 for b in items)
    expected = (
        None if any(b.expected is None for b in items) else sum(b.expected or 0 for b in items)
    )
    sizes = {b.message_size for b in items}
    transports = {b.transport for b in items}
    n = len(items)
    details: tuple[str, ...] = (f"sum of {n} connection{'s' if n != 1 else ''}",)
    if n == 1:
        details = items[0].details
    elif unbounded:
        details = next(b.details for b in items if b.unbounded)
    return Bound(
        messages=None if unbounded else messages,
        bytes=None if unbounded else nbytes,
        breakdown=breakdown,
        kernel_bytes=sum(b.kernel_bytes for b in items),
        kernel_autotuned=any(b.kernel_autotuned for b in items),
        unbounded=unbounded,
        expected=None if unbounded else expected,
        transport=transports.pop() if len(transports) == 1 else "mixed",
        message_size=sizes.pop() if len(sizes) == 1 else None,
        details=details,
    )
