"""Hostile input through the real command line: never a traceback, a hang or a blow-up.

Every file of ``tests/hostile/`` (see its README) and a few inputs made here are checked
with ``python -m topolint check`` in a subprocess that has a timeout and an address-space
limit.  Each must end in findings (exit 0/1) or one clear input error (exit 2, with
``file:line:col:`` or ``file:`` in front of it).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import resource
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "hostile"
FILES = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")
TIMEOUT = 90  # seconds, far above what any of these takes; a hang fails instead of blocking
MEMORY = 2_500 * 1024 * 1024  # address space of the child

#: Files whose outcome is known: exit code and a fragment of stderr (exit 2) or None.
EXPECT: dict[str, tuple[int, str | None]] = {
    "billion-laughs.yaml": (2, "alias bomb"),
    "billion-laughs-keys.yaml": (2, "alias bomb"),
    "object-tag.yaml": (2, "unsupported tag"),
    "object-tag-nested.yaml": (2, "unsupported tag"),
    "set-and-binary-tags.yaml": (2, "unsupported tag"),
    "duplicate-keys.yaml": (2, "duplicate key 'camera' (first defined at line 5)"),
    "duplicate-keys-normalised.yaml": (2, "duplicate key"),
    "merge-key.yaml": (2, "merge keys"),
    "deep-sequence.yaml": (2, "nesting deeper than"),
    "deep-mapping.yaml": (2, "nesting deeper than"),
    "deep-block.yaml": (2, "nesting deeper than"),
    "deep.json": (2, "nesting too deep"),
    "binary.yaml": (2, "binary file"),
    "binary-late-nul.yaml": (2, "unacceptable character"),
    "empty.yaml": (2, "empty file"),
    "whitespace.yaml": (2, "empty file"),
    "latin1.yaml": (2, "not valid UTF-8"),
    "utf16le-nobom.yaml": (2, "UTF-16"),
    "giant-integer.yaml": (2, "invalid value"),
    "unknown-units.yaml": (2, "parsecs"),
    "replicas-explosion.yaml": (2, "connections"),
    "utf16-bom.yaml": (1, None),
    "utf32.yaml": (1, None),
    "bom-utf8.yaml": (1, None),
}


def _limit() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def check(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "TOPOLINT_DEBUG")}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "topolint", "check", *map(str, args)],
        capture_output=True,
        text=True,
        errors="replace",
        cwd=cwd,
        env=env,
        timeout=TIMEOUT,
        preexec_fn=_limit,
    )


def assert_well_behaved(r: subprocess.CompletedProcess[str], *files: str) -> None:
    """Exit 0/1/2, no traceback, no internal error; an input error names its file first."""
    out = r.stdout + r.stderr
    assert r.returncode in (0, 1, 2), out[-2000:]
    assert "Traceback" not in out, out[-4000:]
    assert "internal error" not in r.stderr, r.stderr[-2000:]
    if r.returncode == 2:
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert lines, "exit 2 without a message"
        pattern = "|".join(re.escape(f) for f in files)
        for line in lines:
            assert re.match(rf"({pattern})(:\d+:\d+)?: \S", line), line


def rel(path: Path) -> str:
    return os.path.relpath(path, ROOT)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file(path: Path) -> None:
    r = check(rel(path))
    assert_well_behaved(r, rel(path))
    if path.name in EXPECT:
        code, fragment = EXPECT[path.name]
        assert r.returncode == code, r.stdout[-1000:] + r.stderr[-1000:]
        if fragment is not None:
            assert fragment in r.stderr, r.stderr
    if r.returncode == 2:
        first = r.stderr.splitlines()[0]
        assert len(first) < 600, "an input error is one short line"


def test_whole_corpus_in_one_run() -> None:
    """One bad file does not stop the others: every error is reported, one line each."""
    files = [rel(p) for p in FILES]
    r = check(*files)
    assert_well_behaved(r, *files)
    assert r.returncode == 2
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    named = {f for f in files if any(line.startswith(f + ":") for line in errors)}
    assert {rel(CORPUS / n) for n, (code, _) in EXPECT.items() if code == 2} <= named
    assert len(errors) == len(named), "one line per file"
    assert "input error" in r.stdout  # the summary does not pass it off as clean


def test_object_tag_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    f = tmp_path / "t.yaml"
    f.write_text(
        f'topolint: 1\nname: !!python/object/apply:os.system ["touch {marker}"]\n'
        "processes: {p: {sockets: {o: {type: push, bind: 'tcp://*:1'}}}}\n"
    )
    r = check(f)
    assert_well_behaved(r, str(f))
    assert r.returncode == 2
    assert not marker.exists()


@pytest.mark.parametrize("depth", [100_000, 1_000_000])
def test_nesting_far_past_the_c_stack(tmp_path: Path, depth: int) -> None:
    """libyaml's composer recursed in C (a segfault near 50,000 levels) and its scanner is
    quadratic in the flow depth: refused at the first level too deep, in linear time."""
    f = tmp_path / "deep.yaml"
    f.write_text(
        "topolint: 1\nname: deep\nprocesses: {p: {x: " + "[" * depth + "]" * depth + "}}\n"
    )
    r = check(f)
    assert_well_behaved(r, str(f))
    assert r.returncode == 2 and "nesting deeper than" in r.stderr
    assert re.match(rf"{re.escape(str(f))}:3:\d+: ", r.stderr)


def test_deep_block_nesting(tmp_path: Path) -> None:
    f = tmp_path / "deep-block.yaml"
    f.write_text("topolint: 1\nname: d\nprocesses:\n  p:\n    x:\n      " + "- " * 300_000 + "1\n")
    r = check(f)
    assert_well_behaved(r, str(f))
    assert r.returncode == 2 and "nesting deeper than" in r.stderr


def test_file_too_large_is_not_read(tmp_path: Path) -> None:
    f = tmp_path / "huge.yaml"
    with open(f, "wb") as fh:  # sparse: costs no disk
        fh.truncate(65 * 1024 * 1024)
    r = check(f)
    assert_well_behaved(r, str(f))
    assert r.returncode == 2 and "too large" in r.stderr


def test_symlink_loops_in_a_folder_scan(tmp_path: Path) -> None:
    top = tmp_path / "repo"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "up").symlink_to(top, target_is_directory=True)  # loop through ..
    (top / "self").symlink_to(top / "self")  # a link to itself
    (top / "a" / "ring1").symlink_to(top / "a" / "ring2")
    (top / "a" / "ring2").symlink_to(top / "a" / "ring1")
    (top / "dangling.yaml").symlink_to(top / "missing.yaml")
    good = top / "a" / "t.yaml"
    good.write_text(
        "topolint: 1\nname: t\nprocesses:\n"
        "  p: {owner: me, sockets: {o: {type: push, bind: 'tcp://127.0.0.1:1'}}}\n"
    )
    r = check(top)
    assert_well_behaved(r, str(top / "dangling.yaml"))
    assert r.stdout.count(f"{good}:") <= r.stdout.count("\n")  # checked, and only once
    assert "up/" not in r.stdout and "up/" not in r.stderr


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"type": "object", "required": ["secret"]}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def schema_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_schema_refs_are_never_fetched_nor_read(
    tmp_path: Path, schema_server: tuple[str, list[str]]
) -> None:
    url, hits = schema_server
    secret = tmp_path / "secret.json"
    token = "TOKEN-4d1f-never-shown"
    secret.write_text('{"type": "object", "required": ["' + token + '"]}')
    folder = tmp_path / "topo"
    folder.mkdir()
    (folder / "link.json").symlink_to(secret)
    f = folder / "t.yaml"
    f.write_text(
        "topolint: 1\nname: refs\nmessages:\n"
        "  e: {max_size: 1kB, key: id, schema: '../secret.json'}\n"
        "  f: {max_size: 1kB, key: id, schema: 'link.json'}\n"
        f"  a: {{max_size: 1kB, key: id, schema: {{$ref: '{url}/a.json'}}}}\n"
        f"  b: {{max_size: 1kB, key: id, schema: {{$ref: '../secret.json'}}}}\n"
        f"  c: {{max_size: 1kB, key: id, schema: {{$ref: 'file://{secret}'}}}}\n"
        f"  d: {{max_size: 1kB, key: id, schema: {{type: object, required: [id],"
        f" properties: {{id: {{$ref: '{url}/d.json#/x'}}}}}}}}\n"
        "processes:\n"
        "  src:\n    owner: a\n    rate: 10/s\n    end_of_data: emit\n    sockets:\n"
        "      a: {type: push, bind: 'tcp://127.0.0.1:7001', sends: a}\n"
        "      b: {type: push, bind: 'tcp://127.0.0.1:7002', sends: d}\n"
        "  sink:\n    owner: b\n    end_of_data: consume\n    join: {inputs: [a, b], match: key}\n"
        "    sockets:\n"
        "      a: {type: pull, connect: src.a, receives: b}\n"
        "      b: {type: pull, connect: src.b, receives: c}\n"
        "  other:\n    owner: c\n    sockets:\n"
        "      e: {type: pull, connect: 'tcp://127.0.0.1:7003', receives: e}\n"
        "      f: {type: pull, connect: 'tcp://127.0.0.1:7004', receives: f}\n"
        "  more:\n    owner: a\n    sockets:\n"
        "      e: {type: push, bind: 'tcp://127.0.0.1:7003', sends: a}\n"
        "      f: {type: push, bind: 'tcp://127.0.0.1:7004', sends: a}\n"
    )
    for fmt in ("text", "json", "sarif"):
        r = check(f, "--format", fmt)
        assert_well_behaved(r, str(f))
        assert token not in r.stdout + r.stderr
    r = check(f)
    assert r.stdout.count("outside the project folder") >= 2, r.stdout  # ../ and the symlink
    assert hits == [], f"topolint fetched {hits}"


def test_a_plain_check_stays_lean() -> None:
    """What a plain check does not need is not imported: no jsonschema for a valid file, no
    pydantic (typer's coercion), no rendering, no executor, no other reporter."""
    r = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "topolint",
            "check",
            "fixtures/talk/pipeline.yaml",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=TIMEOUT,
    )
    assert r.returncode in (0, 1), r.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if "|" in line}
    for module in (
        "jsonschema",
        "pydantic",
        "zmq",
        "pygraphviz",
        "topolint.commands.render",
        "topolint.executor",
        "topolint.reporters.sarif",
        "topolint.reporters.junit",
    ):
        assert module not in imported, f"{module} imported by a plain check"
    assert "topolint.reporters" in imported


