"""What the contract checks report: issues, their pointers, and the limits on the work.

An *issue* is a ``(pointer suffix, kind, reason)`` triple.  Checks build pointers from the
inside out: a nested check returns issues relative to its own schema and the caller
prefixes them with the step it took (``/properties/energy``, ``/items``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Kinds that mean "cannot verify" rather than "proved incompatible".
UNCERTAIN_KINDS = frozenset({"ref", "unchecked", "format", "pattern", "not"})

MAX_DEPTH = 200  # nested schema steps (fields, items, references, allOf branches)
MAX_ALTERNATIVES = 64
MAX_RESULTS = 100
MAX_VALUE_DEPTH = 100
#: Interpreter frames the deepest check may need on top of its caller's.
FRAMES_NEEDED = 12 * MAX_DEPTH + 6 * MAX_VALUE_DEPTH + 200

Issue = tuple[str, str, str]  # (pointer suffix, kind, reason)


@dataclass(frozen=True)
class Incompatibility:
    """One way in which a producer's messages may be rejected by the consumer."""

    pointer: str
    reason: str
    kind: str


def issue(kind: str, reason: str, pointer: str = "") -> Issue:
    """An issue of ``kind`` at ``pointer`` (default: where the check stands)."""
    return (pointer, kind, reason)


def escape(token: str) -> str:
    """``token`` escaped for a JSON pointer (``~`` and ``/``)."""
    return token.replace("~", "~0").replace("/", "~1")


def field_pointer(name: str) -> str:
    """The pointer suffix of the field ``name``: ``/properties/<name>``, escaped."""
    return "/properties/" + escape(name)


def prefixed(prefix: str, issues: Iterable[Issue]) -> list[Issue]:
    """``issues`` found below the step ``prefix``, located from here."""
    return [(prefix + p, k, r) for p, k, r in issues]


def dedupe(issues: Iterable[Issue]) -> list[Issue]:
    """``issues`` without repeats, in first-seen order."""
    seen: set[Issue] = set()
    out: list[Issue] = []
    for one in issues:
        if one not in seen:
            seen.add(one)
            out.append(one)
    return out


def only_type_mismatches(issues: Iterable[Issue]) -> bool:
    """Are all of ``issues`` type mismatches at the node itself (none further down)?"""
    return all(p == "" and k == "type" for p, k, _ in issues)
