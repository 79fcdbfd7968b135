"""The executor's queue readings beside plain pyzmq, for the cases issue 14 found off.

    python benchmarks/executor_vs_pyzmq.py [--runs 3]

* two PUSH senders into one stalled PULL (HWM 100, SO_SNDBUF/SO_RCVBUF 4096, 1000-byte
  messages): what the two connections hold, plain pyzmq against ``topolint run --scenario
  stall=sink`` on ``benchmarks/executor_cases/two-push-stalled.yaml``;
* a PUB (HWM 10) into a stalled SUB (HWM 10), 100-byte messages: a PUB drops when its pipe is
  full, so what reaches the SUB side depends on how fast the sender runs against libzmq's
  I/O thread; plain pyzmq is measured flooding and paced, beside the executor's flood
  (``benchmarks/executor_cases/pub-stalled.yaml``).

Results are in docs/executor.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import zmq

HERE = Path(__file__).resolve().parent


def plain_two_push(hwm: int = 100, buf: int = 4096, size: int = 1000) -> int:
    ctx = zmq.Context()
    try:
        pull = ctx.socket(zmq.PULL)
        pull.setsockopt(zmq.RCVHWM, hwm)
        pull.setsockopt(zmq.RCVBUF, buf)
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        pushes = []
        for _ in range(2):
            s = ctx.socket(zmq.PUSH)
            s.setsockopt(zmq.SNDHWM, hwm)
            s.setsockopt(zmq.SNDBUF, buf)
            s.connect(f"tcp://127.0.0.1:{port}")
            pushes.append(s)
        time.sleep(0.3)
        total = 0
        for s in pushes:
            while True:
                try:
                    s.send(b"x" * size, zmq.NOBLOCK)
                except zmq.Again:
                    time.sleep(0.05)  # let the I/O thread move what it can, then try once more
                    try:
                        s.send(b"x" * size, zmq.NOBLOCK)
                    except zmq.Again:
                        break
                total += 1
        return total
    finally:
        ctx.destroy(0)


def plain_pub(rate: float | None, count: int, hwm: int = 10, size: int = 100) -> int:
    ctx = zmq.Context()
    try:
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.SNDHWM, hwm)
        port = pub.bind_to_random_port("tcp://127.0.0.1")
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, hwm)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"tcp://127.0.0.1:{port}")
        time.sleep(0.5)
        t0 = time.time()
        for i in range(count):
            if rate:
                while time.time() < t0 + i / rate:
                    pass
            pub.send(b"x" * size)
        time.sleep(0.5)
        held = 0
        while sub.poll(300):
            sub.recv()
            held += 1
        return held
    finally:
        ctx.destroy(0)


def executor(case: str, stall: str) -> list[int]:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "topolint",
            "run",
            str(HERE / "executor_cases" / case),
            "--scenario",
            f"stall={stall}",
            "--timeout",
            "20",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    data = json.loads(r.stdout)
    return [c["observed_max_queued"] for c in data["connections"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    runs = ap.parse_args().runs
    for _ in range(runs):
        print(
            "two PUSH -> stalled PULL: plain",
            plain_two_push(),
            "executor",
            sum(executor("two-push-stalled.yaml", "sink")),
        )
    for _ in range(runs):
        print(
            "PUB -> stalled SUB: plain flood",
            plain_pub(None, 100_000),
            "plain 20,000/s",
            plain_pub(20_000, 20_000),
            "executor flood",
            sum(executor("pub-stalled.yaml", "sub")),
        )


if __name__ == "__main__":
    main()
