"""Reading schema keywords the way every check does: malformed values constrain nothing.

JSON types are split finer than in JSON Schema: ``integer`` and ``fraction`` (a number
that is not a whole number), so that ``number`` is the set of both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

NUMBERS = frozenset({"integer", "fraction"})
ALL_TYPES = frozenset({"null", "boolean", "object", "array", "string", "integer", "fraction"})
#: The types as a schema writer names them, each with the types it stands for.
TYPE_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("null", frozenset({"null"})),
    ("boolean", frozenset({"boolean"})),
    ("object", frozenset({"object"})),
    ("array", frozenset({"array"})),
    ("string", frozenset({"string"})),
    ("number", NUMBERS),
)

#: Keywords that constrain values (everything else annotates or holds definitions).
CONSTRAINT_KEYS = frozenset(
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

#: Keywords fully represented by a producer's expansion (oneOf is not: its exclusivity is lost).
TRANSPARENT = frozenset({"$ref", "$dynamicRef", "$recursiveRef", "allOf", "anyOf"})


def trivial(s: Any) -> bool:
    """Does schema ``s`` accept every value (``true``, or no constraining keyword)?"""
    if s is True:
        return True
    if isinstance(s, Mapping):
        return not any(k in CONSTRAINT_KEYS for k in s)
    return s is not False  # malformed parts constrain nothing


def num(x: Any) -> int | float | None:
    """``x`` if it is a finite JSON number (not a boolean), else ``None``."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def count(x: Any) -> int | None:
    """``x`` as a count (a non-negative number, rounded down), else ``None``."""
    n = num(x)
    if n is None or n < 0:
        return None
    return math.floor(n)


def strs(x: Any) -> list[str]:
    """The strings of list ``x`` (``[]`` if ``x`` is not a list)."""
    if not isinstance(x, list):
        return []
    return [s for s in x if isinstance(s, str)]


def mapping(x: Any) -> Mapping[str, Any]:
    """``x`` if it is a mapping, else ``{}``."""
    return x if isinstance(x, Mapping) else {}


def min_opt(a: int | None, b: int | None) -> int | None:
    """The smaller of two optional limits (``None`` is no limit)."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def type_set(t: Any) -> frozenset[str] | None:
    """The JSON types a ``type`` keyword admits (``number`` = integer + fraction).

    ``None`` when the keyword is malformed or names an unknown type (unconstrained).
    """
    names = [t] if isinstance(t, str) else t if isinstance(t, list) else None
    if names is None:
        return None
    out: set[str] = set()
    for name in names:
        if name == "number":
            out |= NUMBERS
        elif name in ("null", "boolean", "object", "array", "string", "integer"):
            out.add(name)
        else:
            return None  # unknown type name: treat as unconstrained
    return frozenset(out)


def value_type(v: Any) -> str:
    """The JSON type of value ``v`` (a whole float is an ``integer``)."""
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


def is_multiple(x: int | float, m: int | float) -> bool:
    """Is ``x`` a whole multiple of ``m``, in decimal arithmetic (``0.3`` of ``0.1``: yes)?"""
    from fractions import Fraction  # lazily: keeps this module's import fast

    try:
        q = Fraction(str(x)) / Fraction(str(m))
    except (ValueError, ZeroDivisionError):
        return False
    return q.denominator == 1


_REGEX_CACHE: dict[str, re.Pattern[str] | None] = {}


def regex(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` compiled (cached), or ``None`` when Python cannot compile it."""
    if pattern not in _REGEX_CACHE:
        try:
            _REGEX_CACHE[pattern] = re.compile(pattern)
        except (re.error, RecursionError, OverflowError):
            _REGEX_CACHE[pattern] = None
        if len(_REGEX_CACHE) > 4096:
            _REGEX_CACHE.clear()
    return _REGEX_CACHE.get(pattern)


def matches(pattern: str, name: str) -> bool:
    """Does ``pattern`` match somewhere in ``name`` (never, if it does not compile)?"""
    rx = regex(pattern)
    return bool(rx is not None and rx.search(name))


def item_parts(s: Mapping[str, Any]) -> tuple[list[Any] | None, Any]:
    """(positional item schemas or None, schema for the remaining items)."""
    if isinstance(s.get("prefixItems"), list):
        return s["prefixItems"], s.get("items", True)
    if isinstance(s.get("items"), list):
        return s["items"], s.get("additionalItems", True)
    return None, s.get("items", True)


def item_keywords(s: Mapping[str, Any]) -> tuple[str, str]:
    """Keyword names for (positional, rest) items of a schema."""
    if isinstance(s.get("prefixItems"), list):
        return "prefixItems", "items"
    if isinstance(s.get("items"), list):
        return "items", "additionalItems"
    return "items", "items"
