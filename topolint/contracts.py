"""Message contracts: does a producer's JSON Schema satisfy what a consumer requires?

On every edge of a topology the sending socket's message type (the *producer* schema)
must fit the receiving socket's message type (the *consumer* schema): every message valid
under the producer schema must be valid under the consumer schema.  This module decides
that statically, keyword by keyword, and says where and why it breaks.

:func:`incompatibilities` returns ``[]`` when, as far as it can tell, the producer fits.
It is sound for what it reports in the common cases: equal schemas and producers strictly
narrower than the consumer give no finding.  Kinds in :data:`UNCERTAIN_KINDS` say "could
not be verified" rather than "proved broken" (a non-local ``$ref``, a consumer ``format``
or ``pattern`` the producer does not declare, keywords outside what is modelled); a rule
may report them at a lower severity.

Pointers are JSON pointers into the consumer schema written as the *instance* path in
schema vocabulary: ``/properties/<name>`` for a field, ``/items`` (or ``/prefixItems/<i>``)
for array items, ``/additionalProperties`` for undeclared fields.  ``$ref``, ``allOf``,
``anyOf`` and ``oneOf`` are transparent, so a field reached through a definition is
reported where the message holds it, e.g. ``/properties/hits/items/properties/energy``.

Semantics and deliberate simplifications:

- ``required``, ``type`` (``integer`` fits ``number``), ``enum``/``const``, numeric bounds
  (draft-4 boolean and draft-6+ numeric ``exclusive*``), ``multipleOf``, string lengths,
  ``pattern`` and ``format`` (compared by equality only), ``items``/``prefixItems``/tuple
  ``items``/``additionalItems``, ``min/maxItems``, ``uniqueItems``, ``contains``,
  ``properties``, ``patternProperties``, ``additionalProperties``,
  ``unevaluatedProperties`` (approximated), ``min/maxProperties``, ``dependentRequired``,
  ``propertyNames``, ``not`` and ``if``/``then``/``else`` (only when decidable).
- A producer that declares a finite set of values (``enum``, ``const``, or only
  ``boolean``/``null`` types) is checked by validating each value against the consumer.
- A field the consumer declares but the producer neither declares nor requires is not
  reported even if the producer allows anything there: optional unknowns are no alarm.
- Producer ``allOf`` is merged; producer ``anyOf``/``oneOf`` are distributed (each
  alternative must fit, at most 64 alternatives); consumer ``allOf`` is checked branch by
  branch; consumer ``anyOf``/``oneOf`` need one branch to fit (``oneOf`` exclusivity is not
  checked).  Producer ``not``/``if`` are ignored (the producer is taken as wider).
- Local ``$ref`` (``#``, ``#/...``, ``#anchor``) is followed on both sides with
  ``$ref`` siblings applied (2019-09+ semantics); a pair of schemas already being compared
  is assumed compatible on re-entry (recursive schemas terminate).  Non-local references
  are reported with kind ``ref`` and never fetched.
- Work is memoised per (producer node, consumer node) pair; nesting beyond 200 steps is
  reported as ``unchecked`` instead of recursing further.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_SCHEMA_BYTES",
    "UNCERTAIN_KINDS",
    "ContractError",
    "Incompatibility",
    "incompatibilities",
    "load_schema",
]

#: Largest schema file :func:`load_schema` reads.
MAX_SCHEMA_BYTES = 5 * 1024 * 1024

#: Kinds that mean "cannot verify" rather than "proved incompatible".
UNCERTAIN_KINDS = frozenset({"ref", "unchecked", "format", "pattern", "not"})

_MAX_DEPTH = 200  # nested schema steps (fields, items, references, allOf branches)
_MAX_ALTERNATIVES = 64
_MAX_RESULTS = 100
_MAX_VALUE_DEPTH = 100
_FRAMES_NEEDED = 8 * _MAX_DEPTH + 5 * _MAX_VALUE_DEPTH + 200


class ContractError(Exception):
    """A schema reference cannot be used (unsafe path, URL, unreadable or invalid file)."""


@dataclass(frozen=True)
class Incompatibility:
    """One way in which a producer's messages may be rejected by the consumer."""

    pointer: str
    reason: str
    kind: str


# --------------------------------------------------------------------------- loading

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
    from topolint.errors import InputError
    from topolint.loader import ReadRefused, decode_text, read_bounded

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
        content = decode_text(data, ref)
    except InputError as exc:
        raise ContractError(f"schema file {ref!r}: {exc.message}") from None
    doc = _parse(content, ref, yaml_first=target.suffix.lower() in (".yaml", ".yml"))
    if isinstance(doc, bool):
        return {} if doc else {"not": {}}
    if not isinstance(doc, Mapping):
        raise ContractError(
            f"schema file {ref!r} must hold a JSON Schema object, not {type(doc).__name__}"
        )
    return doc


def _parse(content: str, ref: str, *, yaml_first: bool) -> Any:
    """Parse a schema file with the topology loader, so that it gets the same budgets
    (alias expansion, nesting depth, plain YAML only): JSON for ``.json`` and for other
    names that hold valid JSON, YAML otherwise."""
    from topolint.errors import InputError
    from topolint.loader import load_text

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


# --------------------------------------------------------------------------- helpers

_Issue = tuple[str, str, str]  # (pointer suffix, kind, reason)

_NUMBERS = frozenset({"integer", "fraction"})
_ALL_TYPES = frozenset({"null", "boolean", "object", "array", "string", "integer", "fraction"})
_TYPE_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("null", frozenset({"null"})),
    ("boolean", frozenset({"boolean"})),
    ("object", frozenset({"object"})),
    ("array", frozenset({"array"})),
    ("string", frozenset({"string"})),
    ("number", _NUMBERS),
)

_CONSTRAINT_KEYS = frozenset(
    {
        "$ref", "$dynamicRef", "$recursiveRef", "allOf", "anyOf", "oneOf", "not", "if",
        "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
        "exclusiveMinimum", "maxLength", "minLength", "pattern", "format", "items",
        "prefixItems", "additionalItems", "contains", "maxItems", "minItems", "uniqueItems",
        "maxContains", "minContains", "unevaluatedItems", "maxProperties", "minProperties",
        "required", "properties", "patternProperties", "additionalProperties",
        "dependentRequired", "dependentSchemas", "dependencies", "propertyNames",
        "unevaluatedProperties",
    }
)  # fmt: skip

# keywords fully represented by a producer's expansion (oneOf is not: its exclusivity is lost)
_TRANSPARENT = frozenset({"$ref", "$dynamicRef", "$recursiveRef", "allOf", "anyOf"})

_NOT_FOUND = object()
_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})


