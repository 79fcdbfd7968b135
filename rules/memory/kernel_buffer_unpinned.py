"""TCP buffers left to autotuning dominate a connection's memory bound.

## What it finds
A TCP socket without `sndbuf` (for what it sends) or `rcvbuf` (for what it receives) on a
connection where the kernel's share of the worst-case queue exceeds the `max-kernel-share`
option (default 50%). One finding per socket, naming the connection with the largest bound.

## Why it matters
Unset, Linux autotunes a TCP socket's send buffer up to `tcp_wmem[2]` (4 MiB by default)
and its receive buffer up to `tcp_rmem[2]` (6 MiB): far more than the high-water marks
allow. In the talk's problem 2, HWM 1 still let a PUSH queue 182-282 messages of 10 kB and
HWM 100 let it queue 350-950, varying run to run; pinning SNDBUF/RCVBUF to 100000 bytes
brought it down to a predictable 31-32 and 4096 bytes to 4-5. With autotuned buffers the
high-water mark does not limit memory, and measurements do not repeat.

## Example
```yaml
messages:
  blob: {max_size: 10kB}
processes:
  pusher:
    sockets:
      out: {type: push, bind: "tcp://*:7891", sends: blob, sndhwm: 1}
  puller:
    sockets:
      in: {type: pull, connect: pusher.out, receives: blob, rcvhwm: 1}
```

## Fix
Set `sndbuf` on sending sockets and `rcvbuf` on receiving sockets (bytes; the kernel doubles
the value, capped by `wmem_max`/`rmem_max`), sized to a few messages or what one burst needs.
Setting them turns autotuning off for that socket.
"""

from collections.abc import Iterator

from topolint.analysis.performance import ConnectionMemory, fmt_bytes
from topolint.lint.context import Context
from topolint.lint.findings import Edit, Fact
from topolint.lint.model import Socket

NAME = "kernel-buffer-unpinned"
CODE = "TL304"
SEVERITY = "info"
OPTIONS = {"max-kernel-share": 0.5}
#: Pinning a buffer turns the kernel's autotuning off: less throughput on long links.
FIX_SAFETY = "unsafe"


def check(ctx: Context) -> Iterator[Fact]:
    limit = float(ctx.option("max-kernel-share", 0.5))
    k = ctx.topology.kernel
    found: dict[tuple[str, str], tuple[Socket, list[ConnectionMemory]]] = {}
    for cm in ctx.analysis.connections:
        frac = cm.kernel_fraction
        if cm.kind != "queue" or cm.connection.transport in ("ipc", "inproc") or frac is None:
            continue
        if frac <= limit:
            continue
        c = cm.connection
        for side, share, sock in (
            ("send", cm.sender, c.sender_socket),
            ("receive", cm.receiver, c.receiver_socket),
        ):
            if sock is None or not share.kernel_autotuned:
                continue
            found.setdefault((sock.id, side), (sock, []))[1].append(cm)
    for (sid, side), (s, cms) in found.items():
        worst = max(cms, key=lambda cm: (cm.bound.bytes or 0, -cm.connection.id))
        b = worst.bound
        c = worst.connection
        opt, cap, sysctl = (
            ("sndbuf", k.tcp_wmem[2], "tcp_wmem")
            if side == "send"
            else ("rcvbuf", k.tcp_rmem[2], "tcp_rmem")
        )
        held = worst.sender.kernel if side == "send" else worst.receiver.kernel
        n = len(cms)
        frac = worst.kernel_fraction or 0.0
        yield Fact(
            f"{s.type.upper()} {sid} leaves its TCP {side} buffer to autotuning (no {opt}): up to "
            f"{fmt_bytes(cap)} ({sysctl}[2]) per connection, {fmt_bytes(held)} on its side of "
            f"{c.sender_id} -> {c.receiver_id}; the kernel holds {frac:.0%} of that connection's "
            f"worst case of {b.messages} messages ({fmt_bytes(b.bytes)})"
            + (f", and {n - 1} more connection{'s' if n > 2 else ''} like it" if n > 1 else ""),
            path=s.path,
            subject=(sid,),
            fix=f"set {opt} (e.g. {opt}: 100000 caps this side near {fmt_bytes(min(100000, k.wmem_max if side == 'send' else k.rmem_max) * 2)}); it turns autotuning off",
            data={"kernel_share": frac, "side": side},
            edit=Edit(s.path, 100000, key=opt),
        )
