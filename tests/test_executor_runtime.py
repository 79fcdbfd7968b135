"""The executor's runtime with hand-built plans: real pyzmq processes on loopback.

No test asserts a timing: only counts, flags and what is left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
import zmq

from topolint.executor.plan import (
    BehaviourPlan,
    ConnectionPlan,
    EndOfDataPlan,
    EndpointPlan,
    InstancePlan,
    JoinPlan,
    Limits,
    RunPlan,
    ScenarioPlan,
    Settings,
    SocketPlan,
)
from topolint.executor.report import build_report
from topolint.executor.scenarios import ScenarioError, parse_scenario
from topolint.executor.supervisor import CHILD, PlanError, RunResult, execute
from topolint.executor.workdir import read_owner

FAST = Settings(quiet=1.0, stall_quiet=0.5, drain_idle=0.2)
ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- helpers
def source(name: str, ep: str, count: int = 50, *, peers: int = 1, **kw: object) -> InstancePlan:
    return InstancePlan(
        name,
        process=name,
        sockets=[SocketPlan("out", "push", "out", binds=[ep], size=200, wait_peers=peers)],
        behaviour=BehaviourPlan(kind="source", count=count, end_of_data=EndOfDataPlan("emit")),
        **kw,  # type: ignore[arg-type]
    )


def sink(name: str, ep: str, wait_for: int = 1, *, bind: bool = False) -> InstancePlan:
    sock = SocketPlan("in", "pull", "in", binds=[ep] if bind else [], connects=[] if bind else [ep])
    return InstancePlan(
        name,
        process=name.split("[")[0],
        sockets=[sock],
        behaviour=BehaviourPlan(kind="sink", end_of_data=EndOfDataPlan("consume", wait_for)),
    )


def tcp(*ids: str) -> list[EndpointPlan]:
    return [EndpointPlan(i, "tcp") for i in ids]


def listening_ports() -> set[int]:
    ports = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(f).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A":  # LISTEN
                ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def assert_nothing_left(result: RunResult) -> None:
    """No child alive, no workdir, no listening port of the run."""
    for r in result.instances.values():
        assert r.pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(r.pid, 0)
    ports = listening_ports()
    for ep in result.endpoints.values():
        if ep.startswith("tcp://"):
            assert int(ep.rsplit(":", 1)[1]) not in ports
        elif ep.startswith("ipc://"):
            assert not Path(ep[6:]).exists()
    workdirs = {Path(ep[6:]).parent for ep in result.endpoints.values() if ep.startswith("ipc://")}
    for d in workdirs:
        assert not d.exists()


def pipeline_plan(count: int = 200) -> RunPlan:
    worker = InstancePlan(
        "worker",
        process="worker",
        sockets=[
            SocketPlan("in", "pull", "in", connects=["e0"], options={"rcvhwm": 10}),
            SocketPlan("out", "push", "out", binds=["e1"], options={"sndhwm": 10}, wait_peers=1),
        ],
        behaviour=BehaviourPlan(
            kind="worker", service_time=0.0005, end_of_data=EndOfDataPlan("forward", 1)
        ),
    )
    return RunPlan(
        "pipeline",
        [source("src", "e0", count), worker, sink("sink", "e1")],
        tcp("e0", "e1"),
        [
            ConnectionPlan("src.out", "worker.in", predicted_bound_messages=10_000),
            ConnectionPlan("worker.out", "sink.in", predicted_bound_messages=10_000),
        ],
        timeout=30,
        settings=FAST,
    )


# ---------------------------------------------------------------------------- pipeline
def test_finite_pipeline_terminates_with_end_of_data_everywhere() -> None:
    result = execute(pipeline_plan())
    report = build_report(result)
    assert report["terminated"] is True
    assert report["sinks"] == [
        {
            **report["sinks"][0],
            "name": "sink",
            "end_of_data_received": True,
            "messages": 200,
        }
    ]
    for c in report["connections"]:
        assert c["sent"] == c["received"] == 200
        assert c["lost"] == 0
        assert 0 <= c["observed_max_queued"] <= 200
    assert report["model_violations"] == []
    assert report["environment"]["kernel"]
    assert "tcp_wmem" in report["environment"]["net"]
    assert_nothing_left(result)


def test_model_violation_is_reported_when_bound_is_too_small() -> None:
    plan = pipeline_plan(count=300)
    # The worker holds messages (service time) so its input queue fills beyond 1.
    plan.instances[1].behaviour.service_time = 0.002
    plan.connections[0].predicted_bound_messages = 1
    report = build_report(execute(plan))
    assert report["connections"][0]["observed_max_queued"] > 1
    (v,) = report["model_violations"]
    assert v["sender"] == "src.out" and "MODEL VIOLATION" in v["message"]


# ---------------------------------------------------------------------------- stall
TALK_ROWS = [  # transport, SNDHWM, SNDBUF, RCVBUF, RCVHWM (pinned-buffer and IPC rows)
    ("tcp", 1, 100000, 100000, 1),
    ("tcp", 1, 4096, 4096, 1),
    ("tcp", 100, 4096, 4096, 1),
    ("tcp", 1, 4096, 4096, 100),
    ("ipc", 1, 65536, 0, 1),
]


def plain_pyzmq_capacity(transport: str, shwm: int, sbuf: int, rbuf: int, rhwm: int) -> int:
    """The notes' measurement with plain pyzmq: NOBLOCK sends until ~quiet without progress."""
    ctx = zmq.Context()
    tmp = tempfile.mkdtemp(prefix="topolint-test-")
    try:
        pull = ctx.socket(zmq.PULL)
        pull.rcvhwm = rhwm
        if rbuf:
            pull.rcvbuf = rbuf
        if transport == "tcp":
            ep = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
        else:
            ep = f"ipc://{tmp}/q"
            pull.bind(ep)
        push = ctx.socket(zmq.PUSH)
        push.sndhwm = shwm
        if sbuf:
            push.sndbuf = sbuf
        mon = push.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        push.connect(ep)
        mon.recv_multipart()
        n, last, msg = 0, time.monotonic(), b"a" * 10000
        while time.monotonic() - last < FAST.stall_quiet:
            try:
                push.send(msg, zmq.NOBLOCK)
                n += 1
                last = time.monotonic()
            except zmq.Again:
                time.sleep(0.001)
        return n
    finally:
        ctx.destroy(linger=0)
        shutil.rmtree(tmp, ignore_errors=True)


