"""End-of-data rules (TL6, problem 5 of the talk): behaviour beyond the catalogue fixtures."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import zmq

from topolint.lint.engine import Settings, load, loads, run_rules
from topolint.lint.findings import Finding

ROOT = Path(__file__).resolve().parent.parent
TALK = ROOT / "fixtures" / "talk"
FIXTURES = ROOT / "fixtures"
EOD_RULES = [
    "missing-end-of-data",
    "end-of-data-load-balanced",
    "end-of-data-undercounted",
    "lossy-end-of-data",
    "no-end-timeout",
    "stale-queue-on-reuse",
    "shutdown-hang",
]


def _run(text: str, *rules: str) -> list[Finding]:
    doc = "topolint: 1\nname: t\n" + textwrap.dedent(text)
    return run_rules(loads(doc), Settings(select=list(rules) or ["TL6"], use_environ=False))


def _file(path: Path, *rules: str) -> list[Finding]:
    topo = load(path, use_environ=False)
    return run_rules(topo, Settings(select=list(rules) or ["TL6"], use_environ=False))


def _rules(found: list[Finding]) -> set[str]:
    return {f.rule for f in found}


# -- the talk's pictures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rule", "element"),
    [
        ("eod-swallowing-worker", "missing-end-of-data", "processes.worker"),
        ("eod-push-replicas", "end-of-data-load-balanced", "processes.splitter.sockets.out"),
        (
            "eod-fan-in-first",
            "end-of-data-undercounted",
            "processes.collector.end_of_data.wait_for",
        ),
        ("eod-process-reuse", "stale-queue-on-reuse", "processes.worker.lifecycle"),
    ],
)
def test_talk_eod_pictures_fire_their_rule_only(name: str, rule: str, element: str) -> None:
    found = _file(TALK / f"{name}.yaml")
    assert [(f.rule, f.element) for f in found] == [(rule, element)]


def test_talk_swallowing_worker_names_the_path() -> None:
    (f,) = _file(TALK / "eod-swallowing-worker.yaml")
    assert f.message == (
        "end-of-data from camera stops at worker (declares no end_of_data): "
        "camera → worker → sink never ends"
    )
    assert f.subject == ("worker", "sink")


def test_talk_pipeline_fanout_is_the_load_balanced_problem() -> None:
    # a PUSHes to b x3 and forwards end-of-data: two replicas of b never get it
    found = _file(TALK / "pipeline-fanout.yaml", "end-of-data-load-balanced")
    assert [(f.element, f.subject) for f in found] == [
        ("processes.a.sockets.out", ("a.out", "b[0].in", "b[1].in", "b[2].in"))
    ]
    assert "2 of them never see it" in found[0].message
    # c waits for 3 signals from b x3: counted right
    assert not _file(TALK / "pipeline-fanout.yaml", "end-of-data-undercounted")


def test_talk_pipeline_ends_but_waits_without_timeouts() -> None:
    found = _file(TALK / "pipeline.yaml")
    assert [(f.rule, f.element) for f in found] == [
        ("no-end-timeout", "processes.a.end_of_data"),
        ("no-end-timeout", "processes.b.end_of_data"),
        ("no-end-timeout", "processes.c.end_of_data"),
    ]


# -- runs: continuous -------------------------------------------------------------------------


@pytest.mark.parametrize("rule", EOD_RULES)
def test_continuous_runs_silence_the_eod_rules_but_not_shutdown_hang(rule: str) -> None:
    text = (FIXTURES / rule / "bad.yaml").read_text()
    assert "runs: finite" in text
    cont = text.replace("runs: finite", "runs: continuous")
    found = run_rules(loads(cont), Settings(select=[rule], use_environ=False))
    if rule == "shutdown-hang":
        assert found
    else:
        assert found == []


# -- missing-end-of-data ----------------------------------------------------------------------

CHAIN = """
runs: finite
processes:
  camera:
    end_of_data: emit
    sockets: {out: {type: push, bind: "tcp://*:7000"}}
  worker:
    WORKER
    sockets:
      in: {type: pull, connect: camera.out}
      out: {type: pub, bind: "tcp://*:7001", nodrop: true, sync: handshake}
  sink:
    end_of_data: {action: consume, timeout: 5s}
    sockets: {in: {type: sub, connect: worker.out, subscribe: [""]}}
  archive:
    end_of_data: {action: consume, timeout: 5s}
    sockets: {in: {type: sub, connect: worker.out, subscribe: [""]}}
