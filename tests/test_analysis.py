"""topolint analyze: throughput, latency and memory sums (SPEC §3)."""

from __future__ import annotations

import json
import math

import networkx as nx
import pytest

from topolint.analysis.performance import CONTROL_MESSAGE_SIZE, Analysis, analyze, render_text
from topolint.analysis.queue_model import Kernel, SocketOpts, connection_bound, framed_size
from topolint.lint.engine import load, loads
from topolint.lint.graph import Connection, TopologyGraph, build_graph

from .conftest import FIXTURES

TALK = FIXTURES / "talk"


def run(text: str) -> Analysis:
    topo = loads(text)
    return analyze(topo, build_graph(topo))


def run_file(name: str) -> Analysis:
    topo = load(TALK / name, use_environ=False)
    return analyze(topo, build_graph(topo))


def chain(*stages: str, head: str = "", messages: str = "m: {max_size: 1kB}") -> str:
    """A linear PUSH/PULL chain ``src -> s1 -> s2 ...``; each stage text is extra keys."""
    lines = [
        "topolint: 1",
        "name: t",
        "messages:",
        f"  {messages}",
        "processes:",
        "  src:",
        f"    {head}" if head else "",
        "    sockets:",
        '      out: {type: push, bind: "tcp://*:6000", sends: m}',
    ]
    prev = "src"
    for i, extra in enumerate(stages):
        name = f"s{i + 1}"
        lines += [f"  {name}:", f"    {extra}" if extra else "", "    sockets:"]
        lines.append(f"      in: {{type: pull, connect: {prev}.out, receives: m}}")
        lines.append(f'      out: {{type: push, bind: "tcp://*:{6001 + i}", sends: m}}')
        prev = name
    return "\n".join(x for x in lines if x) + "\n"


# --- the talk's figures ----------------------------------------------------------------


def test_talk_pipeline_exact() -> None:
    a = run_file("pipeline.yaml")
    assert a.latency.seconds == pytest.approx(0.005, rel=1e-12)
    assert a.latency.critical_path == ["input", "a", "b", "c"]
    assert a.throughput.messages_per_second == pytest.approx(1 / 0.003, rel=1e-12)
    assert a.throughput.bottleneck == "b"
    assert a.throughput.kind == "stage"
    d = a.to_dict()
    assert d["throughput"]["messages_per_second"] == pytest.approx(333.3333333333, rel=1e-9)
    assert d["latency"] == {
        "seconds": pytest.approx(0.005),
        "critical_path": ["input", "a", "b", "c"],
    }


def test_talk_pipeline_fanout_exact() -> None:
    a = run_file("pipeline-fanout.yaml")
    assert a.latency.seconds == pytest.approx(0.005, rel=1e-12)
    assert a.latency.critical_path == ["input", "a", "b", "c"]
    assert a.throughput.messages_per_second == pytest.approx(1000.0, rel=1e-12)
    # a, b (x3) and c all run at 100%: every one of them is a bottleneck
    assert set(a.throughput.bottlenecks) == {"a", "b", "c"}
    assert a.throughput.bottleneck in {"a", "b", "c"}
    b = a.stages["b"]
    assert b.capacity == pytest.approx(1000.0) and b.load == pytest.approx(1000.0)


@pytest.mark.parametrize(
    ("replicas", "expected"), [(1, 1 / 0.003), (2, 2 / 0.003), (3, 1000.0), (6, 1000.0)]
)
def test_pipeline_variants_replicas(replicas: int, expected: float) -> None:
    text = chain(
        "service_time: 1ms", f"service_time: 3ms\n    replicas: {replicas}", "service_time: 1ms"
    )
    a = run(text)
    assert a.throughput.messages_per_second == pytest.approx(expected, rel=1e-12)
    assert a.latency.seconds == pytest.approx(0.005, rel=1e-12)
    if replicas < 3:
        assert a.throughput.bottleneck == "s2"