def test_stall_measures_the_talks_queue_capacity_like_plain_pyzmq() -> None:
    instances, endpoints, conns = [], [], []
    for n, (tr, shwm, sbuf, rbuf, rhwm) in enumerate(TALK_ROWS):
        endpoints.append(EndpointPlan(f"e{n}", tr))
        so = {"sndhwm": shwm, "sndbuf": sbuf}
        ro = {"rcvhwm": rhwm, **({"rcvbuf": rbuf} if rbuf else {})}
        instances += [
            InstancePlan(
                f"pusher{n}",
                sockets=[
                    SocketPlan("out", "push", "out", [f"e{n}"], [], so, size=10000, flood=True)
                ],
                behaviour=BehaviourPlan(kind="source", count=1000),
            ),
            InstancePlan(
                f"puller{n}",
                sockets=[SocketPlan("in", "pull", "in", [], [f"e{n}"], ro)],
                behaviour=BehaviourPlan(kind="sink"),
                scenario=ScenarioPlan(stall=True),
            ),
        ]
        instances[-2].sockets[0].flood_peers = 1
        conns.append(ConnectionPlan(f"pusher{n}.out", f"puller{n}.in", transport=tr))
    plan = RunPlan("talk", instances, endpoints, conns, timeout=30, settings=FAST)
    plain: dict[int, int] = {}

    def measure(i: int) -> None:
        plain[i] = plain_pyzmq_capacity(*TALK_ROWS[i])

    threads = [threading.Thread(target=measure, args=(i,)) for i in range(len(TALK_ROWS))]
    for t in threads:
        t.start()
    result = execute(plan)
    for t in threads:
        t.join()
    report = build_report(result)
    assert report["stop_reason"] == "stall measurement complete"
    for i, row in enumerate(report["connections"]):
        observed = row["observed_max_queued"]
        assert row["sent"] == row["received"] == observed  # drained after the stall: exact
        assert abs(observed - plain[i]) <= 0.15 * plain[i], (TALK_ROWS[i], observed, plain[i])
    assert_nothing_left(result)