"""


def test_one_finding_per_stopping_process_listing_every_sink() -> None:
    (f,) = _run(CHAIN.replace("WORKER", "end_of_data: consume"), "missing-end-of-data")
    assert f.element == "processes.worker.end_of_data"
    assert "stops at worker (declares end_of_data: consume)" in f.message
    assert "(and 1 more sink: archive)" in f.message
    assert f.subject == ("worker", "sink", "archive")


def test_forwarding_worker_is_silent() -> None:
    text = CHAIN.replace("WORKER", "end_of_data: {action: forward, timeout: 5s}")
    assert _run(text) == []


def test_source_that_does_not_emit() -> None:
    text = CHAIN.replace("WORKER", "end_of_data: forward").replace(
        "end_of_data: emit", "end_of_data: forward"
    )
    (f,) = _run(text, "missing-end-of-data")
    assert f.message.startswith("no end-of-data from camera: it declares end_of_data: forward")
    assert "camera → worker → sink never ends" in f.message


def test_every_source_must_emit_even_when_another_does() -> None:
    (f,) = _run(
        """
        processes:
          left:
            end_of_data: emit
            sockets: {out: {type: push, bind: "tcp://*:7000"}}
          right:
            sockets: {out: {type: push, bind: "tcp://*:7001"}}
          merge:
            end_of_data: {action: consume, timeout: 5s}
            sockets: {in: {type: pull, connect: [left.out, right.out]}}
        """,
        "missing-end-of-data",
    )
    assert f.element == "processes.right"
    assert f.message == (
        "no end-of-data from right: it declares no end_of_data and a source must `emit`: "
        "right → merge never ends"
    )


def test_all_stops_on_the_way_are_reported_at_once() -> None:
    found = _run(
        """
        processes:
          a:
            sockets: {out: {type: push, bind: "tcp://*:7000"}}
          b:
            sockets:
              in: {type: pull, connect: a.out}
              out: {type: push, bind: "tcp://*:7001"}
          c:
            end_of_data: consume
            sockets: {in: {type: pull, connect: b.out}}
        """,
        "missing-end-of-data",
    )
    assert [(f.element, f.subject) for f in found] == [
        ("processes.a", ("a", "c")),
        ("processes.b", ("b", "c")),
    ]


def test_sink_that_ignores_end_of_data() -> None:
    text = CHAIN.replace("WORKER", "end_of_data: {action: forward, timeout: 5s}").replace(
        "  archive:\n    end_of_data: {action: consume, timeout: 5s}", "  archive:"
    )
    (f,) = _run(text, "missing-end-of-data")
    assert f.element == "processes.archive"
    assert f.message == (
        "sink archive declares no end_of_data: end-of-data reaches it "
        "(camera → worker → archive) but it ignores it, so archive never ends"
    )


def test_nothing_declared_is_one_finding_not_one_per_process() -> None:
    found = _run(
        """
        processes:
          a: {sockets: {out: {type: push, bind: "tcp://*:7000"}}}
          b:
            sockets:
              in: {type: pull, connect: a.out}
              out: {type: push, bind: "tcp://*:7001"}
          c: {sockets: {in: {type: pull, connect: b.out}}}
          d: {sockets: {in: {type: pull, connect: b.out}}}
        """,
        "TL6",
    )
    assert [(f.rule, f.element) for f in found] == [("missing-end-of-data", "processes.a")]
    assert "no process declares end_of_data" in found[0].message
    assert "the 2 sinks c, d" in found[0].message


def test_fairmq_imports_without_end_of_data_are_left_alone() -> None:
    assert (
        _run(
            """
            x-fairmq: {source: sampler.json}
            processes:
              a: {sockets: {out: {type: push, bind: "tcp://*:7000", linger: 500ms}}}
              b: {sockets: {in: {type: pull, connect: a.out, linger: 500ms}}}
            """
        )
        == []
    )


def test_waiting_for_more_signals_than_producers_never_ends() -> None:
    (f,) = _run(
        """
        processes:
          w:
            replicas: 3
            end_of_data: emit
            sockets: {out: {type: push, connect: c.in, linger: 0}}
          c:
            end_of_data: {action: consume, wait_for: 4, timeout: 5s}
            sockets: {in: {type: pull, bind: "tcp://*:7000"}}
        """
    )
    assert f.rule == "missing-end-of-data"
    assert f.element == "processes.c.end_of_data.wait_for"
    assert f.message == (
        "end-of-data stops at c: it waits for 4 end-of-data signals but c has only 3 "
        "producers (w[0], w[1], w[2]): c never ends"
    )


def test_wait_for_any_ends_on_the_first_so_only_undercounted_fires() -> None:
    found = _run(
        """
        processes:
          left:
            end_of_data: emit
            sockets: {out: {type: push, bind: "tcp://*:7000"}}
          right:
            sockets: {out: {type: push, bind: "tcp://*:7001"}}
          merge:
            end_of_data: {action: consume, wait_for: any, timeout: 5s}
            sockets: {in: {type: pull, connect: [left.out, right.out]}}
        """
    )
    assert [(f.rule, f.subject) for f in found] == [
        ("end-of-data-undercounted", ("merge", "left", "right"))
    ]


CONTROL = """
processes:
  src:
    end_of_data: emit
    sockets:
      out: {type: push, bind: "tcp://*:7000"}
      eod: {type: pub, bind: "tcp://*:7100", carries: [end-of-data], sync: SYNC}
  worker:
    replicas: 3
    end_of_data: {action: forward, timeout: 5s}
    sockets:
      in: {type: pull, connect: src.out}
      eod: {type: sub, connect: src.eod, subscribe: [""], carries: [end-of-data]}
      out: {type: push, connect: sink.in, linger: 0}
  sink:
    end_of_data: {action: consume, timeout: 5s}
    sockets: {in: {type: pull, bind: "tcp://*:7001"}}