def test_rate_limited_source_is_the_bottleneck() -> None:
    a = run(chain("service_time: 1ms", "service_time: 3ms", head="rate: 200/s"))
    assert a.throughput.messages_per_second == pytest.approx(200.0)
    assert a.throughput.bottleneck == "src" and a.throughput.kind == "source"
    assert a.stages["s2"].utilisation == pytest.approx(0.6)


def test_declared_rate_above_capacity_is_scaled_to_the_bottleneck() -> None:
    a = run(chain("service_time: 1ms", "service_time: 3ms", head="rate: 500/s"))
    assert a.throughput.messages_per_second == pytest.approx(1 / 0.003)
    assert a.throughput.bottleneck == "s2"
    assert a.stages["s2"].declared_utilisation == pytest.approx(1.5)
    assert a.stages["s2"].utilisation == pytest.approx(1.0)


def test_replicated_source_rate_is_per_instance() -> None:
    a = run(chain("service_time: 1ms", head="rate: 100/s\n    replicas: 4"))
    assert a.throughput.messages_per_second == pytest.approx(400.0)
    assert a.stages["s1"].declared_load == pytest.approx(400.0)


def test_period_gives_a_rate() -> None:
    a = run(chain("service_time: 1ms", head="period: 10ms"))
    assert a.throughput.messages_per_second == pytest.approx(100.0)


FAN = """
topolint: 1
name: fan
messages: {m: {max_size: 1kB}}
processes:
  src:
    sockets: {out: {type: %s, bind: "tcp://*:6000", sends: m}}
  w:
    replicas: 2
    service_time: 1ms
    sockets: {in: {type: %s, connect: src.out, receives: m%s}}
"""


def test_push_splits_between_replicas_pub_copies() -> None:
    push = run(FAN % ("push", "pull", ""))
    pub = run(FAN % ("pub", "sub", ', subscribe: [""]'))
    assert push.throughput.messages_per_second == pytest.approx(2000.0)
    assert pub.throughput.messages_per_second == pytest.approx(1000.0)
    assert pub.stages["w"].load == pytest.approx(2000.0)  # two copies of 1000/s


def test_two_sources_share_a_stage() -> None:
    text = """
topolint: 1
name: two
messages: {m: {max_size: 1kB}}
processes:
  a:
    rate: 300/s
    sockets: {out: {type: push, connect: w.in, sends: m}}
  b:
    rate: 200/s
    sockets: {out: {type: push, connect: w.in, sends: m}}
  c:
    sockets: {out: {type: push, connect: w.in, sends: m}}
  w:
    service_time: 1ms
    sockets: {in: {type: pull, bind: "tcp://*:6000", receives: m}}
"""
    a = run(text)
    # a and b declare 500/s; the unlimited c takes what is left of w's 1000/s
    assert a.stages["w"].declared_load == pytest.approx(500.0)
    assert a.throughput.messages_per_second == pytest.approx(1000.0)
    assert a.throughput.bottleneck == "w"


def test_unlimited_without_service_times() -> None:
    a = run_file("fan-in-4to1.yaml")
    assert a.throughput.messages_per_second is None
    assert a.throughput.bottleneck is None
    assert json.loads(json.dumps(a.to_dict(), allow_nan=False))["throughput"]["unlimited"] is True


DIAMOND = """
topolint: 1
name: diamond
messages: {m: {max_size: 1kB, key: id}}
processes:
  src:
    rate: 100/s
    sockets: {out: {type: pub, bind: "tcp://*:6000", sends: m}}
  fast:
    service_time: 1ms
    sockets:
      in: {type: sub, connect: src.out, subscribe: [""], receives: m}
      out: {type: push, bind: "tcp://*:6001", sends: m}
  slow:
    service_time: 7ms
    sockets:
      in: {type: sub, connect: src.out, subscribe: [""], receives: m}
      out: {type: push, bind: "tcp://*:6002", sends: m}
  join:
    service_time: 2ms
    join: {inputs: [left, right], match: key, timeout: 1s}
    sockets:
      left: {type: pull, connect: fast.out, receives: m}
      right: {type: pull, connect: slow.out, receives: m}
      out: {type: push, bind: "tcp://*:6003", sends: m}
  sink:
    sockets: {in: {type: pull, connect: join.out, receives: m}}
"""


