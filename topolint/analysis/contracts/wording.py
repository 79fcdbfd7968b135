"""How values, types and bounds are written in the reasons of issues."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from topolint.analysis.contracts.bounds import Bound
from topolint.analysis.contracts.keywords import NUMBERS


def type_names(types: Iterable[str]) -> str:
    """``types`` as a schema writer names them: ``"string or number"``."""
    s = set(types)
    names: list[str] = [t for t in ("null", "boolean", "object", "array", "string") if t in s]
    if s & NUMBERS == {"integer"}:
        names.append("integer")
    elif s & NUMBERS:
        names.append("number")
    return " or ".join(names) if names else "nothing"


def value(v: Any) -> str:
    """Value ``v`` as JSON (a string in quotes), cut at 60 characters."""
    if isinstance(v, str):
        text = repr(v) if "'" not in v else json.dumps(v)
    else:
        try:
            text = json.dumps(v, sort_keys=True, default=str)
        except (TypeError, ValueError):
            text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def paren_type(v: Any, vt: str) -> str:
    """`` (<type>)`` after a shown value, unless the value shows its type itself."""
    shown = value(v)
    name = type_names([vt])
    return "" if shown == name or v is None or isinstance(v, bool) else f" ({name})"


def values(vs: Sequence[Any]) -> str:
    """The first 8 of ``vs`` as a list."""
    shown = ", ".join(value(v) for v in vs[:8])
    return "[" + shown + (", ..." if len(vs) > 8 else "") + "]"


def number(x: int | float) -> str:
    """``x`` without a trailing ``.0``."""
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def bound(b: Bound | None, *, lower: bool) -> str:
    """A bound as ``>= 3`` or ``< 1.5``, or ``no lower bound``."""
    if b is None:
        return "no " + ("lower" if lower else "upper") + " bound"
    op = (">" if b[1] else ">=") if lower else ("<" if b[1] else "<=")
    return f"{op} {number(b[0])}"
