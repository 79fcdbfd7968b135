"""``docs/format.md`` and ``topolint schema`` stay in step, and every schema key is described.

The format page documents each key in a table row whose first cell is its full path, with
``<name>`` for a name the user chooses (``processes.<process>.sockets.<socket>.sndhwm``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from topolint.lint.schema import topology_schema

from .conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
FORMAT = ROOT / "docs" / "format.md"
_ROW = re.compile(r"^\| `([A-Za-z0-9_.<>-]+)` \|", re.MULTILINE)


def schema_properties(schema: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple]:
    """(path, property schema) of every property; ``*`` for a name the user chooses."""
    for alt in schema.get("oneOf", []):
        if isinstance(alt, dict):
            yield from schema_properties(alt, path)
    for key, sub in schema.get("properties", {}).items():
        yield (*path, key), sub
        yield from schema_properties(sub, (*path, key))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from schema_properties(extra, (*path, "*"))


def documented() -> set[tuple[str, ...]]:
    out = set()
    for m in _ROW.finditer(FORMAT.read_text(encoding="utf-8")):
        parts = m.group(1).split(".")
        out.add(tuple("*" if re.fullmatch(r"<[a-z]+>", p) else p for p in parts))
    return out


def test_every_schema_key_is_documented_and_every_documented_key_exists() -> None:
    in_schema = {p for p, _ in schema_properties(topology_schema())}
    in_docs = documented()
    assert len(in_schema) > 70
    missing = sorted(".".join(p) for p in in_schema - in_docs)
    unknown = sorted(".".join(p) for p in in_docs - in_schema)
    assert not missing, f"docs/format.md does not document: {missing}"
    assert not unknown, f"docs/format.md documents keys the schema does not have: {unknown}"


def test_every_schema_property_is_described() -> None:
    undescribed = [
        ".".join(p)
        for p, sub in schema_properties(topology_schema())
        if not str(sub.get("description", "")).strip()
    ]
    assert not undescribed


def test_schema_output_is_a_valid_json_schema() -> None:
    r = run_cli("schema")
    assert r.returncode == 0, r.stderr
    printed = json.loads(r.stdout)
    assert printed == json.loads(json.dumps(topology_schema()))
    Draft202012Validator.check_schema(printed)
    assert "description" in printed["properties"]["processes"]


def test_format_page_links_exist() -> None:
    text = FORMAT.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (FORMAT.parent / target).exists(), target
    assert "fairmq.md" in text  # FairMQ and DDS input
    for unit in ("kB", "MiB", "ms", "/s"):
        assert unit in text
