"""Numeric bounds: ``minimum``/``maximum`` with draft-4 boolean and draft-6+ numeric
``exclusiveMinimum``/``exclusiveMaximum``, merged and compared."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from topolint.analysis.contracts.keywords import num

Bound = tuple[int | float, bool]  # (value, exclusive)


def lower(s: Mapping[str, Any]) -> Bound | None:
    """The lower bound schema ``s`` puts on numbers, if any."""
    best: Bound | None = None
    m = num(s.get("minimum"))
    ex = s.get("exclusiveMinimum")
    if m is not None:
        best = (m, ex is True)
    e = num(ex)
    if e is not None:
        best = tighter(best, (e, True), lower=True)
    return best


def upper(s: Mapping[str, Any]) -> Bound | None:
    """The upper bound schema ``s`` puts on numbers, if any."""
    best: Bound | None = None
    m = num(s.get("maximum"))
    ex = s.get("exclusiveMaximum")
    if m is not None:
        best = (m, ex is True)
    e = num(ex)
    if e is not None:
        best = tighter(best, (e, True), lower=False)
    return best


def tighter(a: Bound | None, b: Bound | None, *, lower: bool) -> Bound | None:
    """The tighter of two bounds (both lower bounds if ``lower``, else both upper)."""
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0]:
        return (a[0], a[1] or b[1])
    return (a if a[0] > b[0] else b) if lower else (a if a[0] < b[0] else b)


def bound_ok(p: Bound | None, c: Bound | None, *, lower: bool, integer_only: bool) -> bool:
    """Is the producer bound ``p`` at least as tight as the consumer bound ``c``?

    Parameters
    ----------
    p, c : Bound or None
        The producer's and the consumer's bound (``None``: unbounded).
    lower : bool
        Both are lower bounds (else upper bounds).
    integer_only : bool
        The producer sends only integers, so ``> 1.5`` is as tight as ``>= 2``.
    """
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