# ---------------------------------------------------------------------------- pub/sub
def pubsub_plan(sync: str, delay: float) -> RunPlan:
    pub = InstancePlan(
        "pub",
        process="pub",
        sockets=[
            SocketPlan("out", "pub", "out", ["e0"], size=100, sync=sync, expected_subscribers=3)
        ],
        behaviour=BehaviourPlan(kind="source", count=20, end_of_data=EndOfDataPlan("emit")),
    )
    insts, conns = [pub], []
    for i in range(3):
        insts.append(
            InstancePlan(
                f"sub[{i}]",
                process="sub",
                sockets=[SocketPlan("in", "sub", "in", [], ["e0"], {"subscribe": [""]})],
                behaviour=BehaviourPlan(kind="sink", end_of_data=EndOfDataPlan("consume", 1)),
                scenario=ScenarioPlan(start_delay=delay),
            )
        )
        conns.append(ConnectionPlan("pub.out", f"sub[{i}].in", lossy=True))
    return RunPlan("pubsub", insts, tcp("e0"), conns, timeout=30, settings=FAST)


def test_late_start_subscribers_miss_messages_without_synchronisation() -> None:
    report = build_report(execute(pubsub_plan("none", 0.5)))
    for c in report["connections"]:
        assert c["sent"] == 20 and c["received"] == 0 and c["lost"] == 20
    assert not any(s["end_of_data_received"] for s in report["sinks"])
    assert report["terminated"] is False


@pytest.mark.parametrize("sync", ["handshake", "subscription-events"])
def test_synchronised_publisher_waits_for_late_subscribers(sync: str) -> None:
    result = execute(pubsub_plan(sync, 0.5))
    report = build_report(result)
    assert report["terminated"] is True
    for c in report["connections"]:
        assert c["received"] == 20 and c["first_received_seq"] == 0
    assert all(s["end_of_data_received"] for s in report["sinks"])
    (pub,) = [p for p in report["processes"] if p["name"] == "pub"]
    assert pub["sync"]["out"]["ready"] >= 3
    assert_nothing_left(result)


# ---------------------------------------------------------------------------- end of data
def test_end_of_data_through_push_reaches_one_of_three_replicas() -> None:
    insts = [source("src", "e0", 30, peers=3)]
    conns = []
    for i in range(3):
        insts.append(
            InstancePlan(
                f"w[{i}]",
                process="w",
                sockets=[
                    SocketPlan("in", "pull", "in", connects=["e0"]),
                    SocketPlan("out", "push", "out", connects=["e1"], wait_peers=1),
                ],
                behaviour=BehaviourPlan(kind="worker", end_of_data=EndOfDataPlan("forward", 1)),
            )
        )
        conns += [
            ConnectionPlan("src.out", f"w[{i}].in", load_balanced=True),
            ConnectionPlan(f"w[{i}].out", "sink.in"),
        ]
    insts.append(sink("sink", "e1", wait_for=3, bind=True))
    result = execute(RunPlan("eod", insts, tcp("e0", "e1"), conns, timeout=30, settings=FAST))
    report = build_report(result)
    eods = [p["end_of_data"]["received"] for p in report["processes"] if p["name"][0] == "w"]
    assert sorted(eods) == [0, 0, 1]
    assert report["sinks"][0]["end_of_data_received"] is False
    assert report["sinks"][0]["messages"] == 30  # round-robin still delivered all data
    assert report["terminated"] is False
    assert_nothing_left(result)