"""


def test_end_of_data_over_a_synchronised_control_pub_is_fine() -> None:
    assert _run(CONTROL.replace("SYNC", "handshake")) == []
    assert _run(CONTROL.replace("SYNC", "subscription-events")) == []


def test_control_pub_without_sync_may_lose_it() -> None:
    found = _run(CONTROL.replace("SYNC", "sleep"))
    assert [(f.rule, f.element) for f in found] == [
        ("lossy-end-of-data", "processes.src.sockets.eod")
    ]
    assert "control PUB" in found[0].message and "sync: sleep" in found[0].message
    assert "nodrop" not in found[0].message  # its queue holds only end-of-data


def test_control_socket_that_misses_a_consumer_stops_end_of_data() -> None:
    text = """
    processes:
      src:
        end_of_data: emit
        sockets:
          out: {type: push, bind: "tcp://*:7000"}
          eod: {type: pub, bind: "tcp://*:7100", carries: [end-of-data], sync: handshake}
      sink:
        end_of_data: {action: consume, timeout: 5s}
        sockets: {in: {type: pull, connect: src.out}}
      other:
        end_of_data: {action: consume, timeout: 5s}
        sockets: {eod: {type: sub, connect: src.eod, subscribe: [""], carries: [end-of-data]}}
    """
    (f,) = _run(text, "missing-end-of-data")
    assert f.element == "processes.src.sockets.eod"
    assert "sends end-of-data only on src.eod, which do not reach sink" in f.message


def test_control_push_to_replicas_is_still_load_balanced() -> None:
    text = CONTROL.replace(
        'eod: {type: pub, bind: "tcp://*:7100", carries: [end-of-data], sync: SYNC}',
        'eod: {type: push, bind: "tcp://*:7100", carries: [end-of-data]}',
    ).replace(
        'eod: {type: sub, connect: src.eod, subscribe: [""], carries: [end-of-data]}',
        "eod: {type: pull, connect: src.eod, carries: [end-of-data]}",
    )
    found = _run(text)
    assert [(f.rule, f.element) for f in found] == [
        ("end-of-data-load-balanced", "processes.src.sockets.eod")
    ]


def test_feedback_cycle_fed_from_outside_ends() -> None:
    text = """
    processes:
      src:
        end_of_data: emit
        sockets: {out: {type: push, bind: "tcp://*:7000"}}
      a:
        end_of_data: {action: forward, timeout: 5s}
        sockets:
          in: {type: pull, connect: src.out}
          back: {type: sub, connect: b.status, subscribe: [""]}
          out: {type: push, bind: "tcp://*:7001"}
      b:
        end_of_data: {action: forward, timeout: 5s}
        sockets:
          in: {type: pull, connect: a.out}
          status: {type: pub, bind: "tcp://*:7002", nodrop: true, sync: handshake}
          out: {type: push, bind: "tcp://*:7003"}
      sink:
        end_of_data: {action: consume, timeout: 5s}
        sockets: {in: {type: pull, connect: b.out}}
    """
    assert _run(text, "missing-end-of-data") == []


def test_cycle_nothing_enters() -> None:
    text = """
    processes:
      a:
        end_of_data: forward
        sockets:
          in: {type: pull, connect: b.out}
          out: {type: push, bind: "tcp://*:7001"}
      b:
        end_of_data: forward
        sockets:
          in: {type: pull, connect: a.out}
          out: {type: push, bind: "tcp://*:7002"}
          tap: {type: push, bind: "tcp://*:7003"}
      sink:
        end_of_data: {action: consume, timeout: 5s}
        sockets: {in: {type: pull, connect: b.tap}}
    """
    (f,) = _run(text, "missing-end-of-data")
    assert f.message.startswith("end-of-data never enters the cycle a → b → a")


# -- end-of-data-load-balanced ----------------------------------------------------------------


def test_one_push_peer_is_fine_even_from_replicas() -> None:
    text = """
    processes:
      w:
        replicas: 4
        end_of_data: emit
        sockets: {out: {type: push, connect: c.in, linger: 0}}
      c:
        end_of_data: {action: consume, wait_for: all, timeout: 5s}
        sockets: {in: {type: pull, bind: "tcp://*:7000"}}
    """
    assert _run(text) == []


def test_push_that_carries_no_end_of_data_is_fine() -> None:
    # consume: nothing goes out; carries: [data]: end-of-data goes elsewhere
    base = """
    processes:
      a:
        end_of_data: ACTION
        sockets:
          out: {type: push, bind: "tcp://*:7000", carries: [data]}
          one: {type: push, bind: "tcp://*:7001"}
      b:
        replicas: 2
        end_of_data: none
        sockets: {in: {type: pull, connect: a.out}}
      c:
        end_of_data: none
        sockets: {in: {type: pull, connect: a.one}}
    """
    assert _run(base.replace("ACTION", "emit"), "end-of-data-load-balanced") == []
    text = base.replace("ACTION", "consume").replace(", carries: [data]", "")
    assert _run(text, "end-of-data-load-balanced") == []


def test_dealer_to_several_routers_is_load_balanced() -> None:
    found = _run(
        """
        processes:
          client:
            end_of_data: emit
            sockets: {out: {type: dealer, connect: [s1.in, s2.in], linger: 0}}
          s1:
            end_of_data: {action: consume, timeout: 5s}
            sockets: {in: {type: router, bind: "tcp://*:7000"}}
          s2:
            end_of_data: {action: consume, timeout: 5s}
            sockets: {in: {type: router, bind: "tcp://*:7001"}}
        """,
        "end-of-data-load-balanced",
    )
    assert [f.subject for f in found] == [("client.out", "s1.in", "s2.in")]


# -- end-of-data-undercounted -----------------------------------------------------------------


@pytest.mark.parametrize(("wait", "fires"), [("any", True), (2, True), (3, False), ("all", False)])
def test_undercount_counts_replicas(wait: object, fires: bool) -> None:
    found = _run(
        f"""
        processes:
          w:
            replicas: 3
            end_of_data: emit
            sockets: {{out: {{type: push, connect: c.in, linger: 0}}}}
          c:
            end_of_data: {{action: forward, wait_for: {wait}, timeout: 5s}}
            sockets:
              in: {{type: pull, bind: "tcp://*:7000"}}
        """,
        "end-of-data-undercounted",
    )
    assert bool(found) is fires
    if fires:
        assert "has 3 producers (w[0], w[1], w[2])" in found[0].message


# -- lossy-end-of-data ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opts", "fires"),
    [
        ("", True),
        ("nodrop: true", True),  # a late subscriber still misses it
        ("sync: handshake", True),  # a full queue still drops it
        ("nodrop: true, sync: handshake", False),
        ("nodrop: true, sync: sleep", True),
    ],
)
def test_data_pub_needs_nodrop_and_sync(opts: str, fires: bool) -> None:
    found = _run(
        f"""
        processes:
          p:
            end_of_data: emit
            sockets: {{out: {{type: pub, bind: "tcp://*:7000", {opts}}}}}
          s:
            end_of_data: {{action: consume, timeout: 5s}}
            sockets: {{in: {{type: sub, connect: p.out, subscribe: [""]}}}}
        """,
        "lossy-end-of-data",
    )
    assert bool(found) is fires


def test_pub_of_a_process_that_sends_no_end_of_data_is_not_lossy_end_of_data() -> None:
    found = _run(
        """
        processes:
          p:
            end_of_data: none
            sockets: {out: {type: pub, bind: "tcp://*:7000"}}
          s:
            end_of_data: none
            sockets: {in: {type: sub, connect: p.out, subscribe: [""]}}
        """,
        "lossy-end-of-data",
    )
    assert found == []


# -- no-end-timeout ---------------------------------------------------------------------------


def test_no_end_timeout_only_for_processes_that_wait() -> None:
    found = _run(
        """
        processes:
          src:
            end_of_data: emit
            sockets: {out: {type: push, bind: "tcp://*:7000"}}
          idle:
            end_of_data: consume
            sockets: {}
          ignore:
            end_of_data: none
            sockets: {in: {type: pull, connect: src.out}}
          sink:
            end_of_data: {action: consume, wait_for: any}
            sockets: {in: {type: pull, connect: src.out}}
        """,
        "no-end-timeout",
    )
    assert [(f.element, f.message) for f in found] == [
        (
            "processes.sink.end_of_data",
            "sink waits for end-of-data from src to consume it, with no timeout: if it dies "
            "or its end-of-data is lost, sink waits forever",
        )
    ]
    assert found[0].fix is not None and "timeout: 30s" in found[0].fix


# -- stale-queue-on-reuse ---------------------------------------------------------------------


def test_persistent_sender_only_process_is_named_for_its_send_queues() -> None:
    (f,) = _run(
        """
        processes:
          src:
            lifecycle: persistent
            end_of_data: emit
            sockets: {out: {type: push, bind: "tcp://*:7000"}}
          sink:
            end_of_data: {action: consume, timeout: 5s}
            sockets: {in: {type: pull, connect: src.out}}
        """,
        "stale-queue-on-reuse",
    )
    assert "messages left unsent in src.out" in f.message


# -- shutdown-hang ----------------------------------------------------------------------------

HANG = """
runs: continuous
DEFAULTS
processes:
  w:
    sockets:
      out: {type: push, connect: OUT}
  c:
    host: HOST
    sockets: {in: {type: pull, bind: "tcp://*:7000"}}
