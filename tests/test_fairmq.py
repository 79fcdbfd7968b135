"""The FairMQ importer: real FairMQ channel configurations mapped onto the native model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from topolint.errors import InputError
from topolint.fairmq import is_fairmq, json_config, to_native, to_yaml
from topolint.lint import schema
from topolint.lint.findings import Position
from topolint.lint.loader import Document, load_file, load_text

from .conftest import SHARED

EXTERNAL = SHARED / "external" / "fairmq"
DATA = Path(__file__).parent / "fairmq_data"
REAL = sorted(EXTERNAL.glob("*.json"))
#: the JSON catalogues under tests/fairmq_data (other forms live there too)
ALL = [*REAL, *sorted(DATA.glob("strings-*.json"))]
needs_external = pytest.mark.skipif(
    not EXTERNAL.is_dir(), reason=f"{EXTERNAL} is absent (the shared FairMQ examples)"
)


def native(name: str) -> Document:
    path = DATA / name if (DATA / name).exists() else EXTERNAL / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return to_native(load_file(path))


def sockets(doc: Document, process: str) -> dict[str, Any]:
    result: dict[str, Any] = doc.data["processes"][process]["sockets"]
    return result


def walk(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], bool]]:
    """Every element path below ``data``, with whether it is a mapping entry."""
    out: list[tuple[tuple[Any, ...], bool]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append(((*path, k), True))
            out.extend(walk(v, (*path, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.append(((*path, i), False))
            out.extend(walk(v, (*path, i)))
    return out


def text_pos(file: Path, needle: str, occurrence: int = 0) -> Position:
    """1-based position of the ``occurrence``-th appearance of ``needle`` in ``file``."""
    found = -1
    for n, line in enumerate(file.read_text().splitlines(), start=1):
        start = 0
        while (col := line.find(needle, start)) >= 0:
            found += 1
            if found == occurrence:
                return Position(n, col + 1)
            start = col + 1
    raise AssertionError(f"{needle!r} not found in {file}")


def load_json(text: str) -> Document:
    return load_text(text, "inline.json", "json")


@needs_external
def test_the_ten_real_files_are_there() -> None:
    assert len(REAL) == 10


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_file_imports_to_a_valid_native_topology(path: Path) -> None:
    doc = load_file(path)
    assert is_fairmq(doc.data)
    result = to_native(doc)
    assert result.file == doc.file and result.text == doc.text and result.format == "json"
    assert result.data["topolint"] == 1
    assert result.data["name"] == path.stem
    assert result.data["x-fairmq"]["source"] == path.name
    assert result.data["processes"]
    schema.validate(result)  # the native schema accepts it (x- keys included)
    # every native element has a position inside the FairMQ file
    n_lines = len(doc.text.splitlines())
    assert () in result.value_pos
    for p, is_entry in walk(result.data):
        assert p in result.value_pos, p
        assert 1 <= result.value_pos[p].line <= n_lines
        if is_entry:
            assert p in result.key_pos, p
            assert 1 <= result.key_pos[p].line <= n_lines


def test_is_fairmq() -> None:
    assert is_fairmq({"fairMQOptions": {}})
    assert not is_fairmq({"topolint": 1, "processes": {}})
    assert not is_fairmq(["fairMQOptions"])
    assert not is_fairmq(None)


def test_to_native_refuses_a_native_document() -> None:
    with pytest.raises(InputError):
        to_native(load_text("topolint: 1\nname: x\nprocesses: {}\n", "x.yaml"))


def test_sampler_sink() -> None:
    doc = native("ex1-sampler-sink.json")
    assert list(doc.data["processes"]) == ["sampler1", "sink1"]
    assert sockets(doc, "sampler1") == {
        "data": {
            "type": "push",
            "bind": "tcp://*:5555",
            "sndhwm": 1000,
            "rcvhwm": 1000,
            "linger": "500ms",  # FairMQ's default linger
            "x-fairmq": {"channel": "data"},
            # no x-transport: a catalogue channel without "transport" uses the device's
            # --transport, which the file does not say
        }
    }
    sink = sockets(doc, "sink1")["data"]
    assert sink["type"] == "pull" and sink["connect"] == "tcp://localhost:5555"
    assert "bind" not in sink
    # what FairMQ cannot say stays absent
    for proc in doc.data["processes"].values():
        assert not {"owner", "host", "rate", "service_time", "replicas", "end_of_data"} & set(proc)
        for sock in proc["sockets"].values():
            assert not {"sends", "receives", "sndbuf", "rcvbuf"} & set(sock)
    assert "messages" not in doc.data


def test_copypush_makes_two_push_sockets_on_one_channel() -> None:
    doc = native("ex4-copypush.json")
    s = sockets(doc, "sampler1")
    assert list(s) == ["data-0", "data-1"]
    assert [s[n]["type"] for n in s] == ["push", "push"]
    assert s["data-0"]["bind"] == "tcp://*:5555"
    assert s["data-1"]["bind"] == "tcp://*:5556"
    assert s["data-1"]["x-fairmq"] == {"channel": "data", "index": 1}
    assert sockets(doc, "sink2")["data"]["connect"] == "tcp://localhost:5556"


def test_multiple_endpoints_and_bind_modifier() -> None:
    doc = native("ex-multipart-multiple-endpoints.json")
    sampler = sockets(doc, "sampler1")["data"]
    assert sampler["connect"] == ["tcp://localhost:5555", "tcp://localhost:5556"]
    assert "bind" not in sampler
    sink2 = sockets(doc, "sink2")["data"]  # "method": "connect" but the address says "@"
    assert sink2["bind"] == "tcp://*:5556"
    assert "connect" not in sink2


def test_benchmark() -> None:
    doc = native("benchmark.json")
    assert list(doc.data["processes"]) == ["bsampler1", "sink1"]
    assert sockets(doc, "bsampler1")["data"]["bind"] == "tcp://127.0.0.1:5555"
    assert sockets(doc, "sink1")["data"]["connect"] == "tcp://127.0.0.1:5555"


def test_multiple_transports() -> None:
    doc = native("ex-multiple-transports.json")
    assert list(doc.data["processes"]) == ["sampler1", "sampler2", "sink1"]
    ack = sockets(doc, "sampler1")["ack"]
    assert ack["type"] == "sub" and ack["bind"] == "tcp://127.0.0.1:5557"
    assert ack["subscribe"] == [""]  # FairMQ SUB sockets subscribe to everything
    assert ack["x-transport"] == "zeromq"
    assert sockets(doc, "sink1")["data2"]["x-transport"] == "nanomsg"
    assert "x-transport" not in sockets(doc, "sink1")["data1"]
    assert sockets(doc, "sink1")["ack"]["type"] == "pub"
    assert "subscribe" not in sockets(doc, "sink1")["ack"]


def test_device_named_by_key_before_id() -> None:
    doc = native("ex-1-n-1.json")
    assert list(doc.data["processes"]) == ["sampler1", "processor", "sink1"]
    assert doc.data["processes"]["processor"]["x-fairmq"] == {"key": "processor"}
    assert list(sockets(doc, "processor")) == ["data1", "data2"]
    assert "replicas" not in doc.data["processes"]["processor"]  # not invented


def test_req_rep_and_pub_sub() -> None:
    doc = native("ex5-req-rep.json")
    assert sockets(doc, "client")["data"]["type"] == "req"
    assert sockets(doc, "server")["data"]["type"] == "rep"
    doc = native("ex6-multiple-channels.json")
    assert sockets(doc, "broadcaster1")["broadcast"]["type"] == "pub"
    assert sockets(doc, "sink1")["broadcast"]["subscribe"] == [""]
    assert list(sockets(doc, "sink1")) == ["data", "broadcast"]


@needs_external
def test_positions_point_at_the_fairmq_elements() -> None:
    file = EXTERNAL / "ex2-sampler-processor-sink.json"
    doc = to_native(load_file(file))
    sock = ("processes", "sampler1", "sockets", "data1")
    # the endpoint: at the "address" value (its key: the "address" key, tested below)
    assert doc.value_pos[(*sock, "bind")] == text_pos(file, '"tcp://*:5555"')
    assert doc.value_position((*sock, "bind")) == text_pos(file, '"tcp://*:5555"')
    assert doc.finding_position((*sock, "bind")) == text_pos(file, '"tcp://*:5555"')
    assert doc.value_pos[(*sock, "type")] == text_pos(file, '"push"')
    assert doc.value_pos[(*sock, "sndhwm")] == text_pos(file, "1000")
    assert doc.key_pos[(*sock, "sndhwm")] == text_pos(file, '"sndBufSize"')
    # values FairMQ defaults (not written) point at the socket's type
    assert doc.value_pos[(*sock, "linger")] == text_pos(file, '"push"')
    # x-fairmq of the socket: at the socket entry
    assert doc.value_pos[(*sock, "x-fairmq", "channel")] == text_pos(file, "{", 4)
    # the socket is its sockets[0] entry (key and value): a channel with a sockets list
    # maps each entry to one socket
    entry = text_pos(file, "{", 4)  # root, options, device, channel, entry
    assert doc.value_pos[sock] == entry
    assert doc.key_pos[sock] == entry
    assert doc.position(sock) == entry
    # the process: where its id (here its key) is written
    assert doc.value_pos[("processes", "processor")] == text_pos(file, '"processor"')
    proc_sock = ("processes", "processor", "sockets", "data2", "connect")
    assert doc.value_pos[proc_sock] == text_pos(file, '"tcp://localhost:5556"')
    # an error raised through the document lands on the FairMQ line
    err = doc.error("boom", (*sock, "bind"))
    assert (err.line, err.column) == (
        text_pos(file, '"tcp://*:5555"').line,
        text_pos(file, '"tcp://*:5555"').column,
    )


@needs_external
def test_endpoint_key_is_the_address_key() -> None:
    file = EXTERNAL / "ex2-sampler-processor-sink.json"
    doc = to_native(load_file(file))
    sock = ("processes", "sampler1", "sockets", "data1")
    assert doc.key_pos[(*sock, "bind")] == text_pos(file, '"address"')
    assert doc.position((*sock, "bind")) == text_pos(file, '"address"')


@needs_external
def test_process_key_is_where_its_id_is_written() -> None:
    file = EXTERNAL / "ex2-sampler-processor-sink.json"
    doc = to_native(load_file(file))
    # the second device is named by "key"
    assert doc.key_pos[("processes", "processor")] == text_pos(file, '"processor"')
    assert doc.position(("processes", "sink1")) == text_pos(file, '"sink1"')


@needs_external
def test_positions_of_several_endpoints_in_one_address() -> None:
    file = EXTERNAL / "ex-multipart-multiple-endpoints.json"
    doc = to_native(load_file(file))
    conn = ("processes", "sampler1", "sockets", "data", "connect")
    whole = text_pos(file, '"tcp://localhost:5555,tcp://localhost:5556"')
    # the list's value is its first endpoint (inside the quotes), each element its own
    assert doc.value_pos[conn] == Position(whole.line, whole.column + 1)
    assert doc.value_pos[(*conn, 0)] == Position(whole.line, whole.column + 1)
    assert doc.value_pos[(*conn, 1)] == text_pos(file, "tcp://localhost:5556")
    sink2 = ("processes", "sink2", "sockets", "data", "bind")
    assert doc.value_pos[sink2] == text_pos(file, '"@tcp://*:5556"')


def test_numbers_as_strings_and_inheritance() -> None:
    file = DATA / "strings-numsockets.json"
    doc = to_native(load_file(file))
    s = sockets(doc, "sampler")
    assert list(s) == ["data-0", "data-1", "ctrl"]
    # channel-level fields inherited by both sockets entries, numbers written as strings
    assert s["data-0"] == {
        "type": "push",
        "bind": "tcp://*:6000",
        "sndhwm": 10,
        "rcvhwm": 20,
        "sndbuf": 65536,
        "linger": "infinite",
        "x-transport": "shmem",
        "x-fairmq": {"channel": "data", "index": 0},
    }
    # the second entry overrides sndBufSize and transport
    assert s["data-1"]["sndhwm"] == 11 and s["data-1"]["rcvhwm"] == 20
    assert s["data-1"]["x-transport"] == "zeromq"
    assert doc.value_pos[("processes", "sampler", "sockets", "data-1", "sndhwm")] == text_pos(
        file, '"11"'
    )
    assert doc.value_pos[("processes", "sampler", "sockets", "data-0", "sndhwm")] == text_pos(
        file, '"10"'
    )
    # per-endpoint modifiers override "method": connect; ';' also separates endpoints
    assert s["ctrl"]["bind"] == "ipc:///tmp/fmq-ctrl"
    assert s["ctrl"]["connect"] == "tcp://localhost:6100"
    assert doc.value_pos[("processes", "sampler", "sockets", "ctrl", "connect")] == text_pos(
        file, "+tcp://localhost:6100"
    )
    # a channel without a sockets list: the socket is the channel, keyed at its name
    ctrl = ("processes", "sampler", "sockets", "ctrl")
    assert doc.key_pos[ctrl] == text_pos(file, '"ctrl"')
    key5 = text_pos(file, '"sndBufSize": 5')
    assert doc.key_pos[(*ctrl, "sndhwm")] == key5
    assert doc.value_pos[(*ctrl, "sndhwm")] == Position(key5.line, key5.column + 14)
    # a catalogue channel that does not say its transport has none (the device's --transport)
    assert "x-transport" not in s["ctrl"]
    w = sockets(doc, "worker")
    assert sockets(doc, "worker")["ctrl"]["connect"] == "ipc:///tmp/fmq-ctrl"  # '>' over "bind"
    assert w["ctrl"]["subscribe"] == [""]
    assert w["data"]["linger"] == "0ms"


def test_num_sockets() -> None:
    doc = native("strings-numsockets.json")
    w = sockets(doc, "worker")
    # numSockets "2" wins over the sockets list (whose bad address is never read), and is
    # counted, not expanded: one native socket
    assert list(w) == ["data", "ctrl", "status"]
    assert w["data"] == {
        "type": "pull",
        "connect": ["tcp://localhost:6000", "tcp://localhost:6001"],
        "sndhwm": 1000,
        "rcvhwm": 50,
        "rcvbuf": 4096,
        "linger": "0ms",
        "x-fairmq": {"channel": "data", "sockets": 2},
    }
    assert doc.data["processes"]["worker"]["x-fairmq"] == {"id": "worker1", "key": "worker"}


def test_num_sockets_one_keeps_the_channel_name() -> None:
    doc = to_native(
        load_json(
            '{"fairMQOptions": {"devices": [{"id": "a", "channels": [{"name": "x", "type": "pair",'
            ' "method": "bind", "address": "tcp://*:1", "numSockets": 1}]}]}}'
        )
    )
    assert list(sockets(doc, "a")) == ["x"]


def test_names_are_made_valid_and_unique() -> None:
    doc = to_native(
        load_json(
            '{"fairMQOptions": {"devices": [{"id": "det.1", "channels": ['
            '{"name": "d", "type": "push", "method": "bind", "sockets": [{}, {}]},'
            '{"name": "d-0", "type": "push", "method": "bind"},'
            '{"name": "n", "type": "push", "method": "bind", "numSockets": 2},'
            '{"name": "e[1]", "type": "pull", "method": "connect"}]}]}}'
        )
    )
    assert list(doc.data["processes"]) == ["det_1"]
    assert doc.data["processes"]["det_1"]["x-fairmq"] == {"id": "det.1"}
    s = sockets(doc, "det_1")
    assert list(s) == ["d-0", "d-1", "d-0-2", "n", "e-1"]
    assert s["d-1"]["x-fairmq"] == {"channel": "d", "index": 1, "address": "assigned at run time"}
    assert s["d-0-2"]["x-fairmq"]["channel"] == "d-0"
    assert s["e-1"]["x-fairmq"]["channel"] == "e[1]"
    # no address (set at run time): a socket without endpoints
    assert "bind" not in s["d-0"] and "bind" not in s["n"]
    assert s["n"]["x-fairmq"] == {"channel": "n", "sockets": 2, "address": "assigned at run time"}


def test_device_without_channels() -> None:
    doc = to_native(load_json('{"fairMQOptions": {"devices": [{"id": "idle"}]}}'))
    assert doc.data["processes"] == {"idle": {"x-fairmq": {"id": "idle"}, "sockets": {}}}
    assert ("processes", "idle", "sockets") in doc.value_pos


OPTS = '{"fairMQOptions": {"devices": '
PULL = OPTS + '[{"id": "a", "channels": [{"name": "c", "type": "pull",\n'


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{"fairMQOptions": {}}', 1, "fairMQOptions has no devices: expected a 'devices' list"),
        (
            '{"fairMQOptions": {"devices": []}}',
            1,
            "fairMQOptions has no devices: expected a 'devices' list",
        ),
        ('{"fairMQOptions": {"devices": {}}}', 1, "devices: expected a list"),
        ('{"fairMQOptions": {"devices": [{"channels": []}]}}', 1, "without 'id' or 'key'"),
        (
            '{"fairMQOptions": {"devices": [\n{"id": "a"},\n{"id": "a", "channels": []}]}}',
            3,
            "duplicate device id 'a' (first defined at line 2)",
        ),
        (
            '{"fairMQOptions": {"devices": [\n{"id": "a"}],\n"devices": []}}',
            3,
            "duplicate key 'devices' (first defined at line 1)",
        ),
        (
            '{"fairMQOptions": {"devices": [{"id": "a", "channels": [\n{"type": "push"}]}]}}',
            2,
            "without 'name'",
        ),
        (
            OPTS + '[{"id": "a", "channels": [{"name": "c",\n"type": "pusj"}]}]}}',
            2,
            "did you mean 'push'",
        ),
        (
            PULL + '"rcvBufSize": "1k"}]}]}}',
            2,
            "expected a whole number",
        ),
        (
            PULL + '"rcvBufSize": 1.5}]}]}}',
            2,
            "expected a whole number",
        ),
        (
            PULL + '"numSockets": "two"}]}]}}',
            2,
            "numSockets",
        ),
        (
            PULL + '"sndBufSize": -1}]}]}}',
            2,
            "must not be negative",
        ),
        (
            PULL + '"method": "connect", "address": "localhost:5555"}]}]}}',
            2,
            "has no transport",
        ),
        (
            PULL + '"method": "connect", "address": "tcp://a:1,\\n b:2"}]}]}}',
            2,
            "has no transport",
        ),
        (
            PULL + '"method": "listen", "address": "tcp://localhost:5555"}]}]}}',
            2,
            "invalid method",
        ),
        (
            PULL + '"method": "bind", "address": "tcp://*"}]}]}}',
            2,
            "no port",
        ),
        (
            PULL + '"method": "bind", "address": "tcp://*:1,"}]}]}}',
            2,
            "empty endpoint",
        ),
        (
            PULL + '"adress": "tcp://*:1"}]}]}}',
            2,
            "did you mean 'address'",
        ),
        (PULL + '"numSockets": 1000000000}]}]}}', 2, "is outside 0..100,000"),
        (
            PULL + '"transport": "udp"}]}]}}',
            2,
            "unknown transport",
        ),
        (
            PULL + '"sockets": [{"type": "pull", "sndBufSize": "x"}]}]}]}}',
            2,
            "sndBufSize",
        ),
        (
            OPTS + '[{"id": "a", "channels": [\n{"name": "c", "type": "pull"},\n'
            '{"name": "c", "type": "push"}]}]}}',
            3,
            "duplicate channel",
        ),
        (
            OPTS + '[{"id": "a", "channels": [{"name": "c.d", "type": "pull"}]}]}}',
            1,
            "illegal character '.'",
        ),
        (
            '{"fairMQOptions": {"devices": [{"id": "a", "channels": {"name": "c"}}]}}',
            1,
            "channels: expected a list",
        ),
    ],
)
def test_structural_errors_have_a_location(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as info:
        to_native(load_json(text))
    err = info.value
    assert err.file == "inline.json"
    assert err.line == line
    assert err.column is not None and err.column >= 1
    assert message in err.message


def test_legacy_key_repeated_with_another_value_is_an_error() -> None:
    text = '{"fairMQOptions": {"device": {"id": "a",\n"id": "b"}}}'
    with pytest.raises(InputError) as info:
        to_native(json_config.load(text, "inline.json"))
    assert (info.value.line, info.value.column) == (2, 1)
    assert "key 'id' repeated with another value (first defined at line 1)" in info.value.message


def test_identical_duplicate_device_is_a_note() -> None:
    doc = to_native(load_json('{"fairMQOptions": {"devices": [\n{"id": "a"},\n{"id": "a"}]}}'))
    assert list(doc.data["processes"]) == ["a"]
    assert doc.data["x-fairmq"]["notes"] == ["device 'a' at line 3 repeats line 2"]


@pytest.mark.parametrize(
    ("channel", "why"),
    [
        ('{"name": "c"}', "channel 'c' has no type"),
        ('{"name": "c", "type": ""}', "channel 'c' has no type"),
        (
            '{"name": "c", "type": "pull", "address": "tcp://localhost:5555"}',
            "channel 'c' has no method for 'tcp://localhost:5555'",
        ),
    ],
)
def test_catalogue_device_that_cannot_run_is_left_out_with_a_note(channel: str, why: str) -> None:
    doc = to_native(
        load_json(OPTS + '[{"id": "b"},\n{"id": "a", "channels": [' + channel + "]}]}}")
    )
    assert list(doc.data["processes"]) == ["b"]
    assert doc.data["x-fairmq"]["notes"] == [f"device 'a' (line 2) left out: {why}"]
    schema.validate(doc)


def test_socket_type_is_case_sensitive() -> None:
    with pytest.raises(InputError) as info:
        to_native(load_json(OPTS + '[{"id": "a", "channels": [{"name": "c",\n"type": "Push"}]}]}}'))
    assert (info.value.line, "did you mean 'push'" in info.value.message) == (2, True)


def test_endpoint_error_points_into_the_address_string() -> None:
    text = (
        '{"fairMQOptions": {"devices": [{"id": "a", "channels": [{"name": "c", "type": "pull",\n'
        '  "method": "connect", "address": "tcp://h:1,h:2"}]}]}}'
    )
    with pytest.raises(InputError) as info:
        to_native(load_json(text))
    assert (info.value.line, info.value.column) == (2, text.splitlines()[1].index("h:2") + 1)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_to_yaml_reparses_to_the_same_data(path: Path) -> None:
    doc = to_native(load_file(path))
    text = to_yaml(doc.data)
    assert text.startswith(f"# Imported from {path.name} (FairMQ JSON) by `topolint import`.")
    back = load_text(text, "imported.yaml")
    assert back.data == doc.data
    schema.validate(back)
    # human-friendly: block style, keys in the native order
    lines = text.splitlines()
    assert lines[lines.index("topolint: 1") + 1].startswith("name: ")
    assert "processes:" in lines and "{" not in text


def test_to_yaml_quotes_what_yaml_would_misread() -> None:
    doc = to_native(
        load_json(
            OPTS + '[{"id": "1", "channels": []}, {"id": "on", "channels": []},'
            ' {"id": "null", "channels": [{"name": "#x", "type": "sub", "method": "bind",'
            ' "address": "ipc:///tmp/a b"}]}]}}'
        )
    )
    text = to_yaml(doc.data)
    assert load_text(text, "imported.yaml").data == doc.data
    assert list(doc.data["processes"]) == ["1", "on", "null"]


@needs_external
def test_every_real_file_wires_completely() -> None:
    model = pytest.importorskip("topolint.lint.model")
    graph = pytest.importorskip("topolint.lint.graph")
    for path in REAL:
        doc = to_native(load_file(path))
        schema.validate(doc)
        topo = model.build_topology(doc, use_environ=False)
        assert topo.source_format == "fairmq"
        g = graph.build_graph(topo)
        unresolved = [c.endpoint.text for c in g.connections if c.unresolved]
        assert not unresolved, (path.name, unresolved)
        assert g.connections, path.name
        assert not g.conflicts, path.name


def test_variant_wires_completely() -> None:
    model = pytest.importorskip("topolint.lint.model")
    graph = pytest.importorskip("topolint.lint.graph")
    doc = native("strings-numsockets.json")
    g = graph.build_graph(model.build_topology(doc, use_environ=False))
    assert not [c for c in g.connections if c.unresolved]
    pairs = {(c.sender_id, c.receiver_id) for c in g.connections if c.data}
    # numSockets 2 on the worker: one native socket meeting both sampler sub-sockets
    assert ("sampler.data-0", "worker.data") in pairs
    assert ("sampler.data-1", "worker.data") in pairs
    assert ("sampler.ctrl", "worker.ctrl") in pairs
    assert ("sampler.ctrl", "worker.status") in pairs