def test_drop_end_of_data_and_end_of_data_timeout() -> None:
    plan = pipeline_plan(20)
    plan.instances[1].scenario.drop_eod = True
    plan.instances[2].behaviour.end_of_data.timeout = 0.3
    report = build_report(execute(plan))
    (sink_row,) = report["sinks"]
    assert sink_row["end_of_data_received"] is False
    assert sink_row["end_of_data_timed_out"] is True
    assert sink_row["messages"] == 20
    (worker,) = [p for p in report["processes"] if p["name"] == "worker"]
    assert worker["end_of_data"]["swallowed"] == 1


# ---------------------------------------------------------------------------- joins
def join_plan(match: str, max_pending: int | None, timeout: float | None) -> RunPlan:
    merge = InstancePlan(
        "merge",
        sockets=[
            SocketPlan("a", "pull", "in", connects=["e0"]),
            SocketPlan("b", "pull", "in", connects=["e1"]),
            SocketPlan("out", "push", "out", binds=["e2"], wait_peers=1),
        ],
        behaviour=BehaviourPlan(
            kind="worker",
            join=JoinPlan(["a", "b"], match, max_pending, timeout),
            end_of_data=EndOfDataPlan("forward", 2),
        ),
    )
    right = source("right", "e1", 40)
    right.behaviour.filters = True  # drops every 4th key: those units never match
    return RunPlan(
        "join",
        [source("left", "e0", 40), right, merge, sink("sink", "e2")],
        tcp("e0", "e1", "e2"),
        [ConnectionPlan("left.out", "merge.a"), ConnectionPlan("right.out", "merge.b")],
        timeout=30,
        settings=FAST,
    )


def test_key_join_with_a_filtering_input_holds_unmatched_units() -> None:
    report = build_report(execute(join_plan("key", None, None)))
    (j,) = report["joins"]
    assert j["matches"] == 30
    assert j["pending_at_end"] == 10
    assert report["sinks"][0]["messages"] == 30


def test_key_join_timeout_expires_unmatched_units() -> None:
    plan = join_plan("key", None, 3.0)
    # Wait for a third end-of-data that never comes, giving up 3.5 s after the last input:
    # every unit (at most 3 s old then) has expired by construction, whatever the timing;
    # 3 s is long enough for partners to meet even when the two sources start far apart
    # on a loaded machine.
    plan.instance("merge").behaviour.end_of_data = EndOfDataPlan("forward", 3, timeout=3.5)
    report = build_report(execute(plan))
    (j,) = report["joins"]
    assert j["matches"] == 30
    assert j["timeouts"] == 10
    assert j["pending_at_end"] == 0


def test_order_join_after_filtering_mismatches_keys() -> None:
    report = build_report(execute(join_plan("order", None, None)))
    (j,) = report["joins"]
    assert j["mismatches"] > 0


# ---------------------------------------------------------------------------- kill, crash
def test_kill_scenario_and_crashed_child_are_cleaned_up() -> None:
    plan = pipeline_plan(400)
    plan.instances[0].behaviour.rate = 2000
    plan.instances[1].scenario.kill_at = 0.25
    bad = InstancePlan("bad", sockets=[SocketPlan("x", "bogus", "in")])
    plan.instances.append(bad)
    result = execute(plan)
    report = build_report(result)
    states = {p["name"]: p["state"] for p in report["processes"]}
    assert states["worker"] == "killed (scenario)"
    assert states["bad"] == "crashed"
    assert "bogus" in str([p.get("error") for p in report["processes"]])
    assert report["terminated"] is False
    assert report["sinks"][0]["end_of_data_received"] is False
    assert_nothing_left(result)


