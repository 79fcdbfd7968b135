"""FairMQ memory: HWMs in messages, --message-size, shmem descriptors and the segment."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import run_cli

SCRIPT = """\
sampler --id sampler --transport shmem \\
  --channel-config name=data,type=push,method=bind,address=ipc:///tmp/x,sndBufSize=10
sink --id sink --transport shmem \\
  --channel-config name=data,type=pull,method=connect,address=ipc:///tmp/x,rcvBufSize=20
monitor --id monitor \\
  --channel-config name=data,type=pull,method=connect,address=tcp://localhost:7000
source --id source \\
  --channel-config name=data,type=push,method=bind,address=tcp://*:7000
"""


def analyze(tmp_path: Path, *args: str) -> dict:
    f = tmp_path / "start.sh"
    f.write_text(SCRIPT)
    r = run_cli("analyze", "--format", "json", *args, str(f))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_shmem_queues_hold_descriptors_and_the_host_holds_the_segment(tmp_path: Path) -> None:
    a = analyze(tmp_path)
    shm = next(c for c in a["connections"] if c["sender"] == "sampler.data")
    assert shm["message_size_from"] == "shmem-descriptor"
    # 64-byte descriptors (plus ZMTP framing), not payloads
    assert shm["bound_messages"] * 64 <= shm["bound_bytes"] <= shm["bound_messages"] * 80
    (host,) = a["hosts"]
    assert host["shm_segment_bytes"] == 2_000_000_000  # FairMQ's default segment
    zmq = next(c for c in a["connections"] if c["sender"] == "source.data")
    assert zmq["bound_bytes"] is None  # FairMQ cannot say message sizes


def test_message_size_and_segment_size_from_the_command_line(tmp_path: Path) -> None:
    a = analyze(tmp_path, "--message-size", "10kB", "--var", "shm-segment-size=1GiB")
    zmq = next(c for c in a["connections"] if c["sender"] == "source.data")
    assert zmq["bound_messages"] * 10_000 <= zmq["bound_bytes"] <= zmq["bound_messages"] * 10_016
    (host,) = a["hosts"]
    assert host["shm_segment_bytes"] == 2**30
    assert host["memory_bound_bytes"] is not None
