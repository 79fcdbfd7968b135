from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
if not SHARED.exists():  # CI clones next to a copy of shared/
    SHARED = Path(os.environ.get("TOPOLINT_SHARED", ROOT.parent / "shared"))


#: A small topology (camera → worker on one host) for configuration, suppression and
#: baseline tests.
SMALL_TOPOLOGY = """\
topolint: 1
name: small
runs: continuous
defaults: {sndbuf: 64kB, rcvbuf: 64kB, linger: 0}
messages:
  frame: {max_size: 1kB}
processes:
  camera:
    host: build-01
    sockets:
      out: {type: push, bind: "tcp://127.0.0.1:7000", sends: frame}
      preview: {type: pub, bind: "tcp://127.0.0.1:7001", sends: frame}
  worker:
    host: build-01
    sockets:
      in: {type: pull, connect: "tcp://build-01:7000", receives: frame}
"""


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real entry point (``python -m topolint``) in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "topolint", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=full_env,
        input=input,
        timeout=300,
    )


@pytest.fixture
def cli():
    return run_cli
