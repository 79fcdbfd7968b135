"""Behaviour of the ownership rules (TL701-TL703), including schema files."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from topolint.lint.engine import Settings, load, loads, run_rules
from topolint.lint.findings import Finding


def run(rule: str, text: str, **options: Any) -> list[Finding]:
    topo = loads(textwrap.dedent(text), "topo.yaml")
    opts = {rule: {k.replace("_", "-"): v for k, v in options.items()}} if options else {}
    return run_rules(topo, Settings(select=[rule], use_environ=False, options=opts))


def run_file(rule: str, path: Path) -> list[Finding]:
    return run_rules(load(path, use_environ=False), Settings(select=[rule], use_environ=False))


# --------------------------------------------------------------------------- missing-owner


def test_missing_owner_only_when_owners_are_used() -> None:
    none = """
    topolint: 1
    name: t
    runs: continuous
    processes:
      a: {sockets: {out: {type: push, bind: "tcp://*:7000"}}}
      b: {sockets: {in: {type: pull, connect: a.out}}}
      c: {}
    """
    assert run("missing-owner", none) == []
    some = none.replace("a: {sockets", "a: {owner: team-a, sockets")
    found = run("missing-owner", some)
    assert [f.element for f in found] == ["processes.b", "processes.c"]
    assert "1 of 3 processes" in found[0].message
    assert "processes of team-a" in found[0].message  # b exchanges data with team-a
    assert "exchanges" not in found[1].message


# --------------------------------------------------------------------------- undeclared-contract


UNDECLARED = """
topolint: 1
name: t
runs: continuous
messages:
  hits: {{max_size: 1kB}}
processes:
  a:
    owner: {a}
    sockets: {{out: {{type: push, bind: "tcp://*:7000"{sends}}}}}
  b:
    owner: {b}
    replicas: 3
    sockets: {{in: {{type: pull, connect: a.out{receives}}}}}
"""


def test_undeclared_contract_one_finding_per_socket_despite_replicas() -> None:
    text = UNDECLARED.format(a="x", b="y", sends="", receives="")
    found = run("undeclared-contract", text)
    assert [f.element for f in found] == ["processes.a.sockets.out", "processes.b.sockets.in"]
    assert "owner x" in found[0].message and "b.in (owner y)" in found[0].message


def test_undeclared_contract_silent_inside_one_owner_or_when_declared() -> None:
    assert run("undeclared-contract", UNDECLARED.format(a="x", b="x", sends="", receives="")) == []
    text = UNDECLARED.format(a="x", b="y", sends=", sends: hits", receives=", receives: hits")
    assert run("undeclared-contract", text) == []


def test_undeclared_contract_undefined_type_name() -> None:
    text = UNDECLARED.format(a="x", b="y", sends=", sends: hits", receives=", receives: hist")
    (f,) = run("undeclared-contract", text)
    assert f.element == "processes.b.sockets.in.receives"
    assert "hist" in f.message and "does not define" in f.message


ONE_WAY = """
topolint: 1
name: t
runs: continuous
messages:
  cmd: {{max_size: 1kB}}
processes:
  a:
    owner: x
    sockets: {{s: {{type: {a}, bind: "tcp://*:7000"{a_decl}}}}}
  b:
    owner: y
    sockets: {{s: {{type: {b}, connect: a.s{b_decl}}}}}