def _esc(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _num(x: Any) -> int | float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _count(x: Any) -> int | None:
    n = _num(x)
    if n is None or n < 0:
        return None
    return math.floor(n)


def _strs(x: Any) -> list[str]:
    if not isinstance(x, list):
        return []
    return [s for s in x if isinstance(s, str)]


def _map(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def _type_set(t: Any) -> frozenset[str] | None:
    """The JSON types a ``type`` keyword admits (``number`` = integer + fraction)."""
    names = [t] if isinstance(t, str) else t if isinstance(t, list) else None
    if names is None:
        return None
    out: set[str] = set()
    for name in names:
        if name == "number":
            out |= _NUMBERS
        elif name in ("null", "boolean", "object", "array", "string", "integer"):
            out.add(name)
        else:
            return None  # unknown type name: treat as unconstrained
    return frozenset(out)


def _type_names(types: Iterable[str]) -> str:
    s = set(types)
    names: list[str] = [t for t in ("null", "boolean", "object", "array", "string") if t in s]
    if s & _NUMBERS == {"integer"}:
        names.append("integer")
    elif s & _NUMBERS:
        names.append("number")
    return " or ".join(names) if names else "nothing"


def _value_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "integer" if math.isfinite(v) and v.is_integer() else "fraction"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, Mapping):
        return "object"
    return "unknown"


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        text = repr(v) if "'" not in v else json.dumps(v)
    else:
        try:
            text = json.dumps(v, sort_keys=True, default=str)
        except (TypeError, ValueError):
            text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _paren_type(v: Any, vt: str) -> str:
    shown = _fmt(v)
    name = _type_names([vt])
    return "" if shown == name or v is None or isinstance(v, bool) else f" ({name})"


def _fmt_list(values: Sequence[Any]) -> str:
    shown = ", ".join(_fmt(v) for v in values[:8])
    return "[" + shown + (", ..." if len(values) > 8 else "") + "]"


def _fmt_num(x: int | float) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


_Bound = tuple[int | float, bool]  # (value, exclusive)


def _lower(s: Mapping[str, Any]) -> _Bound | None:
    best: _Bound | None = None
    m = _num(s.get("minimum"))
    ex = s.get("exclusiveMinimum")
    if m is not None:
        best = (m, ex is True)
    e = _num(ex)
    if e is not None:
        best = _tighter(best, (e, True), lower=True)
    return best


def _upper(s: Mapping[str, Any]) -> _Bound | None:
    best: _Bound | None = None
    m = _num(s.get("maximum"))
    ex = s.get("exclusiveMaximum")
    if m is not None:
        best = (m, ex is True)
    e = _num(ex)
    if e is not None:
        best = _tighter(best, (e, True), lower=False)
    return best


def _tighter(a: _Bound | None, b: _Bound | None, *, lower: bool) -> _Bound | None:
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0]:
        return (a[0], a[1] or b[1])
    return (a if a[0] > b[0] else b) if lower else (a if a[0] < b[0] else b)


def _bound_ok(p: _Bound | None, c: _Bound | None, *, lower: bool, integer_only: bool) -> bool:
    """Is the producer bound ``p`` at least as tight as the consumer bound ``c``?"""
    if c is None:
        return True
    if p is None:
        return False
    pv, pex = p
    if integer_only:
        if lower:
            pv, pex = (math.floor(pv) + 1 if pex else math.ceil(pv)), False
        else:
            pv, pex = (math.ceil(pv) - 1 if pex else math.floor(pv)), False
    cv, cex = c
    if lower:
        return pv > cv or (pv == cv and (pex or not cex))
    return pv < cv or (pv == cv and (pex or not cex))


def _describe_bound(b: _Bound | None, *, lower: bool) -> str:
    if b is None:
        return "no " + ("lower" if lower else "upper") + " bound"
    op = (">" if b[1] else ">=") if lower else ("<" if b[1] else "<=")
    return f"{op} {_fmt_num(b[0])}"


def _is_multiple(x: int | float, m: int | float) -> bool:
    from fractions import Fraction  # lazily: keeps this module's import fast

    try:
        q = Fraction(str(x)) / Fraction(str(m))
    except (ValueError, ZeroDivisionError):
        return False
    return q.denominator == 1


_REGEX_CACHE: dict[str, re.Pattern[str] | None] = {}


def _regex(pattern: str) -> re.Pattern[str] | None:
    if pattern not in _REGEX_CACHE:
        try:
            _REGEX_CACHE[pattern] = re.compile(pattern)
        except (re.error, RecursionError, OverflowError):
            _REGEX_CACHE[pattern] = None
        if len(_REGEX_CACHE) > 4096:
            _REGEX_CACHE.clear()
    return _REGEX_CACHE.get(pattern)


def _matches(pattern: str, name: str) -> bool:
    rx = _regex(pattern)
    return bool(rx is not None and rx.search(name))


def _issue(kind: str, reason: str, pointer: str = "") -> _Issue:
    return (pointer, kind, reason)


def _prefixed(prefix: str, issues: Iterable[_Issue]) -> list[_Issue]:
    return [(prefix + p, k, r) for p, k, r in issues]


def _dedupe(issues: Iterable[_Issue]) -> list[_Issue]:
    seen: set[_Issue] = set()
    out: list[_Issue] = []
    for issue in issues:
        if issue not in seen:
            seen.add(issue)
            out.append(issue)
    return out


class _Opaque:
    """A producer part that cannot be analysed (a non-local or broken ``$ref``)."""

    __slots__ = ("kind", "reason")

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason


class _TypeAtom:
    """A synthetic producer conjunct restricting the type (used to split by type)."""

    __slots__ = ("types",)

    def __init__(self, types: frozenset[str]) -> None:
        self.types = types


_Atom = Any  # Mapping | _Opaque | _TypeAtom
_Atoms = tuple[_Atom, ...]


class _View:
    """The merged constraints of a conjunction of producer schemas."""

    __slots__ = (
        "atoms",
        "enum",
        "formats",
        "lower",
        "max_items",
        "max_len",
        "max_props",
        "min_items",
        "min_len",
        "min_props",
        "multiple_of",
        "nodes",
        "opaque",
        "patterns",
        "required",
        "types",
        "unique",
        "unsat",
        "upper",
    )  # fmt: skip

    def __init__(
        self, atoms: _Atoms, key: Callable[[Any], int], never: Callable[[Any], bool]
    ) -> None:
        self.atoms = atoms
        self.nodes: list[Mapping[str, Any]] = [a for a in atoms if isinstance(a, Mapping)]
        self.opaque: list[_Opaque] = [a for a in atoms if isinstance(a, _Opaque)]
        self.types: frozenset[str] | None = None
        self.enum: list[Any] | None = None
        self.required: set[str] = set()
        self.lower: _Bound | None = None
        self.upper: _Bound | None = None
        self.multiple_of: list[int | float] = []
        self.min_len = 0
        self.max_len: int | None = None
        self.patterns: list[str] = []
        self.formats: list[str] = []
        self.min_items = 0
        self.max_items: int | None = None
        self.unique = False
        self.min_props = 0
        self.max_props: int | None = None
        self.unsat = any(a is False for a in atoms)
        for a in atoms:
            if isinstance(a, _TypeAtom):
                self._restrict_types(a.types)
        for n in self.nodes:
            self._merge(n, key, never)
        integral = any(float(m).is_integer() for m in self.multiple_of)
        if self.types is not None and "fraction" in self.types and integral:
            self.types = self.types - {"fraction"}
        if self.types is not None and not self.types:
            self.unsat = True
        if self.enum is not None and not self.enum:
            self.unsat = True

    def _restrict_types(self, ts: frozenset[str]) -> None:
        self.types = ts if self.types is None else self.types & ts

    def _merge(
        self, n: Mapping[str, Any], key: Callable[[Any], int], never: Callable[[Any], bool]
    ) -> None:
        if "type" in n:
            ts = _type_set(n["type"])
            if ts is not None:
                self._restrict_types(ts)
        values: list[Any] | None = None
        if "const" in n:
            values = [n["const"]]
        if isinstance(n.get("enum"), list):
            enum = n["enum"]
            if values is None:
                values = list(enum)
            else:
                allowed = {key(v) for v in enum}
                values = [v for v in values if key(v) in allowed]
        if values is not None:
            if self.enum is None:
                self.enum = values
            else:
                allowed = {key(v) for v in values}
                self.enum = [v for v in self.enum if key(v) in allowed]
        self.required.update(_strs(n.get("required")))
        self.lower = _tighter(self.lower, _lower(n), lower=True)
        self.upper = _tighter(self.upper, _upper(n), lower=False)
        m = _num(n.get("multipleOf"))
        if m is not None and m > 0:
            self.multiple_of.append(m)
        self.min_len = max(self.min_len, _count(n.get("minLength")) or 0)
        self.max_len = _min_opt(self.max_len, _count(n.get("maxLength")))
        if isinstance(n.get("pattern"), str):
            self.patterns.append(n["pattern"])
        if isinstance(n.get("format"), str):
            self.formats.append(n["format"])
        self.min_items = max(self.min_items, _count(n.get("minItems")) or 0)
        self.max_items = _min_opt(self.max_items, _count(n.get("maxItems")))
        pos, rest = _item_parts(n)
        if pos is not None and never(rest):
            self.max_items = _min_opt(self.max_items, len(pos))
        if n.get("uniqueItems") is True:
            self.unique = True
        self.min_props = max(self.min_props, _count(n.get("minProperties")) or 0)
        self.max_props = _min_opt(self.max_props, _count(n.get("maxProperties")))
        if never(n.get("additionalProperties", True)) and not _map(n.get("patternProperties")):
            self.max_props = _min_opt(self.max_props, len(_map(n.get("properties"))))


