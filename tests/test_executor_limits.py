"""A hostile topology cannot make ``topolint run`` spawn, allocate or last without bound.

Through the real command line (``python -m topolint run``, in a subprocess with a hang
guard): replicas beyond the executor's instance cap are refused before anything starts;
``count: 10^12`` and ``max_size: 1TB`` are capped (and the caps are reported); a run that
would go on for days stops at ``--timeout``; and afterwards no child process is left.
Children are found by a marker in their environment (they inherit the supervisor's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HANG_GUARD = 120  # seconds: a run that outlives its --timeout by this much is a failure


def run(path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    mark = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env["TOPOLINT_LIMITS_MARK"] = mark
    r = subprocess.run(
        [sys.executable, "-m", "topolint", "run", str(path), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=HANG_GUARD,
    )
    return r, mark


def leftovers(mark: str) -> list[int]:
    """Live processes that inherited ``mark`` (a zombie has no readable environment)."""
    needle = f"TOPOLINT_LIMITS_MARK={mark}".encode()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            env = (d / "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            found.append(int(d.name))
    return found


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "t.yaml"
    f.write_text(text)
    return f


def test_replicas_beyond_the_instance_cap_start_nothing(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        "topolint: 1\nname: many\nprocesses:\n"
        "  src:\n    replicas: 100000\n    count: 10\n    sockets:\n"
        "      out: {type: push, connect: 'tcp://127.0.0.1:5555'}\n",
    )
    r, mark = run(f, "--timeout", "2")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "cap" in r.stderr and "Traceback" not in r.stderr
    assert leftovers(mark) == []


def test_replicas_that_multiply_into_too_many_connections_are_an_input_error(
    tmp_path: Path,
) -> None:
    f = write(
        tmp_path,
        "topolint: 1\nname: explosion\nprocesses:\n"
        "  a: {replicas: 100000, sockets: {out: {type: push, connect: b.in}}}\n"
        "  b: {replicas: 100000, sockets: {in: {type: pull, bind: 'tcp://*:5555'}}}\n",
    )
    r, mark = run(f, "--timeout", "2")
    assert r.returncode == 2
    assert r.stderr.startswith(f"{f}:4:")
    assert "connections" in r.stderr
    assert leftovers(mark) == []


HUGE = """\
topolint: 1
name: huge
messages:
  huge: {max_size: 1TB}
processes:
  src:
    count: 1000000000000
    end_of_data: emit
    sockets:
      out: {type: push, bind: "tcp://*:5555", sends: huge}
  sink:
    end_of_data: consume
    sockets:
      in: {type: pull, connect: src.out, receives: huge}
"""


@pytest.mark.parametrize("scenario", [None, "stall=sink"])
def test_huge_counts_and_sizes_are_capped(tmp_path: Path, scenario: str | None) -> None:
    f = write(tmp_path, HUGE)
    args = ["--timeout", "20", "--format", "json"]
    if scenario:
        args += ["--scenario", scenario]
    r, mark = run(f, *args)
    assert r.returncode in (0, 1), r.stderr
    report = json.loads(r.stdout)
    limits = report["limits"]
    notes = " ".join(report["notes"])
    assert f"capped to {limits['max_message_bytes']} B" in notes
    assert "count 1000000000000: emitting" in notes
    for c in report["connections"]:
        assert c["sent"] <= limits["max_messages"]
        assert c["sent"] * limits["max_message_bytes"] <= limits["max_source_bytes"]
    if scenario is None:  # 256 capped messages: the run ends by itself
        assert report["terminated"], report["stop_reason"]
    assert leftovers(mark) == []


def test_a_source_too_long_for_the_timeout_is_fitted_to_it(tmp_path: Path) -> None:
    """A source of 10^12 messages at one per second would run for 30,000 years: the run
    emits what fits in the timeout, says so, and ends by itself."""
    f = write(
        tmp_path,
        "topolint: 1\nname: endless\nmessages:\n  m: {max_size: 16B}\nprocesses:\n"
        "  src:\n    count: 1000000000000\n    rate: 1/s\n    end_of_data: emit\n    sockets:\n"
        "      out: {type: push, bind: 'tcp://*:5555', sends: m}\n"
        "  sink:\n    end_of_data: consume\n    sockets:\n"
        "      in: {type: pull, connect: src.out, receives: m}\n",
    )
    r, mark = run(f, "--timeout", "2", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    report = json.loads(r.stdout)
    counts = report["message_counts"]["src"]
    assert counts["declared"] == 10**12 and counts["run"] < 10
    assert "rate 1/s" in counts["why"]
    assert report["terminated"], report["stop_reason"]
    assert leftovers(mark) == []


def test_an_endless_run_stops_at_its_timeout(tmp_path: Path) -> None:
    """A sink that starts 1000 s late keeps the run waiting on its timer."""
    f = write(
        tmp_path,
        "topolint: 1\nname: endless\nmessages:\n  m: {max_size: 16B}\nprocesses:\n"
        "  src:\n    count: 5\n    end_of_data: emit\n    sockets:\n"
        "      out: {type: push, bind: 'tcp://*:5555', sends: m}\n"
        "  sink:\n    end_of_data: consume\n    sockets:\n"
        "      in: {type: pull, connect: src.out, receives: m}\n",
    )
    r, mark = run(f, "--timeout", "3", "--format", "json", "--scenario", "late-start=sink:1000s")
    assert r.returncode in (0, 1), r.stderr
    report = json.loads(r.stdout)
    assert report["stop_reason"] == "timeout", report["stop_reason"]
    assert not report["terminated"]  # stopped, not finished
    assert report["timeout_s"] == 3
    assert leftovers(mark) == []


@pytest.mark.parametrize("timeout", ["1e12", "-1", "0", "nan", "inf", "abc"])
def test_hostile_timeouts_are_usage_errors(tmp_path: Path, timeout: str) -> None:
    f = write(tmp_path, HUGE)
    r, mark = run(f, "--timeout", timeout)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert leftovers(mark) == []
