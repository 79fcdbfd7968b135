"""``topolint run`` end to end: topology files in, real pyzmq processes, verdicts out.

No test asserts a timing: only counts, verdicts, exit codes and what is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_executor_runtime import listening_ports, plain_pyzmq_capacity
from topolint.errors import UsageError
from topolint.executor import run, run_report
from topolint.executor.plan import Settings
from topolint.executor.workdir import read_owner

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "executor_data"
TALK = ROOT / "fixtures" / "talk"
FAST = Settings(quiet=1.0, stall_quiet=0.5, drain_idle=0.2)
SPEC_KEYS = {"connections", "sinks", "terminated", "verdicts", "model_violations"}


def verdicts(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [v for v in report["verdicts"] if v["rule"] == rule]


def assert_left_nothing(report: dict[str, Any]) -> None:
    ports = listening_ports()
    for pr in report["processes"]:
        assert pr["exit_code"] is not None  # reaped
    for ep in report["endpoints"]:
        used = ep["run"]
        if used.startswith("tcp://"):
            assert used.startswith("tcp://127.0.0.1:")
            assert int(used.rsplit(":", 1)[1]) not in ports
        elif used.startswith("ipc://"):
            assert not Path(used[6:]).exists()
            assert not Path(used[6:]).parent.exists()


# ---------------------------------------------------------------------------- the talk's table
TALK_ROWS = {  # fixture: (transport, SNDHWM, SNDBUF, RCVBUF, RCVHWM)
    "queue-hwm1-buf100k": ("tcp", 1, 100000, 100000, 1),
    "queue-hwm1-buf4096": ("tcp", 1, 4096, 4096, 1),
    "queue-sndhwm100-buf4096": ("tcp", 100, 4096, 4096, 1),
    "queue-rcvhwm100-buf4096": ("tcp", 1, 4096, 4096, 100),
    "queue-ipc": ("ipc", 1, 65536, 0, 1),
}


def test_stall_on_the_talks_table_matches_plain_pyzmq_and_stays_under_the_bound() -> None:
    plain: dict[str, int] = {}

    def measure(name: str) -> None:
        plain[name] = plain_pyzmq_capacity(*TALK_ROWS[name])

    threads = [threading.Thread(target=measure, args=(n,)) for n in TALK_ROWS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in TALK_ROWS:
        report, _ = run_report(TALK / f"{name}.yaml", scenarios=["stall=puller"], settings=FAST)
        assert report.keys() >= SPEC_KEYS
        assert report["stop_reason"] == "stall measurement complete"
        (c,) = report["connections"]
        assert (c["sender"], c["receiver"]) == ("pusher.out", "puller.in")
        observed, bound = c["observed_max_queued"], c["predicted_bound_messages"]
        assert abs(observed - plain[name]) <= 0.15 * plain[name], (name, observed, plain[name])
        assert observed <= bound, (name, observed, bound)
        assert report["model_violations"] == []
        # a stall is a measurement: it passes no verdict on ending rules
        assert not verdicts(report, "no-end-timeout")
        assert_left_nothing(report)


# ---------------------------------------------------------------------------- end of data
def test_clean_finite_pipeline_terminates_with_end_of_data_at_every_sink() -> None:
    report, code = run_report(DATA / "pipeline.yaml", settings=FAST)
    assert code == 0
    assert report["terminated"] is True
    assert [(s["name"], s["end_of_data_received"], s["messages"]) for s in report["sinks"]] == [
        ("writer", True, 200)
    ]
    for c in report["connections"]:
        assert c["sent"] == c["received"] == 200
        assert c["observed_max_queued"] <= c["predicted_bound_messages"]
    assert {c["transport"] for c in report["connections"]} == {"tcp", "ipc"}
    assert all(v["status"] == "not-reproduced" for v in report["verdicts"])
    assert report["environment"]["net"]["tcp_rmem"]
    assert_left_nothing(report)


def test_end_of_data_through_push_to_three_replicas_is_confirmed() -> None:
    report, code = run_report(DATA / "eod-push-replicas.yaml", settings=FAST)
    assert code == 1
    (v,) = verdicts(report, "end-of-data-load-balanced")
    assert v["status"] == "confirmed"
    assert "reached 1 of 3 peers" in v["evidence"]
    assert report["sinks"][0]["end_of_data_received"] is False
    assert report["sinks"][0]["messages"] == 30
    assert report["terminated"] is False
    assert_left_nothing(report)


# ---------------------------------------------------------------------------- start-up
def test_slow_joiner_under_late_start_is_confirmed() -> None:
    report, code = run_report(
        DATA / "pubsub.yaml", scenarios=["late-start=subscriber:1s"], settings=FAST
    )
    assert code == 1
    (v,) = verdicts(report, "slow-joiner")
    assert v["status"] == "confirmed"
    assert v["evidence"].startswith("3 of 3 subscribers missed all 20 messages")
    assert all(c["received"] == 0 and c["sent"] == 20 for c in report["connections"])


def test_handshake_publisher_loses_nothing_to_late_subscribers(tmp_path: Path) -> None:
    text = (DATA / "pubsub.yaml").read_text().replace("sync: none", "sync: handshake")
    (tmp_path / "pubsub.yaml").write_text(text)
    report, code = run_report(
        tmp_path / "pubsub.yaml", scenarios=["late-start=subscriber:0.5s"], settings=FAST
    )
    assert code == 0
    assert not verdicts(report, "slow-joiner")  # the rule does not fire: nothing to confirm
    assert all(c["received"] == 20 and c["lost"] == 0 for c in report["connections"])
    assert all(s["end_of_data_received"] for s in report["sinks"])


# ---------------------------------------------------------------------------- safety
def test_production_host_and_public_ip_are_never_contacted() -> None:
    report, _ = run_report(DATA / "prod-and-public-ip.yaml", settings=FAST)
    declared = {e["declared"] for e in report["endpoints"]}
    assert declared == {"tcp://*:7891", "tcp://8.8.8.8:5555"}
    for e in report["endpoints"]:
        assert e["run"].startswith("tcp://127.0.0.1:")
    rows = {c["receiver"]: c for c in report["connections"]}
    assert rows["collector.in"]["received"] == 5  # "prod01" ran here, on loopback
    assert rows["?tcp://8.8.8.8:5555"]["received"] is None
    assert "nothing is contacted" in rows["?tcp://8.8.8.8:5555"]["note"]
    assert_left_nothing(report)


def test_bad_scenarios_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="no process or instance 'nobody'"):
        run_report(DATA / "pipeline.yaml", scenarios=["stall=nobody"])
    with pytest.raises(UsageError, match="expected stall=PROCESS"):
        run_report(DATA / "pipeline.yaml", scenarios=["stall"])


def test_json_output_through_the_command_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "topolint", "run", str(DATA / "pubsub.yaml"), "--format", "json",
         "--scenario", "late-start=subscriber:0.5s", "--timeout", "20"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report.keys() >= SPEC_KEYS
    for c in report["connections"]:
        assert {"sender", "receiver", "sent", "received", "observed_max_queued",
                "predicted_bound_messages"} <= c.keys()  # fmt: skip
    assert {"name", "end_of_data_received"} <= report["sinks"][0].keys()
    (v,) = verdicts(report, "slow-joiner")
    assert {"rule", "subject", "status"} <= v.keys() and v["status"] == "confirmed"


def test_text_output_names_verdicts_and_the_kernel() -> None:
    text, code = run(DATA / "pipeline.yaml", scenarios=[], timeout=20, variables={}, fmt="text")
    assert code == 0
    assert "terminated" in text and "kernel " in text and "writer: 200 messages" in text


def test_sigint_during_topolint_run_leaves_nothing_behind() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "topolint", "run", str(DATA / "slow.yaml"), "-f", "json",
         "--timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    workdir, children = None, []
    try:
        for _ in range(1200):
            for d in (Path(tempfile.gettempdir()) / f"topolint-{os.getuid()}").glob("run-*"):
                try:
                    if getattr(read_owner(str(d)), "pid", None) == proc.pid:
                        workdir = d
                except (OSError, ValueError):
                    continue
            if workdir is not None and (workdir / "stats1.jsonl").exists():
                children = [
                    int(p.name)
                    for p in Path("/proc").iterdir()
                    if p.name.isdigit() and _cmdline_has(p, str(workdir))
                ]
                if len(children) == 2:
                    break
            time.sleep(0.05)
        assert workdir is not None and len(children) == 2
        socket_file = Path(workdir) / "e0"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["interrupted"] is True and report["stop_reason"] == "interrupted"
    assert not workdir.exists() and not socket_file.exists()
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert_left_nothing(report)


def _cmdline_has(p: Path, text: str) -> bool:
    try:
        return text.encode() in (p / "cmdline").read_bytes()
    except OSError:
        return False


def test_stall_confirms_a_memory_budget_the_queues_exceed() -> None:
    # queue-hwm1: autotuned kernel buffers hold ~280 messages of 10 kB: far above 2 MB.
    report, code = run_report(TALK / "queue-hwm1.yaml", scenarios=["stall=puller"], settings=FAST)
    assert code == 1
    confirmed = [
        v for v in verdicts(report, "memory-budget-exceeded") if v["status"] == "confirmed"
    ]
    assert confirmed and "above its memory_limit of 2,000,000 bytes" in confirmed[0]["evidence"]
    assert report["model_violations"] == []
