"""Loading the schema a message type declares: inline, or a file inside the project.

Files are read with the topology loader's budgets; nothing is ever fetched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Largest schema file :func:`load_schema` reads.
MAX_SCHEMA_BYTES = 5 * 1024 * 1024


class ContractError(Exception):
    """A schema reference cannot be used (unsafe path, URL, unreadable or invalid file)."""


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def load_schema(
    ref: str | Mapping[str, Any], base_dir: Path, *, root_dir: Path
) -> Mapping[str, Any]:
    """Return the schema a message type declares.

    A mapping is returned as is.  A string is a file path relative to ``base_dir`` (JSON,
    or YAML for ``.yaml``/``.yml`` and anything that is not valid JSON).  Absolute paths,
    URLs (anything with a scheme), paths that leave ``root_dir`` once symlinks are resolved,
    non-files and files over :data:`MAX_SCHEMA_BYTES` raise :class:`ContractError`; nothing
    is ever fetched.
    """
    if isinstance(ref, Mapping):
        return ref
    if not isinstance(ref, str):
        raise ContractError(
            f"schema must be a mapping or a relative file path, not {type(ref).__name__}"
        )
    target = _target(ref, base_dir, root_dir)
    content = _read(target, ref)
    doc = _parse(content, ref, yaml_first=target.suffix.lower() in (".yaml", ".yml"))
    if isinstance(doc, bool):
        return {} if doc else {"not": {}}
    if not isinstance(doc, Mapping):
        raise ContractError(
            f"schema file {ref!r} must hold a JSON Schema object, not {type(doc).__name__}"
        )
    return doc


def _target(ref: str, base_dir: Path, root_dir: Path) -> Path:
    """The file a schema path names, refused unless it is relative and inside ``root_dir``."""
    text = ref.strip()
    if not text:
        raise ContractError("schema path is empty")
    if "\x00" in text:
        raise ContractError("schema path contains a NUL character")
    if _SCHEME.match(text) or text.startswith("//"):
        raise ContractError(
            f"schema reference {ref!r} is a URL; topolint never fetches schemas, "
            "give a file path relative to the topology file"
        )
    if text.startswith(("/", "\\")) or Path(text).is_absolute():
        raise ContractError(
            f"schema path {ref!r} is absolute; give a path relative to the topology file"
        )
    root = Path(root_dir).resolve()
    try:
        target = (Path(base_dir) / text).resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops
        raise ContractError(f"schema path {ref!r} cannot be resolved: {exc}") from exc
    if not target.is_relative_to(root):
        raise ContractError(
            f"schema path {ref!r} resolves to {target}, outside the project folder {root}"
        )
    return target


def _read(target: Path, ref: str) -> str:
    """The text of schema file ``target``: a regular file within the size limit."""
    from topolint.errors import InputError
    from topolint.lint.loader import ReadRefused, decode_text, read_bounded

    if not target.is_file():  # by stat: nothing is opened
        raise ContractError(f"schema file {ref!r} does not exist or is not a file")
    try:
        data = read_bounded(target, MAX_SCHEMA_BYTES)
    except ReadRefused as exc:
        if exc.reason == "too-large":
            raise ContractError(
                f"schema file {ref!r} is larger than the {MAX_SCHEMA_BYTES} byte limit"
            ) from None
        if exc.reason == "not-regular":
            raise ContractError(f"schema file {ref!r} does not exist or is not a file") from None
        raise ContractError(f"schema file {ref!r} cannot be read: {exc}") from None
    try:
        return decode_text(data, ref)
    except InputError as exc:
        raise ContractError(f"schema file {ref!r}: {exc.message}") from None


def _parse(content: str, ref: str, *, yaml_first: bool) -> Any:
    """Parse a schema file with the topology loader, so that it gets the same budgets
    (alias expansion, nesting depth, plain YAML only): JSON for ``.json`` and for other
    names that hold valid JSON, YAML otherwise."""
    from topolint.errors import InputError
    from topolint.lint.loader import load_text

    if not content.strip():
        raise ContractError(f"schema file {ref!r} is empty")
    fmt = "yaml" if yaml_first else "json"
    if not yaml_first and not ref.lower().endswith(".json"):
        try:
            json.loads(content)
        except (ValueError, RecursionError):
            fmt = "yaml"
    try:
        return load_text(content, ref, fmt).data
    except InputError as exc:
        where = f" at line {exc.line}, column {exc.column}" if exc.line and exc.column else ""
        message = exc.message
        if "expected a topology" in message:
            raise ContractError(f"schema file {ref!r} is empty") from None
        for kind in ("JSON", "YAML"):
            if message.startswith(f"invalid {kind}: "):
                message = message.removeprefix(f"invalid {kind}: ")
                raise ContractError(
                    f"schema file {ref!r} is not valid {kind}: {message}{where}"
                ) from None
        raise ContractError(f"schema file {ref!r} is refused: {message}{where}") from None
