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


# --------------------------------------------------------------------------- scale


def _naive_suppress(findings: list, sites: list, *, explicit_only: bool = False) -> list:
    """The former matching (every finding against every site): the reference."""
    from topolint.lint.engine import _BLANKET, _selects

    kept = []
    for f in findings:
        suppressed = False
        for site in sites:
            if not site.covers(f):
                continue
            if not site.names:
                if explicit_only:
                    continue
                site.used.add("")
                suppressed = True
            for name in site.names:
                if explicit_only and name.strip() in _BLANKET:
                    continue
                if name and _selects(f, name):
                    site.used.add(name)
                    suppressed = True
        if not suppressed:
            kept.append(f)
    return kept


def test_indexed_suppression_matches_the_reference() -> None:
    """Every form of suppression, several per line and per element, on findings of many
    rules (meta ones included): the same findings kept and the same names marked used."""
    import itertools

    from topolint.lint.context import Context
    from topolint.lint.engine import (
        IGNORE_KEY,
        Settings,
        _collect,
        _suppress,
        catalogue,
        loads,
        suppression_sites,
    )
    from topolint.lint.graph import build_graph

    comments = itertools.cycle(
        [
            "# topolint: ignore[dead-output] ok",
            "# topolint: ignore",
            "# topolint: ignore[all]",
            "# topolint: ignore[TL1, hardcoded-endpoint]",
            "# topolint: ignore[wiring]",
            "# topolint: ignore[no-such-rule]",
            "# topolint: ignore[unused-suppression, TL5]",
            "",
        ]
    )
    lines = []
    for line in SMALL_TOPOLOGY.splitlines():
        c = next(comments) if line.startswith("    ") else ""
        lines.append(f"{line}  {c}" if c else line)
    lines.append("  # topolint: ignore-file[kernel-buffer-unpinned]")
    for i in range(30):
        lines += [
            f"  extra{i}:",
            f"    {IGNORE_KEY}: {['dead-output', 'all', 'TL5', 'x'][i % 4]}" if i % 3 else "",
            "    sockets:",
            f'      out: {{type: pub, bind: "tcp://10.0.0.{i}:7{i:03}", sends: frame}}  '
            + next(comments),
        ]
    text = "\n".join(line for line in lines if line) + "\n"
    topo = loads(text, "t.yaml")
    ctx = Context(topo, build_graph(topo))
    rules = list(catalogue())
    findings = _collect(rules, ctx, Settings(use_environ=False), set())
    import dataclasses

    findings += [dataclasses.replace(f, rule="unused-suppression") for f in findings[::2]]
    assert len({f.rule for f in findings}) >= 4
    for explicit_only in (False, True):
        fast_sites = suppression_sites(topo.document)
        slow_sites = suppression_sites(topo.document)
        fast = _suppress(findings, fast_sites, explicit_only=explicit_only)
        slow = _naive_suppress(findings, slow_sites, explicit_only=explicit_only)
        assert fast == slow
        assert [s.used for s in fast_sites] == [s.used for s in slow_sites]
        assert any(s.used for s in fast_sites)


def test_forty_thousand_suppression_comments_in_seconds(tmp_path: Path) -> None:
    """Matching was quadratic: 40,000 comments took 91 s of CPU; now about 2 s (and
    ``unused-suppression`` reports at most its per-file cap of them)."""
    import time

    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "suppressions.py"), "40000", "-o", "s.yaml"],
        cwd=tmp_path,
        check=True,
    )
    start = time.monotonic()
    r = _check("s.yaml", cwd=tmp_path)
    elapsed = time.monotonic() - start
    _well_behaved(r)
    findings = json.loads(r.stdout)["findings"]
    assert sum(f["rule"] == "unused-suppression" for f in findings) >= 1_000
    assert elapsed < 45, f"{elapsed:.1f} s"


def test_rename_targets_ties_and_preferences() -> None:
    """The indexed rename search keeps the old rule: the best-scoring look-alike wins (both
    endpoints and message types over endpoints over message types); a tie is no rename."""
    from topolint.commands.diff import diff_topologies
    from topolint.lint.engine import loads

    def topo(sockets: str) -> str:
        return (
            "topolint: 1\nname: r\nmessages: {a: {max_size: 1kB}, b: {max_size: 1kB}}\n"
            f"processes:\n  p:\n    sockets:\n{sockets}"
        )

    old = topo('      s: {type: push, bind: "tcp://*:1", sends: a}\n')

    def renamed(new_sockets: str) -> dict[str, str]:
        changes = diff_topologies(loads(old, "old.yaml"), loads(topo(new_sockets), "new.yaml"))
        return {c.element: c.kind for c in changes if c.kind.startswith("socket-")}

    both = '      both: {type: push, bind: "tcp://*:1", sends: a}\n'
    ends = '      ends: {type: push, bind: "tcp://*:1", sends: b}\n'
    msg = '      msg: {type: push, bind: "tcp://*:2", sends: a}\n'
    other = '      other: {type: pull, bind: "tcp://*:1", receives: a}\n'
    assert renamed(both + ends + msg)["processes.p.sockets.both"] == "socket-renamed"
    assert renamed(ends + msg)["processes.p.sockets.ends"] == "socket-renamed"
    assert renamed(msg + other)["processes.p.sockets.msg"] == "socket-renamed"
    tie = renamed(ends + ends.replace("  ends:", "  ends2:"))
    assert tie["processes.p.sockets.s"] == "socket-removed"
    assert set(tie.values()) == {"socket-removed", "socket-added"}
    assert renamed(other)["processes.p.sockets.s"] == "socket-removed"
