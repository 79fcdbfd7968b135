#!/usr/bin/env python3
"""Time and peak memory of ``topolint check`` / ``analyze`` on generated topologies.

Every measurement is a fresh ``python`` process (what a user or a pre-commit hook pays),
timed wall-clock with its CPU time and peak resident memory taken from ``wait4``'s rusage.
Each cell is the median of ``--runs`` runs.  Sizes are process instances: 90 is the talk's
job (``fixtures/talk/reconstruction.yaml``); the others come from ``benchmarks/generate.py``
(about three channels per process).

    python benchmarks/perf.py                          # every size, every command, 5 runs
    python benchmarks/perf.py --sizes 90,1000 --runs 9 # the small sizes only
    python benchmarks/perf.py --commands check --sizes 30000 --runs 3

Commands:

* ``floor``: ``python -c "import click, yaml, networkx, jsonschema"`` — the libraries a
  check needs, nothing of topolint; ``python``: ``python -c pass``;
* ``check``: ``python -m topolint check FILE`` (text report to /dev/null);
* ``analyze``: ``python -m topolint analyze FILE``;
* ``check-jsonschema``: ``check-jsonschema --schemafile <topolint schema> FILE``, the
  plain schema validation users would otherwise reach for (no rules at all).

The table is Markdown, ready for ``docs/performance.md``.  The commands of one size run
round-robin (run 1 of each, run 2 of each, ...), so that load from elsewhere hits them
alike; the first size gets one unmeasured warm-up round; the children run with byte-code
caching on (as an installed package has it), whatever ``PYTHONDONTWRITEBYTECODE`` says.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.generate import detectors_for, generate  # noqa: E402

TALK = ROOT / "fixtures" / "talk" / "reconstruction.yaml"
SIZES = (90, 1000, 10_000, 30_000)
COMMANDS = ("python", "floor", "check", "analyze", "check-jsonschema")
FLOOR_IMPORTS = "import click, yaml, networkx, jsonschema"


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # user + system seconds
    rss_kb: int  # peak resident set size
    code: int


def _env() -> dict[str, str]:
    # Byte-code caching as an installed package has it (pip compiles on install): a
    # PYTHONDONTWRITEBYTECODE in the environment would recompile topolint on every run.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


def measure(argv: list[str], timeout: float) -> Sample:
    """Run ``argv`` once, output discarded; wall time, CPU time and peak RSS of the child."""
    env = _env()
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=env
    )
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            raise TimeoutError(f"{' '.join(argv)} took longer than {timeout:.0f} s")
        time.sleep(0.002)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err.strip()[-400:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode)


def topology_file(size: int, folder: Path) -> tuple[Path, int, int]:
    """The file for ``size`` processes and its (processes, channels) from its header."""
    if size == 90:
        path = TALK
    else:
        path = folder / f"reconstruction-{size}.yaml"
        if not path.exists():
            path.write_text(generate(detectors_for(size)), encoding="utf-8")
    head = path.read_text(encoding="utf-8").split("\n", 2)[1]
    # "# 4 clusterers each): 30002 processes, 96919 channels."
    words = head.replace(",", "").split()
    processes = int(words[words.index("processes") - 1])
    channels = int(words[words.index("channels.") - 1])
    return path, processes, channels


def argv_for(command: str, file: Path, schema: Path) -> list[str]:
    py = sys.executable
    if command == "python":
        return [py, "-c", "pass"]
    if command == "floor":
        return [py, "-c", FLOOR_IMPORTS]
    if command == "check":
        return [py, "-m", "topolint", "check", str(file)]
    if command == "analyze":
        return [py, "-m", "topolint", "analyze", str(file)]
    if command == "check-jsonschema":
        exe = shutil.which("check-jsonschema")
        if exe is None:
            raise SystemExit("check-jsonschema is not installed (pip install check-jsonschema)")
        return [exe, "--schemafile", str(schema), str(file)]
    raise ValueError(command)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; load average at start {load:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=900.0, help="per run, seconds")
    ap.add_argument("--keep", type=Path, help="keep generated files in this folder")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    commands = [c for c in args.commands.split(",") if c]
    for c in commands:
        if c not in COMMANDS:
            ap.error(f"unknown command {c!r}; expected some of {', '.join(COMMANDS)}")

    with tempfile.TemporaryDirectory(prefix="topolint-perf-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        schema = folder / "topology.schema.json"
        schema.write_bytes(
            subprocess.run(
                [sys.executable, "-m", "topolint", "schema"],
                check=True,
                capture_output=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            ).stdout
        )
        print(f"Machine: {machine()}. Median of {args.runs} runs.\n")
        print(
            "| processes | channels | file | command | wall s (median) | min–max s "
            "| CPU s | peak RSS MiB | × floor (wall) | × floor (CPU) |"
        )
        print("| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        floor: float | None = None
        floor_cpu: float | None = None
        for size in sizes:
            file, processes, channels = topology_file(size, folder)
            kb = file.stat().st_size / 1024
            here = [c for c in commands if size == sizes[0] or c not in ("python", "floor")]
            argvs = {c: argv_for(c, file, schema) for c in here}
            if size == sizes[0]:
                for c in here:  # warm-up: byte code and file caches
                    measure(argvs[c], args.timeout)
            # Round-robin: a burst of load elsewhere hits every command alike, not one.
            samples: dict[str, list[Sample]] = {c: [] for c in here}
            for _ in range(args.runs):
                for c in here:
                    samples[c].append(measure(argvs[c], args.timeout))
            for command in here:
                got = samples[command]
                wall = statistics.median(s.wall for s in got)
                cpu = statistics.median(s.cpu for s in got)
                rss = max(s.rss_kb for s in got) / 1024
                if command == "floor":
                    floor, floor_cpu = wall, cpu
                ratio = f"{wall / floor:.2f}" if floor and command != "python" else ""
                ratio_cpu = f"{cpu / floor_cpu:.2f}" if floor_cpu and command != "python" else ""
                shown = "—" if command in ("python", "floor") else f"{kb:,.0f} kB"
                print(
                    f"| {processes:,} | {channels:,} | {shown} | {command} | {wall:.3f} "
                    f"| {min(s.wall for s in got):.3f}–{max(s.wall for s in got):.3f} "
                    f"| {cpu:.3f} | {rss:.0f} | {ratio} | {ratio_cpu} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