# ---------------------------------------------------------------------------- caps
def test_caps_refuse_too_many_instances_and_clamp_counts_and_sizes() -> None:
    plan = RunPlan("big", [sink(f"s[{i}]", "e0") for i in range(65)], tcp("e0"))
    plan.limits = Limits(max_instances=64)
    with pytest.raises(PlanError, match="exceed the cap of 64"):
        execute(plan)
    plan = pipeline_plan()
    plan.limits = Limits(max_messages=30, max_instances=10**9)
    plan.instances[0].behaviour.count = 10**12
    plan.instances[0].sockets[0].size = 10**9
    result = execute(plan)
    report = build_report(result)
    assert report["limits"]["max_instances"] == 4096  # clamped to the hard maximum
    assert report["sinks"][0]["messages"] == 30
    assert any("capped" in n for n in report["notes"])
    assert any("emitting 30" in n for n in report["notes"])


def test_child_refuses_any_endpoint_outside_loopback_and_its_folder(tmp_path: Path) -> None:
    for ep in ("tcp://8.8.8.8:7891", "tcp://prod01:7891", "ipc:///tmp/elsewhere"):
        spec = {
            "instance": {
                "name": "x",
                "sockets": [
                    {
                        "name": "out",
                        "type": "push",
                        "role": "out",
                        "binds": [],
                        "connects": [ep],
                        "options": {},
                    }
                ],
                "behaviour": {"kind": "source", "count": 1},
                "scenario": {},
            },
            "settings": Settings().__dict__,
            "limits": {"max_messages": 10, "max_source_bytes": 1000, "max_child_memory": 1 << 30},
            "workdir": str(tmp_path),
            "stats": str(tmp_path / "stats.jsonl"),
            "seqdir": str(tmp_path),
            "release": str(tmp_path / "release"),
            "parent": os.getpid(),
        }
        (tmp_path / "spec.json").write_text(json.dumps(spec))
        proc = subprocess.run(
            [sys.executable, str(CHILD), str(tmp_path / "spec.json")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 3
        assert "refusing endpoint" in proc.stderr


# ---------------------------------------------------------------------------- SIGINT
def _children_of(workdir: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if workdir.encode() in cmd:
                pids.append(int(entry.name))
    return pids


def test_sigint_stops_the_run_and_leaves_nothing_behind() -> None:
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_executor_runtime import pipeline_plan
        from topolint.executor.supervisor import execute
        plan = pipeline_plan(100000)
        plan.instances[0].behaviour.rate = 100
        plan.timeout = 120
        r = execute(plan)
        print(json.dumps({{"interrupted": r.interrupted, "reason": r.stop_reason,
                           "endpoints": r.endpoints}}))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    workdir = ""
    children: list[int] = []
    try:
        for _ in range(600):  # wait until the run's children exist
            for d in (Path(tempfile.gettempdir()) / f"topolint-{os.getuid()}").glob("run-*"):
                try:
                    if getattr(read_owner(str(d)), "pid", None) == proc.pid:
                        workdir = str(d)
                except (OSError, ValueError):
                    continue
            children = _children_of(workdir) if workdir else []
            if len(children) == 3 and all(
                (Path(workdir) / f"stats{i}.jsonl").exists() for i in range(3)
            ):
                break
            time.sleep(0.05)
        assert len(children) == 3
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = json.loads(out)
    assert result["interrupted"] is True
    assert not Path(workdir).exists()
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    ports = listening_ports()
    for ep in result["endpoints"].values():
        if ep.startswith("tcp://"):
            assert int(ep.rsplit(":", 1)[1]) not in ports


# ---------------------------------------------------------------------------- scenarios
def test_parse_scenarios() -> None:
    assert parse_scenario("stall=puller").kind == "stall"
    late = parse_scenario("late-start=subscriber:500ms")
    assert (late.target, late.delay) == ("subscriber", 0.5)
    assert parse_scenario("late-start=sub[2]:2").delay == 2.0
    kill = parse_scenario("kill=worker[1]@50%")
    assert (kill.target, kill.fraction) == ("worker[1]", 0.5)
    assert parse_scenario("drop-end-of-data=merger").target == "merger"
    for bad in (
        "stall",
        "explode=x",
        "late-start=x",
        "late-start=x:2parsecs",
        "kill=x@2",
        "kill=x",
    ):
        with pytest.raises(ScenarioError):
            parse_scenario(bad)
