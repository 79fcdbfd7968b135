"""Hostile files through the real command line: pipes, devices, huge sparse files, broken
configuration and baselines, schema files that try to blow up.

Named pipes come from ``os.mkfifo``, devices from symlinks to ``/dev/zero`` and 3 GB files
from ``truncate`` (sparse), all in ``tmp_path``; none of them may be read for real.  Every
run ends with findings (exit 0/1) or input errors naming their file (exit 2), never a
traceback, an internal error or a hang.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SMALL_TOPOLOGY, run_cli

pytestmark = pytest.mark.skipif(os.name != "posix", reason="named pipes and /dev/zero")

GB3 = 3 * 1024**3
BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)

#: A topology whose message ``frame`` takes its schema from ``schema/frame.<ext>``.
SCHEMA_TOPOLOGY = """\
topolint: 1
name: schemas
runs: continuous
defaults: {{sndbuf: 64kB, rcvbuf: 64kB, linger: 0}}
messages:
  frame: {{max_size: 1kB, schema: {ref}}}
processes:
  camera:
    owner: a
    sockets:
      out: {{type: push, bind: "ipc:///tmp/topolint-hostile-files", sends: frame}}
  worker:
    owner: b
    sockets:
      in: {{type: pull, connect: camera.out, receives: frame}}