"""


@pytest.mark.parametrize(
    ("a", "b", "a_decl", "b_decl", "expect"),
    [
        # one way, declared on both ends: the empty return direction needs no contract
        ("pair", "pair", ", sends: cmd", ", receives: cmd", []),
        ("pair", "pair", ", receives: cmd", ", sends: cmd", []),
        ("router", "dealer", ", sends: cmd", ", receives: cmd", []),
        ("router", "dealer", ", receives: cmd", ", sends: cmd", []),
        ("dealer", "dealer", ", sends: cmd", ", receives: cmd", []),
        # one way declared by one end: the direction it declares still needs the other end
        ("pair", "pair", ", sends: cmd", "", ["processes.b.sockets.s"]),
        ("router", "dealer", "", ", sends: cmd", ["processes.a.sockets.s"]),
        # nothing declared: both directions may carry data, both unwritten
        ("pair", "pair", "", "", ["processes.a.sockets.s", "processes.b.sockets.s"]),
        # REQ/REP always answer: the reply needs a contract even if undeclared
        (
            "rep",
            "req",
            ", receives: cmd",
            ", sends: cmd",
            ["processes.a.sockets.s", "processes.b.sockets.s"],
        ),
    ],
)
def test_undeclared_contract_one_way_channels(
    a: str, b: str, a_decl: str, b_decl: str, expect: list[str]
) -> None:
    text = ONE_WAY.format(a=a, b=b, a_decl=a_decl, b_decl=b_decl)
    found = run("undeclared-contract", text)
    assert sorted({f.element for f in found}) == expect, [f.message for f in found]


# --------------------------------------------------------------------------- contract-mismatch


def topology(p_schema: Any, c_schema: Any, *, p: str = "prod", c: str = "cons") -> str:
    return textwrap.dedent(
        f"""
        topolint: 1
        name: t
        runs: continuous
        messages:
          {p}: {{schema: {json.dumps(p_schema)}}}
          {c}: {{schema: {json.dumps(c_schema)}}}
        processes:
          src: {{owner: a, sockets: {{out: {{type: push, bind: "tcp://*:7000", sends: {p}}}}}}}
          dst:
            owner: b
            replicas: 2
            sockets: {{in: {{type: pull, connect: src.out, receives: {c}}}}}
        """
    )


OBJ = {"type": "object"}


@pytest.mark.parametrize(
    ("producer", "consumer", "expect"),
    [
        # required field missing
        ({**OBJ, "properties": {"a": {}}}, {**OBJ, "required": ["a"]}, "field a"),
        # number does not fit integer
        (
            {**OBJ, "required": ["n"], "properties": {"n": {"type": "number"}}},
            {**OBJ, "properties": {"n": {"type": "integer"}}},
            "field n",
        ),
        # enum widened beyond the consumer's
        (
            {**OBJ, "required": ["k"], "properties": {"k": {"enum": ["a", "b", "c"]}}},
            {**OBJ, "properties": {"k": {"enum": ["a", "b"]}}},
            "'c'",
        ),
        # additionalProperties: false on the consumer
        (
            {**OBJ, "properties": {"x": {"type": "string"}}},
            {**OBJ, "additionalProperties": False, "properties": {"y": {}}},
            "additionalProperties",
        ),
        # nested array of objects, through a local $ref on the producer side
        (
            {
                **OBJ,
                "required": ["hits"],
                "properties": {"hits": {"type": "array", "items": {"$ref": "#/$defs/h"}}},
                "$defs": {"h": {**OBJ, "required": ["e"], "properties": {"e": {"type": "string"}}}},
            },
            {
                **OBJ,
                "properties": {
                    "hits": {
                        "type": "array",
                        "items": {**OBJ, "properties": {"e": {"type": "number"}}},
                    }
                },
            },
            "field hits[].e",
        ),
    ],
)
def test_contract_mismatch_cases(producer: Any, consumer: Any, expect: str) -> None:
    found = run("contract-mismatch", topology(producer, consumer))
    assert found, expect
    assert all(f.element == "processes.dst.sockets.in.receives" for f in found)
    assert any(expect in f.message for f in found), [f.message for f in found]
    # one finding per incompatibility, not per replica
    assert len({f.message for f in found}) == len(found)


def test_contract_fits_when_producer_is_narrower() -> None:
    producer = {
        **OBJ,
        "required": ["a", "n"],
        "additionalProperties": False,
        "properties": {"a": {"type": "string"}, "n": {"type": "integer"}, "k": {"enum": ["x"]}},
    }
    consumer = {
        **OBJ,
        "required": ["a"],
        "properties": {"a": {"type": "string"}, "n": {"type": "number"}, "k": {"enum": ["x", "y"]}},
    }
    assert run("contract-mismatch", topology(producer, consumer)) == []
    # the reverse direction does not fit
    assert run("contract-mismatch", topology(consumer, producer))


def test_same_type_name_is_never_a_mismatch() -> None:
    text = topology({**OBJ}, {**OBJ, "required": ["a"]}).replace("receives: cons", "receives: prod")
    assert run("contract-mismatch", text) == []


def test_plain_type_name_mismatch_without_schemas() -> None:
    text = """
    topolint: 1
    name: t
    runs: continuous
    messages:
      image: {max_size: 1kB}
      hits: {max_size: 1kB, schema: {type: object}}
    processes:
      a: {sockets: {out: {type: push, bind: "tcp://*:7000", sends: image}}}
      b: {sockets: {in: {type: pull, connect: a.out, receives: hits}}}
    """
    (f,) = run("contract-mismatch", text)
    assert "sends image" in f.message and "receives hits" in f.message
    assert "image has no schema" in f.message


def test_unverifiable_kinds_only_on_request() -> None:
    producer = {**OBJ, "required": ["s"], "properties": {"s": {"type": "string"}}}
    consumer = {**OBJ, "properties": {"s": {"type": "string", "pattern": "^[a-z]+$"}}}
    assert run("contract-mismatch", topology(producer, consumer)) == []
    found = run("contract-mismatch", topology(producer, consumer), report_unverifiable=True)
    assert found and "cannot be verified" in found[0].message


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


FILE_TOPO = """
topolint: 1
name: t
runs: continuous
messages:
  hits: {{schema: {p}}}
  calib: {{schema: {c}}}
