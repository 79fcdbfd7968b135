"""Message schemas of a topology, loaded once (not a rule: no ``NAME``).

Shared by the ``contract-mismatch`` rule and ``topolint diff``.  A message's ``schema:`` is inline
JSON Schema (a mapping or a boolean) or a file path relative to the topology file's
folder; files are read with :func:`topolint.analysis.contracts.load_schema`, confined to that
folder's tree and never fetched from the network.  A schema that cannot be used is kept
as an error message, for the caller to report at the ``schema:`` key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topolint.analysis.contracts import ContractError, load_schema
from topolint.lint.findings import Path as ElementPath
from topolint.lint.model import Topology

Schema = Mapping[str, Any] | bool


@dataclass(frozen=True)
class Loaded:
    """One message type's schema: ``schema`` (``None`` if undeclared) or ``error``."""

    name: str
    schema: Schema | None
    error: str | None = None
    source: str | None = None  # the file path, when the schema lives in a file

    @property
    def path(self) -> ElementPath:
        return ("messages", self.name, "schema")


def topology_dir(topo: Topology) -> Path | None:
    """The folder of the topology file, or ``None`` when it was not read from a file."""
    f = Path(topo.file)
    return f.parent if f.is_file() else None


class Schemas:
    """Lazily loaded schemas of one topology's message types."""

    def __init__(self, topo: Topology, base_dir: Path | None = None) -> None:
        self.topo = topo
        self.base_dir = base_dir if base_dir is not None else topology_dir(topo)
        self._cache: dict[str, Loaded] = {}

    def get(self, name: str | None) -> Loaded | None:
        """The loaded schema of message type ``name`` (``None`` if the type is undefined)."""
        if not name or name not in self.topo.messages:
            return None
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def _load(self, name: str) -> Loaded:
        raw = self.topo.messages[name].schema
        if raw is None:
            return Loaded(name, None)
        if isinstance(raw, (bool, Mapping)):
            return Loaded(name, raw)
        if not isinstance(raw, str):
            return Loaded(name, None, f"schema must be a mapping or a file path, not {raw!r}")
        if self.base_dir is None:
            return Loaded(
                name,
                None,
                f"schema file {raw!r} cannot be located: the topology was not read from a file",
                raw,
            )
        try:
            return Loaded(name, load_schema(raw, self.base_dir, root_dir=self.base_dir), None, raw)
        except ContractError as exc:
            return Loaded(name, None, str(exc), raw)


def canonical(schema: Schema | None) -> str:
    """A stable text of a schema, to tell whether two schemas are the same."""
    return json.dumps(schema, sort_keys=True, default=str)


def field_of(pointer: str) -> str:
    """A readable field path for a consumer-schema pointer: ``/properties/a/items`` -> ``a[]``."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    out = ""
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in ("properties", "patternProperties") and i + 1 < len(tokens):
            out += ("." if out else "") + tokens[i + 1]
            i += 2
            continue
        if t in ("prefixItems", "items") and i + 1 < len(tokens) and tokens[i + 1].isdigit():
            out += f"[{tokens[i + 1]}]"
            i += 2
            continue
        if t in ("items", "additionalItems"):
            out += "[]"
        elif t == "additionalProperties":
            out += ("." if out else "") + "<other fields>"
        i += 1
    return out or "<message>"
