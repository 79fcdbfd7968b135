"""The wheel works like the editable install: build it, install it into a fresh venv, run it.

Needs the package registry (pip installs the dependencies into the new venv); skipped with
a clear reason when that is impossible.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from topolint.lint.engine import catalogue

from .conftest import FIXTURES, ROOT


def _run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_wheel_in_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    r = _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], tmp_path)
    if r.returncode != 0 and "No module named build" in r.stderr:
        pytest.skip("the 'build' package is not installed")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    wheel = next(dist.glob("topolint-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    r = _run([str(py), "-m", "pip", "install", "-q", str(wheel)], tmp_path)
    if r.returncode != 0 and (
        "Could not find a version" in r.stderr or "NewConnectionError" in r.stderr
    ):
        pytest.skip(f"cannot install dependencies from the registry: {r.stderr[-300:]}")
    assert r.returncode == 0, r.stderr[-2000:]
    exe = env_dir / "bin" / "topolint"
    r = _run([str(exe), "rules", "--format", "json"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(x["name"] for x in json.loads(r.stdout)) == sorted(x.name for x in catalogue())
    r = _run(
        [
            str(py),
            "-m",
            "topolint",
            "check",
            str(FIXTURES / "talk" / "pipeline.yaml"),
            "--format",
            "json",
        ],
        tmp_path,
    )
    assert r.returncode in (0, 1), r.stderr
    assert "findings" in json.loads(r.stdout)
    r = _run(
        [str(py), "-c", "import topolint.rules, topolint; print(topolint.rules.__file__)"], tmp_path
    )
    assert str(env_dir) in r.stdout, "the installed wheel ships the rules as topolint.rules"