def test_diamond_latency_and_join_rate() -> None:
    a = run(DIAMOND)
    assert a.latency.seconds == pytest.approx(0.009)
    assert a.latency.critical_path == ["src", "slow", "join", "sink"]
    assert a.stages["join"].declared_load == pytest.approx(200.0)  # reads both inputs
    assert a.stages["sink"].declared_load == pytest.approx(100.0)  # one per matched pair
    assert a.throughput.messages_per_second == pytest.approx(100.0)


def test_cycle_is_handled() -> None:
    text = """
topolint: 1
name: loop
messages: {m: {max_size: 1kB}}
processes:
  src:
    rate: 10/s
    sockets: {out: {type: push, connect: a.in, sends: m}}
  a:
    service_time: 1ms
    sockets:
      in: {type: pull, bind: "tcp://*:6000", receives: m}
      back: {type: pull, bind: "tcp://*:6001", receives: m}
      out: {type: push, connect: b.in, sends: m}
  b:
    service_time: 2ms
    sockets:
      in: {type: pull, bind: "tcp://*:6002", receives: m}
      out: {type: push, connect: a.back, sends: m}
"""
    a = run(text)
    assert a.cycles == [["a", "b"]]
    assert a.throughput.messages_per_second == pytest.approx(10.0)
    assert a.latency.seconds == pytest.approx(0.003)
    assert math.isfinite(a.stages["b"].load)


# --- memory -------------------------------------------------------------------------


def test_bound_of_is_the_queue_model() -> None:
    a = run_file("fan-in-4to1.yaml")
    expected = connection_bound(
        "tcp",
        SocketOpts("push", sndhwm=1, sndbuf=100000),
        SocketOpts("pull", rcvhwm=1, rcvbuf=100000),
        10000,
        Kernel(),
    )
    conns = a.wiring.connections
    assert len(conns) == 4
    for c in conns:
        b = a.bound_of(c)
        assert (b.messages, b.bytes) == (expected.messages, expected.bytes)


def test_fan_in_receiver_holds_the_sum_and_sides_are_assigned() -> None:
    a = run_file("fan-in-4to1.yaml")
    k = Kernel()
    mp = framed_size(10000)
    snd = k.tcp_sndbuf(100000)[0]
    rcv = k.tcp_rcvbuf(100000)[0]
    cm = a.connections[0]
    slack = cm.bound.kernel_bytes - snd - rcv
    bd = cm.bound.breakdown
    # sender: SNDHWM pipe, its engine batch, its kernel send buffer (+ overshoot)
    assert cm.sender.hwm == bd["sender_hwm"] * mp
    assert cm.sender.batch == bd["sender_batch"] * mp
    assert cm.sender.kernel == snd + slack
    # receiver: RCVHWM pipe, its engine batch, its kernel receive buffer (+ one segment)
    assert cm.receiver.hwm == bd["receiver_hwm"] * mp
    assert cm.receiver.kernel == rcv + slack
    puller = a.processes["puller"]
    assert puller.bytes == 4 * cm.receiver.bytes  # the fan-in receiver holds the sum
    assert a.sockets["puller.in"].count == 4
    pusher = a.processes["pusher"]
    assert pusher.bytes == cm.sender.bytes  # each replica: its own side of one connection
    assert pusher.name.startswith("pusher[")
    host = a.hosts["localhost"]
    assert host.bytes == 4 * cm.sender.bytes + 4 * cm.receiver.bytes
    assert host.instances == 5
    # memory counts at least the queued payload of the bound
    assert cm.sender.bytes + cm.receiver.bytes >= cm.bound.bytes


def test_talk_queue_fixtures_memory() -> None:
    hwm100 = run_file("queue-hwm100.yaml")
    pinned = run_file("queue-hwm1-buf100k.yaml")
    assert hwm100.processes["pusher"].exceeds and hwm100.processes["puller"].exceeds
    assert not pinned.processes["pusher"].exceeds and not pinned.processes["puller"].exceeds
    assert hwm100.connections[0].bound.kernel_autotuned
    assert hwm100.connections[0].kernel_fraction > 0.5


