"""``topolint run`` against a hostile machine: planted files, shared folders, crashes, limits.

Through the real command line, each test with a private ``TMPDIR`` under ``tmp_path``:
whatever is planted where runs keep their folders (FIFOs, symlinks to ``/dev/zero``, huge
numbers, garbage, a base folder that is a symlink or someone else's) neither blocks nor
breaks a run, and only folders of provably dead owners are swept; a run in another PID
namespace leaves a live run's folder alone; a child that dies, or a folder removed under a
run, makes the run incomplete (exit 2, no verdicts built on it); open files, memory and
disk space are checked or end in one line with exit 2.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from topolint.executor import resources
from topolint.executor.plan import InstancePlan, Limits, RunPlan, SocketPlan
from topolint.executor.workdir import Owner, current_owner, format_owner, read_owner

GUARD = 60  # seconds: any run here that takes longer is a hang

SMALL = """\
topolint: 1
name: small
messages:
  m: {max_size: 100B}
processes:
  src:
    count: 20
    end_of_data: emit
    sockets:
      out: {type: push, bind: "tcp://*:5555", sends: m}
  sink:
    end_of_data: consume
    sockets:
      in: {type: pull, connect: src.out, receives: m}
"""

#: About 6 s of data at 10/s: long enough to interfere with while it runs.
SLOW = SMALL.replace("count: 20", "count: 60\n    rate: 10/s")


def tmpdir(tmp_path: Path) -> Path:
    t = tmp_path / "t"
    t.mkdir(exist_ok=True)
    return t


def base_of(t: Path) -> Path:
    return t / f"topolint-{os.getuid()}"


def topology(tmp_path: Path, text: str = SMALL) -> Path:
    f = tmp_path / "topo.yaml"
    f.write_text(text)
    return f


def cli(
    t: Path, *args: str, preexec: Callable[[], None] | None = None, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m topolint ARGS`` with ``TMPDIR=t`` (``prefix`` replaces ``-m topolint``)."""
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env["TMPDIR"] = str(t)
    cmd = [sys.executable, *(prefix or ["-m", "topolint"]), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=GUARD, preexec_fn=preexec
    )


