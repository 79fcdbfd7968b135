"""The per-connection queue model: arithmetic, the talk's table, edge cases, kernel input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topolint.analysis.queue_model import (
    Bound,
    Kernel,
    SocketOpts,
    combine_bounds,
    connection_bound,
    effective_conflate,
    framed_size,
    parked_bound,
)

MSG = 10_000  # the talk's 10 kB messages
MPRIME = 10_009

#: The machine the measurements in docs/memory-model.md were made on.
HOST_LIKE = Kernel(
    tcp_rmem=(4096, 131072, 33554432),
    wmem_max=4194304,
    rmem_max=4194304,
)


def push(sndhwm: int = 1000, sndbuf: int | None = None, **kw: object) -> SocketOpts:
    return SocketOpts("push", sndhwm=sndhwm, sndbuf=sndbuf, **kw)  # type: ignore[arg-type]


def pull(rcvhwm: int = 1000, rcvbuf: int | None = None, **kw: object) -> SocketOpts:
    return SocketOpts("pull", rcvhwm=rcvhwm, rcvbuf=rcvbuf, **kw)  # type: ignore[arg-type]


# -- framing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "framed"), [(0, 2), (1, 3), (255, 257), (256, 265), (10_000, 10_009)]
)
def test_framed_size_adds_zmtp_header(size: int, framed: int) -> None:
    assert framed_size(size) == framed


def test_framed_size_rejects_negative() -> None:
    with pytest.raises(ValueError):
        framed_size(-1)


# -- the arithmetic ----------------------------------------------------------------------


def test_pinned_tcp_bound_arithmetic() -> None:
    b = connection_bound("tcp", push(1, 100_000), pull(1, 100_000), MSG, Kernel())
    # kernel: 2*100000 send + min(64 KiB, 200000/2) overshoot + 2*100000 receive
    assert b.kernel_bytes == 200_000 + 65_536 + 200_000
    kernel_msgs = math.ceil(465_536 / MPRIME)
    assert b.breakdown == {
        "sender_hwm": 1,
        "receiver_hwm": 1,
        "sender_batch": 2,  # 1 + ceil(8192 / 10009)
        "receiver_batch": 2,
        "kernel": kernel_msgs,
    }
    assert b.messages == 1 + 1 + 2 + 2 + kernel_msgs == 53
    assert b.bytes == 53 * MPRIME
    assert not b.kernel_autotuned and not b.unbounded
    text = b.explain()
    assert "= 53 messages" in text and "engine batches" in text and "kernel" in text


def test_small_messages_count_whole_engine_batches() -> None:
    b = connection_bound("tcp", push(1, 4096), pull(1, 4096), 100, Kernel())
    assert b.breakdown["sender_batch"] == 1 + math.ceil(8192 / 102)
    assert b.breakdown["receiver_batch"] == 1 + math.ceil(8192 / 102)


def test_explicit_buffers_are_doubled_capped_and_floored() -> None:
    k = Kernel(wmem_max=50_000, rmem_max=60_000)
    assert k.tcp_sndbuf(100_000) == (100_000, False)  # 2 * min(100000, 50000)
    assert k.tcp_rcvbuf(100_000) == (120_000, False)
    assert k.tcp_sndbuf(1)[0] == 4608  # the kernel's minimum
    assert k.tcp_rcvbuf(1)[0] == 2304


@pytest.mark.parametrize("unset", [None, 0, -1])
def test_unset_buffers_are_autotuned_to_the_maximum(unset: int | None) -> None:
    k = Kernel()
    assert k.tcp_sndbuf(unset) == (4194304, True)
    assert k.tcp_rcvbuf(unset) == (6291456, True)
    b = connection_bound("tcp", push(1, unset), pull(1, 100_000), MSG, k)
    assert b.kernel_autotuned
    assert b.kernel_bytes == 4194304 + 65_536 + 200_000


def test_overshoot_is_bounded_by_half_the_peer_window_and_gso() -> None:
    small = connection_bound("tcp", push(1, 4096), pull(1, 4096), MSG, Kernel())
    assert small.kernel_bytes == 8192 + 4096 + 8192
    big = connection_bound("tcp", push(1, 4096), pull(1, 4096), MSG, Kernel(gso_max_size=2000))
    assert big.kernel_bytes == 8192 + 2000 + 8192


def test_autotuned_buffers_dominate_and_are_flagged() -> None:
    pinned = connection_bound("tcp", push(100, 100_000), pull(100, 100_000), MSG)
    loose = connection_bound("tcp", push(100), pull(100), MSG)
    assert loose.kernel_autotuned and not pinned.kernel_autotuned
    assert loose.messages is not None and pinned.messages is not None
    assert loose.messages > 3 * pinned.messages


def test_ipc_ignores_zmq_buffers_and_uses_wmem_default() -> None:
    k = Kernel(wmem_default=100_000)
    a = connection_bound("ipc", push(1, 65_536), pull(1), MSG, k)
    b = connection_bound("ipc", push(1, 1_000_000), pull(1, 4096), MSG, k)
    assert a == b
    assert a.kernel_bytes == 100_000 + 50_000  # wmem_default + one skb (half the buffer)
    assert not a.kernel_autotuned


@pytest.mark.parametrize("transport", ["ws", "wss", "tipc", "udp", "TCP"])
def test_other_stream_transports_are_treated_like_tcp(transport: str) -> None:
    tcp = connection_bound("tcp", push(5, 8000), pull(7, 9000), MSG)
    other = connection_bound(transport, push(5, 8000), pull(7, 9000), MSG)
    assert other.messages == tcp.messages and other.kernel_bytes == tcp.kernel_bytes


def test_bad_inputs_are_value_errors() -> None:
    with pytest.raises(ValueError):
        connection_bound("carrier-pigeon", push(), pull(), MSG)
    with pytest.raises(ValueError):
        connection_bound("tcp", push(), pull(), -5)
    with pytest.raises(ValueError):
        connection_bound("inproc", push(), pull(), MSG, connector="both")
    with pytest.raises(ValueError):
        SocketOpts("funnel")
    with pytest.raises(ValueError):
        SocketOpts("push", sndhwm=-1)


def test_socket_type_is_case_insensitive() -> None:
    assert SocketOpts("PUSH").type == "push"


# -- the talk's table ----------------------------------------------------------------------

# (transport, SNDHWM, SNDBUF, RCVBUF, RCVHWM, most ever measured: talk, notes, this machine)
TABLE = [
    ("tcp", 100, None, None, 100, 950),
    ("tcp", 1, None, None, 1, 291),
    ("tcp", 1, 100_000, 100_000, 1, 36),
    ("tcp", 1, 4096, 4096, 1, 5),
    ("tcp", 100, 4096, 4096, 1, 100),
    ("tcp", 1, 4096, 4096, 100, 104),
    ("ipc", 1, 65_536, None, 1, 9),
    ("inproc", 1, None, None, 1, 2),
    ("inproc", 100, None, None, 100, 200),
]


@pytest.mark.parametrize("kernel", [Kernel(), HOST_LIKE], ids=["linux-defaults", "host"])
@pytest.mark.parametrize(("transport", "s", "sb", "rb", "r", "measured"), TABLE)
def test_bound_covers_every_measurement_of_the_table(
    kernel: Kernel, transport: str, s: int, sb: int | None, rb: int | None, r: int, measured: int
) -> None:
    b = connection_bound(transport, push(s, sb), pull(r, rb), MSG, kernel)
    assert b.messages is not None and b.messages >= measured
    assert b.expected is not None and b.expected <= b.messages


@pytest.mark.parametrize(
    ("s", "sb", "rb", "r", "measured"),
    [(1, 100_000, 100_000, 1, 36), (1, 4096, 4096, 1, 5), (100, 4096, 4096, 1, 100),
     (1, 4096, 4096, 100, 104)],
)  # fmt: skip
def test_pinned_tcp_bound_is_tight_and_expected_is_close(
    s: int, sb: int, rb: int, r: int, measured: int
) -> None:
    b = connection_bound("tcp", push(s, sb), pull(r, rb), MSG, HOST_LIKE)
    assert b.messages is not None and measured <= b.messages <= 2 * measured
    assert b.expected is not None and abs(b.expected - measured) <= 0.1 * measured


def test_fan_in_of_four_pushers_sums_connections() -> None:
    one = connection_bound("tcp", push(1, 100_000), pull(1, 100_000), MSG, HOST_LIKE)
    four = combine_bounds([one] * 4)
    assert four.messages == 4 * 53
    assert four.messages >= 144  # measured 141-144 (talk: 125-128)
    assert four.breakdown["kernel"] == 4 * one.breakdown["kernel"]
    assert four.kernel_bytes == 4 * one.kernel_bytes


def test_low_water_mark_quantization_in_expected() -> None:
    # SNDHWM 100: the sender hears of progress every 50 messages; ~5 held downstream of
    # the sender pipe are invisible, so it blocks at exactly 100 (the talk's row).
    b = connection_bound("tcp", push(100, 4096), pull(1, 4096), MSG, HOST_LIKE)
    assert b.expected == 100
    assert b.messages is not None and b.messages > 100


# -- HWM 0, conflate, inproc, unknown size, parked ------------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
@pytest.mark.parametrize(("s", "r"), [(0, 1000), (1000, 0), (0, 0)])
def test_hwm_zero_is_unbounded(transport: str, s: int, r: int) -> None:
    b = connection_bound(transport, push(s), pull(r), MSG)
    assert b.unbounded and b.messages is None and b.bytes is None and b.expected is None
    assert b.explain().startswith("unbounded")
    assert "HWM 0" in b.explain()


def test_tcp_conflate_replaces_each_pipe_by_its_double_buffer() -> None:
    plain = connection_bound("tcp", push(1000, 4096), pull(1000, 4096), MSG)
    both = connection_bound(
        "tcp", push(1000, 4096, conflate=True), pull(1000, 4096, conflate=True), MSG
    )
    assert both.breakdown["sender_hwm"] == 2 and both.breakdown["receiver_hwm"] == 2
    assert plain.messages is not None and both.messages == plain.messages - 2 * 1000 + 4
    # a conflating socket with HWM 0 is still bounded
    assert connection_bound("tcp", push(0, conflate=True), pull(0, conflate=True), MSG).messages


def test_conflate_is_ignored_by_types_that_do_not_honour_it() -> None:
    assert not effective_conflate(SocketOpts("router", conflate=True))
    assert effective_conflate(SocketOpts("sub", conflate=True))
    rep = connection_bound("tcp", SocketOpts("req", sndhwm=50, conflate=True), pull(), MSG)
    assert rep.breakdown["sender_hwm"] == 50


def test_inproc_is_exactly_one_pipe_of_both_hwms() -> None:
    b = connection_bound("inproc", push(3), pull(4), MSG)
    assert b.messages == 7 == b.expected
    assert b.bytes == 7 * MSG  # no framing, no kernel
    assert b.kernel_bytes == 0 and not b.kernel_autotuned
    assert set(b.breakdown) == {"sender_hwm", "receiver_hwm"}


@pytest.mark.parametrize(
    ("sender_conflates", "receiver_conflates", "connector", "held"),
    [
        (True, False, "sender", 2),
        (True, False, "receiver", 7),  # the binder's CONFLATE is ignored
        (False, True, "receiver", 2),
        (False, True, "sender", 7),
        (True, False, None, 7),  # unknown: assume the worse
        (True, True, None, 2),
    ],
)
def test_inproc_conflate_is_the_connectors(
    sender_conflates: bool, receiver_conflates: bool, connector: str | None, held: int
) -> None:
    b = connection_bound(
        "inproc",
        push(3, conflate=sender_conflates),
        pull(4, conflate=receiver_conflates),
        MSG,
        connector=connector,
    )
    assert b.messages == held


def test_unknown_size_tcp_cannot_count_the_kernel_share() -> None:
    b = connection_bound("tcp", push(10), pull(20), None)
    assert b.messages is None and b.bytes is None and b.expected is None
    assert not b.unbounded
    assert b.breakdown == {"sender_hwm": 10, "receiver_hwm": 20}
    assert b.kernel_bytes > 0
    assert "unknown" in b.explain()


def test_unknown_size_inproc_still_counts_messages() -> None:
    b = connection_bound("inproc", push(10), pull(20), None)
    assert b.messages == 30 and b.bytes is None


def test_parked_bound() -> None:
    assert parked_bound(push(5), MSG).messages == 5
    assert parked_bound(push(5), MSG).bytes == 5 * MPRIME
    assert parked_bound(push(5, immediate=True), MSG).messages == 0
    assert parked_bound(push(5, conflate=True), None).messages == 2
    unbounded = parked_bound(push(0), MSG)
    assert unbounded.unbounded and unbounded.messages is None


def test_combine_with_an_unbounded_connection_is_unbounded() -> None:
    total = combine_bounds(
        [
            connection_bound("tcp", push(), pull(), MSG),
            connection_bound("tcp", push(0), pull(), MSG),
        ]
    )
    assert total.unbounded and total.messages is None and total.bytes is None
    assert "HWM 0" in total.explain()


def test_combine_nothing_is_zero() -> None:
    assert combine_bounds([]).messages == 0


# -- properties ----------------------------------------------------------------------------

hwm = st.integers(min_value=0, max_value=5000)
buf = st.one_of(st.none(), st.integers(min_value=-1, max_value=10_000_000))
size = st.one_of(st.none(), st.integers(min_value=0, max_value=5_000_000))


@settings(max_examples=300, deadline=None)
@given(
    transport=st.sampled_from(["tcp", "ipc", "inproc"]),
    s=hwm,
    r=hwm,
    sb=buf,
    rb=buf,
    m=size,
    sc=st.booleans(),
    rc=st.booleans(),
)
def test_bound_properties(
    transport: str,
    s: int,
    r: int,
    sb: int | None,
    rb: int | None,
    m: int | None,
    sc: bool,
    rc: bool,
) -> None:
    b = connection_bound(transport, push(s, sb, conflate=sc), pull(r, rb, conflate=rc), m)
    assert isinstance(b, Bound)
    assert b.explain()
    if b.messages is not None:
        assert b.messages >= 0
        assert sum(b.breakdown.values()) == b.messages
        if b.expected is not None:
            assert 0 <= b.expected <= b.messages
        if m is not None:
            assert b.bytes is not None and b.bytes >= b.messages * m
    # more room in any pipe never lowers the bound
    if b.messages is not None and not sc and s > 0:
        bigger = connection_bound(transport, push(s + 1, sb, conflate=sc), pull(r, rb), m)
        assert bigger.messages is None or bigger.messages >= b.messages


# -- Kernel input ----------------------------------------------------------------------------


def test_kernel_defaults_are_linux_defaults() -> None:
    k = Kernel()
    assert k.tcp_wmem == (4096, 16384, 4194304)
    assert k.tcp_rmem == (4096, 131072, 6291456)
    assert k.wmem_max == k.rmem_max == k.wmem_default == k.rmem_default == 212992


def test_kernel_from_mapping_keeps_defaults_for_missing_keys() -> None:
    k = Kernel.from_mapping({"tcp_rmem": [4096, 131072, 33554432], "wmem_max": 4194304})
    assert k.tcp_rmem == (4096, 131072, 33554432)
    assert k.wmem_max == 4194304
    assert k.rmem_max == 212992 and k.tcp_wmem == Kernel().tcp_wmem
    assert Kernel.from_mapping({}) == Kernel()
    assert Kernel.from_mapping({"x-note": "measured on ci", "tcp_wmem": "1 2 3"}).tcp_wmem == (
        1,
        2,
        3,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"tcp_wmen": [1, 2, 3]},
        {"tcp_wmem": [1, 2]},
        {"tcp_wmem": 5},
        {"wmem_max": -1},
        {"wmem_max": "lots"},
        {"rmem_max": True},
        {"tcp_rmem": [1, 2, 3.5]},
    ],
)
def test_kernel_from_mapping_rejects_bad_input(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Kernel.from_mapping(bad)


def test_kernel_from_host_reads_proc_and_falls_back_per_value(tmp_path: Path) -> None:
    (tmp_path / "ipv4").mkdir()
    (tmp_path / "core").mkdir()
    (tmp_path / "ipv4" / "tcp_wmem").write_text("4096\t16384\t8388608\n")
    (tmp_path / "ipv4" / "tcp_rmem").write_text("garbage\n")
    (tmp_path / "core" / "wmem_max").write_text("1048576\n")
    sysnet = tmp_path / "sys"
    (sysnet / "lo").mkdir(parents=True)
    (sysnet / "lo" / "gso_max_size").write_text("185000\n")
    k = Kernel.from_host(str(tmp_path), str(sysnet))
    assert k.tcp_wmem == (4096, 16384, 8388608)
    assert k.wmem_max == 1048576
    assert k.tcp_rmem == Kernel().tcp_rmem  # unreadable: default
    assert k.rmem_max == Kernel().rmem_max  # missing: default
    assert k.gso_max_size == 185000


def test_kernel_from_host_matches_this_machine() -> None:
    proc = Path("/proc/sys/net")
    if not (proc / "ipv4" / "tcp_wmem").exists():
        pytest.skip("no /proc/sys/net here")
    k = Kernel.from_host()
    assert k.tcp_wmem == tuple(int(x) for x in (proc / "ipv4/tcp_wmem").read_text().split())
    assert k.tcp_rmem == tuple(int(x) for x in (proc / "ipv4/tcp_rmem").read_text().split())
    assert k.wmem_max == int((proc / "core/wmem_max").read_text())
    assert k.rmem_default == int((proc / "core/rmem_default").read_text())
    assert k.gso_max_size >= 65536