"""


def _sparse(path: Path, size: int = GB3) -> Path:
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def _well_behaved(r: subprocess.CompletedProcess[str], *files: str) -> None:
    """Exit 0/1/2, no traceback; every error line starts with one of ``files``."""
    out = r.stdout + r.stderr
    assert r.returncode in (0, 1, 2), out[-2000:]
    assert "Traceback" not in out and "internal error" not in out, out[-2000:]
    if r.returncode == 2:
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert lines, "exit 2 without a message"
        pattern = "|".join(re.escape(f) for f in files)
        for line in lines:
            if line.startswith("topolint: baseline") or line.startswith("topolint: wrote"):
                continue
            assert re.match(rf"({pattern})(:\d+:\d+)?: \S", line), line


def _check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("check", "--format", "json", *args, cwd=cwd, env={"NO_COLOR": "1"})


# --------------------------------------------------------------------------- topologies


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "sparse-3gb"])
def test_named_file_that_is_not_a_bounded_regular_file(tmp_path: Path, kind: str) -> None:
    make = {"fifo": _fifo, "dev-zero": _zero, "sparse-3gb": _sparse}[kind]
    make(tmp_path / "t.yaml")
    r = _check("t.yaml", cwd=tmp_path)
    _well_behaved(r, "t.yaml")
    assert r.returncode == 2
    expected = {
        "fifo": "t.yaml: not a regular file (a named pipe)",
        "dev-zero": "t.yaml: not a regular file (a character device)",
        "sparse-3gb": "t.yaml: file too large (3221225472 bytes",
    }[kind]
    assert expected in r.stderr


def test_scanned_folder_skips_pipes_and_devices(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(SMALL_TOPOLOGY)
    _fifo(tmp_path / "pipe.yaml")
    _zero(tmp_path / "zero.yaml")
    _fifo(tmp_path / "sub.json")
    r = _check(".", cwd=tmp_path)
    _well_behaved(r)
    assert r.returncode == 1, r.stderr
    assert {f["file"] for f in json.loads(r.stdout)["findings"]} == {"ok.yaml"}


def test_named_pipe_with_skip_non_topologies(tmp_path: Path) -> None:
    """Sniffing for a topology marker does not open a pipe either."""
    _fifo(tmp_path / "pipe.yaml")
    r = _check("--skip-non-topologies", "pipe.yaml", cwd=tmp_path)
    _well_behaved(r, "pipe.yaml")
    assert r.returncode == 2 and "not a regular file" in r.stderr


# --------------------------------------------------------------------------- configuration


def _two_projects(tmp_path: Path) -> tuple[Path, Path]:
    bad, good = tmp_path / "bad", tmp_path / "good"
    for d in (bad / "sub", good):
        d.mkdir(parents=True)
    (bad / "sub" / "t.yaml").write_text(SMALL_TOPOLOGY)
    (good / "t.yaml").write_text(SMALL_TOPOLOGY)
    return bad, good


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[tool.topolint]\nselect = ["ALL"]  # caf\xe9\n', "pyproject.toml:2:"),
        (
            b"[tool.topolint]\nrules = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
            "pyproject.toml: invalid TOML: nesting too deep",
        ),
        (
            b"[tool.topolint]\nx = {" + b"a = {" * 100_000 + b"}" * 100_001 + b"\n",
            "pyproject.toml: invalid TOML: nesting too deep",
        ),
        (b"[tool.topolint]\nselect = [\n", "pyproject.toml:3:1: invalid TOML"),
        (b'tool = "[tool.topolint]"\n', "pyproject.toml: invalid configuration: 'tool'"),
        (b"[tool.topolint]\n\x00\x01\x02", "pyproject.toml:"),
    ],
    ids=["latin-1", "deep-array", "deep-table", "unterminated", "tool-not-a-table", "binary"],
)
def test_broken_parent_pyproject_stops_only_the_files_below_it(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    bad, _ = _two_projects(tmp_path)
    (bad / "pyproject.toml").write_bytes(content)
    r = _check("bad/sub/t.yaml", "good/t.yaml", cwd=tmp_path)
    _well_behaved(r, "bad/pyproject.toml")
    assert r.returncode == 2
    assert f"bad/{expected}" in r.stderr
    assert "(1 file below it not checked)" in r.stderr
    files = {f["file"] for f in json.loads(r.stdout)["findings"]}
    assert files == {"good/t.yaml"}, "the other project is still checked"


def test_huge_parent_pyproject_is_not_read(tmp_path: Path) -> None:
    bad, _ = _two_projects(tmp_path)
    _sparse(bad / "pyproject.toml")
    r = _check("bad/sub/t.yaml", "good/t.yaml", cwd=tmp_path)
    _well_behaved(r, "bad/pyproject.toml")
    assert r.returncode == 2
    assert "bad/pyproject.toml: cannot read configuration: file too large" in r.stderr
    assert {f["file"] for f in json.loads(r.stdout)["findings"]} == {"good/t.yaml"}


@pytest.mark.parametrize("name", ["pyproject.toml", ".topolint.yaml"])
@pytest.mark.parametrize("make", [_fifo, _zero], ids=["fifo", "dev-zero"])
def test_configuration_that_is_a_pipe_or_device_is_not_one(
    tmp_path: Path, name: str, make: object
) -> None:
    (tmp_path / "t.yaml").write_text(SMALL_TOPOLOGY)
    make(tmp_path / name)  # type: ignore[operator]
    r = _check("t.yaml", cwd=tmp_path)
    _well_behaved(r)
    assert r.returncode == 1, r.stderr


def test_deep_topolint_yaml(tmp_path: Path) -> None:
    bad, _ = _two_projects(tmp_path)
    (bad / ".topolint.yaml").write_text("select: " + "[" * 100_000 + "]" * 100_000 + "\n")
    r = _check("bad/sub/t.yaml", "good/t.yaml", cwd=tmp_path)
    _well_behaved(r, "bad/.topolint.yaml")
    assert r.returncode == 2 and "nesting deeper than" in r.stderr
    assert {f["file"] for f in json.loads(r.stdout)["findings"]} == {"good/t.yaml"}


def test_broken_config_named_with_option_is_the_whole_run(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(SMALL_TOPOLOGY)
    (tmp_path / "c.toml").write_bytes(b"[tool.topolint]\nselect = ['\xff']\n")
    r = _check("--config", "c.toml", "t.yaml", cwd=tmp_path)
    _well_behaved(r, "c.toml")
    assert r.returncode == 2 and "c.toml:2:" in r.stderr


# --------------------------------------------------------------------------- baselines


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "sparse-3gb"])
def test_baseline_that_is_not_a_bounded_regular_file(tmp_path: Path, kind: str) -> None:
    (tmp_path / "t.yaml").write_text(SMALL_TOPOLOGY)
    {"fifo": _fifo, "dev-zero": _zero, "sparse-3gb": _sparse}[kind](tmp_path / "b.json")
    r = _check("t.yaml", "--baseline", "b.json", cwd=tmp_path)
    _well_behaved(r, "b.json")
    assert r.returncode == 2 and "b.json: cannot read baseline:" in r.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"version": 1, "findings": [\n  {"fingerprint": "x", "file": []}]}', "b.json:2:32: "),
        ('{"findings": [{"fingerprint": "x", "rule": {}}]}', "'rule' must be a string"),
        ('{"findings": [{"fingerprint": 5}]}', "b.json:1:31: "),
        ('{"findings": [{"rule": "x"}]}', "no 'fingerprint' string"),
        ('{"findings": ["x"]}', "finding 0 is not an object"),
        ('{"findings": {"a": 1}}', "expected a 'findings' list"),
        ('{"version": 2, "findings": []}', "unsupported version 2"),
        ("[1, 2]", "b.json: not a topolint baseline file"),
        ("[" * 100_000 + "]" * 100_000, "b.json: not a topolint baseline file: nesting too deep"),
        ('{"findings": [' + "[" * 100_000 + "]" * 100_000 + "]}", "b.json: not a topolint"),
        ('{"findings": [}', "b.json:1:15: not a topolint baseline file: invalid JSON"),
        ('{"findings": [], "x": "caf\xe9"}', "b.json:1:"),
        ("", "b.json:1:1: not a topolint baseline file"),
    ],
)
def test_malformed_baseline(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "t.yaml").write_text(SMALL_TOPOLOGY)
    (tmp_path / "b.json").write_bytes(content.encode("latin-1"))
    r = _check("t.yaml", "--baseline", "b.json", cwd=tmp_path)
    _well_behaved(r, "b.json")
    assert r.returncode == 2 and expected in r.stderr, r.stderr


@pytest.mark.parametrize("make", [_fifo, _zero], ids=["fifo", "dev-zero"])
def test_write_baseline_into_a_pipe_or_device(tmp_path: Path, make: object) -> None:
    (tmp_path / "t.yaml").write_text(SMALL_TOPOLOGY)
    make(tmp_path / "b.json")  # type: ignore[operator]
    r = _check("t.yaml", "--write-baseline", "b.json", cwd=tmp_path)
    _well_behaved(r, "b.json")
    assert r.returncode == 2 and "b.json: cannot write baseline: not a regular file" in r.stderr


# --------------------------------------------------------------------------- schema files


def _limited(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI with a 1.5 GB address-space limit: a blow-up fails the test, not the host."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024**2, 1536 * 1024**2))

    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "TOPOLINT_DEBUG")}
    return subprocess.run(
        [sys.executable, "-m", "topolint", "check", "--format", "json", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=120,
        preexec_fn=limit,
    )


def _schema_finding(tmp_path: Path, name: str, content: bytes | None, make: object = None) -> str:
    """Check a topology whose schema is the file ``name``; return the contract-mismatch
    message at its ``schema:`` key."""
    folder = tmp_path / "schema"
    folder.mkdir()
    target = folder / name
    if make is not None:
        make(target)  # type: ignore[operator]
    else:
        assert content is not None
        target.write_bytes(content)
    (tmp_path / "t.yaml").write_text(SCHEMA_TOPOLOGY.format(ref=f"schema/{name}"))
    r = _limited("--select", "contract-mismatch", "t.yaml", cwd=tmp_path)
    _well_behaved(r)
    assert r.returncode == 1, r.stderr
    (finding,) = json.loads(r.stdout)["findings"]
    assert (finding["rule"], finding["line"]) == ("contract-mismatch", 6)
    return str(finding["message"])


def test_schema_file_billion_laughs(tmp_path: Path) -> None:
    message = _schema_finding(tmp_path, "frame.yaml", BILLION_LAUGHS.encode())
    assert "alias bomb" in message


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("frame.json", b"[" * 100_000 + b"]" * 100_000),
        ("frame.yaml", b"a: " + b"[" * 100_000 + b"]" * 100_000),
        ("frame.schema", b"{" + b'"a": {' * 100_000 + b"}" * 100_001),
    ],
)
def test_schema_file_nested_far_too_deep(tmp_path: Path, name: str, content: bytes) -> None:
    message = _schema_finding(tmp_path, name, content)
    assert "nesting" in message


@pytest.mark.parametrize("make", [_fifo, _zero, _sparse], ids=["fifo", "dev-zero", "sparse"])
def test_schema_file_that_is_not_a_bounded_regular_file(tmp_path: Path, make: object) -> None:
    message = _schema_finding(tmp_path, "frame.json", None, make)
    assert re.search("not a file|outside the project folder|larger than", message), message