def start(t: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env["TMPDIR"] = str(t)
    return subprocess.Popen(
        [sys.executable, "-m", "topolint", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def run_folder_of(t: Path, pid: int, children: int = 2) -> Path:
    """The run folder of supervisor ``pid`` once its ``children`` report."""
    for _ in range(600):
        for d in base_of(t).glob("run-*"):
            owner = read_owner(str(d))
            ready = all((d / f"stats{i}.jsonl").exists() for i in range(children))
            if owner is not None and owner.pid == pid and ready:
                return d
        time.sleep(0.05)
    raise AssertionError("the run's folder never appeared")


def child_pid(folder: Path, idx: int) -> int:
    spec = str(folder / f"spec{idx}.json").encode()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if spec in (p / "cmdline").read_bytes():
                    return int(p.name)
            except OSError:
                continue
    raise AssertionError(f"no child runs {spec!r}")


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


# ---------------------------------------------------------------------------- the folder
def test_the_run_folder_is_private_and_removed_afterwards(tmp_path: Path) -> None:
    t = tmpdir(tmp_path)
    proc = start(t, str(topology(tmp_path, SLOW)), "--timeout", "20", "-f", "json")
    try:
        folder = run_folder_of(t, proc.pid)
        assert stat.S_IMODE(base_of(t).stat().st_mode) == 0o700
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        owner = read_owner(str(folder))
        assert owner is not None and owner.start > 0 and owner.pidns.startswith("pid:")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=GUARD)
    assert proc.returncode == 130
    assert not folder.exists()
    assert list(base_of(t).iterdir()) == []


def _plant(base: Path, name: str) -> Path:
    d = base / name
    d.mkdir(mode=0o700)
    return d


def test_planted_owner_records_never_block_a_run_and_are_left_alone(tmp_path: Path) -> None:
    """The attack: a FIFO, a symlink to /dev/zero, an oversized number, garbage."""
    t = tmpdir(tmp_path)
    base = base_of(t)
    base.mkdir(mode=0o700)
    planted = {
        "fifo": lambda d: os.mkfifo(d / "owner"),
        "zero": lambda d: os.symlink("/dev/zero", d / "owner"),
        "huge": lambda d: (d / "owner").write_text(
            "topolint-run-owner 1\npid " + "9" * 5000 + "\nstart 1\nns x\nboot y\n"
        ),
        "garbage": lambda d: (d / "owner").write_bytes(os.urandom(4096)),
        "old": lambda d: (d / "owner").write_text("99999999"),
        "dir": lambda d: (d / "owner").mkdir(),
        "none": lambda d: None,
    }
    folders = []
    for name, make in planted.items():
        d = _plant(base, f"run-{name}")
        make(d)
        folders.append(d)
    os.symlink("/", base / "run-link")  # a symlinked run folder: never followed
    old = t / "topolint-run-legacy"  # the old layout, writable by anyone: ignored
    old.mkdir()
    os.mkfifo(old / "owner.pid")
    t0 = time.monotonic()
    r = cli(t, "run", str(topology(tmp_path)), "--timeout", "10", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 30
    report = json.loads(r.stdout)
    assert report["terminated"] and not report["incomplete"]
    for d in folders:
        assert d.exists(), d
    assert (base / "run-link").is_symlink() and old.exists()


def _record(folder: Path, owner: Owner) -> None:
    folder.mkdir(mode=0o700)
    (folder / "owner").write_text(format_owner(owner))


def test_only_folders_of_provably_dead_owners_are_swept(tmp_path: Path) -> None:
    me = current_owner()
    assert me is not None
    t = tmpdir(tmp_path)
    base = base_of(t)
    base.mkdir(mode=0o700)
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = base / "run-dead"
    _record(dead, Owner(gone.pid, 1, me.pidns, me.boot))
    reused = base / "run-reused"  # this test's pid, but another start time: pid reused
    _record(reused, Owner(me.pid, me.start + 1, me.pidns, me.boot))
    alive = base / "run-alive"
    _record(alive, me)
    other_ns = base / "run-other-namespace"  # its pid means nothing here
    _record(other_ns, Owner(gone.pid, 1, "pid:[1]", me.boot))
    other_boot = base / "run-other-boot"
    _record(other_boot, Owner(gone.pid, 1, me.pidns, "another-boot"))
    r = cli(t, "run", str(topology(tmp_path)), "--timeout", "10")
    assert r.returncode == 0, r.stderr
    assert not dead.exists() and not reused.exists()
    assert alive.exists() and other_ns.exists() and other_boot.exists()


@pytest.mark.parametrize("kind", ["symlink", "file", "foreign"])
def test_an_unsafe_base_folder_is_refused(tmp_path: Path, kind: str) -> None:
    t = tmpdir(tmp_path)
    base = base_of(t)
    target = tmp_path / "elsewhere"
    target.mkdir()
    if kind == "symlink":
        base.symlink_to(target)
    elif kind == "file":
        base.write_text("")
    else:
        if os.getuid() != 0:
            pytest.skip("creating a folder owned by someone else needs root")
        base.mkdir(mode=0o777)
        os.chown(base, 12345, 12345)
    r = cli(t, "run", str(topology(tmp_path)), "--timeout", "5")
    line = one_line_error(r)
    assert str(base) in line and "refusing" in line
    assert list(target.iterdir()) == []


def test_a_base_folder_of_ours_with_loose_permissions_is_made_private(tmp_path: Path) -> None:
    t = tmpdir(tmp_path)
    base = base_of(t)
    base.mkdir()
    base.chmod(0o777)
    r = cli(t, "run", str(topology(tmp_path)), "--timeout", "10")
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(base.stat().st_mode) == 0o700


def test_a_run_in_another_pid_namespace_leaves_a_live_runs_folder_alone(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rpf", "--mount-proc", "true"]).returncode:
        pytest.skip("no unprivileged PID namespaces here")
    t = tmpdir(tmp_path)
    f = topology(tmp_path, SLOW)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    live = start(t, str(f), "--timeout", "30", "-f", "json")
    try:
        folder = run_folder_of(t, live.pid)
        other = cli(
            t, "run", str(topology(other_dir)), "--timeout", "10",
            prefix=["-c", "import os, sys; os.execvp(sys.argv[1], sys.argv[1:])",
                    unshare, "-rpf", "--mount-proc", sys.executable, "-m", "topolint"],
        )  # fmt: skip
        assert other.returncode == 0, other.stderr
        still_running = live.poll() is None
        assert folder.exists()
        out, err = live.communicate(timeout=GUARD)
    finally:
        if live.poll() is None:
            live.kill()
            live.wait()
    assert still_running, "the live run ended before the other one swept: inconclusive"
    assert live.returncode == 0, err
    report = json.loads(out)
    assert report["terminated"] and not report["incomplete"]


# ---------------------------------------------------------------------------- crashes
def test_a_removed_run_folder_makes_the_run_incomplete(tmp_path: Path) -> None:
    t = tmpdir(tmp_path)
    proc = start(t, str(topology(tmp_path, SLOW)), "--timeout", "20", "-f", "json")
    try:
        folder = run_folder_of(t, proc.pid)
        shutil.rmtree(folder)
        out, err = proc.communicate(timeout=GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, err
    assert "RUN INCOMPLETE" in err and "was removed" in err
    report = json.loads(out)
    assert report["incomplete"] and report["stop_reason"] == "run folder removed"
    assert report["verdicts"] == []
    assert {v["rule"] for v in report["withheld_verdicts"]} <= set(report["not_exercised"])


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL])
def test_a_child_killed_by_a_signal_is_reported_and_nothing_is_claimed(
    tmp_path: Path, sig: signal.Signals
) -> None:
    t = tmpdir(tmp_path)
    proc = start(t, str(topology(tmp_path, SLOW)), "--timeout", "20")
    try:
        folder = run_folder_of(t, proc.pid)
        os.kill(child_pid(folder, 0), sig)  # the source
        out, err = proc.communicate(timeout=GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, out + err
    assert f"src died: killed by {sig.name}" in err
    assert f"process src crashed: killed by {sig.name}" in out
    # the sink never gets its end-of-data: without the crash that would confirm things
    assert "confirmed" not in out and "every instance got its end-of-data" not in out
    assert "withheld" in out and "no-end-timeout" in out
    assert not folder.exists()


# ---------------------------------------------------------------------------- limits
def _many_sockets(n: int) -> str:
    outs = "\n".join(
        f"      o{i}: {{type: push, bind: 'tcp://*:{6000 + i}', sends: m}}" for i in range(n)
    )
    ins = "\n".join(f"      i{i}: {{type: pull, connect: src.o{i}, receives: m}}" for i in range(n))
    return (
        "topolint: 1\nname: wide\nmessages:\n  m: {max_size: 64B}\nprocesses:\n"
        f"  src:\n    count: 3\n    end_of_data: emit\n    sockets:\n{outs}\n"
        f"  sink:\n    end_of_data: consume\n    sockets:\n{ins}\n"
    )


def _nofile(soft: int, hard: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_more_sockets_than_the_open_file_limit_are_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    t = tmpdir(tmp_path)
    f = topology(tmp_path, _many_sockets(40))
    r = cli(t, "run", str(f), "--timeout", "10", preexec=_nofile(96, 96))
    line = one_line_error(r)
    assert "RLIMIT_NOFILE" in line and "96" in line and "40 sockets" in line
    assert not base_of(t).exists() or list(base_of(t).iterdir()) == []


def test_the_soft_open_file_limit_is_raised_when_the_hard_one_allows(tmp_path: Path) -> None:
    t = tmpdir(tmp_path)
    f = topology(tmp_path, _many_sockets(40))
    r = cli(t, "run", str(f), "--timeout", "20", "-f", "json", preexec=_nofile(96, 4096))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert any("open-file limit raised from 96" in n for n in report["notes"])
    assert not report["incomplete"]


#: The real CLI entry point with the open-file pre-check switched off, to reach EMFILE.
NO_FILE_CHECK = [
    "-c",
    "import sys; import topolint.executor.resources as r; r.check_files = lambda plan: []; "
    "from topolint.cli import main; sys.argv[0] = 'topolint'; main()",
]


def test_running_out_of_open_files_is_one_line(tmp_path: Path) -> None:
    t = tmpdir(tmp_path)
    f = topology(tmp_path, _many_sockets(70))  # the supervisor holds a port per bind
    r = cli(t, "run", str(f), "--timeout", "10", preexec=_nofile(64, 64), prefix=NO_FILE_CHECK)
    line = one_line_error(r)
    assert "too many open files (EMFILE)" in line and "RLIMIT_NOFILE" in line


def test_a_full_tmpdir_is_one_line(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rm", "true"]).returncode:
        pytest.skip("no unprivileged mount namespaces here")
    t = tmpdir(tmp_path)
    f = topology(tmp_path)
    script = (
        f"mount -t tmpfs -o size=4k tmpfs {t} && "
        f"exec {sys.executable} -m topolint run {f} --timeout 10"
    )
    r = subprocess.run(
        [unshare, "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(t)},
        timeout=GUARD,
    )
    line = one_line_error(r)
    assert "no space left" in line and "ENOSPC" in line and "TMPDIR" in line


# ---------------------------------------------------------------------------- memory
#: The attack: 64 instances, 1 MiB messages, HWM 0, slow sinks (8 GB in 13 s before).
FLOOD = "topolint: 1\nname: flood\nmessages:\n  big: {max_size: 1MiB}\nprocesses:\n" + "".join(
    f"  src{i}:\n    count: 200\n    end_of_data: emit\n    sockets:\n"
    f"      out: {{type: push, bind: 'tcp://*:{7000 + i}', sends: big, sndhwm: 0}}\n"
    f"  sink{i}:\n    sockets:\n"
    f"      in: {{type: pull, connect: src{i}.out, receives: big, rcvhwm: 0}}\n"
    for i in range(32)
)


def test_a_tree_above_the_memory_budget_is_refused_before_it_starts(tmp_path: Path) -> None:
    t = tmpdir(tmp_path)
    f = topology(tmp_path, FLOOD)  # even one message per source does not fit 200 MiB
    r = cli(t, "run", str(f), "--timeout", "10", "--max-memory", "200MiB")
    line = one_line_error(r)
    assert "static memory bound" in line and "--max-memory" in line and "MiB" in line
    assert not base_of(t).exists() or list(base_of(t).iterdir()) == []
    r = cli(t, "run", str(topology(tmp_path)), "--timeout", "10", "--max-memory", "64MiB")
    line = one_line_error(r)
    assert "above the memory budget of 64.0 MiB" in line
    r = cli(t, "run", str(topology(tmp_path)), "--max-memory", "lots")
    assert r.returncode == 2 and "--max-memory" in r.stderr


#: The real CLI entry point with the static estimate's per-process baselines set to zero,
#: so that the budget is only caught by sampling the tree while it runs.
NO_BASELINE = [
    "-c",
    "import sys; import topolint.executor.resources as r; "
    "r.SUPERVISOR_BASELINE = r.CHILD_BASELINE = 0; "
    "from topolint.cli import main; sys.argv[0] = 'topolint'; main()",
]


def test_a_tree_growing_past_the_budget_is_stopped_cleanly(tmp_path: Path) -> None:
    t = tmpdir(tmp_path)
    f = topology(tmp_path, SLOW)
    r = cli(t, "run", str(f), "--timeout", "20", "-f", "json", "--max-memory", "8MiB",
            prefix=NO_BASELINE)  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "RUN INCOMPLETE: memory budget exceeded" in r.stderr
    report = json.loads(r.stdout)
    assert report["stop_reason"] == "memory budget exceeded"
    assert report["duration_s"] < 3
    assert report["memory"]["peak_tree_rss"] > report["memory"]["budget"] == 8 << 20
    assert report["verdicts"] == []
    assert list(base_of(t).iterdir()) == []


def test_the_default_budget_and_the_static_bound_are_reported(tmp_path: Path) -> None:
    t = tmpdir(tmp_path)
    r = run_cli("run", str(topology(tmp_path)), "--timeout", "10", "-f", "json",
                env={"TMPDIR": str(t)})  # fmt: skip
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)["memory"]
    assert m["budget"] == resources.default_budget() <= 4 << 30
    assert 0 < m["peak_tree_rss"] <= m["static_bound"] <= m["budget"]


# ---------------------------------------------------------------------------- options
def test_libzmq_int_options_beyond_range_are_clamped_with_a_note() -> None:
    """The loader refuses these in files; a plan built by hand is clamped, not crashed."""
    sock = SocketPlan(
        "out",
        "push",
        options={
            "sndhwm": 2**31,
            "rcvhwm": 10**20,
            "sndbuf": 10**12,
            "linger": 10**12,
            "maxmsgsize": 2**70,
        },
    )
    plan = RunPlan("p", [InstancePlan("a", "a", [sock])], limits=Limits())
    notes = resources.realise_options(plan)
    assert sock.options == {
        "sndhwm": 2**31 - 1,
        "rcvhwm": 2**31 - 1,
        "sndbuf": 2**31 - 1,
        "linger": -1,
        "maxmsgsize": -1,
    }
    assert len(notes) == 5 and all("C int range" in n for n in notes)
    sock.options = {"sndhwm": -5}
    with pytest.raises(resources.ResourceError, match="sndhwm -5"):
        resources.realise_options(plan)
    sock.options = {"linger": "forever"}
    with pytest.raises(resources.ResourceError, match="not an integer"):
        resources.realise_options(plan)