def test_ipc_kernel_share_is_the_senders() -> None:
    a = run_file("queue-ipc.yaml")
    cm = a.connections[0]
    assert cm.connection.transport == "ipc"
    assert cm.receiver.kernel == 0
    assert cm.sender.kernel == cm.bound.kernel_bytes > 0


INPROC = """
topolint: 1
name: inproc
messages: {m: {max_size: 1000B}}
processes:
  p:
    sockets:
      out: {type: push, bind: "inproc://x", sends: m, sndhwm: 5}
      in: {type: pull, connect: "inproc://x", receives: m, rcvhwm: 7}
"""


def test_inproc_one_pipe_no_kernel() -> None:
    # graph.build_graph drops connections between two sockets of one instance (si == ri),
    # so wire the inproc pair by hand.
    topo = loads(INPROC)
    p = topo.processes["p"]
    out, inp = p.sockets["out"], p.sockets["in"]
    conn = Connection(0, "p", "p", out, inp, "inproc", inp.connects[0], out.binds[0])
    wiring = TopologyGraph(topo, nx.MultiDiGraph(), connections=[conn])
    a = analyze(topo, wiring)
    cm = a.connections[0]
    assert cm.bound.messages == 12
    assert cm.sender.hwm == 5 * 1000 and cm.receiver.hwm == 7 * 1000
    assert cm.sender.kernel == cm.receiver.kernel == 0
    assert a.processes["p"].bytes == 12 * 1000


def test_unknown_size_makes_bytes_unknown_but_counts_kernel() -> None:
    a = run(chain("", messages="m: {encoding: raw}"))
    cm = a.connections[0]
    assert cm.bound.bytes is None and cm.size_source == "unknown"
    assert a.processes["src"].bytes is None
    assert a.processes["src"].known_bytes == cm.sender.kernel > 0
    d = a.to_dict()
    src = next(p for p in d["processes"] if p["name"] == "src")
    assert src["memory_bound_bytes"] is None and src["unknown_size_connections"] == 1


def test_maxmsgsize_bounds_an_unsized_stream() -> None:
    text = chain("", messages="m: {encoding: raw}").replace(
        "receives: m}", "receives: m, maxmsgsize: 2kB}"
    )
    a = run(text)
    assert a.connections[0].message_size == 2000
    assert a.connections[0].size_source == "maxmsgsize"


@pytest.mark.parametrize(("immediate", "parked"), [(False, 50), (True, 0)])
def test_unresolved_connect_parks_sndhwm(immediate: bool, parked: int) -> None:
    text = f"""
topolint: 1
name: parked
messages: {{m: {{max_size: 100B}}}}
processes:
  p:
    memory_limit: 1MB
    sockets:
      out: {{type: push, connect: "tcp://nowhere:6000", sends: m, sndhwm: 50, immediate: {str(immediate).lower()}}}
"""
    a = run(text)
    cm = a.connections[0]
    assert cm.kind == "parked"
    assert cm.bound.messages == parked
    assert a.processes["p"].parked == parked * framed_size(100)


def test_hwm_zero_is_unbounded() -> None:
    a = run(chain("").replace("sends: m}", "sends: m, sndhwm: 0}", 1))
    assert a.connections[0].bound.unbounded
    assert a.processes["src"].bytes is None and a.processes["src"].unbounded == 1
    assert a.processes["s1"].bytes is not None  # the receiver's side is bounded


def test_control_socket_without_type_uses_small_markers() -> None:
    text = """
topolint: 1
name: ctl
processes:
  a:
    sockets: {eod: {type: pub, bind: "tcp://*:6000", carries: [end-of-data]}}
  b:
    sockets: {eod: {type: sub, connect: a.eod, subscribe: [""], carries: [end-of-data]}}
"""
    a = run(text)
    assert a.connections[0].message_size == CONTROL_MESSAGE_SIZE
    assert a.processes["a"].bytes is not None