def _min_opt(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _item_parts(s: Mapping[str, Any]) -> tuple[list[Any] | None, Any]:
    """(positional item schemas or None, schema for the remaining items)."""
    if isinstance(s.get("prefixItems"), list):
        return s["prefixItems"], s.get("items", True)
    if isinstance(s.get("items"), list):
        return s["items"], s.get("additionalItems", True)
    return None, s.get("items", True)


def _item_kw(s: Mapping[str, Any]) -> tuple[str, str]:
    """Keyword names for (positional, rest) items of a schema."""
    if isinstance(s.get("prefixItems"), list):
        return "prefixItems", "items"
    if isinstance(s.get("items"), list):
        return "items", "additionalItems"
    return "items", "items"


# --------------------------------------------------------------------------- checker


class _Checker:
    def __init__(self, producer_root: Any, consumer_root: Any) -> None:
        self.p_root = producer_root
        self.c_root = consumer_root
        self._canon: dict[int, int] = {}
        self._canon_table: dict[Any, int] = {}
        self._has_ref: dict[int, bool] = {}
        self._pins: list[Any] = []
        self._memo: dict[tuple[Any, ...], list[_Issue]] = {}
        self._busy: set[tuple[Any, ...]] = set()
        self._views: dict[tuple[int, ...], _View] = {}
        self._dnf_memo: dict[int, tuple[list[_Atoms], bool]] = {}
        self._dnf_busy: set[int] = set()
        self._vmemo: dict[tuple[int, int, int], list[_Issue]] = {}
        self._vbusy: set[tuple[int, int, int]] = set()
        self._anchors: dict[int, dict[str, Any]] = {}
        self._opaque: dict[tuple[str, str], _Opaque] = {}
        self._type_atoms: dict[frozenset[str], _TypeAtom] = {}
        self._never: dict[int, bool] = {}
        self._enum_memo: dict[int, set[int]] = {}
        self._evaluated_memo: dict[int, tuple[set[str], set[str], bool]] = {}
        self._roots_equal: bool | None = None  # computed when first needed

    # ----- structural identity (hash-consing, iterative, cycle-safe)

    def canon(self, obj: Any) -> int:
        oid = id(obj)
        if oid in self._canon:
            return self._canon[oid]
        self._pins.append(obj)
        on_stack: set[int] = set()
        stack: list[tuple[Any, bool]] = [(obj, False)]
        while stack:
            o, expanded = stack.pop()
            i = id(o)
            if i in self._canon:
                continue
            t = type(o)
            if t in _LEAF_TYPES:
                self._canon[i] = self._intern(self._leaf_key(o), False)
                continue
            is_map = t is dict or (t is not list and isinstance(o, Mapping))
            if is_map:
                children = list(o.values())
            elif t is list or isinstance(o, tuple):
                children = list(o)
            else:
                self._canon[i] = self._intern(self._leaf_key(o), False)
                continue
            if not expanded:
                if i in on_stack:
                    continue
                on_stack.add(i)
                stack.append((o, True))
                stack.extend((c, False) for c in children if id(c) not in self._canon)
                continue
            on_stack.discard(i)
            ref = False
            if is_map:
                items = []
                for k, v in o.items():
                    cid = self._child(v, on_stack)
                    ref = ref or self._has_ref.get(cid, False)
                    items.append((k if isinstance(k, str) else "\x00" + repr(k), cid))
                items.sort()
                ref = ref or any(k in o for k in ("$ref", "$dynamicRef", "$recursiveRef"))
                self._canon[i] = self._intern(("d", tuple(items)), ref)
            else:
                ids = []
                for v in children:
                    cid = self._child(v, on_stack)
                    ref = ref or self._has_ref.get(cid, False)
                    ids.append(cid)
                self._canon[i] = self._intern(("l", tuple(ids)), ref)
        return self._canon[oid]

    def _child(self, v: Any, on_stack: set[int]) -> int:
        got = self._canon.get(id(v))
        if got is None:  # a cycle back to an ancestor: unique, equal to nothing
            got = self._intern(("cycle", len(self._canon_table)), True)
        return got

    @staticmethod
    def _leaf_key(o: Any) -> Any:
        if o is None:
            return ("z",)
        if isinstance(o, bool):
            return ("b", o)
        if isinstance(o, (int, float)):
            return ("n", o)
        if isinstance(o, str):
            return ("s", o)
        return ("o", type(o).__name__, repr(o))

    def _intern(self, key: Any, has_ref: bool) -> int:
        cid = self._canon_table.get(key)
        if cid is None:
            cid = len(self._canon_table)
            self._canon_table[key] = cid
            self._has_ref[cid] = has_ref
        return cid

    def same(self, p: Any, c: Any) -> bool:
        """Are producer part ``p`` and consumer part ``c`` the same schema?"""
        cid = self.canon(c)
        if self.canon(p) != cid:
            return False
        if not self._has_ref.get(cid, False):
            return True
        if self._roots_equal is None:
            self._roots_equal = self.canon(self.p_root) == self.canon(self.c_root)
        return self._roots_equal

    def pin(self, obj: Any) -> Any:
        self._pins.append(obj)
        return obj

    # ----- references

    def resolve(self, ref: str, root: Any) -> Any:
        """A local reference's target, ``_NOT_FOUND``, or ``None`` for non-local refs."""
        if ref == "#" or ref == "":
            return root
        if not ref.startswith("#"):
            return None
        frag = ref[1:]
        if "%" in frag:
            from urllib.parse import unquote

            frag = unquote(frag)
        if not frag.startswith("/"):
            return self._anchor_index(root).get(frag, _NOT_FOUND)
        node = root
        for raw in frag[1:].split("/"):
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return _NOT_FOUND
        return node

    def _anchor_index(self, root: Any) -> dict[str, Any]:
        idx = self._anchors.get(id(root))
        if idx is not None:
            return idx
        idx = {}
        seen: set[int] = set()
        stack = [root]
        while stack:
            o = stack.pop()
            if id(o) in seen:
                continue
            seen.add(id(o))
            if isinstance(o, Mapping):
                a = o.get("$anchor")
                if isinstance(a, str):
                    idx.setdefault(a, o)
                i = o.get("$id")
                if isinstance(i, str) and i.startswith("#"):
                    idx.setdefault(i[1:], o)
                stack.extend(o.values())
            elif isinstance(o, list):
                stack.extend(o)
        self._anchors[id(root)] = idx
        return idx

    def opaque(self, kind: str, reason: str) -> _Opaque:
        k = (kind, reason)
        if k not in self._opaque:
            self._opaque[k] = _Opaque(kind, reason)
        return self._opaque[k]

    def type_atom(self, types: frozenset[str]) -> _TypeAtom:
        if types not in self._type_atoms:
            self._type_atoms[types] = _TypeAtom(types)
        return self._type_atoms[types]

    # ----- producer normal form: a disjunction of conjunctions of schema nodes

    def dnf(self, s: Any, depth: int = 0) -> tuple[list[_Atoms], bool]:
        """Alternatives of a producer schema, and whether some were dropped (too many)."""
        if s is False:
            return [], False
        if not isinstance(s, Mapping):
            return [()], False
        sid = id(s)
        if sid in self._dnf_memo:
            return self._dnf_memo[sid]
        if sid in self._dnf_busy:
            return [()], False  # a reference cycle at one level: no further constraint
        if depth > _MAX_DEPTH:
            return [(self.opaque("unchecked", "producer schema nested too deeply"),)], False
        self._dnf_busy.add(sid)
        try:
            # a node that only combines others (a bare $ref, allOf, ...) adds no atom of its
            # own: recursive references then meet the same atoms and terminate early
            own = any(k in _CONSTRAINT_KEYS and k not in _TRANSPARENT for k in s)
            alts: list[_Atoms] = [(s,)] if own else [()]
            cut = False
            for kw in ("$ref", "$dynamicRef", "$recursiveRef"):
                r = s.get(kw)
                if not isinstance(r, str):
                    continue
                target = self.resolve(r, self.p_root) if kw == "$ref" else None
                if target is None or target is _NOT_FOUND:
                    why = "does not resolve" if target is _NOT_FOUND else "is not local"
                    alts, c = self._product(
                        alts,
                        [(self.opaque("ref", f"producer {kw} '{r}' {why}; it is not checked"),)],
                    )
                else:
                    sub, c0 = self.dnf(target, depth + 1)
                    alts, c = self._product(alts, sub)
                    cut = cut or c0
                cut = cut or c
            if isinstance(s.get("allOf"), list):
                for b in s["allOf"]:
                    sub, c0 = self.dnf(b, depth + 1)
                    alts, c = self._product(alts, sub)
                    cut = cut or c or c0
            for kw in ("anyOf", "oneOf"):
                branches = s.get(kw)
                if isinstance(branches, list) and branches:
                    union: list[_Atoms] = []
                    for b in branches:
                        sub, c0 = self.dnf(b, depth + 1)
                        union.extend(sub)
                        cut = cut or c0
                    if len(union) > _MAX_ALTERNATIVES:
                        union, cut = union[:_MAX_ALTERNATIVES], True
                    alts, c = self._product(alts, union)
                    cut = cut or c
        finally:
            self._dnf_busy.discard(sid)
        self._dnf_memo[sid] = (alts, cut)
        return alts, cut

    def dnf_list(self, schemas: Sequence[Any]) -> tuple[list[_Atoms], bool]:
        alts: list[_Atoms] = [()]
        cut = False
        for s in schemas:
            sub, c0 = self.dnf(s)
            alts, c = self._product(alts, sub)
            cut = cut or c or c0
        return alts, cut

    @staticmethod
    def _product(a: list[_Atoms], b: list[_Atoms]) -> tuple[list[_Atoms], bool]:
        out: list[_Atoms] = []
        for x in a:
            for y in b:
                if len(out) >= _MAX_ALTERNATIVES:
                    return out, True
                out.append(x + y)
        return out, False

    def view(self, atoms: _Atoms) -> _View:
        k = tuple(id(a) for a in atoms)
        v = self._views.get(k)
        if v is None:
            v = _View(atoms, self.canon, self.never)
            self._views[k] = v
            self.pin(atoms)
        return v

    def never(self, s: Any) -> bool:
        """Does producer schema ``s`` admit no value at all (as far as we can tell)?"""
        if s is False:
            return True
        if s is True or not isinstance(s, Mapping):
            return False
        got = self._never.get(id(s))
        if got is None:
            self._never[id(s)] = False  # re-entry (recursive schemas): assume satisfiable
            alts, _ = self.dnf(s)
            got = all(self.view(a).unsat for a in alts)
            self._never[id(s)] = got
        return got

    # ----- the subschema check

    @staticmethod
    def trivial(s: Any) -> bool:
        if s is True:
            return True
        if isinstance(s, Mapping):
            return not any(k in _CONSTRAINT_KEYS for k in s)
        return s is not False  # malformed parts constrain nothing

    def check_list(self, producers: Sequence[Any], c: Any, depth: int) -> list[_Issue]:
        """Issues of the conjunction ``producers`` against consumer ``c``."""
        if self.trivial(c) or any(self.same(p, c) for p in producers):
            return []
        alts, cut = self.dnf_list(producers)
        out: list[_Issue] = []
        for atoms in alts:
            out.extend(self.check(atoms, c, depth))
        if cut:
            out.append(
                _issue(
                    "unchecked",
                    f"the producer has more than {_MAX_ALTERNATIVES} alternatives"
                    " (anyOf/oneOf); only the first ones were checked",
                )
            )
        return _dedupe(out)[:_MAX_RESULTS]

    def check(self, atoms: _Atoms, c: Any, depth: int) -> list[_Issue]:
        if self.trivial(c):
            return []
        key = (tuple(id(a) for a in atoms), id(c))
        got = self._memo.get(key)
        if got is not None:
            return got
        if key in self._busy:
            return []  # recursive schemas: assume compatible on re-entry
        if depth > _MAX_DEPTH:
            return [("", "unchecked", f"schemas nested deeper than {_MAX_DEPTH} levels")]
        self._busy.add(key)
        try:
            res = _dedupe(self._check(atoms, c, depth))[:_MAX_RESULTS]
        finally:
            self._busy.discard(key)
        self._memo[key] = res
        self.pin(atoms)
        return res

    def _check(self, atoms: _Atoms, c: Any, depth: int) -> list[_Issue]:
        view = self.view(atoms)
        if view.unsat:
            return []
        if c is False:
            return [("", "forbidden", "the consumer accepts nothing here (schema false)")]
        for n in view.nodes:
            if self.same(n, c):
                return []
        if view.opaque:
            return [("", o.kind, o.reason) for o in view.opaque]
        values = self.finite_values(view)
        if values is not None:
            return self.check_values(values, c)
        out: list[_Issue] = []
        out += self._combinators(view, atoms, c, depth)
        out += self._type_and_values(view, c)
        ctypes = _type_set(c.get("type")) if "type" in c else None
        may = (view.types or _ALL_TYPES) & (ctypes or _ALL_TYPES)
        if may & _NUMBERS:
            out += self._numbers(view, c, integer_only="fraction" not in may)
        if "string" in may:
            out += self._strings(view, c)
        if "array" in may:
            out += self._arrays(view, c, depth)
        if "object" in may:
            out += self._objects(view, c, depth)
        return out

    def _combinators(
        self, view: _View, atoms: _Atoms, c: Mapping[str, Any], depth: int
    ) -> list[_Issue]:
        out: list[_Issue] = []
        ref = c.get("$ref")
        if isinstance(ref, str):
            target = self.resolve(ref, self.c_root)
            if target is None:
                out.append(
                    _issue(
                        "ref",
                        f"consumer $ref '{ref}' is not local; topolint never fetches schemas,"
                        " so this part is not checked",
                    )
                )
            elif target is _NOT_FOUND:
                out.append(_issue("ref", f"consumer $ref '{ref}' does not resolve in its schema"))
            else:
                out += self.check(atoms, target, depth + 1)
        for kw in ("$dynamicRef", "$recursiveRef"):
            if isinstance(c.get(kw), str) and not self._producer_has(view, kw, c[kw]):
                out.append(_issue("ref", f"consumer {kw} '{c[kw]}' is not checked"))
        if isinstance(c.get("allOf"), list):
            for b in c["allOf"]:
                out += self.check(atoms, b, depth + 1)
        for kw in ("anyOf", "oneOf"):
            if isinstance(c.get(kw), list) and c[kw]:
                out += self._any(view, atoms, c[kw], kw, depth)
        if "not" in c:
            out += self._not(view, atoms, c, depth)
        if "if" in c and not (
            self.trivial(c.get("then", True)) and self.trivial(c.get("else", True))
        ):
            out += self._if(view, atoms, c, depth)
        return out

    def _any(
        self, view: _View, atoms: _Atoms, branches: list[Any], kw: str, depth: int
    ) -> list[_Issue]:
        """The producer (split by type) must fit some branch; else the closest one's issues."""
        ptypes = view.types
        groups: list[frozenset[str] | None] = [None]
        if ptypes is not None:
            split = [g & ptypes for _, g in _TYPE_GROUPS if g & ptypes]
            if len(split) > 1:
                groups = list(split)
        out: list[_Issue] = []
        for g in groups:
            sub = atoms if g is None else (*atoms, self.type_atom(g))
            best: tuple[tuple[int, int], list[_Issue]] | None = None
            for b in branches:
                r = self.check(sub, b, depth + 1)
                if not r:
                    best = None
                    break
                score = (sum(1 for p, k, _ in r if p == "" and k == "type"), len(r))
                if best is None or score < best[0]:
                    best = (score, r)
            if best is None:
                continue
            if all(p == "" and k == "type" for p, k, _ in best[1]):
                shown = g if g is not None else ptypes
                sent = "any JSON value" if shown is None else _type_names(shown)
                out.append(
                    _issue("type", f"the producer may send {sent}, which none of the consumer's"
                           f" {kw} alternatives accepts")
                )  # fmt: skip
            else:
                out += best[1]
        return out

    def _not(self, view: _View, atoms: _Atoms, c: Mapping[str, Any], depth: int) -> list[_Issue]:
        n = c["not"]
        if self._producer_has(view, "not", n) or self.disjoint(view, n):
            return []
        if n is True or (isinstance(n, Mapping) and self.trivial(n)):
            return [("", "forbidden", "the consumer accepts nothing here (not: {})")]
        return [
            (
                "",
                "not",
                "the consumer rejects values matching its 'not' schema; the producer is not"
                " shown to exclude them",
            )
        ]

    def _if(self, view: _View, atoms: _Atoms, c: Mapping[str, Any], depth: int) -> list[_Issue]:
        then_r = self.check(atoms, c.get("then", True), depth + 1)
        else_r = self.check(atoms, c.get("else", True), depth + 1)
        if not then_r and not else_r:
            return []
        if self._producer_has(view, "if", c["if"]) and all(
            self._producer_has(view, k, c[k]) for k in ("then", "else") if k in c
        ):
            return []
        if not self.check(atoms, c["if"], depth + 1):
            return then_r
        if self.disjoint(view, c["if"]):
            return else_r
        return [
            (
                "",
                "unchecked",
                "the consumer's if/then/else cannot be checked: the producer may fall on"
                " either side of its 'if'",
            )
        ]

    def disjoint(self, view: _View, s: Any, depth: int = 0) -> bool:
        """Is no producer value (of ``view``) valid under consumer part ``s``?  False if unsure."""
        if view.unsat or s is False:
            return True
        if not isinstance(s, Mapping) or depth > _MAX_DEPTH:
            return False
        values = self.finite_values(view)
        if values is not None:
            return all(
                any(
                    k not in ("ref", "unchecked") for _, k, _ in self.validate(v, s, self.c_root, 0)
                )
                for v in values
            )
        ptypes = view.types or _ALL_TYPES
        st = _type_set(s.get("type")) if "type" in s else None
        if st is not None and not (st & ptypes):
            return True
        vals = [s["const"]] if "const" in s else s.get("enum")
        if isinstance(vals, list) and not any(_value_type(v) in ptypes for v in vals):
            return True
        ref = s.get("$ref")
        if isinstance(ref, str):
            target = self.resolve(ref, self.c_root)
            found = target is not None and target is not _NOT_FOUND
            if found and self.disjoint(view, target, depth + 1):
                return True
        if isinstance(s.get("allOf"), list) and any(
            self.disjoint(view, b, depth + 1) for b in s["allOf"]
        ):
            return True
        for kw in ("anyOf", "oneOf"):
            branches = s.get(kw)
            alternatives = branches if isinstance(branches, list) else []
            if alternatives and all(self.disjoint(view, b, depth + 1) for b in alternatives):
                return True
        if not (ptypes & (st or _ALL_TYPES)) <= {"object"}:
            return False  # s may accept a non-object the producer sends
        if any(self.prop_constraints(view, r)[2] for r in _strs(s.get("required"))):
            return True
        for name, ps in _map(s.get("properties")).items():
            if name not in view.required:
                continue
            alts, _ = self.dnf_list(self.prop_constraints(view, name)[0])
            if all(self.disjoint(self.view(a), ps, depth + 1) for a in alts):
                return True
        return False

    def _producer_has(self, view: _View, kw: str, value: Any) -> bool:
        return any(kw in n and self.same(n[kw], value) for n in view.nodes)

    def _type_and_values(self, view: _View, c: Mapping[str, Any]) -> list[_Issue]:
        out: list[_Issue] = []
        ctypes = _type_set(c.get("type")) if "type" in c else None
        if ctypes is not None:
            if view.types is None:
                out.append(
                    _issue(
                        "type",
                        "the producer declares no type, so it may send any JSON value;"
                        f" the consumer accepts only {_type_names(ctypes)}",
                    )
                )
            else:
                extra = view.types - ctypes
                if extra:
                    out.append(
                        _issue(
                            "type",
                            f"the producer may send {_type_names(extra)}, the consumer accepts"
                            f" only {_type_names(ctypes)}",
                        )
                    )
        if "const" in c:
            out.append(
                _issue(
                    "const",
                    f"the consumer requires the constant {_fmt(c['const'])}; the producer"
                    " does not restrict the value to it",
                )
            )
        elif isinstance(c.get("enum"), list):
            out.append(
                _issue(
                    "enum",
                    f"the consumer accepts only {_fmt_list(c['enum'])}; the producer does not"
                    " restrict the value to these (declare an enum)",
                )
            )
        return out

    def _numbers(self, view: _View, c: Mapping[str, Any], *, integer_only: bool) -> list[_Issue]:
        out: list[_Issue] = []
        for lower, kind in ((True, "minimum"), (False, "maximum")):
            cb = _lower(c) if lower else _upper(c)
            pb = view.lower if lower else view.upper
            if not _bound_ok(pb, cb, lower=lower, integer_only=integer_only):
                out.append(
                    _issue(
                        kind,
                        f"the consumer requires numbers {_describe_bound(cb, lower=lower)};"
                        f" the producer guarantees {_describe_bound(pb, lower=lower)}",
                    )
                )
        m = _num(c.get("multipleOf"))
        if m is not None and m > 0:
            ok = (integer_only and _is_multiple(1, m)) or any(
                _is_multiple(k, m) for k in view.multiple_of
            )
            if not ok:
                out.append(
                    _issue(
                        "multipleOf",
                        f"the consumer requires multiples of {_fmt_num(m)}; the producer does"
                        " not guarantee it",
                    )
                )
        return out

    def _strings(self, view: _View, c: Mapping[str, Any]) -> list[_Issue]:
        out: list[_Issue] = []
        cmin = _count(c.get("minLength")) or 0
        if cmin > view.min_len:
            out.append(
                _issue(
                    "minLength",
                    f"the consumer requires strings of at least {cmin} characters; the"
                    f" producer guarantees {view.min_len}",
                )
            )
        cmax = _count(c.get("maxLength"))
        if cmax is not None and (view.max_len is None or view.max_len > cmax):
            got = "no limit" if view.max_len is None else f"up to {view.max_len}"
            out.append(
                _issue(
                    "maxLength",
                    f"the consumer accepts strings of at most {cmax} characters; the producer"
                    f" allows {got}",
                )
            )
        cp = c.get("pattern")
        if isinstance(cp, str) and cp not in view.patterns:
            has = (
                "declares no pattern"
                if not view.patterns
                else "declares a different pattern " + repr(view.patterns[0])
            )
            out.append(
                _issue(
                    "pattern",
                    f"the consumer requires pattern {cp!r}; the producer {has}"
                    " (patterns are compared only for equality)",
                )
            )
        cf = c.get("format")
        if isinstance(cf, str) and cf not in view.formats:
            out.append(
                _issue(
                    "format",
                    f"the consumer expects format '{cf}', which the producer does not declare",
                )
            )
        return out

    def _arrays(self, view: _View, c: Mapping[str, Any], depth: int) -> list[_Issue]:
        out: list[_Issue] = []
        cmin = _count(c.get("minItems")) or 0
        if cmin > view.min_items:
            out.append(
                _issue(
                    "minItems",
                    f"the consumer requires at least {cmin} items; the producer guarantees"
                    f" {view.min_items}",
                )
            )
        cmax = _count(c.get("maxItems"))
        pmax = view.max_items
        if cmax is not None and (pmax is None or pmax > cmax):
            got = "no limit" if pmax is None else f"up to {pmax}"
            out.append(
                _issue(
                    "maxItems",
                    f"the consumer accepts at most {cmax} items; the producer allows {got}",
                )
            )
        if (
            c.get("uniqueItems") is True
            and not view.unique
            and not (pmax is not None and pmax <= 1)
        ):
            out.append(
                _issue("uniqueItems", "the consumer requires unique items; the producer does not")
            )
        cpos, crest = _item_parts(c)
        pos_kw, rest_kw = _item_kw(c)
        cpos = cpos or []
        parts = [_item_parts(n) for n in view.nodes]
        n_pos = max([len(cpos)] + [len(p) for p, _ in parts if p is not None])

        def producer_at(i: int | None) -> list[Any]:
            got: list[Any] = []
            for p, rest in parts:
                if i is not None and p is not None and i < len(p):
                    got.append(p[i])
                else:
                    got.append(rest)
            return got

        for i in range(n_pos):
            if pmax is not None and i >= pmax:
                break
            cs = cpos[i] if i < len(cpos) else crest
            ptr = f"/{pos_kw}/{i}" if i < len(cpos) else f"/{rest_kw}"
            out += _prefixed(ptr, self.check_list(producer_at(i), cs, depth + 1))
        if pmax is None or pmax > n_pos:
            out += _prefixed(f"/{rest_kw}", self.check_list(producer_at(None), crest, depth + 1))
        if "contains" in c and not self._producer_has(view, "contains", c["contains"]):
            cc = c["contains"]
            ok = False
            if view.min_items >= 1:
                if all(p is None for p, _ in parts):
                    ok = not self.check_list(producer_at(None), cc, depth + 1)
                else:
                    ok = any(
                        not self.check_list(producer_at(i), cc, depth + 1)
                        for i in range(min(view.min_items, n_pos))
                    )
            if not ok:
                out.append(
                    _issue(
                        "contains",
                        "the consumer requires an item matching its 'contains' schema; the"
                        " producer does not guarantee one",
                    )
                )
        for kw in ("minContains", "maxContains", "unevaluatedItems"):
            if kw in c and not self._producer_has(view, kw, c[kw]):
                out.append(_issue("unchecked", f"the consumer's '{kw}' is not checked"))
        return out

    def prop_constraints(self, view: _View, name: str) -> tuple[list[Any], bool, bool]:
        """(producer schemas for field ``name``, declared by the producer, forbidden)."""
        got: list[Any] = []
        declared = False
        for n in view.nodes:
            hit = False
            props = _map(n.get("properties"))
            if name in props:
                got.append(props[name])
                hit = True
            for pat, ps in _map(n.get("patternProperties")).items():
                if _matches(pat, name):
                    got.append(ps)
                    hit = True
            if not hit and "additionalProperties" in n:
                got.append(n["additionalProperties"])
            declared = declared or hit
        forbidden = any(self.never(s) for s in got)
        return got, declared, forbidden

    def _declared_names(self, view: _View) -> list[str]:
        names: dict[str, None] = {}
        for n in view.nodes:
            for k in _map(n.get("properties")):
                names.setdefault(k, None)
        return list(names)

    def _objects(self, view: _View, c: Mapping[str, Any], depth: int) -> list[_Issue]:
        out: list[_Issue] = []
        for r in _strs(c.get("required")):
            if r not in view.required:
                out.append(
                    (
                        "/properties/" + _esc(r),
                        "missing-required",
                        f"the consumer requires field '{r}' which the producer does not guarantee",
                    )
                )
        cprops = _map(c.get("properties"))
        for name, cs in cprops.items():
            if self.trivial(cs):
                continue
            plist, _, forbidden = self.prop_constraints(view, name)
            if forbidden:
                continue
            if name not in view.required and all(self.trivial(s) for s in plist):
                continue  # an optional field the producer says nothing about
            out += _prefixed("/properties/" + _esc(name), self.check_list(plist, cs, depth + 1))
        declared_names = self._declared_names(view)
        cpats = _map(c.get("patternProperties"))
        for pat, cs in cpats.items():
            if self.trivial(cs):
                continue
            for name in declared_names:
                if not _matches(pat, name):
                    continue
                plist, _, forbidden = self.prop_constraints(view, name)
                if not forbidden:
                    out += _prefixed(
                        "/properties/" + _esc(name), self.check_list(plist, cs, depth + 1)
                    )
            same_pat = [
                _map(n.get("patternProperties"))[pat]
                for n in view.nodes
                if pat in _map(n.get("patternProperties"))
            ]
            if same_pat:
                out += _prefixed(
                    "/patternProperties/" + _esc(pat), self.check_list(same_pat, cs, depth + 1)
                )
        if "additionalProperties" in c:
            out += self._closed(
                view,
                c["additionalProperties"],
                set(cprops),
                set(cpats),
                "additionalProperties",
                declared_names,
                depth,
            )
        elif "unevaluatedProperties" in c and not self._producer_has(
            view, "unevaluatedProperties", c["unevaluatedProperties"]
        ):
            names, pats, everything = self._evaluated(c, 0)
            if not everything:
                out += self._closed(
                    view,
                    c["unevaluatedProperties"],
                    names,
                    pats,
                    "unevaluatedProperties",
                    declared_names,
                    depth,
                )
        cmin = _count(c.get("minProperties")) or 0
        pmin = max(view.min_props, len(view.required))
        if cmin > pmin:
            out.append(
                _issue(
                    "minProperties",
                    f"the consumer requires at least {cmin} fields; the producer guarantees {pmin}",
                )
            )
        cmax = _count(c.get("maxProperties"))
        if cmax is not None and (view.max_props is None or view.max_props > cmax):
            out.append(
                _issue(
                    "maxProperties",
                    f"the consumer accepts at most {cmax} fields; the producer may send more",
                )
            )
        out += self._dependencies(view, c)
        pn = c.get("propertyNames")
        if (
            pn is not None
            and not self.trivial(pn)
            and not self._producer_has(view, "propertyNames", pn)
        ):
            for name in declared_names:
                if self.prop_constraints(view, name)[2]:
                    continue
                fails = self.validate(name, pn, self.c_root, 0)
                if fails:
                    out.append(
                        (
                            "/properties/" + _esc(name),
                            "property-names",
                            f"the producer's field name '{name}' is not accepted by the"
                            f" consumer's propertyNames: {fails[0][2]}",
                        )
                    )
        return out

    def _closed(
        self,
        view: _View,
        ca: Any,
        known: set[str],
        patterns: set[str],
        kw: str,
        declared_names: list[str],
        depth: int,
    ) -> list[_Issue]:
        if self.trivial(ca):
            return []
        out: list[_Issue] = []
        for name in declared_names:
            if name in known or any(_matches(p, name) for p in patterns):
                continue
            plist, _, forbidden = self.prop_constraints(view, name)
            if forbidden:
                continue
            if ca is False:
                out.append(
                    (
                        "/properties/" + _esc(name),
                        "additional-properties",
                        f"the producer may send field '{name}', which the consumer does not"
                        f" accept ({kw}: false)",
                    )
                )
            else:
                out += _prefixed("/properties/" + _esc(name), self.check_list(plist, ca, depth + 1))
        extra: list[Any] = []
        is_open = True
        for n in view.nodes:
            ap = n.get("additionalProperties", True)
            ppats = set(_map(n.get("patternProperties")))
            if self.never(ap) and ppats <= patterns:
                is_open = False
                break
            if not ppats and ap is not True:
                extra.append(ap)
        if view.max_props is not None and view.max_props <= len(view.required):
            is_open = False
        if is_open:
            if ca is False:
                names = ", ".join(sorted(known)[:10]) or "none"
                out.append(
                    (
                        "/" + kw,
                        "additional-properties",
                        "the producer allows fields beyond those it declares; the consumer"
                        f" accepts only its own ({names}; {kw}: false)",
                    )
                )
            else:
                out += _prefixed("/" + kw, self.check_list(extra, ca, depth + 1))
        return out

    def _evaluated(self, c: Any, depth: int) -> tuple[set[str], set[str], bool]:
        """Field names and patterns a consumer schema evaluates at this instance level."""
        if not isinstance(c, Mapping) or depth > _MAX_DEPTH:
            return set(), set(), False
        got = self._evaluated_memo.get(id(c))
        if got is not None:
            return got
        names: set[str] = set()
        pats: set[str] = set()
        result = (names, pats, False)
        self._evaluated_memo[id(c)] = result  # cycle guard
        names.update(_map(c.get("properties")))
        pats.update(_map(c.get("patternProperties")))
        everything = "additionalProperties" in c
        subs: list[Any] = []
        for kw in ("allOf", "anyOf", "oneOf"):
            if isinstance(c.get(kw), list):
                subs.extend(c[kw])
        subs.extend(c[k] for k in ("if", "then", "else") if k in c)
        subs.extend(_map(c.get("dependentSchemas")).values())
        if isinstance(c.get("$ref"), str):
            t = self.resolve(c["$ref"], self.c_root)
            if t is not None and t is not _NOT_FOUND:
                subs.append(t)
        for s in subs:
            n2, p2, e2 = self._evaluated(s, depth + 1)
            names |= n2
            pats |= p2
            everything = everything or e2
        result = (names, pats, everything)
        self._evaluated_memo[id(c)] = result
        return result

    def _dependencies(self, view: _View, c: Mapping[str, Any]) -> list[_Issue]:
        out: list[_Issue] = []
        deps: list[tuple[str, str, Any]] = [
            ("dependentRequired", k, v) for k, v in _map(c.get("dependentRequired")).items()
        ]
        deps += [("dependencies", k, v) for k, v in _map(c.get("dependencies")).items()]
        deps += [("dependentSchemas", k, v) for k, v in _map(c.get("dependentSchemas")).items()]
        for kw, trigger, need in deps:
            if self.prop_constraints(view, trigger)[2]:
                continue  # the producer never sends the trigger field
            if any(self.same(_map(n.get(kw)).get(trigger, _NOT_FOUND), need) for n in view.nodes):
                continue
            if isinstance(need, list):
                for r in _strs(need):
                    if r in view.required:
                        continue
                    out.append(
                        (
                            "/properties/" + _esc(r),
                            "missing-required",
                            f"the consumer requires field '{r}' whenever '{trigger}' is"
                            " present; the producer does not guarantee it",
                        )
                    )
            elif not self.trivial(need):
                out.append(
                    (
                        "/properties/" + _esc(trigger),
                        "unchecked",
                        f"the consumer's {kw} for '{trigger}' is not checked",
                    )
                )
        return out

    # ----- finite producers: validate each value

    def finite_values(self, view: _View) -> list[Any] | None:
        if view.enum is not None:
            values = list(view.enum)
        elif view.types is not None and view.types <= {"null", "boolean"}:
            values = ([None] if "null" in view.types else []) + (
                [True, False] if "boolean" in view.types else []
            )
        else:
            return None
        if view.types is not None:
            values = [v for v in values if _value_type(v) in view.types]
        kept = []
        for v in values:
            fails = [
                f
                for n in view.nodes
                for f in self.validate(v, n, self.p_root, 0)
                if f[1] not in ("ref", "unchecked")
            ]
            if not fails:
                kept.append(v)
        return kept

    def check_values(self, values: list[Any], c: Any) -> list[_Issue]:
        out: list[_Issue] = []
        for v in values:
            fails = self.validate(v, c, self.c_root, 0)
            if fails:
                out.append(fails[0])
            if len(out) >= _MAX_RESULTS:
                break
        return out

    def validate(self, v: Any, s: Any, root: Any, depth: int) -> list[_Issue]:
        """Why value ``v`` is invalid under ``s`` (empty if valid or undecidable)."""
        if s is False:
            return [
                _issue("forbidden", f"the producer may send {_fmt(v)}; the consumer accepts none")
            ]
        if not isinstance(s, Mapping):
            return []
        if depth > _MAX_VALUE_DEPTH:
            return []
        key = (id(v), id(s), id(root))
        got = self._vmemo.get(key)
        if got is not None:
            return got
        if key in self._vbusy:
            return []
        self._vbusy.add(key)
        try:
            res = self._validate(v, s, root, depth)[:8]
        finally:
            self._vbusy.discard(key)
        self._vmemo[key] = res
        self.pin(v)
        return res

    def _validate(self, v: Any, s: Mapping[str, Any], root: Any, depth: int) -> list[_Issue]:
        out: list[_Issue] = []
        d = depth + 1
        ref = s.get("$ref")
        if isinstance(ref, str):
            t = self.resolve(ref, root)
            if t is None or t is _NOT_FOUND:
                out.append(_issue("ref", f"$ref '{ref}' cannot be followed; not checked"))
            else:
                out += self.validate(v, t, root, d)
        if isinstance(s.get("allOf"), list):
            for b in s["allOf"]:
                out += self.validate(v, b, root, d)
        for kw in ("anyOf", "oneOf"):
            branches = s.get(kw)
            if not isinstance(branches, list) or not branches:
                continue
            results = [self.validate(v, b, root, d) for b in branches]
            n_ok = sum(1 for r in results if not r)
            if n_ok == 0:
                closest: list[_Issue] = min(results, key=len)
                if all(p == "" and k == "type" for p, k, _ in closest):
                    closest = [
                        _issue("type", f"the producer may send {_fmt(v)}, which none of the"
                               f" consumer's {kw} alternatives accepts")
                    ]  # fmt: skip
                out += closest
            elif kw == "oneOf" and n_ok > 1:
                out.append(
                    _issue(
                        "one-of",
                        f"the producer value {_fmt(v)} matches several of the"
                        " consumer's oneOf alternatives",
                    )
                )
        if "not" in s and not self.validate(v, s["not"], root, d):
            out.append(_issue("not", f"the consumer's 'not' schema rejects the value {_fmt(v)}"))
        if "if" in s:
            branch = "then" if not self.validate(v, s["if"], root, d) else "else"
            if branch in s:
                out += self.validate(v, s[branch], root, d)
        vt = _value_type(v)
        ct = _type_set(s.get("type")) if "type" in s else None
        if ct is not None and vt not in ct:
            out.append(
                _issue(
                    "type",
                    f"the producer may send {_fmt(v)}{_paren_type(v, vt)}; the consumer"
                    f" accepts only {_type_names(ct)}",
                )
            )
        if "const" in s and self.canon(v) != self.canon(s["const"]):
            out.append(
                _issue(
                    "const",
                    f"the producer value {_fmt(v)} is not the consumer's constant"
                    f" {_fmt(s['const'])}",
                )
            )
        enum = s.get("enum")
        if isinstance(enum, list) and self.canon(v) not in self._enum_keys(enum):
            out.append(
                _issue(
                    "enum",
                    f"producer enum value {_fmt(v)} is not accepted by the consumer"
                    f" (consumer enum: {_fmt_list(enum)})",
                )
            )
        if vt in ("integer", "fraction"):
            out += self._validate_number(v, s)
        elif vt == "string":
            out += self._validate_string(v, s)
        elif vt == "array":
            out += self._validate_array(v, s, root, d)
        elif vt == "object":
            out += self._validate_object(v, s, root, d)
        return out

    def _enum_keys(self, enum: list[Any]) -> set[int]:
        got = self._enum_memo.get(id(enum))
        if got is None:
            got = {self.canon(e) for e in enum}
            self._enum_memo[id(enum)] = got
        return got

    def _validate_number(self, v: int | float, s: Mapping[str, Any]) -> list[_Issue]:
        out: list[_Issue] = []
        lo, hi = _lower(s), _upper(s)
        if lo is not None and (v < lo[0] or (lo[1] and v == lo[0])):
            out.append(
                _issue(
                    "minimum",
                    f"the producer may send {_fmt(v)}; the consumer requires"
                    f" {_describe_bound(lo, lower=True)}",
                )
            )
        if hi is not None and (v > hi[0] or (hi[1] and v == hi[0])):
            out.append(
                _issue(
                    "maximum",
                    f"the producer may send {_fmt(v)}; the consumer requires"
                    f" {_describe_bound(hi, lower=False)}",
                )
            )
        m = _num(s.get("multipleOf"))
        if m is not None and m > 0 and not _is_multiple(v, m):
            out.append(
                _issue(
                    "multipleOf",
                    f"the producer may send {_fmt(v)}, not a multiple of {_fmt_num(m)}",
                )
            )
        return out

    def _validate_string(self, v: str, s: Mapping[str, Any]) -> list[_Issue]:
        out: list[_Issue] = []
        lo, hi = _count(s.get("minLength")), _count(s.get("maxLength"))
        if lo is not None and len(v) < lo:
            out.append(_issue("minLength", f"the producer may send {_fmt(v)}, shorter than {lo}"))
        if hi is not None and len(v) > hi:
            out.append(_issue("maxLength", f"the producer may send {_fmt(v)}, longer than {hi}"))
        pat = s.get("pattern")
        if isinstance(pat, str):
            rx = _regex(pat)
            if rx is not None and not rx.search(v):
                out.append(
                    _issue(
                        "pattern",
                        f"the producer may send {_fmt(v)}, which does not match"
                        f" the consumer's pattern {pat!r}",
                    )
                )
        return out

    def _validate_array(
        self, v: Sequence[Any], s: Mapping[str, Any], root: Any, d: int
    ) -> list[_Issue]:
        out: list[_Issue] = []
        pos, rest = _item_parts(s)
        pos_kw, rest_kw = _item_kw(s)
        for i, item in enumerate(v):
            if pos is not None and i < len(pos):
                out += _prefixed(f"/{pos_kw}/{i}", self.validate(item, pos[i], root, d))
            else:
                out += _prefixed(f"/{rest_kw}", self.validate(item, rest, root, d))
        lo, hi = _count(s.get("minItems")), _count(s.get("maxItems"))
        if lo is not None and len(v) < lo:
            out.append(_issue("minItems", f"the producer may send {len(v)} items; minimum {lo}"))
        if hi is not None and len(v) > hi:
            out.append(_issue("maxItems", f"the producer may send {len(v)} items; maximum {hi}"))
        if s.get("uniqueItems") is True and len({self.canon(x) for x in v}) < len(v):
            out.append(_issue("uniqueItems", f"the producer may send repeated items in {_fmt(v)}"))
        if "contains" in s:
            n = sum(1 for x in v if not self.validate(x, s["contains"], root, d))
            lo_c = _count(s.get("minContains"))
            hi_c = _count(s.get("maxContains"))
            if n < (1 if lo_c is None else lo_c) or (hi_c is not None and n > hi_c):
                out.append(
                    _issue(
                        "contains",
                        f"the producer value {_fmt(v)} does not meet the consumer's 'contains'",
                    )
                )
        return out

    def _validate_object(
        self, v: Mapping[str, Any], s: Mapping[str, Any], root: Any, d: int
    ) -> list[_Issue]:
        out: list[_Issue] = []
        for r in _strs(s.get("required")):
            if r not in v:
                out.append(
                    (
                        "/properties/" + _esc(r),
                        "missing-required",
                        f"the consumer requires field"
                        f" '{r}', missing from the producer value {_fmt(v)}",
                    )
                )
        props = _map(s.get("properties"))
        pats = _map(s.get("patternProperties"))
        ap = s.get("additionalProperties", True)
        for k, item in v.items():
            if not isinstance(k, str):
                continue
            ptr = "/properties/" + _esc(k)
            hit = False
            if k in props:
                out += _prefixed(ptr, self.validate(item, props[k], root, d))
                hit = True
            for pat, ps in pats.items():
                if _matches(pat, k):
                    out += _prefixed(ptr, self.validate(item, ps, root, d))
                    hit = True
            if not hit:
                if ap is False:
                    out.append(
                        (
                            ptr,
                            "additional-properties",
                            f"the producer may send field '{k}',"
                            " which the consumer does not accept (additionalProperties: false)",
                        )
                    )
                else:
                    out += _prefixed(ptr, self.validate(item, ap, root, d))
        lo, hi = _count(s.get("minProperties")), _count(s.get("maxProperties"))
        if lo is not None and len(v) < lo:
            out.append(_issue("minProperties", f"the producer value {_fmt(v)} has too few fields"))
        if hi is not None and len(v) > hi:
            out.append(_issue("maxProperties", f"the producer value {_fmt(v)} has too many fields"))
        pn = s.get("propertyNames")
        if pn is not None:
            for k in v:
                if isinstance(k, str) and self.validate(k, pn, root, d):
                    out.append(
                        (
                            "/properties/" + _esc(k),
                            "property-names",
                            f"field name '{k}' is not accepted by the consumer's propertyNames",
                        )
                    )
        for kw in ("dependentRequired", "dependencies", "dependentSchemas"):
            for trigger, need in _map(s.get(kw)).items():
                if trigger not in v:
                    continue
                if isinstance(need, list):
                    for r in _strs(need):
                        if r not in v:
                            out.append(
                                (
                                    "/properties/" + _esc(r),
                                    "missing-required",
                                    f"the consumer"
                                    f" requires field '{r}' when '{trigger}' is present",
                                )
                            )
                else:
                    out += self.validate(v, need, root, d)
        return out


def incompatibilities(
    producer: Mapping[str, Any] | bool,
    consumer: Mapping[str, Any] | bool,
    *,
    producer_root: Mapping[str, Any] | None = None,
    consumer_root: Mapping[str, Any] | None = None,
) -> list[Incompatibility]:
    """Ways in which a message valid under ``producer`` may be rejected by ``consumer``.

    ``[]`` means every instance valid under the producer schema is valid under the
    consumer schema, as far as this analysis can tell.  Local ``$ref`` values resolve
    against ``producer_root`` / ``consumer_root`` (default: the schemas themselves).
    """
    p_root = producer if producer_root is None else producer_root
    c_root = consumer if consumer_root is None else consumer_root
    # the checks recurse along the schemas (bounded by _MAX_DEPTH): make room for that
    frame: Any = sys._getframe()
    used = 0
    while frame is not None:
        frame, used = frame.f_back, used + 1
    limit = sys.getrecursionlimit()
    if limit < used + _FRAMES_NEEDED:
        sys.setrecursionlimit(used + _FRAMES_NEEDED)
    try:
        checker = _Checker(p_root, c_root)
        issues = checker.check_list([producer], consumer, 0)
    finally:
        if sys.getrecursionlimit() != limit:
            sys.setrecursionlimit(limit)
    return [Incompatibility(pointer=p, reason=r, kind=k) for p, k, r in issues]