processes:
  hitfinder: {{owner: a, sockets: {{out: {{type: push, bind: "tcp://*:7000", sends: hits}}}}}}
  calibrator: {{owner: b, sockets: {{in: {{type: pull, connect: hitfinder.out, receives: calib}}}}}}
"""


def test_schema_files_next_to_the_topology(tmp_path: Path) -> None:
    write(tmp_path, "schemas/hits.json", json.dumps({**OBJ, "properties": {"e": {}}}))
    write(tmp_path, "schemas/calib.yaml", "type: object\nrequired: [e]\n")
    topo = write(
        tmp_path, "topo.yaml", FILE_TOPO.format(p="schemas/hits.json", c="schemas/calib.yaml")
    )
    (f,) = run_file("contract-mismatch", topo)
    assert "field e" in f.message and "hitfinder.out" in f.message
    # fixed producer: silent
    write(tmp_path, "schemas/hits.json", json.dumps({**OBJ, "required": ["e"]}))
    assert run_file("contract-mismatch", topo) == []


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("../outside.json", "outside"),
        ("/etc/hostname", "absolute"),
        ("https://example.com/s.json", "URL"),
        ("schemas/missing.json", "does not exist"),
        ("schemas/broken.json", "not valid JSON"),
    ],
)
def test_refused_schema_files_are_findings_at_the_schema_key(
    tmp_path: Path, ref: str, why: str
) -> None:
    project = tmp_path / "project"
    write(tmp_path, "outside.json", "{}")
    write(project, "schemas/broken.json", "{nope")
    write(project, "schemas/ok.json", "{}")
    topo = write(project, "topo.yaml", FILE_TOPO.format(p=json.dumps(ref), c="schemas/ok.json"))
    found = run_file("contract-mismatch", topo)
    assert len(found) == 1, [f.message for f in found]
    f = found[0]
    assert f.element == "messages.hits.schema"
    assert why in f.message and "not checked" in f.message
    assert ref.split("/")[-1] in topo.read_text().splitlines()[f.line - 1]


def test_schema_file_of_a_topology_given_as_text() -> None:
    text = FILE_TOPO.format(p="hits.json", c="{type: object}")
    (f,) = run("contract-mismatch", text)
    assert f.element == "messages.hits.schema" and "not read from a file" in f.message


def test_encoding_mismatch() -> None:
    text = """
    topolint: 1
    name: t
    runs: continuous
    messages:
      a: {encoding: msgpack, schema: {type: object}}
      b: {encoding: json, schema: {type: object}}
    processes:
      p: {sockets: {out: {type: push, bind: "tcp://*:7000", sends: a}}}
      q: {sockets: {in: {type: pull, connect: p.out, receives: b}}}
    """
    (f,) = run("contract-mismatch", text)
    assert "encoded msgpack" in f.message and "as json" in f.message
