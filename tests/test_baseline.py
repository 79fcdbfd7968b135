"""``--write-baseline`` / ``--baseline``: adopt topolint on existing files, fail only on new
findings, list the fixed ones.  Through the real command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import SMALL_TOPOLOGY, run_cli

#: Two warnings: dead-output on camera.preview and hardcoded-endpoint on worker.in.
TOPOLOGY = SMALL_TOPOLOGY


def _json(r: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    return [(f["rule"], f["element"]) for f in json.loads(r.stdout)["findings"]]


def test_baseline_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "topo" / "t.yaml"
    src.parent.mkdir()
    src.write_text(TOPOLOGY)
    base = tmp_path / "topolint-baseline.json"

    # Record today's findings: the run succeeds, the file lists both
    r = run_cli("check", "topo", "--write-baseline", str(base), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "wrote 2 finding(s) to baseline" in r.stderr
    data = json.loads(base.read_text())
    assert data["version"] == 1
    assert [(e["rule"], e["file"]) for e in data["findings"]] == [
        ("dead-output", "topo/t.yaml"),
        ("hardcoded-endpoint", "topo/t.yaml"),
    ]
    assert all("line" not in e for e in data["findings"])  # fingerprints ignore lines

    # Nothing new: passes, says what it knows
    r = run_cli("check", "topo", "--baseline", str(base), "--format", "json", cwd=tmp_path)
    assert r.returncode == 0 and _json(r) == [], r.stdout + r.stderr
    assert "2 known, 0 new, 0 fixed" in r.stderr

    # Lines move (a comment and a new process above): still known
    moved = TOPOLOGY.replace(
        "processes:\n",
        "processes:\n  # the logger came first\n  logger:\n    sockets: {}\n",
    )
    src.write_text(moved)
    r = run_cli("check", "topo", "--baseline", str(base), cwd=tmp_path)
    assert r.returncode == 0, r.stdout
    assert "All checks passed." in r.stdout

    # A new problem: exit 1, naming only it
    new = moved.replace(
        "      in: {type: pull",
        '      debug: {type: pub, bind: "tcp://127.0.0.1:7002", sends: frame}\n'
        "      in: {type: pull",
    )
    src.write_text(new)
    r = run_cli("check", "topo", "--baseline", str(base), "--format", "json", cwd=tmp_path)
    assert r.returncode == 1
    assert _json(r) == [("dead-output", "processes.worker.sockets.debug")]
    summary = json.loads(r.stdout)["summary"]["baseline"]
    assert (summary["known"], summary["new"], summary["fixed"]) == (2, 1, [])
    r = run_cli("check", "topo", "--baseline", str(base), cwd=tmp_path)
    assert r.returncode == 1
    assert "worker.debug" in r.stdout and "camera.preview" not in r.stdout

    # Fix one: listed as fixed; the new one still fails
    fixed = new.replace("tcp://build-01:7000", "tcp://${CAMERA_HOST:-build-01}:7000")
    src.write_text(fixed)
    r = run_cli("check", "topo", "--baseline", str(base), "--format", "json", cwd=tmp_path)
    assert r.returncode == 1
    assert _json(r) == [("dead-output", "processes.worker.sockets.debug")]
    gone = json.loads(r.stdout)["summary"]["baseline"]["fixed"]
    assert [(e["rule"], e["element"]) for e in gone] == [
        ("hardcoded-endpoint", "processes.worker.sockets.in.connect")
    ]
    assert "fixed: topo/t.yaml: hardcoded-endpoint processes.worker.sockets.in.connect" in r.stderr


def test_baseline_works_from_another_folder_and_for_a_subset_of_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(TOPOLOGY)
    (tmp_path / "b.yaml").write_text(TOPOLOGY.replace("name: small", "name: other"))
    base = tmp_path / "baseline.json"
    r = run_cli("check", ".", "--write-baseline", str(base), cwd=tmp_path)
    assert r.returncode == 0 and "wrote 4 finding(s)" in r.stderr
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    # paths are relative to the baseline's folder, not to the working directory
    r = run_cli("check", "../a.yaml", "--baseline", str(base), cwd=sub)
    assert r.returncode == 0, r.stdout + r.stderr
    # only the checked file can tell what is fixed (pre-commit passes the changed files)
    assert "2 known, 0 new, 0 fixed" in r.stderr


def test_bad_baseline_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TOPOLOGY)
    (tmp_path / "b.json").write_text('{"something": "else"}')
    r = run_cli("check", "t.yaml", "--baseline", "b.json", cwd=tmp_path)
    assert r.returncode == 2 and "b.json: not a topolint baseline file" in r.stderr
    r = run_cli("check", "t.yaml", "--baseline", "missing.json", cwd=tmp_path)
    assert r.returncode == 2 and "cannot read baseline" in r.stderr