def test_req_rep_both_directions_are_bounded() -> None:
    text = """
topolint: 1
name: rr
messages: {q: {max_size: 100B}, r: {max_size: 5kB}}
processes:
  client:
    sockets: {s: {type: req, connect: server.s, sends: q, receives: r}}
  server:
    sockets: {s: {type: rep, bind: "tcp://*:6000", receives: q, sends: r}}
"""
    a = run(text)
    assert len(a.connections) == 2
    sizes = sorted(cm.message_size or 0 for cm in a.connections)
    assert sizes == [100, 5000]
    assert a.processes["client"].bytes is not None


def test_json_keys_and_replica_ids() -> None:
    a = run_file("pipeline-fanout.yaml")
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert set(d["throughput"]) >= {"messages_per_second", "bottleneck"}
    assert set(d["latency"]) >= {"seconds", "critical_path"}
    for p in d["processes"]:
        assert {"name", "memory_bound_bytes", "memory_limit_bytes"} <= set(p)
        assert {"hwm_bytes", "batch_bytes", "kernel_bytes"} <= set(p)
    pairs = {(c["sender"], c["receiver"]) for c in d["connections"]}
    assert ("a.out", "b[1].in") in pairs and ("b[2].out", "c.in") in pairs
    for c in d["connections"]:
        assert {
            "sender",
            "receiver",
            "bound_messages",
            "bound_bytes",
            "sender_hwm",
            "kernel",
        } <= set(c)
    assert d["hosts"][0]["name"] == "localhost"


def test_render_text() -> None:
    text = render_text(run_file("pipeline.yaml"))
    assert "Throughput: 333.333/s" in text and "bottleneck b" in text
    assert "Latency:    5 ms along input -> a -> b -> c" in text
    assert "a.out" in text and "b.in" in text
    fan = render_text(run_file("fan-in-4to1.yaml"))
    assert "unlimited" in fan and "1.00 MB" in fan


def test_cli_analyze_json(cli) -> None:
    r = cli("analyze", str(TALK / "pipeline.yaml"), "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["throughput"]["bottleneck"] == "b"
    assert d["latency"]["seconds"] == pytest.approx(0.005)


def test_large_topology_sums() -> None:
    """Thousands of processes: sums stay consistent (linear-time code path)."""
    n = 1500
    procs = {
        "src": {
            "rate": "10000/s",
            "sockets": {"out": {"type": "push", "bind": "tcp://*:6000", "sends": "m"}},
        }
    }
    for i in range(n):
        procs[f"w{i}"] = {
            "service_time": "1ms",
            "sockets": {
                "in": {"type": "pull", "connect": "src.out", "receives": "m"},
                "out": {"type": "push", "connect": "sink.in", "sends": "m"},
            },
        }
    procs["sink"] = {"sockets": {"in": {"type": "pull", "bind": "tcp://*:6001", "receives": "m"}}}
    doc = {"topolint": 1, "name": "big", "messages": {"m": {"max_size": "1kB"}}, "processes": procs}
    topo = loads(json.dumps(doc), "big.json")
    a = analyze(topo, build_graph(topo))
    assert len(a.connections) == 2 * n
    assert a.throughput.messages_per_second == pytest.approx(10000.0)
    assert a.stages["w7"].declared_load == pytest.approx(10000.0 / n)
    sink = a.processes["sink"]
    assert sink.count == n and sink.bytes == n * a.connections[-1].receiver.bytes
    assert a.hosts["localhost"].bytes == sum(m.bytes or 0 for m in a.instances.values())


def test_unlimited_sources_share_a_stage_per_instance() -> None:
    text = """
topolint: 1
name: fairq
messages: {m: {max_size: 1kB}}
processes:
  a:
    replicas: 3
    sockets: {out: {type: push, connect: w.in, sends: m}}
  b:
    sockets: {out: {type: push, connect: w.in, sends: m}}
  w:
    service_time: 1ms
    sockets: {in: {type: pull, bind: "tcp://*:6000", receives: m}}
"""
    a = run(text)
    assert a.throughput.messages_per_second == pytest.approx(1000.0)
    assert a.stages["a"].load == pytest.approx(750.0)  # three of the four senders
    assert a.stages["b"].load == pytest.approx(250.0)