"""


def _hang(out: str = "c.in", host: str = "localhost", defaults: str = "") -> list[Finding]:
    text = HANG.replace("OUT", out).replace("HOST", host).replace("DEFAULTS", defaults)
    return _run(text, "shutdown-hang")


def test_shutdown_hang_on_connecting_sender() -> None:
    (f,) = _hang()
    assert f.severity.value == "info"
    assert f.element == "processes.w.sockets.out"
    assert "host" not in f.message
    assert f.fix is not None and "linger: 0" in f.fix


def test_shutdown_hang_names_the_remote_host() -> None:
    (f,) = _hang('"tcp://db7:7000"', host="db7")
    assert "(host db7, over tcp: a peer that can go away on its own)" in f.message


def test_shutdown_hang_on_a_peer_outside_the_topology() -> None:
    (f,) = _hang('"tcp://elsewhere:9999"')
    assert "tcp://elsewhere:9999" in f.message and "host elsewhere" in f.message


@pytest.mark.parametrize(
    ("out", "defaults"),
    [
        ("c.in, linger: 0", ""),
        ("c.in, linger: 2s", ""),
        ("c.in, immediate: true", ""),
        ("c.in", "defaults: {linger: 100ms}"),
        ("c.in", "defaults: {linger: 0}"),
        ("c.in, linger: 0", "defaults: {linger: -1}"),  # the socket's own value wins
        ("c.in, linger: 1s", "defaults: {linger: infinite}"),
        ('"inproc://x"', ""),  # unresolved inproc: same process
    ],
)
def test_shutdown_hang_silent(out: str, defaults: str) -> None:
    assert _hang(out, defaults=defaults) == []


@pytest.mark.parametrize(
    ("out", "defaults", "said", "related"),
    [
        ("c.in", "", "sets no linger (libzmq's default is infinite)", None),
        ("c.in, linger: -1", "", "sets an infinite linger (-1)", "processes.w.sockets.out.linger"),
        ("c.in, linger: infinite", "", "sets an infinite linger", "processes.w.sockets.out.linger"),
        ("c.in, linger: -1", "defaults: {linger: 1s}", "sets an infinite linger", None),
        ("c.in", "defaults: {linger: -1}", "infinite linger from the topology's defaults", None),
        ("c.in", "defaults: {linger: infinite}", "from the topology's defaults", "defaults.linger"),
        ("c.in", "defaults: {linger: inf, sndhwm: 10}", "from the topology's defaults", None),
    ],
)
def test_shutdown_hang_on_an_infinite_linger_explicit_or_by_default(
    out: str, defaults: str, said: str, related: str | None
) -> None:
    """An infinite linger is what the rule is about, wherever it is written: an explicit
    -1/infinite on the socket or an infinite default is no exemption (issue 13)."""
    (f,) = _hang(out, defaults=defaults)
    assert said in f.message, f.message
    assert f.element == "processes.w.sockets.out"
    if related:
        assert related in [r["element"] for r in f.related]


def test_shutdown_hang_silent_on_binding_sender() -> None:
    found = _run(
        """
        processes:
          w: {sockets: {out: {type: push, bind: "tcp://*:7000"}}}
          c: {sockets: {in: {type: pull, connect: w.out}}}
        """,
        "shutdown-hang",
    )
    assert found == []


# -- the ZeroMQ behaviour the rules stand on (real sockets on loopback) ------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_push_hands_end_of_data_to_one_peer_only() -> None:
    ctx = zmq.Context()
    try:
        push = ctx.socket(zmq.PUSH)
        push.linger = 0
        port = push.bind_to_random_port("tcp://127.0.0.1")
        pulls = [ctx.socket(zmq.PULL) for _ in range(3)]
        for p in pulls:
            p.linger = 0
            p.connect(f"tcp://127.0.0.1:{port}")
        # wait until all three pipes exist: round-robin a burst and see every peer get some
        seen: set[int] = set()
        poller = zmq.Poller()
        for p in pulls:
            poller.register(p, zmq.POLLIN)
        for _ in range(200):
            push.send(b"data")
            for sock, _ev in poller.poll(20):
                while sock.poll(0):
                    sock.recv()
                seen.add(pulls.index(sock))
            if len(seen) == 3:
                break
        assert len(seen) == 3
        while any(p.poll(50) for p in pulls):  # drain the rest of the burst
            for p in pulls:
                while p.poll(0):
                    p.recv()
        push.send(b"END")
        got = []
        for wait in (5000, 200):  # the first delivery, then a grace period for any other
            for sock, _ev in poller.poll(wait):
                got.append((pulls.index(sock), sock.recv()))
        assert [m for _, m in got] == [b"END"]
    finally:
        ctx.destroy(linger=0)


HANG_SCRIPT = """
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
if sys.argv[2] != "default":
    s.setsockopt(zmq.LINGER, int(sys.argv[2]))
