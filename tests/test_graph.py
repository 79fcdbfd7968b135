"""Wiring: how endpoints meet (SPEC §1 "Wiring")."""

from __future__ import annotations

from topolint.lint.engine import loads
from topolint.lint.graph import build_graph


def wire(processes: str, **top: str):
    header = "topolint: 1\nname: g\nruns: continuous\n" + "".join(
        f"{k}: {v}\n" for k, v in top.items()
    )
    topo = loads(header + "processes:\n" + processes)
    return build_graph(topo)


def pairs(w):
    return sorted((c.sender_id, c.receiver_id) for c in w.connections if not c.reply)


def test_logical_reference_and_replicas_multiply():
    w = wire(
        """\
  camera: {sockets: {out: {type: push, bind: "tcp://*:7891"}}}
  worker: {replicas: 3, sockets: {in: {type: pull, connect: camera.out}}}
"""
    )
    assert pairs(w) == [("camera.out", f"worker[{i}].in") for i in range(3)]
    assert set(w.g.nodes) == {"camera", "worker[0]", "worker[1]", "worker[2]"}


def test_tcp_localhost_meets_wildcard_bind_on_same_host_only():
    w = wire(
        """\
  a: {sockets: {out: {type: push, bind: "tcp://*:5555"}}}
  b: {host: farm01, sockets: {in: {type: pull, connect: "tcp://localhost:5555"}}}
  c: {sockets: {in: {type: pull, connect: "tcp://127.0.0.1:5555"}}}
"""
    )
    assert pairs(w) == [("a.out", "c.in"), ("b.in", "?tcp://localhost:5555")] or pairs(w) == [
        ("?tcp://localhost:5555", "b.in"),
        ("a.out", "c.in"),
    ]
    unresolved = [c for c in w.connections if c.unresolved]
    assert len(unresolved) == 1 and unresolved[0].receiver == "b"


def test_tcp_host_name_meets_bind_of_process_on_that_host():
    w = wire(
        """\
  a: {host: node7, sockets: {out: {type: push, bind: "tcp://*:5555"}}}
  b: {sockets: {in: {type: pull, connect: "tcp://node7:5555"}}}
"""
    )
    assert pairs(w) == [("a.out", "b.in")]


def test_ipc_same_host_only_and_inproc_same_process_only():
    w = wire(
        """\
  a: {sockets: {out: {type: push, bind: "ipc:///tmp/x"}, o2: {type: push, bind: "inproc://q"}, i2: {type: pull, connect: "inproc://q"}}}
  b: {sockets: {in: {type: pull, connect: "ipc:///tmp/x"}}}
  c: {host: other, sockets: {in: {type: pull, connect: "ipc:///tmp/x"}}}
  d: {sockets: {in: {type: pull, connect: "inproc://q"}}}
"""
    )
    got = pairs(w)
    assert ("a.out", "b.in") in got
    assert ("a.o2", "a.i2") in got  # inproc between two sockets of one process: a real pipe
    assert not w.flow.has_edge("a", "a")  # ... but no data flow between processes
    assert any(c.unresolved and c.receiver == "c" for c in w.connections)
    assert any(c.unresolved and c.receiver == "d" for c in w.connections)


def test_direction_follows_data_not_bind_side():
    w = wire(
        """\
  sink: {sockets: {in: {type: pull, bind: "tcp://*:6000"}}}
  src: {replicas: 2, sockets: {out: {type: push, connect: sink.in}}}
"""
    )
    assert pairs(w) == [("src[0].out", "sink.in"), ("src[1].out", "sink.in")]


def test_req_rep_has_both_directions():
    w = wire(
        """\
  server: {sockets: {s: {type: rep, bind: "tcp://*:5005"}}}
  client: {sockets: {c: {type: req, connect: "tcp://localhost:5005"}}}
"""
    )
    dirs = sorted((c.sender_id, c.receiver_id, c.reply) for c in w.connections)
    assert dirs == [("client.c", "server.s", False), ("server.s", "client.c", True)]


def test_mismatch_is_kept_as_an_edge():
    w = wire(
        """\
  a: {sockets: {out: {type: push, bind: "tcp://*:1"}}}
  b: {sockets: {in: {type: sub, connect: a.out, subscribe: [""]}}}
"""
    )
    assert [c.mismatch for c in w.connections] == [True]
    assert w.flow.number_of_edges() == 0


def test_flow_graph_sources_and_sinks():
    w = wire(
        """\
  a: {sockets: {out: {type: push, bind: "tcp://*:1"}}}
  b: {replicas: 2, sockets: {in: {type: pull, connect: a.out}, out: {type: push, connect: c.in}}}
  c: {sockets: {in: {type: pull, bind: "tcp://*:2"}}}
"""
    )
    assert w.sources() == ["a"] and w.sinks() == ["c"]
    assert len(w.flow["a"]["b"]["conns"]) == 2
