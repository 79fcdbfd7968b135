"""A join matches by key, but an input's message contract does not carry the key.

## What it finds
For a join with `match: key`, every input whose messages cannot be shown to carry the key:
the input declares no message type; its message type is not declared under `messages:`;
the type has no `key`; or the type's JSON Schema (inline) mentions the key field neither in
`properties` nor in `required` (also looked for in `allOf` branches and local `$ref`s).
Inputs whose types name different key fields are reported too. Schemas given as file paths
are not read by rules and are not checked here.

## Why it matters
The talk's problem 3: a join can only pair the units that belong together if every input
carries the same identifier. Without it a key join pairs nothing — every unit waits for a
partner that can never be recognised, the join's buffer grows until it drops or stalls —
or the implementation falls back to arrival order and pairs the wrong units silently.

## Example
```yaml
messages:
  image: {key: frame_id, schema: {type: object, required: [frame_id]}}
  depth: {schema: {type: object, required: [timestamp]}}     # no key
processes:
  camera: {sockets: {out: {type: push, bind: "tcp://*:7001", sends: image}}}
  lidar: {sockets: {out: {type: push, bind: "tcp://*:7002", sends: depth}}}
  fusion:
    join: {inputs: [image, depth], match: key, max_pending: 64, timeout: 1s}
    sockets:
      image: {type: pull, connect: camera.out, receives: image}
      depth: {type: pull, connect: lidar.out, receives: depth}
```

## Fix
Give every input's message type the same `key:` and make its schema carry that field
(`required: [frame_id]`), or add the field to the producer that lacks it. If the inputs
really have no common identifier, match by `order` (only if no path reorders) or `latest`.
"""

from collections.abc import Iterator
from typing import Any

from topolint.analysis.join_branches import Join, JoinInput, joins
from topolint.lint.context import Context
from topolint.lint.findings import Fact
from topolint.lint.model import Process, Topology

NAME = "join-key-missing"
CODE = "TL402"
SEVERITY = "error"
_MAX_DEPTH = 16


def schema_fields(schema: Any, root: Any = None, depth: int = 0) -> set[str] | None:
    """Field names a schema mentions in ``properties``/``required``; ``None``: not checkable."""
    if isinstance(schema, str):
        return None  # a file reference: not read by rules
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return set()
    root = schema if root is None else root
    found: set[str] = set()
    props = schema.get("properties")
    if isinstance(props, dict):
        found |= {str(k) for k in props}
    req = schema.get("required")
    if isinstance(req, list):
        found |= {str(k) for k in req}
    for sub in schema.get("allOf") or []:
        found |= schema_fields(sub, root, depth + 1) or set()
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = (
                node.get(part.replace("~1", "/").replace("~0", "~"))
                if isinstance(node, dict)
                else None
            )
        found |= schema_fields(node, root, depth + 1) or set()
    return found


def check(ctx: Context) -> Iterator[Fact]:
    """Joins that match by key whose inputs' message types do not show one common key."""
    topo = ctx.topology
    for j in joins(ctx):
        if j.policy != "key":
            continue
        keys: dict[str, list[str]] = {}  # key field -> labels of the inputs carrying it
        for i in j.inputs:
            for m in i.messages:
                yield from _input_facts(topo, j.process, i, m, keys)
        if len(keys) > 1:
            yield _different_keys(j, keys)


def _input_facts(
    topo: Topology, p: Process, i: JoinInput, m: str | None, keys: dict[str, list[str]]
) -> Iterator[Fact]:
    """What keeps message type ``m`` on input ``i`` of key join ``p`` from carrying a key;
    records the key it declares in ``keys``."""
    assert p.join is not None
    match_path = (*p.join.path, "match")
    where = f"input {i.label} of join {p.name}"
    subject = (p.name, f"{p.name}.{i.label}")
    if m is None:
        yield Fact(
            f"{where} matches by key, but its messages have no declared type: "
            "nothing says they carry a key",
            path=i.path,
            subject=subject,
            related=(match_path,),
            fix=f"declare receives: TYPE on {i.socket.id} (and sends: on its "
            "producers) with a message type that has a key",
        )
        return
    mt = topo.messages.get(m)
    if mt is None:
        yield Fact(
            f"{where} receives message type {m!r}, which is not declared under "
            "messages:, so its key cannot be checked",
            path=i.path,
            subject=(*subject, m),
            related=(match_path,),
            fix=f"declare messages: {{{m}: {{key: FIELD, schema: ...}}}}",
        )
        return
    if not mt.key:
        yield Fact(
            f"{where} matches by key, but message type {m!r} declares no key: the "
            "join cannot tell which units belong together",
            path=mt.path,
            subject=(*subject, m),
            related=(match_path, i.path),
            fix=f"add key: FIELD to message type {m!r} (the field shared with the other inputs)",
        )
        return
    keys.setdefault(mt.key, []).append(i.label)
    fields = schema_fields(mt.schema) if mt.schema is not None else None
    if fields is not None and mt.key not in fields:
        yield Fact(
            f"{where} matches by key {mt.key!r}, but the schema of message type "
            f"{m!r} carries no field {mt.key!r} (neither in properties nor in "
            "required)",
            path=(*mt.path, "schema"),
            subject=(*subject, m),
            related=(match_path, (*mt.path, "key")),
            fix=f"add {mt.key!r} to the schema's properties and required list",
        )


def _different_keys(j: Join, keys: dict[str, list[str]]) -> Fact:
    """The inputs of key join ``j`` carry several different key fields (``keys``)."""
    p = j.process
    assert p.join is not None
    desc = "; ".join(f"{k!r} on {', '.join(v)}" for k, v in sorted(keys.items()))
    return Fact(
        f"join {p.name} matches by key, but its inputs carry different keys ({desc}): "
        "there is no common field to match units on",
        path=(*p.join.path, "match"),
        subject=(p.name, *sorted(keys)),
        related=tuple(dict.fromkeys(i.path for i in j.inputs)),
        fix="use one key field for every input's message type",
    )
