"""Property tests: random topologies and random corruptions of valid ones.

Whatever the input, loading and checking it in-process ends in a list of findings or one
:class:`~topolint.errors.InputError` with a position; nothing else is caught here, so any
other exception (a crash in the loader, the schema, the model, the wiring or a rule) fails.
The fast schema pre-check must agree with jsonschema on every document.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from topolint.errors import InputError
from topolint.lint import schema
from topolint.lint.engine import Settings, loads, run_rules
from topolint.lint.findings import Finding
from topolint.lint.loader import load_text

SOCKET_TYPES = schema.SOCKET_TYPES
#: Shrinking a failure of the whole linter can take many minutes: off unless asked for
#: (TOPOLINT_SHRINK=1); the unshrunk failing example is printed either way.
PROFILE = settings(
    max_examples=int(os.environ.get("TOPOLINT_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=tuple(Phase)
    if os.environ.get("TOPOLINT_SHRINK")
    else tuple(p for p in Phase if p not in (Phase.shrink, Phase.explain)),
    print_blob=True,
)

sizes = st.one_of(
    st.integers(0, 10**7), st.sampled_from(["64kB", "1MiB", "512B", "2GB", "10 kB", "0"])
)
durations = st.one_of(
    st.floats(0, 10, allow_nan=False), st.sampled_from(["2ms", "1s", "500us", "0.5", "3 s"])
)
rates = st.one_of(st.floats(0.1, 1e6), st.sampled_from(["100/s", "1000/s", "1/s", "5"]))

HOSTILE_VALUES = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=4)), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(-3, 3), max_size=3),
    st.sampled_from(
        [
            "-1kB",
            "1e999",
            "1e308",
            "1e308/s",
            "1e-308s",
            2.2250738585072014e-308,
            "10 parsecs",
            "${NOPE_NEVER_SET}",
            "${A:-",
            "tcp://",
            "tcp://*:x",
            "a.b",
            "a.",
            ".b",
            "inproc://",
            "ipc://",
            "1TB",
            "-5/s",
            "0",
            "\u221e",
            "nan",
            "1_000",
            "x" * 300,
            "\x1b[31m",
            "push",
            "all",
            "key",
        ]
    ),
)


@st.composite
def topologies(draw: st.DrawFn) -> dict[str, Any]:
    """A random topology in format 1: mostly valid, wired by references and TCP ports."""
    n = draw(st.integers(1, 6))
    procs = [f"p{i}" for i in range(n)]
    msg_names = ["m", "n", "o"]
    messages: dict[str, Any] = {}
    for m in msg_names:
        msg: dict[str, Any] = {}
        if draw(st.booleans()):
            msg["max_size"] = draw(sizes)
        if draw(st.booleans()):
            msg["key"] = "id"
        if draw(st.booleans()):
            msg["encoding"] = draw(st.sampled_from(schema.ENCODINGS))
        if draw(st.booleans()):
            msg["schema"] = draw(
                st.sampled_from(
                    [
                        {"type": "object", "required": ["id"]},
                        {"type": "object", "properties": {"id": {"type": "integer"}}},
                        {"$ref": "#/$defs/x", "$defs": {"x": {"type": "object"}}},
                        {"$ref": "http://127.0.0.1:9/x.json"},
                        {"type": "object", "properties": {"id": {"enum": [1, 2]}}},
                        {"allOf": [{"$ref": "#"}]},
                    ]
                )
            )
        if draw(st.booleans()):
            msg["loss_tolerant"] = draw(st.booleans())
        messages[m] = msg
    processes: dict[str, Any] = {}
    for p in procs:
        sockets: dict[str, Any] = {}
        for j in range(draw(st.integers(0, 3))):
            t = draw(st.sampled_from(SOCKET_TYPES))
            s: dict[str, Any] = {"type": t}
            how = draw(st.sampled_from(["bind", "connect", "both", "none"]))
            if how in ("bind", "both"):
                s["bind"] = draw(
                    st.sampled_from(
                        [
                            "tcp://*:5000",
                            "tcp://*:5001",
                            "tcp://127.0.0.1:5002",
                            "ipc:///tmp/x",
                            "inproc://q",
                            "tcp://host1:5003",
                        ]
                    )
                )
            if how in ("connect", "both"):
                target = f"{draw(st.sampled_from(procs))}.s{draw(st.integers(0, 2))}"
                s["connect"] = draw(
                    st.sampled_from(
                        [
                            target,
                            [target],
                            "tcp://localhost:5000",
                            "tcp://host1:5003",
                            "ipc:///tmp/x",
                            "inproc://q",
                            "tcp://${HOST:-localhost}:5001",
                        ]
                    )
                )
            if draw(st.booleans()):
                s["sends" if draw(st.booleans()) else "receives"] = draw(st.sampled_from(msg_names))
            for opt in ("sndhwm", "rcvhwm"):
                if draw(st.integers(0, 3)) == 0:
                    s[opt] = draw(st.integers(0, 5000))
            for opt in ("sndbuf", "rcvbuf", "maxmsgsize"):
                if draw(st.integers(0, 4)) == 0:
                    s[opt] = draw(sizes)
            if draw(st.integers(0, 4)) == 0:
                s["linger"] = draw(st.one_of(durations, st.sampled_from([-1, "infinite"])))
            for opt in ("conflate", "immediate", "nodrop", "loss_tolerant"):
                if draw(st.integers(0, 6)) == 0:
                    s[opt] = draw(st.booleans())
            if t in ("sub", "xsub") and draw(st.booleans()):
                s["subscribe"] = [""]
            if draw(st.integers(0, 6)) == 0:
                s["carries"] = draw(
                    st.sampled_from([["end-of-data"], ["data"], ["data", "end-of-data"]])
                )
            if draw(st.integers(0, 6)) == 0:
                s["sync"] = draw(st.sampled_from(schema.SYNC))
            if draw(st.integers(0, 8)) == 0:
                s["curve"] = draw(st.sampled_from(["server", "client"]))
            sockets[f"s{j}"] = s
        proc: dict[str, Any] = {"sockets": sockets}
        if draw(st.booleans()):
            proc["owner"] = draw(st.sampled_from(["team-a", "team-b"]))
        if draw(st.integers(0, 3)) == 0:
            proc["replicas"] = draw(st.integers(1, 6))
        if draw(st.integers(0, 3)) == 0:
            proc["host"] = draw(st.sampled_from(["localhost", "host1", "prod01", "test-1"]))
        for key, strat in (
            ("rate", rates),
            ("service_time", durations),
            ("period", durations),
            ("phase", durations),
            ("memory_limit", sizes),
            ("count", st.integers(0, 10**6)),
        ):
            if draw(st.integers(0, 3)) == 0:
                proc[key] = draw(strat)
        if draw(st.booleans()):
            proc["end_of_data"] = draw(
                st.one_of(
                    st.sampled_from(schema.EOD_ACTIONS),
                    st.fixed_dictionaries(
                        {"action": st.sampled_from(schema.EOD_ACTIONS)},
                        optional={
                            "wait_for": st.one_of(
                                st.sampled_from(["all", "any"]), st.integers(1, 4)
                            ),
                            "timeout": durations,
                        },
                    ),
                )
            )
        if len(sockets) >= 2 and draw(st.booleans()):
            proc["join"] = {
                "inputs": list(sockets)[:2],
                "match": draw(st.sampled_from(["key", "order", "any", "latest"])),
            }
            if draw(st.booleans()):
                proc["join"]["max_pending"] = draw(st.integers(0, 100))
            if draw(st.booleans()):
                proc["join"]["timeout"] = draw(durations)
        if draw(st.integers(0, 5)) == 0:
            proc["lifecycle"] = draw(st.sampled_from(["per-run", "persistent"]))
        if draw(st.integers(0, 5)) == 0:
            proc["filters"] = True
        processes[p] = proc
    doc: dict[str, Any] = {
        "topolint": 1,
        "name": "random",
        "messages": messages,
        "processes": processes,
    }
    if draw(st.booleans()):
        doc["runs"] = draw(st.sampled_from(["finite", "continuous"]))
    if draw(st.integers(0, 3)) == 0:
        doc["defaults"] = {"sndhwm": draw(st.integers(0, 2000)), "linger": "1s"}
    if draw(st.integers(0, 3)) == 0:
        doc["environment"] = "test"
        doc["environments"] = {
            "test": {"hosts": ["localhost", "test-*"]},
            "prod": {"hosts": ["prod*"]},
        }
    if draw(st.integers(0, 4)) == 0:
        doc["kernel"] = {"tcp_wmem": [4096, 16384, 4194304], "wmem_max": 212992}
    return doc


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def lint(text: str, file: str = "t.yaml") -> list[Finding] | InputError:
    """Load and check ``text``; an input error is an acceptable outcome, nothing else is."""
    try:
        topo = loads(text, file)
        findings = run_rules(topo, Settings())
    except InputError as e:
        assert e.file == file
        assert e.line is None or e.line >= 1
        assert e.column is None or e.column >= 1
        assert str(e).startswith(f"{file}:")
        assert "\n" not in str(e).strip() or len(str(e)) < 2000
        return e
    assert isinstance(findings, list)
    for f in findings:
        assert f.line >= 1 and f.column >= 1, f
        assert f.file == file
    return findings


def agree(data: Any) -> None:
    """The compiled pre-check and jsonschema accept exactly the same documents."""
    assert schema.is_valid(data) == schema._validator().is_valid(data), data


@PROFILE
@given(topologies())
def test_random_topologies_end_in_findings_or_an_input_error(data: dict[str, Any]) -> None:
    agree(data)
    lint(dump(data))


@st.composite
def corrupted(draw: st.DrawFn) -> dict[str, Any]:
    """A random topology with one to three elements replaced, removed or added."""
    data = draw(topologies())
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(data)))
        if not where:
            continue
        parent = data
        for part in where[:-1]:
            parent = parent[part]
        last = where[-1]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[last] = draw(HOSTILE_VALUES)
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["typo", "sokets", "x-free", "bind", "replicas"]))] = draw(
                HOSTILE_VALUES
            )
        else:
            parent.append(draw(HOSTILE_VALUES))
    return data


@PROFILE
@given(corrupted())
def test_corrupted_topologies_end_in_findings_or_an_input_error(data: dict[str, Any]) -> None:
    agree(data)
    lint(dump(data))


YAML_NOISE = st.text(alphabet="[]{}:-&*!|>'\"#%@,?\t\n \\x01\u00e9\u202e0123456789", max_size=8)


@st.composite
def mangled_text(draw: st.DrawFn) -> str:
    """The YAML text of a random topology with characters cut, inserted or lines shuffled."""
    text = dump(draw(topologies()))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["cut", "insert", "duplicate-line", "truncate"]))
        i = draw(st.integers(0, len(text)))
        if action == "cut":
            text = text[:i] + text[i + draw(st.integers(1, 20)) :]
        elif action == "insert":
            text = text[:i] + draw(YAML_NOISE) + text[i:]
        elif action == "duplicate-line":
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k])
            text = "\n".join(lines)
        else:
            text = text[:i]
    return text


@PROFILE
@given(mangled_text())
def test_mangled_text_ends_in_findings_or_an_input_error(text: str) -> None:
    lint(text)


@PROFILE
@given(mangled_text())
def test_loader_positions_point_into_the_text(text: str) -> None:
    try:
        doc = load_text(text, "t.yaml")
    except InputError:
        return
    lines = [*text.split("\n"), ""]  # an empty node at the very end sits past the last line
    for table in (doc.value_pos, doc.key_pos):
        for pos in table.values():
            assert 1 <= pos.line <= len(lines)
            assert 1 <= pos.column <= len(lines[pos.line - 1]) + 1


@PROFILE
@given(
    st.recursive(
        HOSTILE_VALUES,
        lambda kids: (
            st.lists(kids, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ["topolint", "name", "processes", "messages", "sockets", "type", "x-a"]
                ),
                kids,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
def test_any_json_value_ends_in_findings_or_an_input_error(data: Any) -> None:
    agree(data)
    lint(dump(data))


@pytest.mark.parametrize(
    "text",
    [
        "topolint: 1\nname: x\nprocesses: {}\n",
        "topolint: 1\nname: x\nprocesses: {p: {}}\n",
        "topolint: 1\nname: x\nprocesses: {p: {sockets: {}}}\n",
        "topolint: 1.0\nname: x\nprocesses: {p: {sockets: {}}}\n",
        "topolint: true\nname: x\nprocesses: {p: {sockets: {}}}\n",
        "topolint: 1\nname: x\nprocesses: {p: {sockets: {s: {type: push, sndhwm: 1.0}}}}\n",
        "topolint: 1\nname: x\nprocesses: {p: {sockets: {s: {type: push, sndhwm: 1.5}}}}\n",
        "topolint: 1\nname: x\nprocesses: {p: {sockets: {s: {type: push, sndhwm: true}}}}\n",
        "topolint: 1\nname: ''\nprocesses: {p: {sockets: {}}}\n",
        "topolint: 1\nname: x\nprocesses: {p: {sockets: {s: {type: sub, connect: []}}}}\n",
        "topolint: 1\nname: x\nprocesses: {p: {end_of_data: {action: emit, wait_for: 0}}}\n",
        "topolint: 1\nname: x\nkernel: {tcp_wmem: [1, 2]}\nprocesses: {p: {}}\n",
    ],
)
def test_edge_cases_of_the_schema_agree(text: str) -> None:
    agree(yaml.safe_load(text))
    lint(text)