def _fan(n: int) -> str:
    return (
        "topolint: 1\nname: fan\nmessages:\n  m: {max_size: 1kB}\nprocesses:\n"
        f"  src:\n    replicas: {n}\n    rate: 1000/s\n    end_of_data: emit\n    sockets:\n"
        "      out: {type: push, connect: mid.in, sends: m}\n"
        "      pub: {type: pub, bind: 'tcp://*:6000', sends: m}\n"
        "  mid:\n    service_time: 1s\n    sockets:\n"
        "      in: {type: pull, bind: 'tcp://*:5555', receives: m, rcvhwm: 0}\n"
        "      pub: {type: pub, bind: 'tcp://*:6001', sends: m}\n"
        f"  subs:\n    replicas: {n}\n    sockets:\n"
        "      in: {type: sub, connect: mid.pub, receives: m}\n"
    )


def test_messages_do_not_list_every_peer(tmp_path: Path) -> None:
    """No quadratic output: ten times the replicas, about the same longest message."""
    longest = {}
    for n in (200, 2000):
        f = tmp_path / f"fan{n}.yaml"
        f.write_text(_fan(n))
        r = check(f, "--format", "json")
        assert_well_behaved(r, str(f))
        findings = json.loads(r.stdout)["findings"]
        assert findings
        longest[n] = max(len(x["message"]) + len(x.get("fix") or "") for x in findings)
    assert longest[2000] <= 2 * longest[200] + 200, longest
