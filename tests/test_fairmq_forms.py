"""The three FairMQ forms (JSON both layouts, --channel-config scripts, DDS XML) end to end:
wiring, replicas, positions, import/check/render through the real CLI, placeholders, and the
real-world corpus (skipped when the shared folder is absent)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from topolint import fairmq
from topolint.errors import InputError, NoDevices
from topolint.lint import schema
from topolint.lint.findings import Position

from .conftest import SHARED, run_cli

DATA = Path(__file__).parent / "fairmq_data"
WORLD = SHARED / "external" / "fairmq-world"
TRACEBACK = re.compile(r"Traceback|internal error", re.IGNORECASE)


def read(name: str, variables: dict[str, str] | None = None) -> Any:
    path = DATA / name
    text = path.read_text()
    form = fairmq.detect(text)
    assert form is not None, name
    return fairmq.read(text, name, form, variables, base=path)


def at(name: str, needle: str, occurrence: int = 0, offset: int = 0) -> Position:
    """1-based position of the ``occurrence``-th ``needle`` in a data file (plus ``offset``)."""
    found = -1
    for n, line in enumerate((DATA / name).read_text().splitlines(), start=1):
        start = 0
        while (col := line.find(needle, start)) >= 0:
            found += 1
            if found == occurrence:
                return Position(n, col + 1 + offset)
            start = col + 1
    raise AssertionError(f"{needle!r} not in {name}")


def cli_ok(*args: str) -> str:
    r = run_cli(*args, cwd=DATA)
    assert not TRACEBACK.search(r.stdout + r.stderr), r.stderr
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def wiring(name: str, *extra: str) -> set[tuple[str, str]]:
    """(sender, receiver) of every connection ``analyze --format json`` reports."""
    out = json.loads(cli_ok("analyze", "--format", "json", name, *extra))
    assert not [c for c in out["connections"] if c["unresolved"]], out["connections"]
    return {(c["sender"], c["receiver"]) for c in out["connections"]}


def replicas(name: str) -> dict[str, int]:
    out = json.loads(cli_ok("analyze", "--format", "json", name))
    return {p["name"]: p["replicas"] for p in out["processes"]}


def check_json(name: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    r = run_cli("check", "--format", "json", name, *extra, cwd=DATA)
    assert not TRACEBACK.search(r.stdout + r.stderr), r.stderr
    return r.returncode, json.loads(r.stdout), r.stderr


# -- JSON, legacy layout ------------------------------------------------------------------


def test_legacy_json_keeps_every_repeated_element() -> None:
    doc = read("legacy-layout.json")
    assert doc.format == "json"
    assert doc.data["x-fairmq"] == {
        "source": "legacy-layout.json",
        "form": "json",
        "catalogue": True,
        "devices": 3,
    }  # the repeated comment keys are ignored, no notes
    assert list(doc.data["processes"]) == ["producer", "consumer1", "consumer2"]
    out = doc.data["processes"]["producer"]["sockets"]
    assert list(out) == ["out-0", "out-1"]  # two repeated "socket" keys: two sub-sockets
    assert out["out-1"]["bind"] == "tcp://*:7101"
    assert out["out-1"]["x-fairmq"] == {"channel": "out", "index": 1}
    # no transport in a catalogue channel: unknown (the device's --transport)
    assert "x-transport" not in out["out-0"]
    path = ("processes", "producer", "sockets", "out-1")
    assert doc.value_pos[(*path, "bind")] == at("legacy-layout.json", '"tcp://*:7101"')
    assert doc.value_pos[(*path, "type")] == at("legacy-layout.json", '"push"', 1)
    assert doc.key_pos[path] == at("legacy-layout.json", "{", 5)  # the second "socket" entry
    third = ("processes", "consumer2", "sockets", "in", "connect")
    assert doc.value_pos[third] == at("legacy-layout.json", '"tcp://localhost:7101"')
    schema.validate(doc)


def test_legacy_json_wiring_through_the_cli() -> None:
    assert wiring("legacy-layout.json") == {
        ("producer.out-0", "consumer1.in"),
        ("producer.out-1", "consumer2.in"),
    }


# -- command lines --------------------------------------------------------------------------


def test_script_devices_channels_and_positions() -> None:
    doc = read("launch.sh")
    assert doc.format == "cmdline"
    meta = doc.data["x-fairmq"]
    assert (meta["form"], meta["catalogue"], meta["devices"]) == ("cmdline", False, 2)
    assert doc.data["runs"] == "continuous"
    procs = doc.data["processes"]
    assert list(procs) == ["sampler1", "processor1"]  # the comment line is no device
    assert procs["sampler1"]["x-fairmq"] == {"id": "sampler1", "executable": "$SAMPLER"}
    s = procs["sampler1"]["sockets"]
    assert list(s) == ["data-0", "data-1", "ctl"]  # two address= and a name: prefix
    assert s["data-0"]["bind"] == "tcp://*:7200" and s["data-1"]["bind"] == "tcp://*:7201"
    assert s["data-1"]["x-fairmq"] == {"channel": "data", "index": 1}
    # numSockets counted, not expanded; --transport shmem on every channel
    assert s["ctl"]["x-fairmq"] == {"channel": "ctl", "sockets": 2}
    assert s["ctl"]["type"] == "pub" and s["ctl"]["bind"] == "ipc:///tmp/topolint-ctl"
    assert {x["x-transport"] for p in procs.values() for x in p["sockets"].values()} == {"shmem"}
    p = procs["processor1"]["sockets"]
    assert p["data"]["connect"] == ["tcp://localhost:7200", "tcp://localhost:7201"]
    assert p["ctl"]["subscribe"] == [""]
    # positions point into the script: across backslash continuations and quotes
    name = "launch.sh"
    assert doc.key_pos[("processes", "sampler1")] == at(name, "sampler1")
    assert doc.key_pos[("processes", "processor1")] == at(name, "processor1")
    sock = ("processes", "sampler1", "sockets")
    assert doc.value_pos[(*sock, "data-1", "bind")] == at(name, "tcp://*:7201")
    assert doc.value_pos[(*sock, "data-0", "type")] == at(name, "push")
    assert doc.key_pos[(*sock, "ctl")] == at(name, "ctl:type")  # inside the single quotes
    assert doc.value_pos[(*sock, "ctl", "type")] == at(name, "pub")
    # a transport from --transport points at the socket's type (the channel does not say it)
    assert doc.value_pos[(*sock, "ctl", "x-transport")] == at(name, "pub")
    conn = ("processes", "processor1", "sockets", "data", "connect")
    assert doc.value_pos[(*conn, 0)] == at(name, "tcp://localhost:7200")
    assert doc.value_pos[(*conn, 1)] == at(name, "tcp://localhost:7201")
    schema.validate(doc)


def test_script_wiring_through_the_cli() -> None:
    assert wiring("launch.sh") == {
        ("sampler1.data-0", "processor1.data"),
        ("sampler1.data-1", "processor1.data"),
        ("sampler1.ctl", "processor1.ctl"),
    }


def test_cmdline_reader_module_entry_point() -> None:
    text = (DATA / "launch.sh").read_text()
    launch = fairmq.cmdline.read(text, "launch.sh", {}, base=DATA / "launch.sh")
    assert [d.name for d in launch.devices] == ["sampler1", "processor1"]
    assert [c.name for c in launch.devices[0].channels] == ["data", "ctl"]
    assert launch.devices[0].transport is not None
    assert launch.devices[0].transport.value == "shmem"
    assert launch.devices[0].transport.pos == at("launch.sh", "shmem")
    with pytest.raises(NoDevices):
        fairmq.cmdline.read("echo hello\n", "x.sh", {})


def test_cmdline_channel_without_type_is_a_located_error() -> None:
    text = "dev --id a --channel-config name=c,method=bind,address=tcp://*:1\n"
    with pytest.raises(InputError) as info:
        fairmq.to_document(fairmq.cmdline.read(text, "x.sh", {}))
    assert "channel 'c' has no 'type'" in info.value.message
    assert (info.value.line, info.value.column) == (1, text.index("name=c") + 6)


def test_transport_mismatch_is_located_on_the_script() -> None:
    code, out, _ = check_json("mismatch.sh")
    assert code == 1
    found = [f for f in out["findings"] if f["rule"] == "transport-mismatch"]
    assert len(found) == 1
    f = found[0]
    assert (f["code"], f["severity"], f["file"]) == ("TL109", "error", "mismatch.sh")
    where = at("mismatch.sh", "tcp://localhost:7300")
    assert (f["line"], f["column"]) == (where.line, where.column)
    assert "zeromq" in f["message"] and "shmem" in f["message"]
    # the text reporter shows the same file:line:col
    r = run_cli("check", "mismatch.sh", cwd=DATA)
    assert f"mismatch.sh:{where.line}:{where.column}: TL109" in r.stdout


# -- DDS --------------------------------------------------------------------------------------


def test_dds_replicas_wiring_and_escapes() -> None:
    doc = read("dds-topology.xml")
    assert doc.format == "dds"
    assert doc.data["name"] == "topolint-dds"
    procs = doc.data["processes"]
    assert procs["Worker"]["replicas"] == 3  # <group n="${nWorkers}"> with <var value="3">
    assert "replicas" not in procs["Sampler"] and "replicas" not in procs["Collector"]
    # &gt; / &lt; in <exe> are redirections after the device options, not channel text
    assert procs["Collector"]["x-fairmq"]["id"] == "collector"
    assert procs["Sampler"]["x-fairmq"]["plugin"] == "dds"
    data = procs["Worker"]["sockets"]["data"]
    assert data["connect"] == "Sampler.data"  # wired by channel name
    assert procs["Worker"]["sockets"]["ack"]["connect"] == "Collector.ack"
    assert data["x-transport"] == "zeromq"  # the default, written for DDS
    assert data["x-fairmq"] == {"channel": "data", "address": "assigned at run time"}
    assert "bind" not in procs["Sampler"]["sockets"]["data"]
    # positions: the wired connect points at the connecting channel in the <exe>
    name = "dds-topology.xml"
    path = ("processes", "Worker", "sockets", "data")
    assert doc.value_pos[(*path, "connect")] == at(name, "name=data,type=pull", 0, len("name="))
    assert doc.value_pos[("processes", "Worker", "replicas")] == at(name, "<group")
    assert doc.key_pos[("processes", "Worker")] == at(name, "worker_%taskIndex%")
    schema.validate(doc)
    assert replicas(name) == {"Sampler": 1, "Collector": 1, "Worker": 3}
    assert wiring(name) == {
        *(("Sampler.data", f"Worker[{i}].data") for i in range(3)),
        *((f"Worker[{i}].ack", "Collector.ack") for i in range(3)),
    }


def test_dds_var_is_overridden_by_var_option() -> None:
    doc = read("dds-topology.xml", {"nWorkers": "5"})
    assert doc.data["processes"]["Worker"]["replicas"] == 5


def test_fairmq_xml_configuration_is_not_supported() -> None:
    r = run_cli("check", "fairmq-options.xml", cwd=DATA)
    assert r.returncode == 2 and not TRACEBACK.search(r.stdout + r.stderr)
    assert (
        "fairmq-options.xml:2:1: a FairMQ XML configuration is not supported: topolint reads "
        "FairMQ JSON, --channel-config command lines and DDS topology XML (<topology>)"
    ) in r.stderr


def test_doctype_is_refused_with_a_location() -> None:
    r = run_cli("check", "doctype.xml", cwd=DATA)
    assert r.returncode == 2 and not TRACEBACK.search(r.stdout + r.stderr)
    m = re.search(
        r"doctype\.xml:(\d+):(\d+): XML document type declarations are not accepted", r.stderr
    )
    assert m, r.stderr
    assert int(m.group(1)) == 2  # the <!DOCTYPE line
    assert 1 <= int(m.group(2)) <= len("<!DOCTYPE topology [")
    with pytest.raises(InputError) as info:
        fairmq.dds.read((DATA / "doctype.xml").read_text(), "doctype.xml")
    assert info.value.line == 2


def test_dds_without_channels_is_skipped_by_check() -> None:
    code, out, err = check_json("dds-no-channels.xml")
    assert code == 0, err
    assert out["findings"] == []
    assert out["summary"]["skipped"] == ["dds-no-channels.xml"]
    assert out["summary"]["files"] == 0
    with pytest.raises(NoDevices):
        read("dds-no-channels.xml")
    # other commands: an input error that says why
    r = run_cli("import", "fairmq", "dds-no-channels.xml", cwd=DATA)
    assert r.returncode == 2 and not TRACEBACK.search(r.stdout + r.stderr)
    assert "dds-no-channels.xml:1:1: DDS topology without FairMQ channels" in r.stderr


# -- import, check, render ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("legacy-layout.json", "FairMQ JSON"),
        ("strings-numsockets.json", "FairMQ JSON"),
        ("launch.sh", "command lines"),
        ("mismatch.sh", "command lines"),
        ("placeholders.sh", "command lines"),
        ("dds-topology.xml", "DDS topology"),
    ],
)
def test_import_produces_yaml_that_check_accepts(name: str, form: str, tmp_path: Path) -> None:
    text = cli_ok("import", "fairmq", name)
    assert text.startswith(f"# Imported from {name} ({form}) by `topolint import`.")
    out = tmp_path / "imported.yaml"
    out.write_text(text)
    r = run_cli("check", "--format", "json", str(out))
    assert not TRACEBACK.search(r.stdout + r.stderr), r.stderr
    assert r.returncode in (0, 1), r.stderr  # findings maybe, never an input error
    assert r.stderr.strip() == ""
    findings = json.loads(r.stdout)["findings"]
    # the imported YAML says what the original does
    rules = {f["rule"] for f in findings if f["severity"] == "error"}
    assert rules == ({"transport-mismatch"} if name == "mismatch.sh" else set())
    assert {f["file"] for f in findings} <= {str(out)}


@pytest.mark.parametrize("name", ["dds-topology.xml", "launch.sh"])
def test_render_svg(name: str, tmp_path: Path) -> None:
    svg = tmp_path / "x.svg"
    r = run_cli("render", name, "-o", str(svg), cwd=DATA)
    assert r.returncode == 0 and not TRACEBACK.search(r.stdout + r.stderr), r.stderr
    body = svg.read_text()
    assert "<svg" in body
    for process in ("Worker", "Collector") if name.endswith(".xml") else ("sampler1", "processor1"):
        assert process in body


# -- placeholders -----------------------------------------------------------------------------


def test_var_resolves_cmake_and_shell_placeholders_in_addresses() -> None:
    doc = read("placeholders.sh", {"DATA_PORT": "7400", "SINK_PORT": "7400"})
    procs = doc.data["processes"]
    assert procs["sampler"]["sockets"]["data"]["bind"] == "tcp://*:7400"
    assert procs["sink"]["sockets"]["data"]["connect"] == "tcp://localhost:7400"
    assert "address" not in procs["sink"]["sockets"]["data"]["x-fairmq"]
    assert wiring("placeholders.sh", "--var", "DATA_PORT=7400", "--var", "SINK_PORT=7400") == {
        ("sampler.data", "sink.data")
    }


def test_unresolved_placeholder_leaves_the_socket_unwired_quietly() -> None:
    doc = read("placeholders.sh")
    procs = doc.data["processes"]
    sampler, sink = procs["sampler"]["sockets"]["data"], procs["sink"]["sockets"]["data"]
    assert "bind" not in sampler and "connect" not in sink
    assert sampler["x-fairmq"]["address"] == "unknown: tcp://*:@DATA_PORT@"
    assert sink["x-fairmq"]["address"] == "unknown: tcp://localhost:$SINK_PORT"
    out = json.loads(cli_ok("analyze", "--format", "json", "placeholders.sh"))
    assert out["connections"] == []
    code, result, err = check_json("placeholders.sh")
    assert code == 0, err
    assert [f for f in result["findings"] if f["severity"] in ("error", "warning")] == []
    # only one side resolved: still unwired, still quiet
    assert wiring("placeholders.sh", "--var", "DATA_PORT=7400") == set()


# -- the real-world corpus --------------------------------------------------------------------

#: Files of the corpus that are invalid on purpose or by accident: check exits 2 with this
#: located message (``:line:col: message``).
KNOWN_INVALID = {
    # not valid JSON: a '"sockets": {...}' member after a closed channel object, no comma
    "json/ironMann+BachelorFairMQ__examples__epn-to-scheduler_1__ex-epn-to-scheduler.json": (
        ":21:34: invalid JSON: Expecting ',' delimiter"
    ),
    # <main> names a task that no <decltask> declares (a DDS negative test)
    "dds/FairRootGroup+DDS__dds-topology-lib__tests__topology_test_6.xml": (
        ":40:6: task 'task3' is not declared (no <decltask name='task3'>)"
    ),
}
#: Error or warning findings expected on the corpus: {file: {(rule, line), ...}} with the
#: reason in a comment.  Currently none: a new one shows up as a test failure.
EXPECTED_FINDINGS: dict[str, set[tuple[str, int]]] = {}


def corpus() -> list[str]:
    if not WORLD.is_dir():
        return []
    return [
        f"{d}/{f.name}"
        for d in ("json", "cmdlines", "dds")
        for f in sorted((WORLD / d).iterdir())
        if f.is_file()
    ]


CORPUS = corpus()
needs_world = pytest.mark.skipif(not CORPUS, reason=f"{WORLD} is absent")


@needs_world
def test_corpus_is_complete() -> None:
    counts = {
        d: sum(1 for c in CORPUS if c.startswith(d + "/")) for d in ("json", "cmdlines", "dds")
    }
    assert counts == {"json": 17, "cmdlines": 34, "dds": 62}


@needs_world
def test_corpus_checks_without_surprises() -> None:
    exit2: dict[str, str] = {}
    unexpected: dict[str, set[tuple[str, int]]] = {}
    for rel in CORPUS:
        r = run_cli("check", "--format", "json", str(WORLD / rel))
        assert not TRACEBACK.search(r.stdout + r.stderr), (rel, r.stderr)
        assert r.returncode in (0, 1, 2), (rel, r.returncode, r.stderr)
        out = json.loads(r.stdout)
        if r.returncode == 2:
            exit2[rel] = r.stderr
        serious = {
            (f["rule"], f["line"]) for f in out["findings"] if f["severity"] in ("error", "warning")
        }
        if serious != EXPECTED_FINDINGS.get(rel, set()):
            unexpected[rel] = serious
    assert set(exit2) == set(KNOWN_INVALID)
    for rel, message in KNOWN_INVALID.items():
        assert f"{WORLD / rel}{message}" in exit2[rel], exit2[rel]
    assert unexpected == {}
