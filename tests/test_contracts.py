"""Message contracts: producer schema against consumer schema, and schema loading."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topolint.analysis.contracts import (
    MAX_SCHEMA_BYTES,
    ContractError,
    Incompatibility,
    incompatibilities,
    load_schema,
)

OK: set[tuple[str, str]] = set()


def found(producer: Any, consumer: Any) -> set[tuple[str, str]]:
    return {(i.kind, i.pointer) for i in incompatibilities(producer, consumer)}


HIT = {
    "type": "object",
    "required": ["energy", "channel"],
    "properties": {"energy": {"type": "number"}, "channel": {"type": "integer"}},
}
HIT_LOOSE = {
    "type": "object",
    "required": ["channel"],
    "properties": {"energy": {"type": "number"}, "channel": {"type": "integer"}},
}
EVENT_DEFS = {
    "type": "object",
    "required": ["hits"],
    "properties": {"hits": {"type": "array", "items": {"$ref": "#/definitions/hit"}}},
    "definitions": {"hit": HIT},
}
EVENT_DEFS_LOOSE = {
    "type": "object",
    "required": ["hits"],
    "properties": {"hits": {"type": "array", "items": {"$ref": "#/$defs/hit"}}},
    "$defs": {"hit": HIT_LOOSE},
}
TREE_INT: dict[str, Any] = {
    "type": "object",
    "required": ["value"],
    "properties": {
        "value": {"type": "integer"},
        "children": {"type": "array", "items": {"$ref": "#"}},
    },
}
TREE_NUM = copy.deepcopy(TREE_INT)
TREE_NUM["properties"]["value"] = {"type": "number"}
BASE = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
IMAGE = {
    "type": "object",
    "required": ["frame_id", "pixels"],
    "additionalProperties": False,
    "properties": {
        "frame_id": {"type": "integer", "minimum": 0},
        "pixels": {"type": "array", "items": {"type": "integer", "maximum": 255}},
        "meta": {
            "type": "object",
            "properties": {"camera": {"enum": ["left", "right"]}, "ts": {"format": "date-time"}},
        },
    },
}

# (id, producer, consumer, expected (kind, pointer) for producer -> consumer,
#  expected for consumer -> producer, i.e. the reverse direction)
PAIRS: list[tuple[str, Any, Any, set[tuple[str, str]], set[tuple[str, str]]]] = [
    ("integer-number", {"type": "integer"}, {"type": "number"}, OK, {("type", "")}),
    (
        "required-added",
        {"type": "object", "required": ["a", "b"]},
        {"type": "object", "required": ["a"]},
        OK,
        {("missing-required", "/properties/b")},
    ),
    (
        "enum-narrowed",
        {"enum": ["x", "y"]},
        {"enum": ["x", "y", "z"]},
        OK,
        {("enum", "")},
    ),
    ("enum-vs-free-string", {"enum": ["x"]}, {"type": "string"}, OK, {("enum", "")}),
    ("const-in-enum", {"const": "v1"}, {"enum": ["v1", "v2"]}, OK, {("const", "")}),
    ("boolean-enum", {"type": "boolean"}, {"enum": [True, False]}, OK, OK),
    (
        "boolean-not-int",
        {"enum": [0, 1]},
        {"type": "integer"},
        OK,
        {("enum", "")},
    ),
    (
        "additional-properties-false-named",
        {"properties": {"a": {}}, "additionalProperties": False},
        {"properties": {"a": {}, "b": {}}, "additionalProperties": False},
        OK,
        {("additional-properties", "/properties/b")},
    ),
    (
        "additional-properties-false-open-producer",
        {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
        {"type": "object", "properties": {"a": {}}},
        OK,
        {("additional-properties", "/additionalProperties")},
    ),
    (
        "additional-properties-schema",
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {"type": "object", "additionalProperties": {"type": "number"}},
        OK,
        {("type", "/additionalProperties")},
    ),
    (
        "nested-object",
        {"properties": {"meta": {"properties": {"run": {"type": "integer"}}}}},
        {"properties": {"meta": {"properties": {"run": {"type": "number"}}}}},
        OK,
        {("type", "/properties/meta/properties/run")},
    ),
    (
        "array-of-objects",
        {"type": "array", "items": HIT},
        {"type": "array", "items": HIT_LOOSE},
        OK,
        {("missing-required", "/items/properties/energy")},
    ),
    (
        "ref-into-definitions",
        EVENT_DEFS,
        EVENT_DEFS_LOOSE,
        OK,
        {("missing-required", "/properties/hits/items/properties/energy")},
    ),
    ("recursive-ref", TREE_INT, TREE_NUM, OK, {("type", "/properties/value")}),
    (
        "allOf-producer-merged",
        {"allOf": [{"$ref": "#/$defs/base"}, {"required": ["n"]}], "$defs": {"base": BASE}},
        {"type": "object", "required": ["id", "n"], "properties": {"id": {"type": "string"}}},
        OK,
        OK,
    ),
    (
        "allOf-consumer-extra-required",
        BASE,
        {"allOf": [BASE, {"required": ["n"]}]},
        {("missing-required", "/properties/n")},
        OK,
    ),
    (
        "allOf-additional-properties-gotcha",
        {
            "type": "object",
            "allOf": [
                {"properties": {"a": {}}, "additionalProperties": False},
                {"properties": {"b": {}}},
            ],
        },
        {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
        OK,
        OK,
    ),
    (
        "anyOf-producer-types",
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": ["string", "number"]},
        OK,
        {("type", "")},
    ),
    (
        "anyOf-consumer-nullable-object",
        {"type": "object", "required": ["a", "b"]},
        {"anyOf": [{"type": "null"}, {"type": "object", "required": ["a"]}]},
        OK,
        {("type", ""), ("missing-required", "/properties/b")},
    ),
    (
        "oneOf-consumer-closest-branch",
        {"type": "object", "required": ["a"]},
        {"oneOf": [{"type": "string"}, {"type": "object", "required": ["a", "b"]}]},
        {("missing-required", "/properties/b")},
        {("type", "")},
    ),
    ("nullable-type-list", {"type": "string"}, {"type": ["string", "null"]}, OK, {("type", "")}),
    ("identical", IMAGE, copy.deepcopy(IMAGE), OK, OK),
    ("empty-both", {}, {}, OK, OK),
    (
        "empty-consumer",
        {"type": "string", "minLength": 3},
        {},
        OK,
        {("type", ""), ("minLength", "")},
    ),
    ("true-schemas", True, {"type": "string"}, {("type", "")}, OK),
    ("false-consumer", False, {"type": "string"}, OK, {("forbidden", "")}),
    (
        "numeric-range",
        {"type": "integer", "minimum": 0, "maximum": 10},
        {"type": "number", "minimum": 0, "maximum": 100},
        OK,
        {("type", ""), ("maximum", "")},
    ),
    (
        "draft4-and-draft6-exclusive-equal",
        {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        {"type": "number", "exclusiveMinimum": 0},
        OK,
        OK,
    ),
    (
        "exclusive-bounds-integer",
        {"type": "integer", "exclusiveMinimum": 0},
        {"type": "integer", "minimum": 1},
        OK,
        OK,
    ),
    (
        "exclusive-bounds-number",
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "number", "minimum": 0},
        OK,
        {("minimum", "")},
    ),
    (
        "draft4-exclusive",
        {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        {"type": "number", "minimum": 0},
        OK,
        {("minimum", "")},
    ),
    (
        "string-lengths",
        {"type": "string", "minLength": 2, "maxLength": 8},
        {"type": "string", "maxLength": 16},
        OK,
        {("maxLength", ""), ("minLength", "")},
    ),
    (
        "pattern",
        {"type": "string", "pattern": "^[a-z]+$"},
        {"type": "string"},
        OK,
        {("pattern", "")},
    ),
    (
        "pattern-equal",
        {"type": "string", "pattern": "^[a-z]+$", "maxLength": 4},
        {"type": "string", "pattern": "^[a-z]+$"},
        OK,
        {("maxLength", "")},
    ),
    (
        "format",
        {"type": "string", "format": "date-time"},
        {"type": "string"},
        OK,
        {("format", "")},
    ),
    (
        "array-bounds-and-items",
        {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
        {"type": "array", "items": {"type": "number"}, "maxItems": 5},
        OK,
        {("type", "/items"), ("maxItems", ""), ("minItems", "")},
    ),
    (
        "tuple-prefixItems",
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]},
        OK,
        {("type", "/prefixItems/1"), ("forbidden", "/items")},
    ),
    (
        "uniqueItems",
        {"type": "array", "uniqueItems": True},
        {"type": "array"},
        OK,
        {("uniqueItems", "")},
    ),
    (
        "multipleOf",
        {"type": "integer", "multipleOf": 4},
        {"type": "integer", "multipleOf": 2},
        OK,
        {("multipleOf", "")},
    ),
    (
        "optional-unknown-not-reported",
        {"type": "object"},
        {"type": "object", "properties": {"a": {"type": "integer"}}},
        OK,
        OK,
    ),
    (
        "required-but-untyped",
        {"type": "object", "required": ["a"]},
        {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
        {("type", "/properties/a")},
        OK,
    ),
    (
        "patternProperties",
        {"type": "object", "properties": {"x-id": {"type": "string"}}},
        {"type": "object", "patternProperties": {"^x-": {"type": "string", "maxLength": 3}}},
        {("maxLength", "/properties/x-id")},
        OK,
    ),
    (
        "dependentRequired",
        {"type": "object", "required": ["card", "billing"]},
        {"type": "object", "dependentRequired": {"card": ["billing"]}},
        OK,
        {("missing-required", "/properties/card"), ("missing-required", "/properties/billing")},
    ),
    (
        "not-null",
        {"type": "string"},
        {"not": {"type": "null"}},
        OK,
        {("type", "")},  # the producer's 'not' is ignored: it may send anything
    ),
    (
        "not-null-nullable",
        {"type": ["string", "null"], "not": {"type": "null"}},
        {"type": ["string", "null"]},
        OK,
        {("not", "")},
    ),
    (
        "escaped-pointer",
        {"type": "object", "required": ["a/b", "c~d"]},
        {"type": "object", "required": ["a/b", "c~d", "e"]},
        {("missing-required", "/properties/e")},
        OK,
    ),
]


@pytest.mark.parametrize(
    ("producer", "consumer", "expected"),
    [pytest.param(p, c, fwd, id=name) for name, p, c, fwd, _ in PAIRS],
)
def test_producer_to_consumer(producer: Any, consumer: Any, expected: set[tuple[str, str]]) -> None:
    assert found(producer, consumer) == expected


@pytest.mark.parametrize(
    ("producer", "consumer", "expected"),
    [pytest.param(c, p, rev, id=name + "-reversed") for name, p, c, _, rev in PAIRS],
)
def test_reverse_direction(producer: Any, consumer: Any, expected: set[tuple[str, str]]) -> None:
    assert found(producer, consumer) == expected


def test_enough_pairs() -> None:
    assert len(PAIRS) >= 30


def test_reasons_are_readable() -> None:
    (i,) = incompatibilities(EVENT_DEFS_LOOSE, EVENT_DEFS)
    assert i == Incompatibility(
        pointer="/properties/hits/items/properties/energy",
        reason="the consumer requires field 'energy' which the producer does not guarantee",
        kind="missing-required",
    )
    (t,) = incompatibilities({"type": "number"}, {"type": "integer"})
    assert t.reason == "the producer may send number, the consumer accepts only integer"
    (e,) = incompatibilities({"enum": ["X", "Y"]}, {"enum": ["Y"]})
    assert "'X'" in e.reason and e.kind == "enum"


def test_non_local_refs_are_reported_never_fetched() -> None:
    (c,) = incompatibilities({"type": "string"}, {"$ref": "https://example.invalid/s.json"})
    assert c.kind == "ref" and "never fetches" in c.reason
    (p,) = incompatibilities({"$ref": "common.json#/X"}, {"type": "string"})
    assert p.kind == "ref"
    # a consumer that constrains nothing needs no look at the producer's reference
    assert incompatibilities({"$ref": "common.json#/X"}, {}) == []


def test_roots_resolve_refs() -> None:
    doc = {"messages": {"hit": HIT}}
    producer = {"$ref": "#/messages/hit"}
    assert incompatibilities(producer, HIT_LOOSE, producer_root=doc) == []
    broken = incompatibilities(HIT_LOOSE, producer, consumer_root=doc)
    assert {(i.kind, i.pointer) for i in broken} == {("missing-required", "/properties/energy")}


def test_mutually_recursive_refs_terminate() -> None:
    schema: dict[str, Any] = {
        "$ref": "#/$defs/a",
        "$defs": {
            "a": {"type": "object", "properties": {"b": {"$ref": "#/$defs/b"}}},
            "b": {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}, "n": {}}},
            "loop": {"$ref": "#/$defs/loop"},
        },
    }
    other = copy.deepcopy(schema)
    other["$defs"]["b"]["properties"]["n"] = {"type": "string"}
    assert incompatibilities(schema, other) == []  # n is optional on both sides
    other["$defs"]["b"]["required"] = ["n"]
    got = found(schema, other)
    assert got == {("missing-required", "/properties/b/properties/n")}
    assert incompatibilities({"$ref": "#/$defs/loop", "$defs": schema["$defs"]}, {}) == []


def test_wide_and_deep_schemas_stay_bounded() -> None:
    # 2**40 paths through shared definitions: memoisation keeps this linear
    defs: dict[str, Any] = {"d0": {"type": "integer"}}
    for i in range(1, 41):
        ref = {"$ref": f"#/$defs/d{i - 1}"}
        defs[f"d{i}"] = {"type": "object", "properties": {"l": ref, "r": ref}}
    producer: dict[str, Any] = {"$ref": "#/$defs/d40", "$defs": defs}
    consumer = copy.deepcopy(producer)
    consumer["$defs"]["d0"] = {"type": "string"}
    got = incompatibilities(producer, consumer)
    assert got and all(i.kind == "type" for i in got)
    # nesting far beyond the recursion limit does not crash
    deep: Any = {"type": "integer"}
    deep_c: Any = {"type": "string"}
    for _ in range(3000):
        deep = {"type": "object", "properties": {"x": deep}}
        deep_c = {"type": "object", "properties": {"x": deep_c}}
    got = incompatibilities(deep, deep_c)
    assert [i.kind for i in got] == ["unchecked"]
    same: Any = {"type": "integer"}
    for _ in range(3000):
        same = {"type": "object", "properties": {"x": same}}
    assert incompatibilities(deep, same) == []


def test_many_producer_alternatives_are_capped() -> None:
    anyof = {"anyOf": [{"type": "integer", "minimum": i} for i in range(10)]}
    producer = {"allOf": [anyof, anyof, anyof]}  # 1000 alternatives
    got = incompatibilities(producer, {"type": "number", "minimum": 0})
    assert {i.kind for i in got} == {"unchecked"}
    got = incompatibilities(producer, {"type": "string"})
    assert ("type", "") in {(i.kind, i.pointer) for i in got}


def test_malformed_schemas_do_not_crash() -> None:
    weird: list[Any] = [
        {"type": 5, "required": "a", "properties": [1], "items": "x", "enum": 3},
        {"minimum": "0", "maxLength": -1, "pattern": "([", "allOf": {}, "anyOf": []},
        {"$ref": 7, "additionalProperties": "no", "patternProperties": {"(": {}}},
        "not a schema",
        None,
    ]
    for p in weird:
        for c in weird:
            assert isinstance(incompatibilities(p, c), list)


DISCRIMINATED = {
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": {"enum": ["a", "b"]}},
    "if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]},
    "then": {"required": ["x"]},
    "else": {"required": ["y"]},
}


def _kind(value: Any, *required: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["kind", *required],
        "properties": {"kind": {"enum": value} if isinstance(value, list) else {"const": value}},
    }


@pytest.mark.parametrize(
    ("producer", "expected"),
    [
        (_kind("a", "x"), OK),
        (_kind("a"), {("missing-required", "/properties/x")}),
        (_kind("b", "y"), OK),
        (_kind("b"), {("missing-required", "/properties/y")}),
        (_kind(["a", "b"], "x", "y"), OK),
        (_kind(["a", "b"]), {("unchecked", "")}),  # either side of 'if': not decided
    ],
)
def test_if_then_else_on_a_discriminator(producer: Any, expected: set[tuple[str, str]]) -> None:
    assert found(producer, DISCRIMINATED) == expected


@pytest.mark.parametrize(
    ("producer", "consumer", "expected"),
    [
        ({"type": "string"}, {"not": {"required": ["a"]}}, {("not", "")}),  # strings match
        ({"type": "object", "properties": {"a": False}}, {"not": {"required": ["a"]}}, OK),
        (_kind("b"), {"not": {"properties": {"kind": {"const": "a"}}}}, OK),
        (_kind(["a", "b"]), {"not": {"properties": {"kind": {"const": "a"}}}}, {("not", "")}),
        ({"enum": [1, 2]}, {"not": {"const": 2}}, {("not", "")}),
    ],
)
def test_not(producer: Any, consumer: Any, expected: set[tuple[str, str]]) -> None:
    assert found(producer, consumer) == expected


def test_wide_inputs() -> None:
    values = [f"v{i}" for i in range(5000)]
    (e,) = incompatibilities({"enum": values}, {"enum": values[:-1]})
    assert e.kind == "enum" and "'v4999'" in e.reason
    props = {f"p{i}": {"type": "integer"} for i in range(2000)}
    producer: dict[str, Any] = {"type": "object", "properties": props, "required": list(props)}
    consumer = copy.deepcopy(producer)
    consumer["properties"]["p7"] = {"type": "string"}
    consumer["required"].append("extra")
    assert found(producer, consumer) == {
        ("type", "/properties/p7"),
        ("missing-required", "/properties/extra"),
    }
    alternatives = {"anyOf": [{"type": "object", "required": [f"k{i}"]} for i in range(300)]}
    assert incompatibilities({"type": "object", "required": ["k299"]}, alternatives) == []


# --------------------------------------------------------------------------- hypothesis

_NAMES = st.sampled_from(["a", "b", "c", "x/y", "t~1"])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["x", "y", "zz"]),
    st.sampled_from([0.5, -1.5, 2.0]),
)
_TYPES = st.sampled_from(["null", "boolean", "integer", "number", "string", "array", "object"])


def _leaves(with_not: bool) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just({}),
        st.just(True),
        st.just(False),
        _TYPES.map(lambda t: {"type": t}),
        st.lists(_TYPES, min_size=1, max_size=3, unique=True).map(lambda ts: {"type": ts}),
        st.lists(_SCALARS, min_size=1, max_size=4).map(lambda vs: {"enum": vs}),
        _SCALARS.map(lambda v: {"const": v}),
        st.tuples(st.integers(-5, 5), st.integers(0, 9)).map(
            lambda t: {"type": "number", "minimum": t[0], "exclusiveMaximum": t[0] + t[1]}
        ),
        st.tuples(st.integers(0, 3), st.sampled_from(["^a", "b$"])).map(
            lambda t: {"type": "string", "minLength": t[0], "pattern": t[1], "format": "email"}
        ),
        st.sampled_from([{"$ref": "#/definitions/d0"}, {"$ref": "#/definitions/d1"}]),
    )


def _extend(children: st.SearchStrategy[Any], with_not: bool) -> st.SearchStrategy[Any]:
    options = [
        st.tuples(
            st.dictionaries(_NAMES, children, max_size=3),
            st.lists(_NAMES, max_size=3, unique=True),
            st.one_of(st.none(), st.booleans(), children),
        ).map(_object),
        st.tuples(children, st.integers(0, 2), st.booleans()).map(
            lambda t: {"type": "array", "items": t[0], "minItems": t[1], "uniqueItems": t[2]}
        ),
        st.tuples(st.lists(children, min_size=1, max_size=2), children).map(
            lambda t: {"type": "array", "prefixItems": t[0], "items": t[1]}
        ),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"allOf": xs}),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"anyOf": xs}),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"oneOf": xs}),
    ]
    if with_not:
        options.append(children.map(lambda x: {"not": x}))
    return st.one_of(options)


def _object(t: tuple[dict[str, Any], list[str], Any]) -> dict[str, Any]:
    props, required, additional = t
    out: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    if additional is not None:
        out["additionalProperties"] = additional
    return out


def _documents(with_not: bool, max_leaves: int = 10) -> st.SearchStrategy[dict[str, Any]]:
    schema = st.recursive(
        _leaves(with_not), lambda ch: _extend(ch, with_not), max_leaves=max_leaves
    )
    return st.tuples(schema, schema, schema).map(
        lambda t: {"allOf": [t[0]], "definitions": {"d0": t[1], "d1": t[2]}}
    )


_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "definitions", "patternProperties")
_SUBSCHEMAS = ("items", "additionalProperties", "not")


def _wrapped(schema: Any, *, root: bool = False) -> Any:
    """The same schema, spelled differently: every subschema wrapped in an allOf."""
    if not isinstance(schema, dict):
        return {"allOf": [schema]}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SUBSCHEMA_LISTS:
            out[key] = [_wrapped(v) for v in value]
        elif key in _SUBSCHEMA_MAPS:
            out[key] = {k: _wrapped(v) for k, v in value.items()}
        elif key in _SUBSCHEMAS:
            out[key] = _wrapped(value)
        else:
            out[key] = copy.deepcopy(value)
    return out if root else {"allOf": [out]}


_SETTINGS = settings(
    max_examples=int(os.environ.get("CONTRACT_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@_SETTINGS
@given(_documents(with_not=True))
def test_a_schema_satisfies_itself(schema: dict[str, Any]) -> None:
    assert incompatibilities(schema, schema) == []
    assert incompatibilities(schema, copy.deepcopy(schema)) == []


@_SETTINGS
@given(_documents(with_not=False))
def test_a_schema_satisfies_itself_spelled_differently(schema: dict[str, Any]) -> None:
    # structurally different but equivalent: exercises every keyword check, not the
    # shortcut for identical schemas
    # (beyond 64 producer alternatives the checker says "unchecked": not an alarm)
    other = _wrapped(schema, root=True)
    assert _alarms(incompatibilities(schema, other)) == []
    assert _alarms(incompatibilities(other, schema)) == []


def _alarms(found: list[Incompatibility]) -> list[Incompatibility]:
    return [i for i in found if i.kind != "unchecked"]


@_SETTINGS
@given(_documents(with_not=False), _documents(with_not=False, max_leaves=4))
def test_a_narrower_producer_fits(schema: dict[str, Any], extra: dict[str, Any]) -> None:
    # allOf [S, X] admits fewer values than S: never an incompatibility
    producer = {"allOf": [schema, {"allOf": extra["allOf"]}], "definitions": schema["definitions"]}
    got = incompatibilities(producer, _wrapped(schema, root=True))
    assert [i for i in got if i.kind != "unchecked"] == []


# --------------------------------------------------------------------------- load_schema


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "schemas").mkdir(parents=True)
    (root / "schemas" / "hit.json").write_text(json.dumps(HIT))
    (root / "schemas" / "hit.yaml").write_text(
        "type: object\nrequired: [energy]\nproperties:\n  energy: {type: number}\n"
    )
    (tmp_path / "outside.json").write_text(json.dumps(HIT))
    return root


def test_load_inline_mapping_as_is(project: Path) -> None:
    assert load_schema(HIT, project, root_dir=project) is HIT


def test_load_relative_json_and_yaml(project: Path) -> None:
    assert load_schema("schemas/hit.json", project, root_dir=project) == HIT
    got = load_schema("hit.yaml", project / "schemas", root_dir=project)
    assert got == {
        "type": "object",
        "required": ["energy"],
        "properties": {"energy": {"type": "number"}},
    }
    assert load_schema("./schemas/../schemas/hit.json", project, root_dir=project) == HIT


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("../outside.json", "outside the project folder"),
        ("schemas/../../outside.json", "outside the project folder"),
        ("/etc/passwd", "absolute"),
        ("https://example.invalid/hit.json", "URL"),
        ("http://127.0.0.1/hit.json", "URL"),
        ("file:///etc/passwd", "URL"),
        ("ftp:hit.json", "URL"),
        ("//example.invalid/hit.json", "URL"),
        ("", "empty"),
        ("schemas/missing.json", "does not exist"),
        ("schemas", "not a file"),
    ],
)
def test_load_refuses(project: Path, ref: str, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        load_schema(ref, project, root_dir=project)


def test_load_refuses_symlink_escaping(project: Path, tmp_path: Path) -> None:
    (project / "schemas" / "link.json").symlink_to(tmp_path / "outside.json")
    (project / "escape").symlink_to(tmp_path)
    with pytest.raises(ContractError, match="outside the project folder"):
        load_schema("schemas/link.json", project, root_dir=project)
    with pytest.raises(ContractError, match="outside the project folder"):
        load_schema("escape/outside.json", project, root_dir=project)
    (project / "inside.json").symlink_to(project / "schemas" / "hit.json")
    assert load_schema("inside.json", project, root_dir=project) == HIT


def test_load_refuses_huge_and_invalid_files(project: Path) -> None:
    huge = project / "huge.json"
    with huge.open("wb") as fh:
        fh.truncate(MAX_SCHEMA_BYTES + 1)
    with pytest.raises(ContractError, match="larger than"):
        load_schema("huge.json", project, root_dir=project)
    (project / "bad.json").write_text('{"type": }')
    with pytest.raises(ContractError, match=r"not valid JSON.*line 1, column 10"):
        load_schema("bad.json", project, root_dir=project)
    (project / "bad.yaml").write_text("type: [object\n")
    with pytest.raises(ContractError, match="not valid YAML"):
        load_schema("bad.yaml", project, root_dir=project)
    (project / "list.json").write_text("[1, 2]")
    with pytest.raises(ContractError, match="must hold a JSON Schema object"):
        load_schema("list.json", project, root_dir=project)


@pytest.mark.skipif(os.name != "posix", reason="symlink loops")
def test_load_symlink_loop(project: Path) -> None:
    (project / "loop.json").symlink_to(project / "loop.json")
    with pytest.raises(ContractError):
        load_schema("loop.json", project, root_dir=project)
