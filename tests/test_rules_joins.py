"""Join rules (problem 3 of the talk): TL401-TL406, the branch analysis, and the clean pipeline."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml

from topolint.analysis.join_branches import ROOT, Flow, joins
from topolint.lint.context import Context
from topolint.lint.engine import Settings, catalogue, load, loads, run_rules
from topolint.lint.findings import Finding
from topolint.lint.graph import build_graph

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TL4 = ["TL4"]


def _run(text: str, *rules: str) -> list[Finding]:
    return run_rules(loads(text), Settings(select=list(rules) or TL4, use_environ=False))


def _rules(found: list[Finding]) -> list[str]:
    return [f.rule for f in found]


def _topology(processes: dict[str, Any], messages: dict[str, Any] | None = None) -> str:
    doc = {"topolint": 1, "name": "t", "runs": "continuous", "processes": processes}
    if messages:
        doc["messages"] = messages
    return yaml.safe_dump(doc, sort_keys=False)


def _diamond(join: dict[str, Any] | None, **over: Any) -> str:
    """split -> (worker x3 via PUSH) -> fuse.left ; split -> fuse.right."""
    procs: dict[str, Any] = {
        "split": {
            "rate": "100/s",
            "sockets": {
                "work": {"type": "push", "bind": "tcp://*:7001", "sends": "image"},
                "meta": {"type": "push", "bind": "tcp://*:7002", "sends": "meta"},
            },
        },
        "worker": {
            "replicas": 3,
            "service_time": "20ms",
            "sockets": {
                "in": {"type": "pull", "connect": "split.work", "receives": "image"},
                "out": {"type": "push", "connect": "fuse.left", "sends": "image"},
            },
        },
        "fuse": {
            "sockets": {
                "left": {"type": "pull", "bind": "tcp://*:7003", "receives": "image"},
                "right": {"type": "pull", "connect": "split.meta", "receives": "meta"},
            },
        },
    }
    if join is not None:
        procs["fuse"]["join"] = join
    for dotted, value in over.items():
        *keys, last = dotted.split("__")
        node = procs
        for k in keys:
            node = node[k]
        node[last] = value
    messages = {
        "image": {"key": "frame_id", "schema": {"required": ["frame_id"]}},
        "meta": {"key": "frame_id", "schema": {"properties": {"frame_id": {}}}},
    }
    return _topology(procs, messages)


# --------------------------------------------------------------------------- talk pictures


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("join-case1-no-policy.yaml", {"unsynchronized-join"}),
        ("join-case2-lossy-input.yaml", {"lossy-join-input"}),
        ("join-case3-order-after-fanout.yaml", {"order-join-after-reordering"}),
        ("join-case4-diamond-deadlock.yaml", {"diamond-deadlock", "lossy-join-input"}),
    ],
)
def test_talk_join_pictures_fire_the_matching_rules(fixture: str, expected: set[str]) -> None:
    topo = load(FIXTURES / "talk" / fixture, use_environ=False)
    found = run_rules(topo, Settings(select=TL4, use_environ=False))
    assert set(_rules(found)) == expected
    assert all(f.line > 1 for f in found)


def test_talk_case4_names_the_filter_and_the_buffers() -> None:
    topo = load(FIXTURES / "talk" / "join-case4-diamond-deadlock.yaml", use_environ=False)
    (f,) = run_rules(topo, Settings(select=["diamond-deadlock"], use_environ=False))
    assert f.element == "processes.merge.join"
    assert "split -> merge" in f.message and "select declares filters: true" in f.message
    assert "max_pending (8)" in f.message and "16 messages" in f.message  # 4 hops x (2 + 2)
    assert f.related[0]["element"] == "processes.select.filters"


# --------------------------------------------------------------------------- what is a join


def test_fan_in_of_replicas_and_of_one_stream_is_not_a_join() -> None:
    text = _topology(
        {
            "w": {
                "replicas": 4,
                "sockets": {"out": {"type": "push", "connect": "c.in", "sends": "m"}},
            },
            "v": {"sockets": {"out": {"type": "push", "connect": "c.in", "sends": "m"}}},
            "c": {"sockets": {"in": {"type": "pull", "bind": "tcp://*:1"}}},
        }
    )
    assert _run(text) == []


def test_one_socket_with_two_streams_is_a_join_and_untyped_producers_are_not() -> None:
    def shared(x: str | None, y: str | None) -> str:
        out_a: dict[str, Any] = {"type": "push", "connect": "c.in", **({"sends": x} if x else {})}
        out_b: dict[str, Any] = {"type": "push", "connect": "c.in", **({"sends": y} if y else {})}
        return _topology(
            {
                "a": {"sockets": {"out": out_a}},
                "b": {"sockets": {"out": out_b}},
                "c": {"sockets": {"in": {"type": "pull", "bind": "tcp://*:1"}}},
            }
        )

    (f,) = _run(shared("x", "y"), "unsynchronized-join")
    assert "in[x] from a; in[y] from b" in f.message
    assert "receive each stream on its own socket" in (f.fix or "")
    assert _run(shared(None, None)) == []
    assert _run(shared("x", "x")) == []
    assert _run(shared("x", None)) == []


def test_replies_and_control_sockets_are_not_inputs() -> None:
    text = _topology(
        {
            "src": {
                "sockets": {
                    "out": {"type": "push", "bind": "tcp://*:1"},
                    "eod": {"type": "pub", "bind": "tcp://*:2", "carries": ["end-of-data"]},
                }
            },
            "svc": {"sockets": {"api": {"type": "rep", "bind": "tcp://*:3"}}},
            "c": {
                "sockets": {
                    "in": {"type": "pull", "connect": "src.out"},
                    "eod": {
                        "type": "sub",
                        "connect": "src.eod",
                        "subscribe": [""],
                        "carries": ["end-of-data"],
                    },
                    "ask": {"type": "req", "connect": "svc.api"},
                }
            },
        }
    )
    assert _run(text) == []


def test_unsynchronized_join_silent_once_a_policy_is_declared() -> None:
    assert _rules(_run(_diamond(None))) == ["unsynchronized-join"]
    policy = {"inputs": ["left", "right"], "match": "any"}
    assert _run(_diamond(policy)) == []


# --------------------------------------------------------------------------- tricky good cases


def test_keyed_join_after_load_balanced_fan_out_is_fine() -> None:
    policy = {"inputs": ["left", "right"], "match": "key", "max_pending": 64, "timeout": "1s"}
    assert _run(_diamond(policy)) == []


def test_order_join_with_one_push_peer_is_fine_and_with_replicas_is_not() -> None:
    policy = {"inputs": ["left", "right"], "match": "order", "max_pending": 64, "timeout": "1s"}
    assert _run(_diamond(policy, worker__replicas=1)) == []
    (f,) = _run(_diamond(policy))
    assert f.rule == "order-join-after-reordering"
    assert "worker runs 3 replicas load-balanced by split.work" in f.message
    assert f.element == "processes.fuse.join.match"


def test_order_join_replicas_fed_by_pub_still_merge() -> None:
    policy = {"inputs": ["left", "right"], "match": "order", "max_pending": 64, "timeout": "1s"}
    text = _diamond(
        policy,
        split__sockets__work={
            "type": "pub",
            "bind": "tcp://*:7001",
            "sends": "image",
            "nodrop": True,
        },
        worker__sockets__in={
            "type": "sub",
            "connect": "split.work",
            "subscribe": [""],
            "receives": "image",
        },
    )
    (f,) = _run(text, "order-join-after-reordering")
    assert "merges 3 producers (worker[0], worker[1], worker[2])" in f.message


# --------------------------------------------------------------------------- key


def test_join_key_missing_names_each_gap() -> None:
    policy = {"inputs": ["left", "right"], "match": "key", "max_pending": 64, "timeout": "1s"}
    text = _diamond(policy).replace(
        "key: frame_id\n    schema:\n      properties", "schema:\n      properties"
    )
    found = _run(text, "join-key-missing")
    assert [f.element for f in found] == ["messages.meta"]
    assert "message type 'meta' declares no key" in found[0].message
    schema_gap = _diamond(policy).replace("frame_id: {}", "other: {}")
    (f,) = _run(schema_gap, "join-key-missing")
    assert f.element == "messages.meta.schema"


def test_join_key_missing_ignores_schema_files_and_non_key_joins() -> None:
    policy = {"inputs": ["left", "right"], "match": "key", "max_pending": 64, "timeout": "1s"}
    text = _diamond(policy).replace(
        "schema:\n      properties:\n        frame_id: {}", "schema: meta.json"
    )
    assert "meta.json" in text
    assert _run(text, "join-key-missing") == []
    latest = {"inputs": ["left", "right"], "match": "latest"}
    no_keys = _diamond(latest).replace("key: frame_id", "max_size: 10")
    assert _run(no_keys, "join-key-missing") == []


# --------------------------------------------------------------------------- lossy inputs


def test_lossy_join_input_only_counts_losses_after_the_fan_out() -> None:
    policy = {"inputs": ["left", "right"], "match": "key", "max_pending": 64}
    assert _run(_diamond(policy, split__filters=True), "lossy-join-input") == []
    (f,) = _run(_diamond(policy, worker__filters=True), "lossy-join-input")
    assert "input left of join fuse can lose messages (worker declares filters: true)" in f.message
    assert f.related[0]["element"] == "processes.worker.filters"
    with_timeout = {**policy, "timeout": "1s"}
    assert _run(_diamond(with_timeout, worker__filters=True), "lossy-join-input") == []


def test_lossy_join_input_sees_conflate_on_the_receiver() -> None:
    policy = {"inputs": ["left", "right"], "match": "order", "max_pending": 64}
    right = {"type": "pull", "connect": "split.meta", "receives": "meta", "conflate": True}
    (f,) = _run(
        _diamond(policy, worker__replicas=1, fuse__sockets__right=right), "lossy-join-input"
    )
    assert "CONFLATE on fuse.right" in f.message and "wrong partner" in f.message


# --------------------------------------------------------------------------- buffers and deadlock


def _chain_diamond(long_stages: int, hwm: int, max_pending: int | None, **join: Any) -> str:
    """split -> s1 -> ... -> sN -> j.long ; split -> j.short; 10 ms per stage, 1000/s."""
    procs: dict[str, Any] = {
        "split": {
            "rate": "1000/s",
            "sockets": {
                "a": {"type": "push", "bind": "tcp://*:7001", "sndhwm": hwm},
                "b": {"type": "push", "bind": "tcp://*:7002", "sndhwm": hwm},
            },
        }
    }
    prev = "split.a"
    for i in range(1, long_stages + 1):
        procs[f"s{i}"] = {
            "replicas": 20,
            "service_time": "10ms",
            "sockets": {
                "in": {"type": "pull", "connect": prev, "rcvhwm": hwm},
                "out": {"type": "push", "bind": f"tcp://*:{7100 + i}", "sndhwm": hwm},
            },
        }
        prev = f"s{i}.out"
    spec: dict[str, Any] = {"inputs": ["long", "short"], "match": "key", **join}
    if max_pending is not None:
        spec["max_pending"] = max_pending
    procs["j"] = {
        "join": spec,
        "sockets": {
            "long": {"type": "pull", "connect": prev, "rcvhwm": hwm},
            "short": {"type": "pull", "connect": "split.b", "rcvhwm": hwm},
        },
    }
    return _topology(procs)


def test_unbounded_join_buffer_compares_max_pending_with_rate_times_skew() -> None:
    # 3 stages x 10 ms = 30 ms behind the direct branch, at 1000/s: 30 units
    (f,) = _run(_chain_diamond(3, 1000, 29), "unbounded-join-buffer")
    assert "30 units" in f.message and f.element == "processes.j.join.max_pending"
    assert _run(_chain_diamond(3, 1000, 30), "unbounded-join-buffer") == []
    (f,) = _run(_chain_diamond(3, 1000, None), "unbounded-join-buffer")
    assert "declares no max_pending" in f.message and f.element == "processes.j.join"


def test_diamond_deadlock_depth_counts_short_branch_buffers_and_max_pending() -> None:
    # lead 30 units; the short branch holds sndhwm + rcvhwm = 2 * hwm
    (f,) = _run(_chain_diamond(3, 10, 9), "diamond-deadlock")  # 20 + 9 < 30
    assert "30 units" in f.message and "short's queues hold 20 and the join 9" in f.message
    assert _run(_chain_diamond(3, 10, 10), "diamond-deadlock") == []  # 20 + 10 = 30
    assert _run(_chain_diamond(3, 10, 9, timeout="1s"), "diamond-deadlock") == []
    assert _run(_chain_diamond(3, 10, None), "diamond-deadlock") == []  # memory, not deadlock
    assert _run(_chain_diamond(3, 0, 1), "diamond-deadlock") == []  # HWM 0: unbounded queues


def test_diamond_deadlock_needs_reconvergence() -> None:
    procs = {
        "a": {
            "rate": "1000/s",
            "filters": True,
            "sockets": {"out": {"type": "push", "bind": "tcp://*:1", "sndhwm": 1}},
        },
        "b": {
            "rate": "1000/s",
            "sockets": {"out": {"type": "push", "bind": "tcp://*:2", "sndhwm": 1}},
        },
        "j": {
            "join": {"inputs": ["x", "y"], "match": "key", "max_pending": 1},
            "sockets": {
                "x": {"type": "pull", "connect": "a.out"},
                "y": {"type": "pull", "connect": "b.out"},
            },
        },
    }
    found = _run(_topology(procs))
    assert "diamond-deadlock" not in _rules(found)
    assert "lossy-join-input" in _rules(found)  # the filter still stalls the join


def test_nested_diamonds_use_the_nearest_fan_out() -> None:
    # src -> f -> {a, b} -> j ; the common fan-out of j's inputs is f, not src
    procs = {
        "src": {"rate": "10/s", "sockets": {"out": {"type": "push", "bind": "tcp://*:1"}}},
        "f": {
            "sockets": {
                "in": {"type": "pull", "connect": "src.out"},
                "x": {"type": "push", "bind": "tcp://*:2"},
                "y": {"type": "push", "bind": "tcp://*:3"},
            }
        },
        "a": {
            "filters": True,
            "sockets": {
                "in": {"type": "pull", "connect": "f.x"},
                "out": {"type": "push", "bind": "tcp://*:4"},
            },
        },
        "b": {
            "sockets": {
                "in": {"type": "pull", "connect": "f.y"},
                "out": {"type": "push", "bind": "tcp://*:5"},
            }
        },
        "j": {
            "join": {"inputs": ["l", "r"], "match": "key", "max_pending": 4},
            "sockets": {
                "l": {"type": "pull", "connect": "a.out"},
                "r": {"type": "pull", "connect": "b.out"},
            },
        },
    }
    (f,) = _run(_topology(procs), "diamond-deadlock")
    assert f.message.startswith("diamond f -> j: branch l drops units (a declares filters: true)")


# --------------------------------------------------------------------------- the analysis itself


def _random_dag_topology(n: int, seed: int) -> str:
    rnd = random.Random(seed)
    procs: dict[str, Any] = {}
    for i in range(n):
        socks: dict[str, Any] = {"out": {"type": "push", "bind": f"tcp://*:{1000 + i}"}}
        preds = rnd.sample(range(i), k=min(i, rnd.randint(1, 3))) if i else []
        for k, p in enumerate(preds):
            socks[f"in{k}"] = {"type": "pull", "connect": f"p{p}.out"}
        procs[f"p{i}"] = {"service_time": f"{rnd.randint(1, 9)}ms", "sockets": socks}
    return _topology(procs)


@pytest.mark.parametrize("seed", range(8))
def test_dominators_and_latencies_match_brute_force(seed: int) -> None:
    topo = loads(_random_dag_topology(14, seed))
    wiring = build_graph(topo)
    flow = Flow(topo, wiring)
    g = nx.DiGraph(wiring.flow)
    g.add_node("ROOT")
    for n in list(g):
        if n != "ROOT" and g.in_degree(n) == 0:
            g.add_edge("ROOT", n)
    expected = nx.immediate_dominators(g, "ROOT")
    st = {n: topo.processes[n].service_time or 0.0 for n in topo.processes}
    for n in topo.processes:
        d = flow.idom[flow.comp[n]]
        assert (d == ROOT and expected[n] == "ROOT") or flow.members[d] == [expected[n]]
        lat = [sum(st[v] for v in path[1:]) for path in nx.all_simple_paths(g, "ROOT", n)]
        lat = lat or [st[n]]  # a source
        assert flow.lmax[flow.comp[n]] == pytest.approx(max(lat))
        assert flow.lmin[flow.comp[n]] == pytest.approx(min(lat))


def test_join_analysis_is_shared_between_rules() -> None:
    topo = loads(_diamond({"inputs": ["left", "right"], "match": "key"}))
    ctx = Context(topo, build_graph(topo))
    first = joins(ctx)
    assert joins(ctx) is first
    (j,) = first
    assert j.fanout_name == "split"
    left, right = j.branches
    assert (left.lat_max, right.lat_max) == (pytest.approx(0.02), 0.0)


def test_joins_inside_a_cycle_are_not_measured() -> None:
    procs = {
        "a": {
            "sockets": {
                "out": {"type": "push", "bind": "tcp://*:1"},
                "back": {"type": "pull", "bind": "tcp://*:9"},
            }
        },
        "b": {
            "join": {"inputs": ["x", "y"], "match": "key", "max_pending": 1},
            "sockets": {
                "x": {"type": "pull", "connect": "a.out"},
                "y": {"type": "pull", "bind": "tcp://*:2"},
                "out": {"type": "push", "connect": "a.back"},
            },
        },
        "c": {
            "filters": True,
            "sockets": {
                "in": {"type": "pull", "connect": "a.out"},
                "out": {"type": "push", "connect": "b.y"},
            },
        },
    }
    found = _run(_topology(procs))
    assert "diamond-deadlock" not in _rules(found)


# --------------------------------------------------------------------------- the clean pipeline


def test_clean_pipeline_has_no_error_or_warning() -> None:
    topo = load(FIXTURES / "clean" / "keyed-join.yaml", use_environ=False)
    found = run_rules(topo, Settings(use_environ=False))
    loud = [f"{f.rule}: {f.message}" for f in found if f.severity.value in ("error", "warning")]
    assert loud == []


@pytest.mark.parametrize(
    "rule",
    [r for r in catalogue() if r.code.startswith("TL4")],
    ids=lambda r: r.name,
)
def test_documented_example_fires(rule: Any) -> None:
    snippet = re.search(r"```yaml\n(.*?)```", rule.sections["Example"], re.S)
    assert snippet is not None
    found = _run("topolint: 1\nname: example\n" + snippet.group(1), rule.name)
    assert found, f"the example of {rule.name} does not fire"


def test_request_servers_and_latest_state_sockets_are_side_inputs() -> None:
    procs: dict[str, Any] = {
        "cam": {
            "sockets": {
                "out": {"type": "push", "bind": "tcp://*:1"},
                "cfg": {"type": "pub", "bind": "tcp://*:2"},
            }
        },
        "client": {"sockets": {"ask": {"type": "req", "connect": "w.api"}}},
        "w": {
            "sockets": {
                "in": {"type": "pull", "connect": "cam.out"},
                "cfg": {"type": "sub", "connect": "cam.cfg", "subscribe": [""], "conflate": True},
                "api": {"type": "rep", "bind": "tcp://*:3"},
            }
        },
    }
    assert _run(_topology(procs)) == []
    # named explicitly, they are join inputs again
    procs["w"]["join"] = {"inputs": ["in", "cfg"], "match": "order"}
    assert "lossy-join-input" in _rules(_run(_topology(procs)))