if sys.argv[1] == "connect":
    s.connect("tcp://127.0.0.1:" + sys.argv[3])
else:
    s.bind("tcp://127.0.0.1:" + sys.argv[3])
s.send(b"x", zmq.NOBLOCK) if sys.argv[1] == "connect" else None
s.close()
ctx.term()
print("exited")
"""


def _close(mode: str, linger: str, timeout: float) -> str:
    port = str(_free_port())  # nobody listens there: the peer is gone
    try:
        out = subprocess.run(
            [sys.executable, "-c", HANG_SCRIPT, mode, linger, port],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return "hung"
    return out.stdout.strip()


def test_connecting_sender_with_default_linger_hangs_at_exit_and_linger_0_does_not() -> None:
    assert _close("connect", "0", 60) == "exited"
    assert _close("connect", "default", 2) == "hung"


def test_persistent_monitor_that_ignores_end_of_data_is_not_a_sink_to_end() -> None:
    text = """\
processes:
  source:
    end_of_data: emit
    sockets:
      out: {type: push, bind: "tcp://127.0.0.1:7000", linger: 0}
      stats: {type: pub, connect: monitor.in, loss_tolerant: true, linger: 0}
  sink:
    end_of_data: {action: consume, timeout: 5s}
    sockets:
      in: {type: pull, connect: source.out}
  monitor:
    lifecycle: persistent
    on_start: [drain]
    end_of_data: none
    sockets:
      in: {type: sub, bind: "tcp://127.0.0.1:7001", subscribe: [""]}
"""
    assert _run(text, "missing-end-of-data", "lossy-end-of-data") == []
    once = text.replace("    lifecycle: persistent\n    on_start: [drain]\n", "")
    assert _rules(_run(once, "missing-end-of-data")) == {"missing-end-of-data"}
    relying = once.replace("end_of_data: none", "end_of_data: {action: consume, timeout: 5s}")
    assert _rules(_run(relying, "lossy-end-of-data")) == {"lossy-end-of-data"}
