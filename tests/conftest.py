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
